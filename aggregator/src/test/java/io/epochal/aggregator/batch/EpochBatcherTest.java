package io.epochal.aggregator.batch;

import io.epochal.common.time.ManualClock;
import static org.assertj.core.api.Assertions.assertThat;

import io.epochal.aggregator.AggregatorMetrics;
import io.epochal.aggregator.AggregatorMetrics.DropReason;
import io.epochal.format.BlobKey;
import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.BlobReader;
import io.epochal.format.blob.SealedBlob;
import io.epochal.format.datagram.DatagramFormat;
import io.epochal.format.datagram.DatagramReader;
import io.epochal.format.datagram.DatagramWriter;
import io.epochal.format.reference.ReferenceEvents;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class EpochBatcherTest {
  private static final long E = 1_413_813_813L;

  private final ManualClock clock = new ManualClock(E * 1000 + 500);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final AggregatorMetrics metrics = new AggregatorMetrics(registry);
  private final List<BlobKey> keys = new ArrayList<>();
  private final List<SealedBlob> blobs = new ArrayList<>();
  private final BlobReader reader = new BlobReader();
  private BlobEncoder encoder = BlobEncoder.builder().producerId("a7").build();

  @AfterEach
  void close() {
    reader.close();
    encoder.close();
  }

  private EpochBatcher batcher(BatcherConfig config) {
    return new EpochBatcher(config, encoder, new ChunkTokens("a7", 3), clock, metrics, (k, b) -> {
      keys.add(k);
      blobs.add(b);
    });
  }

  private static Tags tags(long epoch) {
    return new Tags(epoch, "1", "WEB", "app");
  }

  private static Map<String, Object> event(long i) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("i", i);
    return e;
  }

  private List<Map<String, Object>> events(int blob) throws FormatException {
    return reader.open(blobs.get(blob).bytes()).readAll();
  }

  @Test
  void anEpochIsSealedWhenTheClockPassesItsEndPlusGrace() throws FormatException {
    EpochBatcher b = batcher(BatcherConfig.defaults());
    for (int i = 0; i < 100; i++) {
      b.event(tags(E), event(i));
    }
    b.event(new Tags(E, "1", "CRON", ""), event(-1));
    clock.set((E + 1) * 1000 + 2000 - 1);
    b.tick();
    assertThat(blobs).isEmpty();
    assertThat(b.openBatches()).isEqualTo(2);
    clock.advance(1);
    b.tick();
    assertThat(blobs).hasSize(2);
    assertThat(b.openBatches()).isZero();
    assertThat(b.openBytes()).isZero();
    int web = keys.get(0).type().equals("WEB") ? 0 : 1;
    assertThat(keys.get(web).tags()).isEqualTo(tags(E));
    assertThat(keys.get(web).chunk()).startsWith("a7.3.");
    assertThat(events(web)).extracting(m -> m.get("i")).containsExactlyElementsOf(
        java.util.stream.LongStream.range(0, 100).boxed().toList());
    assertThat(keys.get(0).chunk()).isNotEqualTo(keys.get(1).chunk());
    assertThat(registry.get("epochal.aggregator.events.received").tag("type", "WEB").counter().count()).isEqualTo(100);
    assertThat(registry.get("epochal.aggregator.seal.delay").timer().count()).isEqualTo(2);
  }

  @Test
  void lateEventsGoIntoAFurtherChunkAfterTheLateLinger() throws FormatException {
    EpochBatcher b = batcher(BatcherConfig.defaults());
    b.event(tags(E), event(1));
    clock.set((E + 3) * 1000);
    b.tick();
    assertThat(blobs).hasSize(1);
    b.event(tags(E), event(2));
    b.event(tags(E), event(3));
    assertThat(metrics.late.count()).isEqualTo(2);
    clock.advance(999);
    b.tick();
    assertThat(blobs).hasSize(1);
    clock.advance(1);
    b.tick();
    assertThat(blobs).hasSize(2);
    assertThat(keys.get(1).tags()).isEqualTo(tags(E));
    assertThat(keys.get(1).chunk()).isNotEqualTo(keys.get(0).chunk());
    assertThat(events(1)).extracting(m -> m.get("i")).containsExactly(2L, 3L);
  }

  @Test
  void aFullBatchIsCutIntoChunksBeforeItsEpochEnds() throws FormatException {
    encoder = BlobEncoder.builder().producerId("a7").maxBlobBytes(8192).build();
    EpochBatcher b = batcher(BatcherConfig.defaults());
    ReferenceEvents gen = new ReferenceEvents(1);
    for (int i = 0; i < 2000; i++) {
      Map<String, Object> e = new LinkedHashMap<>(gen.web());
      e.put("seq", (long) i);
      b.event(tags(E), e);
    }
    assertThat(blobs).hasSizeGreaterThan(3); // cut while the epoch is open
    b.sealAll();
    long seq = 0;
    Set<String> chunks = new HashSet<>();
    for (int i = 0; i < blobs.size(); i++) {
      assertThat(blobs.get(i).bytes().length).isLessThanOrEqualTo(8192);
      assertThat(chunks.add(keys.get(i).chunk())).isTrue();
      for (Map<String, Object> e : events(i)) {
        assertThat(e.get("seq")).isEqualTo(seq++);
      }
    }
    assertThat(seq).isEqualTo(2000);
  }

  @Test
  void theMemoryLimitSealsTheLargestBatchesEarly() throws FormatException {
    BatcherConfig small = new BatcherConfig(Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofSeconds(60),
        Duration.ofDays(10), 1 << 20);
    EpochBatcher b = batcher(small);
    ReferenceEvents gen = new ReferenceEvents(2);
    long added = 0;
    for (int i = 0; i < 20_000; i++) {
      ReferenceEvents.Event e = gen.next();
      b.event(new Tags(E, "1", e.type(), e.subtype()), e.fields());
      added++;
      assertThat(b.openBytes()).isLessThanOrEqualTo(1 << 20);
    }
    assertThat(metrics.earlySeals.count()).isPositive();
    b.sealAll();
    long total = 0;
    for (int i = 0; i < blobs.size(); i++) {
      total += events(i).size();
    }
    assertThat(total).isEqualTo(added);
  }

  @Test
  void futureEventsAreKeptAndExpiredOnesDropped() throws FormatException {
    EpochBatcher b = batcher(BatcherConfig.defaults());
    b.event(tags(E + 3600), event(1));
    assertThat(metrics.future.count()).isEqualTo(1);
    b.event(tags(E - 11L * 24 * 3600), event(2));
    assertThat(metrics.droppedCount(DropReason.EXPIRED)).isEqualTo(1);
    clock.advance(1000 + 2000);
    b.tick();
    assertThat(blobs).hasSize(1);
    assertThat(keys.get(0).epoch()).isEqualTo(E + 3600);
    assertThat(events(0)).containsExactly(Map.of("i", 1L));
  }

  /** A datagram of {@code events}, all tagged {@code tags}; {@code corrupt} turns event i's first value tag into 10. */
  private static byte[] datagram(Tags tags, List<Map<String, Object>> events, int corrupt) {
    DatagramWriter d = new DatagramWriter(DatagramFormat.MAX_DATAGRAM_BYTES, DatagramFormat.VERSION);
    for (Map<String, Object> e : events) {
      assertThat(d.tryAdd(tags.epoch(), tags.dc(), tags.type(), tags.subtype(), e)).isTrue();
    }
    byte[] b = Arrays.copyOf(d.buffer(), d.finish());
    if (corrupt >= 0) {
      // Records of {"i": n} are short (one-byte lengths) and end in their value: LONG tag, one byte.
      int p = DatagramFormat.HEADER_BYTES;
      for (int i = 0; i < corrupt; i++) {
        p += 1 + b[p];
      }
      b[p + 1 + b[p] - 2] = 10;
      CRC32C crc = new CRC32C();
      crc.update(b, 0, b.length - DatagramFormat.TRAILER_BYTES);
      ByteBuffer.wrap(b, b.length - DatagramFormat.TRAILER_BYTES, 4).order(ByteOrder.LITTLE_ENDIAN)
          .putInt((int) crc.getValue());
    }
    return b;
  }

  @Test
  void encodedRecordsGiveTheSameBlobsAsDecodedEvents() throws FormatException {
    List<Map<String, Object>> events = new ArrayList<>();
    ReferenceEvents gen = new ReferenceEvents(4);
    for (int i = 0; i < 3000; i++) {
      events.add(gen.web());
    }
    List<SealedBlob> decoded = new ArrayList<>();
    try (BlobEncoder other = BlobEncoder.builder().producerId("a7").maxBlobBytes(8192).build()) {
      encoder = BlobEncoder.builder().producerId("a7").maxBlobBytes(8192).build();
      EpochBatcher viaRecords = batcher(BatcherConfig.defaults());
      EpochBatcher viaMaps = new EpochBatcher(BatcherConfig.defaults(), other, new ChunkTokens("a7", 3), clock,
          new AggregatorMetrics(new SimpleMeterRegistry()), (k, b) -> decoded.add(b));
      DatagramReader reader = new DatagramReader();
      for (int round = 0; round < 50; round++) {
        byte[] d = datagram(tags(E), events.subList(round * 60, round * 60 + 60), -1);
        assertThat(reader.readRecords(d, 0, d.length, viaRecords)).isEqualTo(60);
        assertThat(reader.read(d, 0, d.length, viaMaps)).isEqualTo(60);
      }
      assertThat(blobs).isNotEmpty(); // chunks were cut early, on both paths alike
      viaRecords.sealAll();
      viaMaps.sealAll();
    }
    assertThat(blobs).hasSameSizeAs(decoded);
    for (int i = 0; i < blobs.size(); i++) {
      assertThat(blobs.get(i).bytes()).isEqualTo(decoded.get(i).bytes());
    }
    assertThat(registry.get("epochal.aggregator.events.received").tag("type", "WEB").counter().count())
        .isEqualTo(3000);
  }

  @Test
  void anInvalidRecordIsCountedByReasonAndItsNeighboursAreKept() throws FormatException {
    EpochBatcher b = batcher(BatcherConfig.defaults());
    DatagramReader reader = new DatagramReader();
    byte[] d = datagram(tags(E), List.of(event(1), event(2), event(3)), 1);
    assertThat(reader.readRecords(d, 0, d.length, b)).isEqualTo(2);
    // The first record of new tags is invalid: no batch may stay behind for it.
    byte[] lone = datagram(new Tags(E, "1", "LB", "haproxy"), List.of(event(4)), 0);
    assertThat(reader.readRecords(lone, 0, lone.length, b)).isZero();
    assertThat(b.openBatches()).isEqualTo(1);
    // Expired and invalid: counted as invalid, as a decoded event would have been.
    byte[] old = datagram(tags(E - 11L * 24 * 3600), List.of(event(5), event(6)), 0);
    assertThat(reader.readRecords(old, 0, old.length, b)).isEqualTo(1);
    assertThat(registry.get("epochal.aggregator.events.invalid").tag("reason", "bad_type").counter().count())
        .isEqualTo(3);
    assertThat(metrics.droppedCount(DropReason.EXPIRED)).isEqualTo(1);
    b.sealAll();
    assertThat(blobs).hasSize(1);
    assertThat(events(0)).containsExactly(Map.of("i", 1L), Map.of("i", 3L));
  }

  @Test
  void invalidEventsAreCountedByReason() {
    EpochBatcher b = batcher(BatcherConfig.defaults());
    b.invalidEvent(new FormatException(FormatException.Reason.INVALID_TAG, "bad"));
    assertThat(registry.get("epochal.aggregator.events.invalid").tag("reason", "invalid_tag").counter().count())
        .isEqualTo(1);
  }
}
