package io.epochal.aggregator.batch;

import java.time.Duration;

/**
 * How the aggregator groups and seals events.
 *
 * @param grace how long after an epoch ends its batches stay open for stragglers; an epoch is
 *     sealed when the clock passes {@code epoch + 1 s + grace}
 * @param lateLinger how long late events (their epoch already sealed) are collected before their
 *     further chunk is sealed
 * @param maxFuture events dated more than this after the clock are counted as future (and kept)
 * @param retention events older than this are dropped as expired (the store would expire them)
 * @param maxOpenBytes memory budget of open batches (per batcher); above it the largest are sealed
 *     early
 */
public record BatcherConfig(
    Duration grace, Duration lateLinger, Duration maxFuture, Duration retention, long maxOpenBytes) {
  public BatcherConfig {
    if (grace.isNegative() || lateLinger.isNegative() || maxFuture.isNegative() || retention.isNegative()) {
      throw new IllegalArgumentException("durations must not be negative");
    }
    if (maxOpenBytes < 1 << 20) {
      throw new IllegalArgumentException("maxOpenBytes " + maxOpenBytes + " is below 1 MiB");
    }
  }

  /** Defaults: grace 2 s, late linger 1 s, max future 60 s, retention 10 days, 256 MiB. */
  public static BatcherConfig defaults() {
    return new BatcherConfig(
        Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofSeconds(60), Duration.ofDays(10), 256L << 20);
  }
}
