package io.epochal.aggregator;

import io.epochal.common.time.ManualClock;
import static org.assertj.core.api.Assertions.assertThat;

import io.epochal.aggregator.AggregatorMetrics.DropReason;
import io.epochal.aggregator.spool.FileSpool;
import io.epochal.aggregator.spool.SpoolConfig;
import io.epochal.aggregator.spool.SpoolReader;
import io.epochal.aggregator.spool.SpoolRecord;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.SealedBlob;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolWriterTest {
  private static final Tags TAGS = new Tags(1_413_813_813L, "1", "WEB", "app");

  private final ManualClock clock = new ManualClock(1_413_813_816_000L);
  private final AggregatorMetrics metrics = new AggregatorMetrics(new SimpleMeterRegistry());

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.onSpinWait();
      Thread.yield();
    }
  }

  /** An incompressible blob of about {@code bytes} holding {@code events} events. */
  private static SealedBlob blob(BlobEncoder enc, int events, int bytes, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<Map<String, Object>> list = new ArrayList<>();
    for (int i = 0; i < events; i++) {
      byte[] noise = new byte[bytes / events];
      r.nextBytes(noise);
      list.add(Map.of("noise", noise));
    }
    return enc.encode(TAGS, list).get(0);
  }

  @Test
  void aFullSpoolDropsAndCountsThenRecoversByItself(@TempDir Path dir) throws Exception {
    try (FileSpool spool = FileSpool.open(SpoolConfig.builder(dir).segmentBytes(64 << 10).maxBytes(1 << 20)
            .syncInterval(Duration.ofMillis(5)).build());
        BlobEncoder enc = BlobEncoder.builder().producerId("t").build()) {
      SpoolWriter writer = new SpoolWriter(spool, metrics, clock, 64L << 20);
      // 40 blobs of ~60 KB into a 1 MiB spool: some must be refused.
      for (int i = 0; i < 40; i++) {
        writer.sealed(TAGS.blobKey("t.0." + i), blob(enc, 3, 60_000, i));
      }
      await("every blob appended or dropped", () -> writer.appendedBlobs()
          + metrics.droppedCount(DropReason.SPOOL_FULL) / 3 == 40);
      assertThat(metrics.droppedCount(DropReason.SPOOL_FULL)).isPositive();
      long appended = writer.appendedBlobs();
      assertThat(appended).isBetween(10L, 17L);

      // The relocator catches up: read and acknowledge everything, which frees whole segments.
      spool.sync();
      long end;
      try (SpoolReader r = spool.reader(spool.acknowledgedPosition())) {
        SpoolRecord last = null;
        for (SpoolRecord rec = r.next(); rec != null; rec = r.next()) {
          last = rec;
        }
        end = last.nextPosition();
      }
      spool.acknowledge(end);
      writer.sealed(TAGS.blobKey("t.1.0"), blob(enc, 3, 60_000, 99));
      await("appends succeed again", () -> writer.appendedBlobs() == appended + 1);
      writer.close();
    }
  }

  @Test
  void aFullQueueDropsAndCounts(@TempDir Path dir) throws Exception {
    try (FileSpool spool = FileSpool.open(SpoolConfig.builder(dir).build());
        BlobEncoder enc = BlobEncoder.builder().producerId("t").build()) {
      SpoolWriter writer = new SpoolWriter(spool, metrics, clock, 1 << 20);
      writer.close(); // a closed writer takes nothing: everything offered is dropped as queue-full
      writer.sealed(TAGS.blobKey("t.0.0"), blob(enc, 2, 1000, 1));
      assertThat(metrics.droppedCount(DropReason.SPOOL_QUEUE_FULL)).isEqualTo(2);
    }
  }
}
