package io.epochal.format.blob;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.TestEvents;
import io.epochal.format.reference.ReferenceEvents;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class BlobTest {
  private static final Tags TAGS = new Tags(1413813813L, "1", "WEB", "app");

  @Provide
  Arbitrary<List<Map<String, Object>>> batches() {
    return TestEvents.maps(2).list().ofMinSize(1).ofMaxSize(60);
  }

  @Property(tries = 300)
  void roundTripsInOrder(
      @ForAll("batches") List<Map<String, Object>> events,
      @ForAll boolean dedupe,
      @ForAll boolean compress,
      @ForAll boolean emptySubtype)
      throws FormatException {
    Tags tags = emptySubtype ? new Tags(TAGS.epoch(), "dc-é", "CRON", "") : TAGS;
    try (BlobEncoder enc = BlobEncoder.builder().producerId("a7").dedupeStrings(dedupe).compress(compress).build();
        BlobReader reader = new BlobReader()) {
      List<SealedBlob> blobs = enc.encode(tags, events);
      assertThat(blobs).hasSize(1);
      BlobReader.Blob blob = reader.open(blobs.get(0).bytes());
      assertThat(blob.eventCount()).isEqualTo(events.size());
      assertThat(blob.tags()).isEqualTo(tags);
      assertThat(blob.header().producerId()).isEqualTo("a7");
      List<Map<String, Object>> back = blob.readAll();
      assertThat(back).hasSize(events.size());
      for (int i = 0; i < events.size(); i++) {
        assertThat(TestEvents.deepEquals(back.get(i), events.get(i))).as("event %d", i).isTrue();
      }
    }
  }

  @Property(tries = 200)
  void deeplyNestedEventsRoundTrip(
      @ForAll @IntRange(min = 1, max = 32) int depth, @ForAll boolean lists, @ForAll("leaves") Object leaf)
      throws FormatException {
    // A chain of maps (or maps holding lists) `depth` containers deep, ending in a random leaf.
    Object inner = leaf;
    for (int d = depth; d > 1; d--) {
      inner = lists && d % 2 == 0 ? java.util.Collections.singletonList(inner) : java.util.Collections.singletonMap("k" + d, inner);
    }
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("root", inner);
    try (BlobEncoder enc = BlobEncoder.builder().producerId("a7").build(); BlobReader reader = new BlobReader()) {
      byte[] blob = enc.encode(TAGS, List.of(event)).get(0).bytes();
      assertThat(TestEvents.deepEquals(reader.open(blob).readAll().get(0), event)).isTrue();
    }
  }

  @Provide
  Arbitrary<Object> leaves() {
    return TestEvents.values(0);
  }

  @Property(tries = 40)
  void chunksStayUnderTheLimitAndKeepEveryEventInOrder(
      @ForAll @IntRange(min = 4096, max = 40_000) int limit,
      @ForAll @IntRange(min = 1, max = 3000) int n,
      @ForAll long seed)
      throws FormatException {
    ReferenceEvents gen = new ReferenceEvents(seed);
    List<Map<String, Object>> events = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Map<String, Object> e = new LinkedHashMap<>(gen.web());
      e.put("seq", (long) i);
      events.add(e);
    }
    try (BlobEncoder enc = BlobEncoder.builder().producerId("a7").maxBlobBytes(limit).build();
        BlobReader reader = new BlobReader()) {
      List<SealedBlob> blobs = enc.encode(TAGS, events);
      List<Map<String, Object>> back = new ArrayList<>();
      for (SealedBlob b : blobs) {
        assertThat(b.bytes().length).isLessThanOrEqualTo(limit);
        BlobReader.Blob blob = reader.open(b.bytes());
        assertThat(blob.eventCount()).isEqualTo(b.eventCount()).isPositive();
        back.addAll(blob.readAll());
      }
      assertThat(back).hasSize(n);
      for (int i = 0; i < n; i++) {
        assertThat(TestEvents.deepEquals(back.get(i), events.get(i))).as("event %d", i).isTrue();
      }
    }
  }

  @Test
  void incompressibleDataForcesSplitsThatStillFit() throws FormatException {
    java.util.SplittableRandom r = new java.util.SplittableRandom(1);
    List<Map<String, Object>> events = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      byte[] noise = new byte[1000];
      r.nextBytes(noise);
      events.add(Map.of("noise", noise, "i", (long) i));
    }
    try (BlobEncoder enc = BlobEncoder.builder().producerId("a7").maxBlobBytes(16_384).build();
        BlobReader reader = new BlobReader()) {
      // Prime the ratio estimate with very compressible data, so the cut comes far too late.
      enc.encode(TAGS, List.of(Map.of("zeros", new byte[100_000])));
      List<SealedBlob> blobs = enc.encode(TAGS, events);
      int total = 0;
      long i = 0;
      for (SealedBlob b : blobs) {
        assertThat(b.bytes().length).isLessThanOrEqualTo(16_384);
        for (Map<String, Object> e : reader.open(b.bytes()).readAll()) {
          assertThat(e.get("i")).isEqualTo(i++);
        }
        total += b.eventCount();
      }
      assertThat(total).isEqualTo(400);
    }
  }

  @Test
  void kindsThatCompressDifferentlyDoNotSplitEachOthersChunks() throws FormatException {
    // One encoder batches an incompressible and a very compressible kind side by side, as an
    // aggregator batches types. A shared ratio estimate cut one kind's chunks far too late (split:
    // a compression per step of a binary search) and the other's too early.
    Tags noisy = new Tags(1, "1", "NOISE", "");
    Tags zeros = new Tags(1, "1", "ZEROS", "");
    java.util.SplittableRandom r = new java.util.SplittableRandom(3);
    try (BlobEncoder enc = BlobEncoder.builder().producerId("a7").maxBlobBytes(65_536).build();
        BlobReader reader = new BlobReader()) {
      int blobs = 0;
      long events = 0;
      for (int round = 0; round < 6; round++) {
        BlobBatch x = enc.newBatch(noisy.withEpoch(round));
        BlobBatch y = enc.newBatch(zeros.withEpoch(round));
        for (int i = 0; i < 300; i++) {
          byte[] b = new byte[1000];
          r.nextBytes(b);
          x.add(Map.of("noise", b, "i", (long) i));
        }
        for (int i = 0; i < 3000; i++) {
          y.add(Map.of("zeros", new byte[1000], "i", (long) i));
        }
        for (SealedBlob b : concat(x.seal(), y.seal())) {
          assertThat(b.bytes().length).isLessThanOrEqualTo(65_536);
          events += reader.open(b.bytes()).eventCount();
          blobs++;
        }
      }
      assertThat(events).isEqualTo(6 * 3300);
      // Every blob compressed once, plus a few probes while the estimates are learnt.
      assertThat(enc.compressions()).isLessThanOrEqualTo(blobs + 6);
    }
  }

  private static List<SealedBlob> concat(List<SealedBlob> a, List<SealedBlob> b) {
    List<SealedBlob> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  @Test
  void anEventTooLargeForAnyBlobIsRejected() {
    java.util.SplittableRandom r = new java.util.SplittableRandom(2);
    byte[] noise = new byte[10_000];
    r.nextBytes(noise);
    try (BlobEncoder enc = BlobEncoder.builder().producerId("a7").maxBlobBytes(8192).build()) {
      BlobBatch batch = enc.newBatch(TAGS);
      batch.add(Map.of("ok", 1));
      assertThatThrownBy(() -> batch.add(Map.of("noise", noise)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("does not fit in a blob");
      List<SealedBlob> blobs = batch.seal();
      assertThat(blobs).hasSize(1);
      assertThat(blobs.get(0).eventCount()).isEqualTo(1);
    }
  }

  @Test
  void aHugeIncompressibleEventIsRejectedEvenAfterCompressibleData() throws FormatException {
    java.util.SplittableRandom r = new java.util.SplittableRandom(3);
    byte[] noise = new byte[1 << 20];
    r.nextBytes(noise);
    try (BlobEncoder enc = BlobEncoder.builder().producerId("a7").build(); BlobReader reader = new BlobReader()) {
      // Teach the encoder a very high compression ratio first.
      enc.encode(TAGS, List.of(Map.of("zeros", new byte[4 << 20])));
      BlobBatch batch = enc.newBatch(TAGS);
      batch.add(Map.of("before", 1));
      Map<String, Object> huge = new LinkedHashMap<>();
      huge.put("fresh-key", "fresh-value"); // strings of a rejected event must not stay in the table
      huge.put("noise", noise);
      assertThatThrownBy(() -> batch.add(huge))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("does not fit in a blob");
      batch.add(Map.of("after", 2, "fresh-key", "fresh-value"));
      List<SealedBlob> blobs = batch.seal();
      List<Map<String, Object>> back = new ArrayList<>();
      for (SealedBlob b : blobs) {
        back.addAll(reader.open(b.bytes()).readAll());
      }
      assertThat(back).containsExactly(Map.of("before", 1L), Map.of("after", 2L, "fresh-key", "fresh-value"));
    }
  }

  @Test
  void corruptionIsDetectedBeforeDecoding() throws FormatException {
    byte[] blob;
    try (BlobEncoder enc = BlobEncoder.builder().producerId("a7").build()) {
      blob = enc.encode(TAGS, List.of(Map.of("k", "v"))).get(0).bytes();
    }
    try (BlobReader reader = new BlobReader()) {
      assertThat(reader.header(blob).eventCount()).isEqualTo(1);
      for (int i = 0; i < blob.length; i++) {
        byte[] bad = blob.clone();
        bad[i] ^= 0x10;
        FormatException e = org.junit.jupiter.api.Assertions.assertThrows(FormatException.class, () -> reader.open(bad));
        assertThat(e.reason()).isIn(FormatException.Reason.CHECKSUM_MISMATCH, FormatException.Reason.BAD_MAGIC);
      }
      byte[] shortBlob = java.util.Arrays.copyOf(blob, blob.length - 1);
      assertThatThrownBy(() -> reader.open(shortBlob)).isInstanceOf(FormatException.class);
    }
  }

  @Property(tries = 50)
  void headerIsReadableWithoutDecoding(@ForAll @Size(min = 1, max = 50) List<@IntRange(max = 1000) Integer> xs)
      throws FormatException {
    List<Map<String, Object>> events = new ArrayList<>();
    for (int x : xs) {
      events.add(Map.of("x", x));
    }
    try (BlobEncoder enc = BlobEncoder.builder().producerId("agg-2").build(); BlobReader reader = new BlobReader()) {
      SealedBlob b = enc.encode(TAGS.withEpoch(42), events).get(0);
      BlobHeader h = reader.header(b.bytes());
      assertThat(h.eventCount()).isEqualTo(xs.size());
      assertThat(h.tags().epoch()).isEqualTo(42);
      assertThat(h.blobLength()).isEqualTo(b.bytes().length);
      assertThat(h.uncompressedLength()).isEqualTo(b.uncompressedBytes());
      assertThat(h.dedupedStrings()).isTrue();
    }
  }
}
