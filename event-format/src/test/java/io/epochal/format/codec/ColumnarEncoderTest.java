package io.epochal.format.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.epochal.format.TestEvents;
import io.epochal.format.reference.ReferenceEvents;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * The conversion's fast path (an event matched against the shape of one of the two events before
 * it, its values written straight into that shape's columns) writes exactly the bytes of the
 * general path (every event walked into a skeleton and looked up), including when a match fails
 * part-way, after some values and new strings were written.
 */
class ColumnarEncoderTest {
  /** A few base events, and a batch of variants of them: most repeat a base's shape, some change one field. */
  @Provide
  Arbitrary<List<Map<String, Object>>> variants() {
    Arbitrary<List<Map<String, Object>>> bases = TestEvents.maps(2).filter(m -> !m.isEmpty()).list().ofMinSize(1).ofMaxSize(3);
    Arbitrary<List<Variant>> picks =
        Combinators.combine(Arbitraries.integers().between(0, 2), Arbitraries.integers().between(0, 9), TestEvents.values(2))
            .as(Variant::new)
            .list()
            .ofMinSize(1)
            .ofMaxSize(60);
    return Combinators.combine(bases, picks).as(ColumnarEncoderTest::batch);
  }

  /** Base {@code base} (modulo the bases); {@code change} < 4 replaces the value of one of its fields by {@code value}. */
  record Variant(int base, int change, Object value) {}

  private static List<Map<String, Object>> batch(List<Map<String, Object>> bases, List<Variant> picks) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Variant v : picks) {
      Map<String, Object> e = new LinkedHashMap<>(bases.get(v.base() % bases.size()));
      if (v.change() < 4) {
        List<String> keys = new ArrayList<>(e.keySet());
        e.put(keys.get(v.change() % keys.size()), v.value());
      } else if (v.change() == 4) {
        e.put("extra", v.value());
      }
      out.add(e);
    }
    return out;
  }

  @Property(tries = 300)
  void matchingThePreviousShapesWritesWhatTheGeneralPathWrites(
      @ForAll("variants") List<Map<String, Object>> events, @ForAll boolean dedupe) {
    assertSameOutput(events, dedupe);
  }

  @Test
  void referenceMixMatchesMostEventsAndWritesTheSameBytes() {
    ReferenceEvents mix = new ReferenceEvents(7);
    List<Map<String, Object>> web = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      web.add(mix.web());
    }
    long matched = assertSameOutput(web, true);
    // Shapes differ by logged_in (true or false), error and experiments: the two last shapes
    // cover most events.
    assertThat(matched).isGreaterThan(web.size() * 8L / 10);
  }

  @Test
  void aFailedMatchLeavesNoValueOrStringBehind() {
    List<Map<String, Object>> events = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("id", "new-string-" + i); // a literal written before the match fails
      e.put("n", (long) i);
      e.put("flag", i % 3 == 0); // flips the shape
      e.put("tail", i % 5 == 0 ? (Object) 1.5 : (Object) "t");
      if (i % 7 == 0) {
        e.put("more", List.of(1L, "x"));
      }
      events.add(e);
    }
    assertSameOutput(events, true);
  }

  /** Converts the events' row payload both ways, asserts equal bytes; returns the fast path's matches. */
  private static long assertSameOutput(List<Map<String, Object>> events, boolean dedupe) {
    EventEncoder rows = new EventEncoder(4096, -1, dedupe);
    for (Map<String, Object> e : events) {
      rows.writeEvent(e);
    }
    ColumnarEncoder fast = new ColumnarEncoder();
    ColumnarEncoder general = new ColumnarEncoder(false);
    // Twice: the second conversion reuses the first's buffers and shapes.
    for (int round = 0; round < 2; round++) {
      int a = fast.convert(rows.buffer(), rows.position(), events.size());
      int b = general.convert(rows.buffer(), rows.position(), events.size());
      assertThat(Arrays.copyOf(fast.output(), a)).isEqualTo(Arrays.copyOf(general.output(), b));
    }
    assertThat(general.matched).isZero();
    return fast.matched / 2;
  }
}
