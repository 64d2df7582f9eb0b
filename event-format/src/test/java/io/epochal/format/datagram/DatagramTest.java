package io.epochal.format.datagram;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.TestEvents;
import io.epochal.format.codec.EventEncoder;
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

  @Property(tries = 300)
  void packsAndReadsBackInOrder(@ForAll("batches") List<Map<String, Object>> events) throws FormatException {
    EventEncoder enc = new EventEncoder(256, 60_000, false);
    DatagramBuilder b = new DatagramBuilder(DatagramFormat.MAX_DATAGRAM_BYTES);
    List<Tags> tags = new ArrayList<>();
    int added = 0;
    for (Map<String, Object> e : events) {
      Tags t = new Tags(1000 + added, "dc1", "WEB", added % 2 == 0 ? "" : "app");
      EventRecords.encode(enc, t.epoch(), t.dc(), t.type(), t.subtype(), e);
      if (!b.tryAdd(enc.buffer(), 0, enc.position())) {
        break;
      }
      tags.add(t);
      added++;
    }
    int len = b.finish();
    assertThat(len).isLessThanOrEqualTo(DatagramFormat.MAX_DATAGRAM_BYTES);
    Collect c = new Collect();
    assertThat(new DatagramReader().read(b.buffer(), 0, len, c)).isEqualTo(added);
    assertThat(c.invalid).isEmpty();
    for (int i = 0; i < added; i++) {
      assertThat(c.events.get(i).tags()).isEqualTo(tags.get(i));
      assertThat(TestEvents.deepEquals(c.events.get(i).event(), events.get(i))).isTrue();
    }
  }

  @Test
  void budgetIsRespected() {
    EventEncoder enc = new EventEncoder(256, 60_000, false);
    DatagramBuilder b = new DatagramBuilder(1400);
    int n = 0;
    while (true) {
      EventRecords.encode(enc, 1, "1", "WEB", "", Map.of("i", n, "pad", "x".repeat(40)));
      if (!b.tryAdd(enc.buffer(), 0, enc.position())) {
        break;
      }
      n++;
    }
    assertThat(n).isGreaterThan(10);
    assertThat(b.finish()).isLessThanOrEqualTo(1400);
  }

  @Test
  void anInvalidRecordDoesNotSpoilItsNeighbours() throws FormatException {
    EventEncoder enc = new EventEncoder(256, 60_000, false);
    DatagramBuilder b = new DatagramBuilder(8192);
    EventRecords.encode(enc, 1, "1", "WEB", "", Map.of("n", 1));
    b.tryAdd(enc.buffer(), 0, enc.position());
    // A producer that does not validate tags: type "W:B".
    EventRecords.encode(enc, 1, "1", "W:B", "", Map.of("n", 2));
    b.tryAdd(enc.buffer(), 0, enc.position());
    EventRecords.encode(enc, 1, "1", "WEB", "", Map.of("n", 3));
    b.tryAdd(enc.buffer(), 0, enc.position());
    Collect c = new Collect();
    int len = b.finish();
    assertThat(new DatagramReader().read(b.buffer(), 0, len, c)).isEqualTo(2);
    assertThat(c.events).extracting(g -> g.event().get("n")).containsExactly(1L, 3L);
    assertThat(c.invalid).singleElement().extracting(FormatException::reason).isEqualTo(FormatException.Reason.INVALID_TAG);
  }

  @Test
  void headerProblemsHaveTheirReasons() {
    EventEncoder enc = new EventEncoder(256, 60_000, false);
    DatagramBuilder b = new DatagramBuilder(8192);
    EventRecords.encode(enc, 1, "1", "WEB", "", Map.of("n", 1));
    b.tryAdd(enc.buffer(), 0, enc.position());
    int len = b.finish();
    byte[] good = java.util.Arrays.copyOf(b.buffer(), len);
    assertReason(mutate(good, 0, 'X'), FormatException.Reason.BAD_MAGIC);
    assertReason(withCrc(mutate(good, 2, 9)), FormatException.Reason.BAD_VERSION);
    assertReason(withCrc(mutate(good, 3, 1)), FormatException.Reason.BAD_HEADER);
    assertReason(mutate(good, 7, good[7] ^ 1), FormatException.Reason.CHECKSUM_MISMATCH);
    assertReason(withCrc(mutate(good, 4, 2)), FormatException.Reason.TRUNCATED);
    assertReason(java.util.Arrays.copyOf(good, 5), FormatException.Reason.TRUNCATED);
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
