package io.epochal.benchmarks;

import io.epochal.format.Tags;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.SealedBlob;
import io.epochal.format.reference.ReferenceEvents;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The inputs shared by every benchmark and the size report, so that all of them measure the same
 * events: a "batch" is what the aggregator seals for one (epoch, dc, type, subtype) second.
 *
 * <ul>
 *   <li>{@link #webAppBatch()}: {@value #BATCH_EVENTS} {@code WEB/app} events from {@link
 *       ReferenceEvents#web()} with seed {@value #SEED}, the batch every benchmark uses;
 *   <li>{@link #referenceMixBatches()}: {@value #MIX_EVENTS} events of the full reference mix
 *       ({@link ReferenceEvents#next()}), grouped by (type, subtype) as the aggregator would group
 *       one second of traffic.
 * </ul>
 *
 * <p>Everything is deterministic for the seed (and the version of {@link ReferenceEvents}).
 */
final class BenchmarkData {
  /** Seed of every generator used by the benchmarks. */
  static final long SEED = 42L;

  /** Events in the benchmark batch: one second of one busy (type, subtype). */
  static final int BATCH_EVENTS = 5_000;

  /** Events of the reference mix in one second, split over its four (type, subtype) groups. */
  static final int MIX_EVENTS = 10_000;

  /** Data center tag of every batch. */
  static final String DC = "1";

  /** The second every batch is tagged with (2026-09-21T14:13:20Z; any fixed value does). */
  static final long EPOCH = 1_790_000_000L;

  /** Tags of the {@code WEB/app} benchmark batch. */
  static final Tags WEB_APP = new Tags(EPOCH, DC, "WEB", "app");

  /** Producer id written into blob headers (an aggregator id). */
  static final String PRODUCER_ID = "a7";

  /** Default (and production) blob size limit. */
  static final int MAX_BLOB_BYTES = 500_000;

  private BenchmarkData() {}

  /** The {@code WEB/app} benchmark batch: {@value #BATCH_EVENTS} events, seed {@value #SEED}. */
  static List<Map<String, Object>> webAppBatch() {
    return webEvents(SEED, BATCH_EVENTS);
  }

  /** {@code n} {@code WEB/app} events from a generator seeded with {@code seed}. */
  static List<Map<String, Object>> webEvents(long seed, int n) {
    ReferenceEvents gen = new ReferenceEvents(seed);
    List<Map<String, Object>> events = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      events.add(gen.web());
    }
    return events;
  }

  /** An encoder as the benchmarks configure it: the given dedupe/compression/level, 500 KB blobs. */
  static BlobEncoder encoder(boolean dedupe, boolean compress, int level) {
    return encoder(dedupe, compress, level, io.epochal.format.blob.BlobFormat.DEFAULT_VERSION);
  }

  /** {@link #encoder(boolean, boolean, int)} writing blob format {@code version}. */
  static BlobEncoder encoder(boolean dedupe, boolean compress, int level, int version) {
    return BlobEncoder.builder()
        .version(version)
        .producerId(PRODUCER_ID)
        .zstdLevel(level)
        .dedupeStrings(dedupe)
        .compress(compress)
        .maxBlobBytes(MAX_BLOB_BYTES)
        .build();
  }

  /**
   * The blobs a long-running encoder makes of {@code events}: the batch is encoded once to warm
   * the encoder up and the second result is returned. A fresh encoder starts with a compression
   * ratio estimate of 1 and so cuts its first batch into more, smaller chunks than it does in
   * steady state (about 3% larger in total on the WEB/app batch); the aggregator's encoders live
   * long, so steady state is what the benchmarks and the size report show.
   */
  static List<SealedBlob> steadyStateBlobs(BlobEncoder encoder, Tags tags, List<Map<String, Object>> events) {
    encoder.encode(tags, events);
    return encoder.encode(tags, events);
  }

  /**
   * {@value #MIX_EVENTS} events of the reference mix grouped by (type, subtype) in order of first
   * appearance, each group tagged with the same second, as the aggregator would seal them.
   */
  static Map<Tags, List<Map<String, Object>>> referenceMixBatches() {
    Map<Tags, List<Map<String, Object>>> groups = new LinkedHashMap<>();
    for (ReferenceEvents.Event e : new ReferenceEvents(SEED).next(MIX_EVENTS)) {
      Tags tags = new Tags(EPOCH, DC, e.type(), e.subtype());
      groups.computeIfAbsent(tags, t -> new ArrayList<>()).add(e.fields());
    }
    return groups;
  }
}
