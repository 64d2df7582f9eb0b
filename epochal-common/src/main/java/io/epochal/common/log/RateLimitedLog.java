package io.epochal.common.log;

import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.event.Level;

/**
 * Logs a problem that may repeat for every event (a malformed datagram, a full spool) at most once
 * per interval per <em>reason</em>, and counts what it suppressed: the next line logged for that
 * reason ends with {@code (1,234 more since last report)}. Counting every occurrence is the job
 * of a metric; this keeps the log readable while still saying how often it happened.
 *
 * <pre>{@code
 * private static final Logger log = LoggerFactory.getLogger(UdpReceiver.class);
 * private final RateLimitedLog dropLog = new RateLimitedLog(log);
 * ...
 * metrics.dropped(reason).increment();
 * dropLog.warn(reason.name(), "dropped datagram from {}: {}", sender, reason);
 * }</pre>
 *
 * <p>The first occurrence of a reason is logged at once; afterwards an occurrence is logged if at
 * least the interval has passed since the last logged one, by the injected {@link Clock}. Reasons
 * are kept forever, so use a small fixed set (enum names), not per-peer strings. Arguments follow
 * SLF4J: {@code {}} placeholders and an optional trailing {@link Throwable}. Nothing is counted or
 * logged when the level is disabled.
 *
 * <p>Thread-safe and lock-free; no suppressed occurrence is lost from the counts.
 */
public final class RateLimitedLog {
  /** The interval used by {@link #RateLimitedLog(Logger)}. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);

  private final Logger logger;
  private final long intervalMillis;
  private final Clock clock;
  private final ConcurrentMap<String, Reason> reasons = new ConcurrentHashMap<>();

  private static final class Reason {
    final AtomicLong lastLoggedMillis;
    final AtomicLong suppressed = new AtomicLong();

    Reason(long now) {
      lastLoggedMillis = new AtomicLong(now);
    }
  }

  /** Logs each reason at most once every {@link #DEFAULT_INTERVAL}, by the system clock. */
  public RateLimitedLog(Logger logger) {
    this(logger, DEFAULT_INTERVAL, Clock.systemUTC());
  }

  /**
   * @param interval the least time between two lines for the same reason; positive
   * @param clock the time source
   * @throws IllegalArgumentException if the interval is not positive
   */
  public RateLimitedLog(Logger logger, Duration interval, Clock clock) {
    this.logger = Objects.requireNonNull(logger, "logger");
    this.clock = Objects.requireNonNull(clock, "clock");
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval must be positive: " + interval);
    }
    this.intervalMillis = interval.toMillis();
  }

  /** Logs at ERROR unless {@code reason} was logged within the interval. */
  public void error(String reason, String format, Object... args) {
    log(Level.ERROR, reason, format, args);
  }

  /** Logs at WARN unless {@code reason} was logged within the interval. */
  public void warn(String reason, String format, Object... args) {
    log(Level.WARN, reason, format, args);
  }

  /** Logs at INFO unless {@code reason} was logged within the interval. */
  public void info(String reason, String format, Object... args) {
    log(Level.INFO, reason, format, args);
  }

  /**
   * Logs at {@code level} unless {@code reason} was logged within the interval; otherwise counts
   * the occurrence for the next line of that reason.
   */
  public void log(Level level, String reason, String format, Object... args) {
    Objects.requireNonNull(reason, "reason");
    if (!logger.isEnabledForLevel(level)) {
      return;
    }
    long now = clock.millis();
    Reason r = reasons.get(reason);
    if (r == null) {
      Reason fresh = new Reason(now);
      r = reasons.putIfAbsent(reason, fresh);
      if (r == null) {
        emit(level, format, args);
        return;
      }
    }
    long last = r.lastLoggedMillis.get();
    // A clock that went backwards (wall-clock adjustment) must not silence the reason for long.
    boolean due = now - last >= intervalMillis || now < last;
    if (due && r.lastLoggedMillis.compareAndSet(last, now)) {
      long more = r.suppressed.getAndSet(0);
      emit(
          level,
          more == 0
              ? format
              : format + " (" + String.format(Locale.ROOT, "%,d", more) + " more since last report)",
          args);
    } else {
      r.suppressed.incrementAndGet();
    }
  }

  private void emit(Level level, String format, Object[] args) {
    switch (level) {
      case ERROR:
        logger.error(format, args);
        break;
      case WARN:
        logger.warn(format, args);
        break;
      case INFO:
        logger.info(format, args);
        break;
      case DEBUG:
        logger.debug(format, args);
        break;
      default:
        logger.trace(format, args);
        break;
    }
  }
}
