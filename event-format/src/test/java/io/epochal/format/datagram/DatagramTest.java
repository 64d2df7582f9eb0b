package io.epochal.format.datagram;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.TestEvents;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class DatagramTest {
  record Got(Tags tags, Map<String, Object> event) {}

  static final class Collect implements DatagramReader.Sink {
    final List<Got> events = new ArrayList<>();
    final List<FormatException> invalid = new ArrayList<>();

    @Override
    public void event(Tags tags, Map<String, Object> event) {
      events.add(new Got(tags, event));
    }

    @Override
    public void invalidEvent(FormatException e) {
      invalid.add(e);
    }
  }

  @Provide
  Arbitrary<List<Map<String, Object>>> batches() {
    return TestEvents.maps(2).list().ofMinSize(1).ofMaxSize(30);
  }

  @Test
  void budgetIsRespected() {
    DatagramWriter b = new DatagramWriter(1400, DatagramFormat.VERSION);
    int n = 0;
    while (b.tryAdd(1, "1", "WEB", "", Map.of("i", n, "pad", "x".repeat(40)))) {
      n++;
    }
    assertThat(n).isGreaterThan(10);
    assertThat(b.finish()).isLessThanOrEqualTo(1400);
  }

  @Test
  void anInvalidRecordDoesNotSpoilItsNeighbours() throws FormatException {
    DatagramWriter b = new DatagramWriter(8192, DatagramFormat.VERSION);
    b.tryAdd(1, "1", "WEB", "", Map.of("n", 1));
    // A producer that does not validate tags: type "W:B".
    b.tryAdd(1, "1", "W:B", "", Map.of("n", 2));
    b.tryAdd(1, "1", "WEB", "", Map.of("n", 3));
    Collect c = new Collect();
    int len = b.finish();
    assertThat(new DatagramReader().read(b.buffer(), 0, len, c)).isEqualTo(2);
    assertThat(c.events).extracting(g -> g.event().get("n")).containsExactly(1L, 3L);
    assertThat(c.invalid).singleElement().extracting(FormatException::reason).isEqualTo(FormatException.Reason.INVALID_TAG);
  }

  @Test
  void headerProblemsHaveTheirReasons() {
    DatagramWriter b = new DatagramWriter(8192, DatagramFormat.VERSION);
    b.tryAdd(1, "1", "WEB", "", Map.of("n", 1));
    int len = b.finish();
    byte[] good = java.util.Arrays.copyOf(b.buffer(), len);
    assertReason(mutate(good, 0, 'X'), FormatException.Reason.BAD_MAGIC);
    assertReason(withCrc(mutate(good, 2, 9)), FormatException.Reason.BAD_VERSION);
    assertReason(withCrc(mutate(good, 3, 1)), FormatException.Reason.BAD_HEADER);
    assertReason(mutate(good, 7, good[7] ^ 1), FormatException.Reason.CHECKSUM_MISMATCH);
    assertReason(withCrc(mutate(good, 4, 2)), FormatException.Reason.TRUNCATED);
    assertReason(java.util.Arrays.copyOf(good, 5), FormatException.Reason.TRUNCATED);
  }

  @Property(tries = 300)
  void writerPacksAndReadsBackInBothVersions(
      @ForAll("batches") List<Map<String, Object>> events, @ForAll boolean v2) throws FormatException {
    DatagramWriter w = new DatagramWriter(DatagramFormat.MAX_DATAGRAM_BYTES, v2 ? DatagramFormat.VERSION_2 : DatagramFormat.VERSION);
    List<Tags> tags = new ArrayList<>();
    for (Map<String, Object> e : events) {
      Tags t = new Tags(1000 + tags.size(), "dc1", "WEB", tags.size() % 2 == 0 ? "" : "app");
      if (!w.tryAdd(t.epoch(), t.dc(), t.type(), t.subtype(), e)) {
        break;
      }
      tags.add(t);
    }
    int len = w.finish();
    assertThat(len).isEqualTo(w.size()).isLessThanOrEqualTo(DatagramFormat.MAX_DATAGRAM_BYTES);
    assertThat(w.buffer()[2]).isEqualTo((byte) w.version());
    Collect c = new Collect();
    assertThat(new DatagramReader().read(w.buffer(), 0, len, c)).isEqualTo(tags.size());
    assertThat(c.invalid).isEmpty();
    for (int i = 0; i < tags.size(); i++) {
      assertThat(c.events.get(i).tags()).isEqualTo(tags.get(i));
      assertThat(TestEvents.deepEquals(c.events.get(i).event(), events.get(i))).isTrue();
    }
  }

  /** Bytes from a hex dump as docs/wire-format.md prints them ("0000  45 44 ..." lines). */
  private static byte[] dump(String... lines) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (String line : lines) {
      String[] parts = line.trim().split("\\s+");
      for (int i = 1; i < parts.length; i++) {
        out.write(Integer.parseInt(parts[i], 16));
      }
    }
    return out.toByteArray();
  }

  /** The worked examples of docs/wire-format.md, byte for byte: the spec and the writer cannot drift apart. */
  @Test
  void theDocumentedWorkedExamplesAreWhatTheWriterWrites() {
    Map<String, Object> a = new java.util.LinkedHashMap<>();
    a.put("url", "/a");
    a.put("status", 200);
    Map<String, Object> t = new java.util.LinkedHashMap<>();
    t.put("db", 1.25);
    t.put("pi", Math.PI);
    Map<String, Object> b = new java.util.LinkedHashMap<>();
    b.put("url", "/b");
    b.put("ok", true);
    b.put("t", t);
    b.put("ids", List.of(7, -3));
    b.put("x", null);
    b.put("raw", new byte[] {(byte) 0xca, (byte) 0xfe});
    DatagramWriter v1 = new DatagramWriter(8192, DatagramFormat.VERSION);
    v1.tryAdd(1413813813L, "1", "WEB", "app", a);
    v1.tryAdd(1413813813L, "1", "WEB", "app", b);
    assertThat(java.util.Arrays.copyOf(v1.buffer(), v1.finish())).isEqualTo(dump(
        "0000  45 44 01 00 02 00 23 b5 ac 94 a2 05 02 31 06 57",
        "0010  45 42 06 61 70 70 08 02 06 75 72 6c 05 04 2f 61",
        "0020  0c 73 74 61 74 75 73 03 90 03 48 b5 ac 94 a2 05",
        "0030  02 31 06 57 45 42 06 61 70 70 08 06 06 75 72 6c",
        "0040  05 04 2f 62 04 6f 6b 02 02 74 08 02 04 64 62 09",
        "0050  d2 0f 04 70 69 04 18 2d 44 54 fb 21 09 40 06 69",
        "0060  64 73 07 02 03 0e 03 05 02 78 00 06 72 61 77 06",
        "0070  02 ca fe 82 5f 34 71"));
    Map<String, Object> c = new java.util.LinkedHashMap<>();
    c.put("url", "/b");
    c.put("status", 404);
    DatagramWriter v2 = new DatagramWriter(8192, DatagramFormat.VERSION_2);
    v2.tryAdd(1413813813L, "1", "WEB", "app", a);
    v2.tryAdd(1413813813L, "1", "WEB", "app", c);
    assertThat(java.util.Arrays.copyOf(v2.buffer(), v2.finish())).isEqualTo(dump(
        "0000  45 44 02 00 02 00 07 02 31 06 57 45 42 06 61 70",
        "0010  70 06 75 72 6c 04 2f 61 0c 73 74 61 74 75 73 04",
        "0020  2f 62 11 b5 ac 94 a2 05 01 03 05 08 02 07 05 09",
        "0030  0b 03 90 03 11 b5 ac 94 a2 05 01 03 05 08 02 07",
        "0040  05 0d 0b 03 a8 06 69 54 db 6d"));
  }

  @Test
  void v2BudgetIsRespectedAndARecordThatDoesNotFitLeavesNoStringsBehind() throws FormatException {
    DatagramWriter w = new DatagramWriter(1400, DatagramFormat.VERSION_2);
    int n = 0;
    while (w.tryAdd(1, "1", "WEB", "", Map.of("i", n, "pad", "x".repeat(40), "u" + n, "unique-" + n))) {
      n++;
    }
    int before = w.size();
    assertThat(w.tryAdd(1, "1", "WEB", "", Map.of("big", "y".repeat(2000)))).isFalse();
    assertThat(w.size()).isEqualTo(before);
    assertThat(n).isGreaterThan(10);
    int len = w.finish();
    assertThat(len).isLessThanOrEqualTo(1400);
    Collect c = new Collect();
    assertThat(new DatagramReader().read(w.buffer(), 0, len, c)).isEqualTo(n);
    assertThat(c.events.get(n - 1).event()).containsEntry("u" + (n - 1), "unique-" + (n - 1));
  }

  @Test
  void v2AStringLargerThanAnyDatagramIsTooLargeAndLeavesNothingBehind() throws FormatException {
    DatagramWriter w = new DatagramWriter(DatagramFormat.MAX_DATAGRAM_BYTES, DatagramFormat.VERSION_2);
    assertThat(w.tryAdd(1, "1", "WEB", "", Map.of("n", 1, "s", "kept"))).isTrue();
    int before = w.size();
    assertThatThrownBy(() -> w.tryAdd(1, "1", "WEB", "", Map.of("n", 2, "huge", "x".repeat(100_000))))
        .isInstanceOf(io.epochal.format.codec.EventTooLargeException.class);
    assertThat(w.size()).isEqualTo(before);
    assertThat(w.tryAdd(1, "1", "WEB", "", Map.of("n", 3, "s", "kept", "t", "new"))).isTrue();
    int len = w.finish();
    Collect c = new Collect();
    assertThat(new DatagramReader().read(w.buffer(), 0, len, c)).isEqualTo(2);
    assertThat(c.events.get(1).event()).containsEntry("t", "new").containsEntry("s", "kept");
  }

  @Test
  void v2CarriesTheReferenceMixInFewerBytes() {
    var gen = new io.epochal.format.reference.ReferenceEvents(3);
    long[] bytes = new long[2];
    int[] datagrams = new int[2];
    for (int v = 0; v < 2; v++) {
      DatagramWriter w = new DatagramWriter(8192, v == 0 ? DatagramFormat.VERSION : DatagramFormat.VERSION_2);
      gen = new io.epochal.format.reference.ReferenceEvents(3);
      for (int i = 0; i < 5000; i++) {
        var e = gen.next();
        if (!w.tryAdd(1, "1", e.type(), e.subtype(), e.fields())) {
          bytes[v] += w.finish();
          datagrams[v]++;
          w.clear();
          assertThat(w.tryAdd(1, "1", e.type(), e.subtype(), e.fields())).isTrue();
        }
      }
    }
    // Keys and repeated values travel once per datagram: well under two thirds of v1.
    assertThat(bytes[1] * 3).isLessThan(bytes[0] * 2);
    assertThat(datagrams[1] * 3).isLessThan(datagrams[0] * 2);
  }

  @Test
  void v2AnInvalidRecordDoesNotSpoilItsNeighbours() throws FormatException {
    DatagramWriter w = new DatagramWriter(8192, DatagramFormat.VERSION_2);
    w.tryAdd(1, "1", "WEB", "", Map.of("n", 1, "s", "shared"));
    // A producer that does not validate tags: type "W:B".
    w.tryAdd(1, "1", "W:B", "", Map.of("n", 2, "s", "shared"));
    w.tryAdd(1, "1", "WEB", "", Map.of("n", 3, "s", "shared"));
    Collect c = new Collect();
    int len = w.finish();
    assertThat(new DatagramReader().read(w.buffer(), 0, len, c)).isEqualTo(2);
    assertThat(c.events).extracting(g -> g.event().get("n")).containsExactly(1L, 3L);
    assertThat(c.events).extracting(g -> g.event().get("s")).containsExactly("shared", "shared");
    assertThat(c.invalid).singleElement().extracting(FormatException::reason).isEqualTo(FormatException.Reason.INVALID_TAG);
  }

  /** A v2 datagram from hand-written parts: section strings (as raw item bytes), then records. */
  private static byte[] v2(int count, byte[] section, byte[]... records) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    out.write('E');
    out.write('D');
    out.write(2);
    out.write(0);
    out.write(count);
    out.write(count >>> 8);
    out.writeBytes(section);
    for (byte[] r : records) {
      out.write(r.length);
      out.writeBytes(r);
    }
    out.writeBytes(new byte[4]);
    return withCrc(out.toByteArray());
  }

  private static byte[] bytes(int... b) {
    byte[] out = new byte[b.length];
    for (int i = 0; i < b.length; i++) {
      out[i] = (byte) b[i];
    }
    return out;
  }

  @Test
  void v2SectionAndReferenceProblemsHaveTheirReasons() throws FormatException {
    // Section: "1", "WEB", "k"; record: epoch 1, refs 0 1, literal "" , event {ref 2: LONG 5}.
    byte[] section = bytes(3, 2, '1', 6, 'W', 'E', 'B', 2, 'k');
    byte[] record = bytes(1, 1, 3, 0, 8, 1, 5, 3, 10);
    Collect ok = new Collect();
    assertThat(new DatagramReader().read(v2(1, section, record), 0, v2(1, section, record).length, ok)).isEqualTo(1);
    assertThat(ok.events.get(0).tags()).isEqualTo(new Tags(1, "1", "WEB", ""));
    assertThat(ok.events.get(0).event()).containsExactly(Map.entry("k", 5L));
    // A section entry that is a reference; a count larger than the bytes; a length past the end.
    assertReason(v2(1, bytes(1, 1), record), FormatException.Reason.BAD_REFERENCE);
    assertReason(v2(1, bytes(100, 2, 'a'), record), FormatException.Reason.BAD_LENGTH);
    assertReason(v2(1, bytes(1, 40, 'a'), record), FormatException.Reason.BAD_LENGTH);
    // A record referencing string 3 of 3 is invalid on its own; its neighbour is delivered.
    byte[] bad = bytes(1, 1, 3, 0, 8, 1, 7, 3, 10);
    Collect c = new Collect();
    byte[] d = v2(2, section, bad, record);
    assertThat(new DatagramReader().read(d, 0, d.length, c)).isEqualTo(1);
    assertThat(c.invalid).singleElement().extracting(FormatException::reason).isEqualTo(FormatException.Reason.BAD_REFERENCE);
  }

  @Test
  void v2MalformedUtf8InTheSectionDecodesAsInALiteral() throws FormatException {
    byte[] section = bytes(4, 2, '1', 6, 'W', 'E', 'B', 2, 'k', 4, 0xC3, 0x28);
    byte[] record = bytes(1, 1, 3, 0, 8, 1, 5, 5, 7);
    byte[] d = v2(1, section, record);
    Collect c = new Collect();
    assertThat(new DatagramReader().read(d, 0, d.length, c)).isEqualTo(1);
    assertThat(c.events.get(0).event()).containsEntry("k", new String(bytes(0xC3, 0x28), java.nio.charset.StandardCharsets.UTF_8));
  }

  private static byte[] mutate(byte[] b, int i, int v) {
    byte[] c = b.clone();
    c[i] = (byte) v;
    return c;
  }

  static byte[] withCrc(byte[] b) {
    CRC32C crc = new CRC32C();
    crc.update(b, 0, b.length - 4);
    int c = (int) crc.getValue();
    for (int i = 0; i < 4; i++) {
      b[b.length - 4 + i] = (byte) (c >>> (8 * i));
    }
    return b;
  }

  private static void assertReason(byte[] datagram, FormatException.Reason reason) {
    assertThatThrownBy(() -> new DatagramReader().read(datagram, 0, datagram.length, new Collect()))
        .isInstanceOf(FormatException.class)
        .extracting(e -> ((FormatException) e).reason())
        .isEqualTo(reason);
  }
}
