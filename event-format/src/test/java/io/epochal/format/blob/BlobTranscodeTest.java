package io.epochal.format.blob;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.format.FormatException;
import io.epochal.format.FuzzTest;
import io.epochal.format.Tags;
import io.epochal.format.TestEvents;
import io.epochal.format.codec.DatagramStrings;
import io.epochal.format.codec.EventDecoder;
import io.epochal.format.codec.EventEncoder;
import io.epochal.format.datagram.DatagramFormat;
import io.epochal.format.datagram.DatagramReader;
import io.epochal.format.datagram.DatagramWriter;
import io.epochal.format.reference.ReferenceEvents;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * {@link BlobBatch#addEncoded} (datagram record straight into the blob) against the path it
 * replaces, {@link BlobBatch#add} of the decoded map: byte-identical blobs, chunking included, and
 * the events read back.
 */
class BlobTranscodeTest {
  private static final Tags TAGS = new Tags(1413813813L, "1", "WEB", "app");

  private static byte[] encode(Map<String, ?> event) {
    EventEncoder enc = new EventEncoder(64, -1, false);
    enc.writeEvent(event);
    return enc.toBytes();
  }

  /** Both paths over the same encoded events, each with its own (identically configured) encoder. */
  private static List<List<SealedBlob>> bothPaths(BlobEncoder.Builder config, List<byte[]> events, int batches)
      throws FormatException {
    List<SealedBlob> old = new ArrayList<>();
    List<SealedBlob> transcoded = new ArrayList<>();
    try (BlobEncoder a = config.build(); BlobEncoder b = config.build()) {
      EventDecoder decoder = new EventDecoder(false);
      for (int round = 0; round < batches; round++) {
        BlobBatch x = a.newBatch(TAGS);
        BlobBatch y = b.newBatch(TAGS);
        for (byte[] e : events) {
          decoder.reset(e, 0, e.length);
          x.add(decoder.readEvent());
          y.addEncoded(e, 0, e.length);
          assertThat(y.openBytes()).isEqualTo(x.openBytes());
        }
        old.addAll(x.seal());
        transcoded.addAll(y.seal());
      }
    }
    return List.of(old, transcoded);
  }

  private static void assertSame(List<SealedBlob> old, List<SealedBlob> transcoded) {
    assertThat(transcoded).hasSameSizeAs(old);
    for (int i = 0; i < old.size(); i++) {
      assertThat(transcoded.get(i).bytes()).as("blob %d", i).isEqualTo(old.get(i).bytes());
      assertThat(transcoded.get(i).eventCount()).isEqualTo(old.get(i).eventCount());
    }
  }

  @Provide
  Arbitrary<List<Map<String, Object>>> batches() {
    return TestEvents.maps(2).list().ofMinSize(1).ofMaxSize(60);
  }

  @Property(tries = 150)
  void randomEventsGiveByteIdenticalBlobsThatReadBack(
      @ForAll("batches") List<Map<String, Object>> events, @ForAll boolean dedupe, @ForAll boolean compress)
      throws FormatException {
    List<byte[]> encoded = events.stream().map(BlobTranscodeTest::encode).toList();
    List<List<SealedBlob>> both =
        bothPaths(BlobEncoder.builder().producerId("a7").dedupeStrings(dedupe).compress(compress), encoded, 1);
    assertSame(both.get(0), both.get(1));
    try (BlobReader reader = new BlobReader()) {
      List<Map<String, Object>> back = new ArrayList<>();
      for (SealedBlob b : both.get(1)) {
        back.addAll(reader.open(b.bytes()).readAll());
      }
      assertThat(back).hasSize(events.size());
      for (int i = 0; i < events.size(); i++) {
        assertThat(TestEvents.deepEquals(back.get(i), events.get(i))).as("event %d", i).isTrue();
      }
    }
  }

  /** Every record of the datagrams, transcoded into one batch per tags; the sealed blobs in tag order. */
  private static List<SealedBlob> transcodeAll(BlobEncoder encoder, List<byte[]> datagrams) throws FormatException {
    Map<Tags, BlobBatch> batches = new java.util.TreeMap<>(java.util.Comparator.comparing(Tags::toString));
    DatagramReader reader = new DatagramReader();
    DatagramReader.RecordSink sink = new DatagramReader.RecordSink() {
      @Override
      public void record(Tags tags, byte[] buf, int off, int len, DatagramStrings strings) throws FormatException {
        batches.computeIfAbsent(tags, encoder::newBatch).addEncoded(buf, off, len, strings);
      }

      @Override
      public void invalidEvent(FormatException e) {
        throw new AssertionError(e);
      }
    };
    for (byte[] d : datagrams) {
      reader.readRecords(d, 0, d.length, sink);
    }
    List<SealedBlob> out = new ArrayList<>();
    for (BlobBatch b : batches.values()) {
      out.addAll(b.seal());
    }
    return out;
  }

  /** The events as datagrams of {@code capacity} bytes in {@code version}, as the emitter packs them. */
  private static List<byte[]> datagrams(List<ReferenceEvents.Event> events, int capacity, int version) {
    List<byte[]> out = new ArrayList<>();
    DatagramWriter w = new DatagramWriter(capacity, version);
    for (ReferenceEvents.Event e : events) {
      if (!w.tryAdd(1413813813L, "1", e.type(), e.subtype(), e.fields())) {
        if (!w.isEmpty()) {
          out.add(Arrays.copyOf(w.buffer(), w.finish()));
          w.clear();
        }
        if (!w.tryAdd(1413813813L, "1", e.type(), e.subtype(), e.fields())) {
          // Larger than the budget: alone, as the emitter sends it.
          DatagramWriter alone = new DatagramWriter(DatagramFormat.MAX_DATAGRAM_BYTES, version);
          assertThat(alone.tryAdd(1413813813L, "1", e.type(), e.subtype(), e.fields())).isTrue();
          out.add(Arrays.copyOf(alone.buffer(), alone.finish()));
        }
      }
    }
    if (!w.isEmpty()) {
      out.add(Arrays.copyOf(w.buffer(), w.finish()));
    }
    return out;
  }

  @Property(tries = 20)
  void v1AndV2DatagramsOfTheSameEventsGiveByteIdenticalBlobs(
      @ForAll @IntRange(min = 1, max = 2000) int n,
      @ForAll @IntRange(min = 600, max = 16_000) int capacity,
      @ForAll boolean dedupe,
      @ForAll long seed)
      throws FormatException {
    List<ReferenceEvents.Event> events = new ReferenceEvents(seed).next(n);
    List<byte[]> v1 = datagrams(events, capacity, DatagramFormat.VERSION);
    List<byte[]> v2 = datagrams(events, capacity, DatagramFormat.VERSION_2);
    BlobEncoder.Builder config = BlobEncoder.builder().producerId("a7").dedupeStrings(dedupe).maxBlobBytes(60_000);
    List<SealedBlob> fromV1;
    List<SealedBlob> fromV2;
    List<SealedBlob> fromMaps = new ArrayList<>();
    try (BlobEncoder a = config.build(); BlobEncoder b = config.build(); BlobEncoder c = config.build()) {
      fromV1 = transcodeAll(a, v1);
      fromV2 = transcodeAll(b, v2);
      Map<Tags, BlobBatch> batches = new java.util.TreeMap<>(java.util.Comparator.comparing(Tags::toString));
      for (ReferenceEvents.Event e : events) {
        batches.computeIfAbsent(new Tags(1413813813L, "1", e.type(), e.subtype()), c::newBatch).add(e.fields());
      }
      for (BlobBatch batch : batches.values()) {
        fromMaps.addAll(batch.seal());
      }
    }
    assertSame(fromMaps, fromV1);
    assertSame(fromMaps, fromV2);
  }

  @Property(tries = 15)
  void chunkingCutsTheSameBlobs(
      @ForAll @IntRange(min = 4096, max = 60_000) int limit,
      @ForAll @IntRange(min = 1, max = 3000) int n,
      @ForAll long seed)
      throws FormatException {
    ReferenceEvents gen = new ReferenceEvents(seed);
    List<byte[]> encoded = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Map<String, Object> e = new LinkedHashMap<>(gen.next().fields());
      e.put("seq", (long) i);
      encoded.add(encode(e));
    }
    // Three batches per encoder: the ratio estimate (and so the cut points) evolves alike.
    List<List<SealedBlob>> both = bothPaths(BlobEncoder.builder().producerId("a7").maxBlobBytes(limit), encoded, 3);
    assertSame(both.get(0), both.get(1));
    try (BlobReader reader = new BlobReader()) {
      long seq = 0;
      for (SealedBlob b : both.get(1)) {
        assertThat(b.bytes().length).isLessThanOrEqualTo(limit);
        for (Map<String, Object> e : reader.open(b.bytes()).readAll()) {
          assertThat(e.get("seq")).isEqualTo(seq++ % n);
        }
      }
      assertThat(seq).isEqualTo(3L * n);
    }
  }

  @Test
  void incompressibleEventsForceSplitsThatMatch() throws FormatException {
    SplittableRandom r = new SplittableRandom(1);
    List<byte[]> encoded = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      byte[] noise = new byte[1000];
      r.nextBytes(noise);
      encoded.add(encode(Map.of("noise", noise, "i", (long) i, "k" + (i % 7), "v" + (i % 5))));
    }
    List<SealedBlob> old = new ArrayList<>();
    List<SealedBlob> transcoded = new ArrayList<>();
    try (BlobEncoder a = BlobEncoder.builder().producerId("a7").maxBlobBytes(16_384).build();
        BlobEncoder b = BlobEncoder.builder().producerId("a7").maxBlobBytes(16_384).build()) {
      // A very compressible first batch makes the cut come far too late: the chunk must be split.
      a.encode(TAGS, List.of(Map.of("zeros", new byte[100_000])));
      BlobBatch primer = b.newBatch(TAGS);
      byte[] zeros = encode(Map.of("zeros", new byte[100_000]));
      primer.addEncoded(zeros, 0, zeros.length);
      primer.seal();
      long before = a.compressions();
      BlobBatch x = a.newBatch(TAGS);
      BlobBatch y = b.newBatch(TAGS);
      EventDecoder decoder = new EventDecoder(false);
      for (byte[] e : encoded) {
        decoder.reset(e, 0, e.length);
        x.add(decoder.readEvent());
        y.addEncoded(e, 0, e.length);
      }
      old.addAll(x.seal());
      transcoded.addAll(y.seal());
      assertThat(a.compressions() - before).isGreaterThan(old.size()); // a split happened
    }
    assertSame(old, transcoded);
  }

  @Test
  void rejectedEventsLeaveTheBatchUnchanged() throws FormatException {
    byte[] good = encode(Map.of("url", "/a", "n", 1));
    Map<String, Object> twoStrings = new LinkedHashMap<>();
    twoStrings.put("url", "/b");
    twoStrings.put("fresh", "string");
    byte[] badType = encode(twoStrings);
    badType[badType.length - 8] = 0x0a; // the tag of the last value: unknown type
    byte[] trailing = Arrays.copyOf(good, good.length + 1);
    try (BlobEncoder a = BlobEncoder.builder().producerId("a7").compress(false).build();
        BlobEncoder b = BlobEncoder.builder().producerId("a7").compress(false).build()) {
      BlobBatch control = a.newBatch(TAGS);
      BlobBatch batch = b.newBatch(TAGS);
      batch.addEncoded(good, 0, good.length);
      control.addEncoded(good, 0, good.length);
      assertThatThrownBy(() -> batch.addEncoded(badType, 0, badType.length))
          .isInstanceOfSatisfying(FormatException.class,
              e -> assertThat(e.reason()).isEqualTo(FormatException.Reason.BAD_TYPE));
      assertThatThrownBy(() -> batch.addEncoded(trailing, 0, trailing.length))
          .isInstanceOfSatisfying(FormatException.class,
              e -> assertThat(e.reason()).isEqualTo(FormatException.Reason.TRAILING_BYTES));
      assertThat(batch.eventCount()).isEqualTo(1);
      assertThat(batch.openBytes()).isEqualTo(control.openBytes());
      byte[] next = encode(Map.of("fresh", "string", "url", "/a"));
      batch.addEncoded(next, 0, next.length);
      control.addEncoded(next, 0, next.length);
      assertSame(control.seal(), batch.seal());
    }
  }

  @Test
  void anEncodedEventTooLargeForAnyBlobIsRejected() throws FormatException {
    byte[] noise = new byte[10_000];
    new SplittableRandom(2).nextBytes(noise);
    byte[] huge = encode(Map.of("noise", noise));
    byte[] ok = encode(Map.of("ok", 1));
    try (BlobEncoder enc = BlobEncoder.builder().producerId("a7").maxBlobBytes(8192).build()) {
      BlobBatch batch = enc.newBatch(TAGS);
      batch.addEncoded(ok, 0, ok.length);
      assertThatThrownBy(() -> batch.addEncoded(huge, 0, huge.length))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("does not fit in a blob");
      List<SealedBlob> blobs = batch.seal();
      assertThat(blobs).hasSize(1);
      assertThat(blobs.get(0).eventCount()).isEqualTo(1);
    }
  }

  /** Outcome of each record of a datagram, as one line: tags, then the event or the failure reason. */
  private static final class Outcomes implements DatagramReader.Sink, DatagramReader.RecordSink {
    final List<String> lines = new ArrayList<>();
    final EventEncoder blob = new EventEncoder(64, -1, true);

    @Override
    public void event(Tags tags, Map<String, Object> event) {
      lines.add(tags.toString());
      blob.writeEvent(event);
    }

    @Override
    public void record(Tags tags, byte[] buf, int off, int len, DatagramStrings strings) throws FormatException {
      blob.transcodeEvent(buf, off, len, strings);
      lines.add(tags.toString());
    }

    @Override
    public void invalidEvent(FormatException e) {
      lines.add("invalid " + e.reason());
    }
  }

  @Test
  void mutatedDatagramsGiveTheSameRecordsAndReasonsOnBothReadPaths() {
    List<byte[]> seeds = FuzzTest.datagramSeeds(new ReferenceEvents(9), 200, 1400, 8192);
    DatagramReader oldReader = new DatagramReader();
    DatagramReader newReader = new DatagramReader();
    SplittableRandom r = new SplittableRandom(5);
    int cases = Integer.getInteger("fuzz.cases", 100_000) / 5;
    int withInvalid = 0;
    for (int i = 0; i < cases; i++) {
      byte[] input = FuzzTest.mutate(r, seeds.get(r.nextInt(seeds.size())));
      FuzzTest.fixCrc(input);
      Outcomes old = new Outcomes();
      Outcomes transcoded = new Outcomes();
      String oldWhole = null;
      String newWhole = null;
      try {
        oldReader.read(input, 0, input.length, old);
      } catch (FormatException e) {
        oldWhole = e.reason().toString();
      }
      try {
        newReader.readRecords(input, 0, input.length, transcoded);
      } catch (FormatException e) {
        newWhole = e.reason().toString();
      }
      assertThat(newWhole).isEqualTo(oldWhole);
      assertThat(transcoded.lines).isEqualTo(old.lines);
      assertThat(transcoded.blob.toBytes()).isEqualTo(old.blob.toBytes());
      if (old.lines.stream().anyMatch(l -> l.startsWith("invalid"))) {
        withInvalid++;
      }
    }
    assertThat(withInvalid).isPositive();
  }
}
