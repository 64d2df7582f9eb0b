package io.epochal.aggregator.spool;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Immutable, validated configuration of a {@link FileSpool}. Every constructor path validates, so a
 * {@code SpoolConfig} that exists is valid; a bad value throws {@link IllegalArgumentException}
 * naming the key, the value and the allowed range.
 *
 * <pre>{@code
 * SpoolConfig config = SpoolConfig.builder(Path.of("/var/lib/epochal/spool"))
 *     .segmentBytes(64L << 20)                 // spool.segment-bytes
 *     .maxBytes(4L << 30)                      // spool.max-bytes
 *     .syncInterval(Duration.ofMillis(50))     // spool.sync-interval
 *     .build();
 * }</pre>
 *
 * @param directory {@value #DIR}: the spool's directory, created if missing; one spool per directory
 * @param segmentBytes {@value #SEGMENT_BYTES}: a segment file is rolled before it would grow past
 *     this; a record (key + blob + 14 bytes) must fit in one segment. Default 64 MiB, allowed
 *     4 KiB to 1 GiB
 * @param maxBytes {@value #MAX_BYTES}: the size cap, in bytes of segment files on disk; an append
 *     that would exceed it is refused with {@link SpoolFullException}. Default 4 GiB, at least twice
 *     {@code segmentBytes} (so that acknowledging everything always makes room again)
 * @param syncInterval {@value #SYNC_INTERVAL}: group commit; a background thread fsyncs appended
 *     records at this interval, so a record becomes durable at most about this long after its append.
 *     0 syncs inside every append instead. Default 50 ms, allowed 0 to 10 s
 */
public record SpoolConfig(Path directory, long segmentBytes, long maxBytes, Duration syncInterval) {
  public static final String DIR = "spool.dir";
  public static final String SEGMENT_BYTES = "spool.segment-bytes";
  public static final String MAX_BYTES = "spool.max-bytes";
  public static final String SYNC_INTERVAL = "spool.sync-interval";

  public static final long DEFAULT_SEGMENT_BYTES = 64L << 20;
  public static final long MIN_SEGMENT_BYTES = 4L << 10;
  public static final long MAX_SEGMENT_BYTES = 1L << 30;
  public static final long DEFAULT_MAX_BYTES = 4L << 30;
  public static final Duration DEFAULT_SYNC_INTERVAL = Duration.ofMillis(50);
  public static final Duration MAX_SYNC_INTERVAL = Duration.ofSeconds(10);

  public SpoolConfig {
    if (directory == null) {
      throw new IllegalArgumentException(DIR + " must be set");
    }
    if (segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > MAX_SEGMENT_BYTES) {
      throw new IllegalArgumentException(SEGMENT_BYTES + " = " + segmentBytes + " is out of range ["
          + MIN_SEGMENT_BYTES + ", " + MAX_SEGMENT_BYTES + "]");
    }
    if (maxBytes < 2 * segmentBytes) {
      throw new IllegalArgumentException(MAX_BYTES + " = " + maxBytes + " is out of range [" + 2 * segmentBytes
          + " (2 x " + SEGMENT_BYTES + "), " + Long.MAX_VALUE + "]");
    }
    if (syncInterval == null || syncInterval.isNegative() || syncInterval.compareTo(MAX_SYNC_INTERVAL) > 0) {
      throw new IllegalArgumentException(SYNC_INTERVAL + " = " + format(syncInterval) + " is out of range [0 ms, "
          + MAX_SYNC_INTERVAL.toMillis() + " ms]");
    }
  }

  /** A builder with every other key at its default. */
  public static Builder builder(Path directory) {
    return new Builder(directory);
  }

  /** Whether appends sync themselves ({@code syncInterval} is 0) rather than a background thread. */
  public boolean syncsEveryAppend() {
    return syncInterval.isZero();
  }

  private static String format(Duration d) {
    if (d == null) {
      return "null";
    }
    return d.toNanos() % 1_000_000 == 0 ? d.toMillis() + " ms" : d.toString();
  }

  /** Builds a {@link SpoolConfig}; {@link #build()} validates. Not thread-safe. */
  public static final class Builder {
    private final Path directory;
    private long segmentBytes = DEFAULT_SEGMENT_BYTES;
    private long maxBytes = DEFAULT_MAX_BYTES;
    private Duration syncInterval = DEFAULT_SYNC_INTERVAL;

    private Builder(Path directory) {
      this.directory = directory;
    }

    public Builder segmentBytes(long segmentBytes) {
      this.segmentBytes = segmentBytes;
      return this;
    }

    public Builder maxBytes(long maxBytes) {
      this.maxBytes = maxBytes;
      return this;
    }

    public Builder syncInterval(Duration syncInterval) {
      this.syncInterval = syncInterval;
      return this;
    }

    /** @throws IllegalArgumentException naming the first key whose value is out of range */
    public SpoolConfig build() {
      return new SpoolConfig(directory, segmentBytes, maxBytes, syncInterval);
    }
  }
}
