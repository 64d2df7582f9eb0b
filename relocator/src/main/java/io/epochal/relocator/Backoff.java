package io.epochal.relocator;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Retry delays: {@code base × 2^(attempt−1)}, capped at {@code max}, then shortened by a random
 * fraction of up to {@code jitter-percent} (so retries of many PUTs that failed together spread
 * out, and no delay exceeds the cap). Thread-safe.
 */
final class Backoff {
  private final long baseNanos;
  private final long maxNanos;
  private final double jitter;

  Backoff(RelocatorConfig config) {
    this.baseNanos = config.retryBackoffBase().toNanos();
    this.maxNanos = config.retryBackoffMax().toNanos();
    this.jitter = config.retryJitterPercent() / 100.0;
  }

  /** The delay before attempt {@code attempt + 1}, after {@code attempt} (≥ 1) failed attempts. */
  Duration at(int attempt) {
    int shift = Math.min(Math.max(attempt - 1, 0), 40);
    long d = baseNanos > (maxNanos >> shift) ? maxNanos : Math.min(maxNanos, baseNanos << shift);
    double cut = jitter * ThreadLocalRandom.current().nextDouble();
    return Duration.ofNanos(Math.max(1, (long) (d * (1 - cut))));
  }
}
