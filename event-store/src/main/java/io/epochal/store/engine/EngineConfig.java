package io.epochal.store.engine;

import java.time.Duration;

/**
 * Immutable, validated settings of one {@link Bitcask} engine (one ring partition). A config that
 * exists is valid: the constructor throws {@link IllegalArgumentException} naming the key, value
 * and allowed range.
 *
 * @param maxFileBytes {@code engine.max-file-bytes}: a data file is rolled before it would grow
 *     past this; one record (header + key + value) must fit. Default 256 MiB
 * @param sync {@code engine.sync}: when appended records are fsynced on their own (a write that
 *     asks for durability is always fsynced before it is acknowledged)
 * @param syncInterval {@code engine.sync-interval}: the group-commit interval of {@link
 *     SyncMode#INTERVAL}
 * @param mergeFragmentationTrigger {@code engine.merge.fragmentation-trigger}: a merge starts when
 *     some closed file has at least this percentage of dead bytes (default 60)
 * @param mergeDeadBytesTrigger {@code engine.merge.dead-bytes-trigger}: ... or at least this many
 *     dead bytes (default 128 MiB: half a default file)
 * @param mergeFragmentationThreshold {@code engine.merge.fragmentation-threshold}: once a merge
 *     runs, it takes every closed file with at least this percentage of dead bytes (default 40)
 * @param mergeDeadBytesThreshold {@code engine.merge.dead-bytes-threshold}: ... or at least this
 *     many dead bytes (default 32 MiB)
 * @param mergeBytesPerSecond {@code engine.merge.max-bytes-per-second}: the merge's read rate
 *     limit, so it leaves the disk to foreground work (default 64 MiB/s; 0: unlimited)
 */
public record EngineConfig(
    long maxFileBytes,
    SyncMode sync,
    Duration syncInterval,
    int mergeFragmentationTrigger,
    long mergeDeadBytesTrigger,
    int mergeFragmentationThreshold,
    long mergeDeadBytesThreshold,
    long mergeBytesPerSecond) {

  /** When records reach the disk without a caller asking. */
  public enum SyncMode {
    /** Only when a write asks for durability ({@code dw > 0}), and at close. */
    NONE,
    /** Every write is fsynced before it returns. */
    ALWAYS,
    /** A background fsync every {@code sync-interval} (group commit). */
    INTERVAL
  }

  public static final long MIN_FILE_BYTES = 4L << 10;
  public static final long MAX_FILE_BYTES = 1L << 40;

  public EngineConfig {
    if (maxFileBytes < MIN_FILE_BYTES || maxFileBytes > MAX_FILE_BYTES) {
      throw new IllegalArgumentException("engine.max-file-bytes = " + maxFileBytes + " is out of range ["
          + MIN_FILE_BYTES + ", " + MAX_FILE_BYTES + "]");
    }
    if (sync == null) {
      throw new IllegalArgumentException("engine.sync must be set");
    }
    if (syncInterval == null || syncInterval.isNegative() || syncInterval.isZero()
        || syncInterval.compareTo(Duration.ofMinutes(10)) > 0) {
      throw new IllegalArgumentException("engine.sync-interval = " + syncInterval + " is out of range [1 ms, 10 min]");
    }
    percent("engine.merge.fragmentation-trigger", mergeFragmentationTrigger);
    percent("engine.merge.fragmentation-threshold", mergeFragmentationThreshold);
    if (mergeFragmentationThreshold > mergeFragmentationTrigger) {
      throw new IllegalArgumentException("engine.merge.fragmentation-threshold = " + mergeFragmentationThreshold
          + " must not exceed engine.merge.fragmentation-trigger = " + mergeFragmentationTrigger);
    }
    if (mergeDeadBytesTrigger < 0 || mergeDeadBytesThreshold < 0 || mergeBytesPerSecond < 0) {
      throw new IllegalArgumentException("engine.merge byte limits must be >= 0");
    }
  }

  private static void percent(String key, int value) {
    if (value < 1 || value > 100) {
      throw new IllegalArgumentException(key + " = " + value + " is out of range [1, 100]");
    }
  }

  /** Defaults: 256 MiB files, interval sync every second, Bitcask's merge triggers. */
  public static EngineConfig defaults() {
    return new EngineConfig(256L << 20, SyncMode.INTERVAL, Duration.ofSeconds(1), 60, 128L << 20, 40, 32L << 20,
        64L << 20);
  }

  public EngineConfig withMaxFileBytes(long bytes) {
    return new EngineConfig(bytes, sync, syncInterval, mergeFragmentationTrigger, mergeDeadBytesTrigger,
        mergeFragmentationThreshold, mergeDeadBytesThreshold, mergeBytesPerSecond);
  }

  public EngineConfig withSync(SyncMode mode) {
    return new EngineConfig(maxFileBytes, mode, syncInterval, mergeFragmentationTrigger, mergeDeadBytesTrigger,
        mergeFragmentationThreshold, mergeDeadBytesThreshold, mergeBytesPerSecond);
  }

  public EngineConfig withMerge(int fragTrigger, long deadTrigger, int fragThreshold, long deadThreshold) {
    return new EngineConfig(maxFileBytes, sync, syncInterval, fragTrigger, deadTrigger, fragThreshold, deadThreshold,
        mergeBytesPerSecond);
  }
}
