package io.epochal.common.log;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.epochal.common.testing.LogCapture;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class RateLimitedLogTest {
  private static final String LOGGER = "io.epochal.common.log.RateLimitedLogTest.subject";

  /** A clock the test moves by hand. */
  private static final class ManualClock extends Clock {
    private volatile Instant now = Instant.parse("2014-10-20T14:03:33Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }

  private final ManualClock clock = new ManualClock();
  private final LogCapture logs = LogCapture.of(LOGGER, Level.INFO);
  private final RateLimitedLog log =
      new RateLimitedLog(LoggerFactory.getLogger(LOGGER), Duration.ofSeconds(10), clock);

  @AfterEach
  void detach() {
    logs.close();
  }

  @Test
  void logsOncePerIntervalAndReportsTheSuppressedCount() {
    log.warn("bad-datagram", "dropped datagram from {}: {}", "10.0.0.1", "bad checksum");
    for (int i = 0; i < 1234; i++) {
      clock.advance(Duration.ofMillis(1));
      log.warn("bad-datagram", "dropped datagram from {}: {}", "10.0.0." + i, "bad checksum");
    }
    assertThat(logs.messages()).hasSize(1);

    clock.advance(Duration.ofSeconds(10).minusMillis(1234));
    log.warn("bad-datagram", "dropped datagram from {}: {}", "10.0.0.9", "truncated");

    assertThat(logs.messages())
        .containsExactly(
            "dropped datagram from 10.0.0.1: bad checksum",
            "dropped datagram from 10.0.0.9: truncated (1,234 more since last report)");
    assertThat(logs.events()).extracting(ILoggingEvent::getLevel).containsOnly(Level.WARN);
  }

  @Test
  void noSuffixWhenNothingWasSuppressed() {
    log.info("r", "one");
    clock.advance(Duration.ofSeconds(10));
    log.info("r", "two");
    clock.advance(Duration.ofSeconds(9));
    log.info("r", "three");
    clock.advance(Duration.ofSeconds(1));
    log.info("r", "four");

    assertThat(logs.messages()).containsExactly("one", "two", "four (1 more since last report)");
  }

  @Test
  void reasonsAreLimitedIndependently() {
    log.warn("spool-full", "spool full");
    log.warn("bad-datagram", "bad datagram");
    log.warn("spool-full", "spool full");
    log.error("bad-datagram", "bad datagram");

    assertThat(logs.messages()).containsExactly("spool full", "bad datagram");
  }

  @Test
  void keepsATrailingThrowable() {
    log.error("io", "write to {} failed", "spool", new IllegalStateException("disk gone"));
    log.error("io", "write to {} failed", "spool", new IllegalStateException("disk gone"));
    clock.advance(Duration.ofSeconds(10));
    log.error("io", "write to {} failed", "spool", new IllegalStateException("still gone"));

    List<ILoggingEvent> events = logs.events();
    assertThat(events).hasSize(2);
    assertThat(events.get(1).getFormattedMessage()).isEqualTo("write to spool failed (1 more since last report)");
    assertThat(events.get(1).getThrowableProxy().getMessage()).isEqualTo("still gone");
  }

  @Test
  void disabledLevelsAreNeitherLoggedNorCounted() {
    log.log(org.slf4j.event.Level.DEBUG, "r", "debug");
    log.info("r", "info");

    assertThat(logs.messages()).containsExactly("info");
  }

  @Test
  void aClockThatJumpsBackDoesNotSilenceTheReason() {
    log.warn("r", "first");
    clock.advance(Duration.ofHours(-1));
    log.warn("r", "after the jump");

    assertThat(logs.messages()).containsExactly("first", "after the jump");
  }

  @Test
  void countsEveryConcurrentOccurrence() throws Exception {
    int threads = 4;
    int perThread = 10_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(
            pool.submit(
                () -> {
                  go.await();
                  for (int i = 0; i < perThread; i++) {
                    log.warn("r", "dropped");
                  }
                  return null;
                }));
      }
      go.countDown();
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    clock.advance(Duration.ofSeconds(10));
    log.warn("r", "dropped");

    assertThat(logs.messages()).containsExactly("dropped", "dropped (39,999 more since last report)");
  }
}
