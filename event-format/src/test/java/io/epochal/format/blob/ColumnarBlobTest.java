package io.epochal.format.blob;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.format.FormatException;
import io.epochal.format.FormatException.Reason;
import io.epochal.format.Tags;
import io.epochal.format.TestEvents;
import io.epochal.format.codec.ColumnarDecoder;
import io.epochal.format.codec.EventVisitor;
import io.epochal.format.reference.ReferenceEvents;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** Blob format v2 (column payload) against v1 (rows): same events back, same visitor calls, checked input. */
class ColumnarBlobTest {
  private static final Tags TAGS = new Tags(1413813813L, "1", "WEB", "app");

  @Provide
  Arbitrary<List<Map<String, Object>>> batches() {
    return TestEvents.maps(3).list().ofMinSize(1).ofMaxSize(80);
  }

  @Property(tries = 200)
  void v2BlobsGiveTheEventsAndVisitorCallsOfV1Blobs(
      @ForAll("batches") List<Map<String, Object>> events, @ForAll boolean dedupe, @ForAll boolean compress)
      throws FormatException {
    List<byte[]> v1 = blobs(events, 1, dedupe, compress, 500_000);
    List<byte[]> v2 = blobs(events, 2, dedupe, compress, 500_000);
    assertThat(calls(v2)).isEqualTo(calls(v1));
    List<Map<String, Object>> back = maps(v2);
    assertThat(back).hasSize(events.size());
    for (int i = 0; i < events.size(); i++) {
      assertThat(TestEvents.deepEquals(back.get(i), events.get(i))).as("event %d", i).isTrue();
    }
  }

