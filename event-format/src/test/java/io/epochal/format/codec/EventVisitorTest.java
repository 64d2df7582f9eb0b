package io.epochal.format.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.format.FormatException;
import io.epochal.format.FormatException.Reason;
import io.epochal.format.FuzzTest;
import io.epochal.format.TestEvents;
import io.epochal.format.reference.ReferenceEvents;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * {@link EventDecoder#visitEvent} against {@link EventDecoder#readEvent}: the calls rebuild exactly
 * the map, and on any input both accept or both reject with the same reason, at the same position.
 */
class EventVisitorTest {
  private static final int CASES = Integer.getInteger("fuzz.cases", 100_000);
  private static final long SEED = Long.getLong("fuzz.seed", 0x0215_170eL);

  /** Rebuilds the event from the calls, checking that they nest and that sizes hold. */
  static final class Rebuild implements EventVisitor {
    private final Deque<Object> stack = new ArrayDeque<>();
    private final Deque<Integer> sizes = new ArrayDeque<>();
    private final Deque<String> keys = new ArrayDeque<>();
    private String key;
    Object result;

    @Override
    public void beginMap(int size) {
      open(new LinkedHashMap<String, Object>(), size);
    }

    @Override
    public void key(String k) {
      assertThat(stack.peek()).isInstanceOf(Map.class);
      assertThat(key).as("a key while another waits for its value").isNull();
      key = k;
    }

    @Override
    public void endMap() {
      close(Map.class);
    }

    @Override
    public void beginList(int size) {
      open(new ArrayList<>(), size);
    }

    @Override
    public void endList() {
      close(List.class);
    }

    @Override
    public void nullValue() {
      add(null);
    }

    @Override
    public void booleanValue(boolean v) {
      add(v);
    }

    @Override
    public void longValue(long v) {
      add(v);
    }

    @Override
    public void doubleValue(double v) {
      add(v);
    }

    @Override
    public void stringValue(String v) {
      add(v);
    }

    @Override
    public void bytesValue(byte[] b, int off, int len) {
      add(Arrays.copyOfRange(b, off, off + len));
    }

    private void open(Object container, int size) {
      if (!stack.isEmpty() || result != null) {
        add(container);
      } else {
        result = container;
      }
      keys.push(key == null ? "" : key);
      key = null;
      stack.push(container);
      sizes.push(size);
    }

    private void close(Class<?> kind) {
      Object c = stack.pop();
      assertThat(c).isInstanceOf(kind);
      int size = sizes.pop();
      assertThat(c instanceof Map<?, ?> m ? m.size() : ((List<?>) c).size()).isEqualTo(size);
      keys.pop();
    }

    @SuppressWarnings("unchecked")
    private void add(Object v) {
      Object top = stack.peek();
      if (top instanceof Map<?, ?> m) {
        assertThat(key).as("a map value without its key").isNotNull();
        ((Map<String, Object>) m).put(key, v);
        key = null;
      } else {
        ((List<Object>) top).add(v);
      }
    }

    Object take() {
      assertThat(stack).isEmpty();
      Object r = result;
      result = null;
      return r;
    }
  }

  /** The outcome of reading every event of a payload one way. */
  private record Outcome(List<Object> events, List<Integer> positions, Reason failure) {}

  private static Outcome read(byte[] payload, boolean references, boolean visit) {
    EventDecoder d = new EventDecoder(references);
    d.reset(payload, 0, payload.length);
    List<Object> events = new ArrayList<>();
    List<Integer> positions = new ArrayList<>();
    Rebuild r = new Rebuild();
    try {
      while (d.remaining() > 0) {
        if (visit) {
          d.visitEvent(r);
          events.add(r.take());
        } else {
          events.add(d.readEvent());
        }
        positions.add(d.position());
      }
      return new Outcome(events, positions, null);
    } catch (FormatException e) {
      return new Outcome(events, positions, e.reason());
    }
  }

  private static byte[] payload(List<Map<String, Object>> events, boolean dedupe) {
    EventEncoder enc = new EventEncoder(64, -1, dedupe);
    events.forEach(enc::writeEvent);
    return enc.toBytes();
  }

  private static void assertSameOutcome(byte[] payload, boolean references) {
    Outcome maps = read(payload, references, false);
    Outcome visited = read(payload, references, true);
    String hex = HexFormat.of().formatHex(payload);
    assertThat(visited.failure).as("failure for %s", hex).isEqualTo(maps.failure);
    assertThat(visited.positions).as("positions for %s", hex).isEqualTo(maps.positions);
    assertThat(visited.events).hasSameSizeAs(maps.events);
    for (int i = 0; i < maps.events.size(); i++) {
      assertThat(TestEvents.deepEquals(visited.events.get(i), maps.events.get(i)))
          .as("event %d of %s: %s vs %s", i, hex, visited.events.get(i), maps.events.get(i)).isTrue();
    }
  }

  @Provide
  Arbitrary<List<Map<String, Object>>> batches() {
    return TestEvents.maps(3).list().ofMinSize(1).ofMaxSize(30);
  }

  @Property(tries = 300)
  void visitingRebuildsExactlyWhatReadEventBuilds(
      @ForAll("batches") List<Map<String, Object>> events, @ForAll boolean dedupe) {
    byte[] payload = payload(events, dedupe);
    Outcome visited = read(payload, dedupe, true);
    assertThat(visited.failure).isNull();
    assertThat(visited.events).hasSize(events.size());
    for (int i = 0; i < events.size(); i++) {
      assertThat(TestEvents.deepEquals(visited.events.get(i), events.get(i))).isTrue();
    }
    assertSameOutcome(payload, dedupe);
  }

  @Test
  void mutatedPayloadsFailTheSameWayBothWays() {
    SplittableRandom r = new SplittableRandom(SEED);
    List<byte[]> seeds = new ArrayList<>();
    ReferenceEvents gen = new ReferenceEvents(7);
    for (int s = 0; s < 8; s++) {
      List<Map<String, Object>> batch = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        batch.add(gen.next().fields());
      }
      batch.add(TestEvents.nested(EventEncoder.MAX_DEPTH - 1));
      seeds.add(payload(batch, s % 2 == 0));
    }
    int failures = 0;
    for (int i = 0; i < CASES / 10; i++) {
      int s = r.nextInt(seeds.size());
      byte[] input = FuzzTest.mutate(r, seeds.get(s));
      boolean references = s % 2 == 0 || r.nextInt(8) == 0;
      assertSameOutcome(input, references);
      failures += read(input, references, true).failure != null ? 1 : 0;
    }
    // The mutations must reach the checks, not only pass through them.
    assertThat(failures).isGreaterThan(CASES / 100);
  }

  /** An event map {@code {k1: 1, k2: 2, ...}} written by hand, keys as literals or references. */
  private static byte[] handWritten(String... keyItems) {
    List<Byte> b = new ArrayList<>();
    b.add((byte) ValueType.MAP);
    b.add((byte) keyItems.length);
    for (String item : keyItems) {
      if (item.startsWith("@")) {
        b.add((byte) ((Integer.parseInt(item.substring(1)) << 1) | 1));
      } else {
        b.add((byte) (item.length() << 1));
        for (char c : item.toCharArray()) {
          b.add((byte) c);
        }
      }
      b.add((byte) ValueType.LONG);
      b.add((byte) 2);
    }
    byte[] out = new byte[b.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = b.get(i);
    }
    return out;
  }

  @Test
  void aRepeatedKeyIsRejectedHoweverItIsWritten() throws FormatException {
    // A repeated literal (no Epochal writer repeats a literal once it is in the table), a literal and
    // a reference to it, and a reference to a value string used as a key.
    Map<byte[], List<Boolean>> cases = Map.of(
        handWritten("a", "b", "a"), List.of(true, false),
        handWritten("a", "b", "@0"), List.of(true),
        handWritten("x", "y", "@1", "z"), List.of(true));
    for (Map.Entry<byte[], List<Boolean>> c : cases.entrySet()) {
      byte[] b = c.getKey();
      for (boolean references : c.getValue()) {
        EventDecoder d = new EventDecoder(references);
        d.reset(b, 0, b.length);
        assertThatThrownBy(() -> d.visitEvent(new EventVisitor() {}))
            .isInstanceOfSatisfying(FormatException.class, e -> assertThat(e.reason()).isEqualTo(Reason.BAD_LENGTH))
            .hasMessageContaining("repeats a key");
      }
    }
    // The same keys in different maps, or across events, are fine.
    byte[] two = new byte[] {8, 1, 2, 'a', 3, 2, 8, 1, 1, 3, 2};
    EventDecoder d = new EventDecoder(true);
    d.reset(two, 0, two.length);
    d.visitEvent(new EventVisitor() {});
    d.visitEvent(new EventVisitor() {});
    assertThat(d.remaining()).isZero();
  }

  @Test
  void aValueStringLaterUsedAsAKeyIsOneKey() throws FormatException {
    // {"v": @0, "w": @0}: a key, a value that references it, and a key used as a value again.
    byte[] b = {8, 2, 2, 'v', 5, 1, 2, 'w', 5, 1};
    EventDecoder d = new EventDecoder(true);
    d.reset(b, 0, b.length);
    Rebuild r = new Rebuild();
    d.visitEvent(r);
    assertThat(r.take()).isEqualTo(Map.of("v", "v", "w", "v"));
  }

  @Test
  void manyDistinctKeysAcrossEventsStayBoundedAndCorrect() throws FormatException {
    // More distinct keys than the id memory holds: it is reset between events, checks stay exact.
    EventEncoder enc = new EventEncoder(1 << 20, -1, false);
    int events = 70_000 / 4;
    for (int i = 0; i < events; i++) {
      Map<String, Object> e = new LinkedHashMap<>();
      for (int k = 0; k < 4; k++) {
        e.put("key-" + i + "-" + k, (long) k);
      }
      enc.writeEvent(e);
    }
    byte[] payload = enc.toBytes();
    EventDecoder d = new EventDecoder(false);
    d.reset(payload, 0, payload.length);
    Rebuild r = new Rebuild();
    for (int i = 0; i < events; i++) {
      d.visitEvent(r);
      @SuppressWarnings("unchecked")
      Map<String, Object> m = (Map<String, Object>) r.take();
      assertThat(m).hasSize(4).containsKey("key-" + i + "-3");
    }
    assertThat(d.remaining()).isZero();
  }
}
