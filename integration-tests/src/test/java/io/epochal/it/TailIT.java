package io.epochal.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.epochal.emitter.EventEmitter;
import io.epochal.format.reference.ReferenceEvents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code epochal tail --checkpoint} (the streaming consumer) in a child JVM, SIGKILLed and
 * restarted while {@code epochal standalone} takes events: together the two runs deliver every
 * second from the first one on, with no gap, and each second's event count as emitted.
 */
class TailIT {
  private static final Pattern STANDALONE = Pattern.compile("standalone: store http://127\\.0\\.0\\.1:(\\d+)/, "
      + "aggregator udp port (\\d+)");
  private static final Pattern LINE = Pattern.compile("^(\\d+)( late)?\\s+([\\d,]+) events", Pattern.MULTILINE);

  @TempDir Path dir;

  @Test
  void resumesFromItsCheckpointWithoutGaps() throws Exception {
    try (ChildJvm standalone = ChildJvm.start(STANDALONE, List.of("standalone", "--data-dir",
        dir.resolve("data").toString(), "--http-port", "0", "--udp-port", "0", "-D",
        "epochal.aggregator.admin-port=0", "-D", "epochal.aggregator.grace=300ms",
        "-D", "epochal.store.ring-partitions=8"))) {
      String nodes = "127.0.0.1:" + standalone.group(1);
      int udp = standalone.group(2);
      long first = System.currentTimeMillis() / 1000 + 2;
      Path checkpoint = dir.resolve("tail.checkpoint");
      Path out1 = dir.resolve("tail1.out");
      Path out2 = dir.resolve("tail2.out");
      List<String> tail = List.of("tail", "--nodes", nodes, "--format", "summary", "--lag", "1", "--checkpoint",
          checkpoint.toString(), "--from", Long.toString(first));
      Map<Long, Integer> emitted = new TreeMap<>();
      try (EventEmitter emitter = EventEmitter.builder().aggregator("127.0.0.1", udp).dc("1").type("WEB").build()) {
        ChildJvm run1 = ChildJvm.start(Pattern.compile(""), tail, out1); // a consumer from second `first` on
        long last = first + 5;
        ChildJvm run2 = null;
        try {
          ReferenceEvents gen = new ReferenceEvents(5);
          while (System.currentTimeMillis() / 1000 < first) {
            LockSupport.parkNanos(1_000_000); // wait for the first whole second
          }
          long second;
          long now;
          while ((second = (now = System.currentTimeMillis()) / 1000) <= last) {
            long inSecond = now % 1000;
            if (inSecond >= 100 && inSecond < 800) { // away from the boundaries, so every event's epoch is `second`
              for (int i = 0; i < 100; i++) {
                ReferenceEvents.Event e = gen.next();
                emitter.emit(e.type(), e.subtype(), e.fields());
              }
              emitted.merge(second, 100, Integer::sum);
            }
            if (run2 == null && second >= first + 3) {
              run1.kill(); // SIGKILL mid-stream, then start again from the checkpoint
              run2 = ChildJvm.start(Pattern.compile(""), tail, out2);
            }
            LockSupport.parkNanos(50_000_000); // pacing: 2,000 events/s
          }
          emitter.flush();
          assertThat(run2).as("the consumer was restarted while events flowed").isNotNull();
          awaitEpoch(out2, last, run2);
        } finally {
          run1.close();
          if (run2 != null) {
            run2.close();
          }
        }
      }
      // Per run, a second's events are its first delivery plus its late follow-ups (stragglers that
      // reached the aggregator after the second was sealed); a second delivered by both runs (the
      // one in flight at the kill) must have been delivered whole by at least one of them.
      Map<Long, Integer> delivered = new TreeMap<>();
      for (Path out : List.of(out1, out2)) {
        Map<Long, Integer> run = new TreeMap<>();
        Matcher m = LINE.matcher(Files.readString(out));
        while (m.find()) {
          run.merge(Long.parseLong(m.group(1)), Integer.parseInt(m.group(3).replace(",", "")), Integer::sum);
        }
        run.forEach((e, n) -> delivered.merge(e, n, Math::max));
      }
      for (long e = first; e <= first + 5; e++) {
        assertThat(delivered).as("second %d delivered (run 1 then run 2)", e).containsKey(e);
        assertThat(delivered.get(e)).as("events of second %d", e).isEqualTo(emitted.getOrDefault(e, 0));
      }
    }
  }

  private static void awaitEpoch(Path out, long epoch, ChildJvm run) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(out) && Files.readString(out).contains(epoch + " ")) {
        return;
      }
      run.process.waitFor(50, TimeUnit.MILLISECONDS);
    }
    throw new AssertionError("second " + epoch + " not delivered within 60 s:\n" + Files.readString(out) + "\n"
        + run.log());
  }
}