  @Test
  void referenceMixInSmallBlobsReadsBackInOrderAndTakesFewerBytes() throws FormatException {
    ReferenceEvents gen = new ReferenceEvents(11);
    List<Map<String, Object>> events = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      events.add(gen.web());
    }
    // 70,000-byte blobs: several chunks, so cuts, probes and splits run on v2 too.
    List<byte[]> v1 = blobs(events, 1, true, true, 70_000);
    List<byte[]> v2 = blobs(events, 2, true, true, 70_000);
    assertThat(v2).hasSizeGreaterThan(1);
    try (BlobReader reader = new BlobReader()) {
      for (byte[] b : v2) {
        BlobHeader h = reader.open(b).header();
        assertThat(h.version()).isEqualTo(2);
        assertThat(h.blobLength()).isLessThanOrEqualTo(70_000);
      }
    }
    // Chunks are cut where each version's blobs fill up, so compare the events, not the blob boundaries.
    assertThat(withoutBlobBoundaries(calls(v2))).isEqualTo(withoutBlobBoundaries(calls(v1)));
    long bytes1 = v1.stream().mapToLong(b -> b.length).sum();
    long bytes2 = v2.stream().mapToLong(b -> b.length).sum();
    assertThat(bytes2).as("v2 bytes against v1's %d", bytes1).isLessThan(bytes1 * 95 / 100);
  }

  @Test
  void edgeValuesRoundTrip() throws FormatException {
    Map<String, Object> odd = new LinkedHashMap<>();
    odd.put("min", Long.MIN_VALUE);
    odd.put("max", Long.MAX_VALUE);
    odd.put("nan", Double.NaN);
    odd.put("negzero", -0.0);
    odd.put("pi", Math.PI);
    odd.put("dec", 12.5);
    odd.put("inf", Double.NEGATIVE_INFINITY);
    odd.put("bytes", new byte[] {0, -1, 7});
    odd.put("empty", new byte[0]);
    odd.put("null", null);
    odd.put("t", true);
    odd.put("f", false);
    odd.put("list", List.of(List.of(), Map.of(), "x", 1L));
    odd.put("", "");
    odd.put("日本", "😀");
    List<Map<String, Object>> events = List.of(odd, Map.of(), odd, TestEvents.nested(20), Map.of("min", "now a string"));
    for (boolean dedupe : new boolean[] {true, false}) {
      List<byte[]> v2 = blobs(events, 2, dedupe, false, 500_000);
      assertThat(calls(v2)).isEqualTo(calls(blobs(events, 1, dedupe, false, 500_000)));
      List<Map<String, Object>> back = maps(v2);
      for (int i = 0; i < events.size(); i++) {
        assertThat(TestEvents.deepEquals(back.get(i), events.get(i))).as("event %d", i).isTrue();
      }
    }
  }

  @Test
  void theDocumentedWorkedExampleIsWhatTheEncoderWrites() throws FormatException {
    // docs/blob-format.md, "The same events in blob format v2"
    String documented = """
        45 50 42 4c 02 00 01 00 00 00 00 00 03 00 00 00
        4d 00 00 00 4d 00 00 00 35 16 45 54 00 00 00 00
        01 31 03 57 45 42 03 61 70 70 02 61 37 06 03 75
        72 6c 02 2f 61 06 73 74 61 74 75 73 02 2f 62 03
        72 65 66 02 6d 73 03 01 06 08 02 00 05 02 03 01
        08 08 03 00 05 02 03 04 05 01 08 08 03 00 05 02
        03 05 04 00 01 02 01 01 02 90 03 01 03 02 90 03
        01 01 01 01 02 a8 06 02 a2 1f 84 d5 85 80
        """;
    List<Map<String, Object>> events = List.of(
        map("url", "/a", "status", 200L),
        map("url", "/b", "status", 200L, "ref", "/a"),
        map("url", "/a", "status", 404L, "ms", 12.5));
    byte[] blob;
    try (BlobEncoder enc = BlobEncoder.builder().producerId("a7").compress(false).build()) {
      blob = enc.encode(TAGS, events).get(0).bytes();
    }
    assertThat(HexFormat.of().formatHex(blob)).isEqualTo(documented.replaceAll("\\s", ""));
    assertThat(maps(List.of(blob))).isEqualTo(events);
  }

  private static Map<String, Object> map(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  // Hand-built payloads: dictionary, shapes, order, columns (docs/blob-format.md "Payload v2").

  /** {"a": LONG} x rows, with dictionary ["a"]. */
  private static Bytes oneLongShape(int rows) {
    return new Bytes().v(1).str("a").v(1).v(rows).v(4).b(8, 1, 0, 3);
  }

  @Test
  void wellFormedHandBuiltPayloadDecodes() throws FormatException {
    byte[] p = oneLongShape(2).b(0, 0).v(2).b(2, 3).bytes(); // longs 1 and -2 (zigzag 2 and 3)
    assertThat(decode(p, 2)).containsExactly(Map.of("a", 1L), Map.of("a", -2L));
  }

  @Test
  void malformedPayloadsAreRejectedWithTheirReason() {
    assertReason(oneLongShape(2).b(0, 0).v(2).b(2, 3).bytes(), 3, Reason.COUNT_MISMATCH); // shapes hold 2 of 3
    assertReason(oneLongShape(2).b(0, 1).v(2).b(2, 3).bytes(), 2, Reason.BAD_REFERENCE); // event names shape 1 of 1
    assertReason(oneLongShape(2).b(0, 0).v(3).b(2, 3, 4).bytes(), 2, Reason.COUNT_MISMATCH); // a value left over
    assertReason(oneLongShape(2).b(0, 0).v(1).b(2).bytes(), 2, Reason.TRUNCATED); // a value missing
    assertReason(oneLongShape(2).b(0, 0).v(2).b(2, 3, 9).bytes(), 2, Reason.TRAILING_BYTES);
    assertReason(oneLongShape(1).b(0).v(5).b(2).bytes(), 1, Reason.BAD_LENGTH); // column past the end
    // shape: {"a": LONG, "a": LONG}: a repeated key, found once per shape
    assertReason(new Bytes().v(1).str("a").v(1).v(1).v(6).b(8, 2, 0, 3, 0, 3).b(0).v(1).b(2).v(1).b(4).bytes(), 1,
        Reason.BAD_LENGTH);
    // key naming dictionary entry 1 of 1
    assertReason(new Bytes().v(1).str("a").v(1).v(1).v(4).b(8, 1, 1, 3).b(0).v(1).b(2).bytes(), 1, Reason.BAD_REFERENCE);
    // a STRING value naming entry 5 of 1
    assertReason(new Bytes().v(1).str("a").v(1).v(1).v(4).b(8, 1, 0, 5).b(0).v(1).b(5).bytes(), 1, Reason.BAD_REFERENCE);
    // a shape that is not a map, and one with the DECIMAL tag (not a shape tag)
    assertReason(new Bytes().v(0).v(1).v(1).v(1).b(0).b(0).bytes(), 1, Reason.BAD_TYPE);
    assertReason(new Bytes().v(1).str("a").v(1).v(1).v(4).b(8, 1, 0, 9).b(0).v(1).b(0).bytes(), 1, Reason.BAD_TYPE);
    // a DOUBLE column value that is odd but not 1
    assertReason(new Bytes().v(1).str("a").v(1).v(1).v(4).b(8, 1, 0, 4).b(0).v(1).b(3).bytes(), 1, Reason.BAD_TYPE);
    // a shape with no events, and more shapes than events
    assertReason(new Bytes().v(0).v(1).v(0).v(2).b(8, 0).bytes(), 1, Reason.BAD_LENGTH);
    assertReason(new Bytes().v(0).v(2).v(1).v(2).b(8, 0).v(1).v(2).b(8, 0).b(0, 1).bytes(), 1, Reason.BAD_LENGTH);
    // a dictionary string past the end
    assertReason(new Bytes().v(1).v(40).b(1).bytes(), 1, Reason.BAD_LENGTH);
  }

  @Test
  void aFaultyV2BlobIsAFormatExceptionThroughTheReader() throws FormatException {
    byte[] blob = blobs(List.of(Map.of("a", 1L), Map.of("a", 2L)), 2, true, false, 500_000).get(0);
    try (BlobReader reader = new BlobReader()) {
      BlobHeader h = reader.open(blob).header();
      // The last column byte (the second long) becomes a varint that runs past its column.
      blob[h.headerLength() + h.storedLength() - 1] = (byte) 0x80;
      fixCrc(blob);
      assertThatThrownBy(() -> reader.open(blob).visitAll(new EventVisitor() {}))
          .isInstanceOfSatisfying(FormatException.class, e -> assertThat(e.reason()).isEqualTo(Reason.TRUNCATED));
    }
  }

  private static void assertReason(byte[] payload, int events, Reason reason) {
    assertThatThrownBy(() -> decode(payload, events))
        .as(HexFormat.ofDelimiter(" ").formatHex(payload))
        .isInstanceOfSatisfying(FormatException.class, e -> assertThat(e.reason()).isEqualTo(reason));
  }

  private static List<Map<String, Object>> decode(byte[] payload, int events) throws FormatException {
    ColumnarDecoder d = new ColumnarDecoder();
    d.reset(payload, 0, payload.length, events);
    List<Map<String, Object>> out = new ArrayList<>();
    while (d.hasNext()) {
      out.add(d.readEvent());
    }
    return out;
  }

  static List<byte[]> blobs(List<Map<String, Object>> events, int version, boolean dedupe, boolean compress, int max) {
    try (BlobEncoder enc = BlobEncoder.builder().producerId("t1").version(version).dedupeStrings(dedupe)
        .compress(compress).maxBlobBytes(max).build()) {
      return enc.encode(TAGS, events).stream().map(SealedBlob::bytes).toList();
    }
  }

  private static List<Map<String, Object>> maps(List<byte[]> blobs) throws FormatException {
    List<Map<String, Object>> out = new ArrayList<>();
    try (BlobReader reader = new BlobReader()) {
      for (byte[] b : blobs) {
        out.addAll(reader.open(b).readAll());
      }
    }
    return out;
  }

  private static List<String> withoutBlobBoundaries(List<String> calls) {
    return calls.stream().filter(c -> !c.equals("|")).toList();
  }

  /** Every visitor call of every event, as text; "|" after each blob. */
  private static List<String> calls(List<byte[]> blobs) throws FormatException {
    List<String> out = new ArrayList<>();
    EventVisitor v = new EventVisitor() {
      @Override public void beginMap(int size) { out.add("{" + size); }
      @Override public void key(String key) { out.add("k" + key); }
      @Override public void endMap() { out.add("}"); }
      @Override public void beginList(int size) { out.add("[" + size); }
      @Override public void endList() { out.add("]"); }
      @Override public void nullValue() { out.add("null"); }
      @Override public void booleanValue(boolean value) { out.add("b" + value); }
      @Override public void longValue(long value) { out.add("l" + value); }
      @Override public void doubleValue(double value) { out.add("d" + Double.doubleToRawLongBits(value)); }
      @Override public void stringValue(String value) { out.add("s" + value); }
      @Override public void bytesValue(byte[] bytes, int off, int len) {
        out.add("x" + Arrays.toString(Arrays.copyOfRange(bytes, off, off + len)));
      }
    };
    try (BlobReader reader = new BlobReader()) {
      for (byte[] b : blobs) {
        reader.open(b).visitAll(v);
        out.add("|");
      }
    }
    return out;
  }

  static void fixCrc(byte[] blob) {
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(blob, 0, blob.length - 4);
    int c = (int) crc.getValue();
    for (int i = 0; i < 4; i++) {
      blob[blob.length - 4 + i] = (byte) (c >>> (8 * i));
    }
  }

  /** A payload builder: varints, strings and raw bytes. */
  private static final class Bytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Bytes v(int v) {
      while ((v & ~0x7F) != 0) {
        out.write((v & 0x7F) | 0x80);
        v >>>= 7;
      }
      out.write(v);
      return this;
    }

    Bytes b(int... bytes) {
      for (int x : bytes) {
        out.write(x);
      }
      return this;
    }

    Bytes str(String s) {
      byte[] u = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      v(u.length);
      out.write(u, 0, u.length);
      return this;
    }

    byte[] bytes() {
      return out.toByteArray();
    }
  }
}
