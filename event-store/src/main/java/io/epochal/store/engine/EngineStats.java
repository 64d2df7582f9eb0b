package io.epochal.store.engine;

import java.util.concurrent.atomic.LongAdder;

/** Counters of one engine, read by the node's metrics. Thread-safe. */
public final class EngineStats {
  final LongAdder corruptRecords = new LongAdder();
  final LongAdder tornTails = new LongAdder();
  final LongAdder merges = new LongAdder();
  final LongAdder mergeCopiedBytes = new LongAdder();
  final LongAdder mergeReclaimedBytes = new LongAdder();
  final LongAdder expiredFiles = new LongAdder();
  final LongAdder expiredBytes = new LongAdder();
  final LongAdder syncs = new LongAdder();
  final LongAdder hintLoads = new LongAdder();
  final LongAdder scans = new LongAdder();

  /** Records that failed their CRC, at open or when read. */
  public long corruptRecords() {
    return corruptRecords.sum();
  }

  /** Torn tails cut at open. */
  public long tornTails() {
    return tornTails.sum();
  }

  public long merges() {
    return merges.sum();
  }

  /** Bytes of live records copied by merges. */
  public long mergeCopiedBytes() {
    return mergeCopiedBytes.sum();
  }

  /** Bytes of data files removed by merges. */
  public long mergeReclaimedBytes() {
    return mergeReclaimedBytes.sum();
  }

  /** Data files deleted whole because every record in them expired. */
  public long expiredFiles() {
    return expiredFiles.sum();
  }

  public long expiredBytes() {
    return expiredBytes.sum();
  }

  public long syncs() {
    return syncs.sum();
  }

  /** Data files whose index came from a hint file at open. */
  public long hintLoads() {
    return hintLoads.sum();
  }

  /** Data files scanned at open (no valid hint). */
  public long scans() {
    return scans.sum();
  }
}
