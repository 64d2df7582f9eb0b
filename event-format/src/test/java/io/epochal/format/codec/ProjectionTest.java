package io.epochal.format.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.format.FormatException;
import io.epochal.format.TestEvents;
import io.epochal.format.reference.ReferenceEvents;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** {@link Projection} against looking the same paths up in the decoded maps. */
class ProjectionTest {
  /** What the decoded map holds at {@code path}: its kind, and the boxed scalar. */
  private static Object[] lookUp(Map<String, Object> event, String path) {
    Object at = event;
    for (String key : path.split("\\.")) {
      if (!(at instanceof Map<?, ?> m) || !m.containsKey(key)) {
        return new Object[] {Projection.Kind.ABSENT, null};
      }
      at = m.get(key);
    }
    Projection.Kind kind = at == null ? Projection.Kind.NULL
        : at instanceof Long ? Projection.Kind.LONG
        : at instanceof Double ? Projection.Kind.DOUBLE
        : at instanceof Boolean ? Projection.Kind.BOOLEAN
        : at instanceof String ? Projection.Kind.STRING
        : at instanceof byte[] ? Projection.Kind.BYTES : Projection.Kind.CONTAINER;
    return new Object[] {kind, kind == Projection.Kind.CONTAINER ? null : at};
  }

  /** Every path of {@code m} whose keys have no dots, nested maps included. */
  private static void paths(String prefix, Map<?, ?> m, Set<String> out) {
    for (Map.Entry<?, ?> e : m.entrySet()) {
      String key = (String) e.getKey();
      if (key.isEmpty() || key.contains(".")) {
        continue;
      }
      String path = prefix.isEmpty() ? key : prefix + "." + key;
      if (e.getValue() instanceof Map<?, ?> inner && !inner.isEmpty() && path.hashCode() % 3 != 0) {
        paths(path, inner, out); // descend into some maps, take others whole
      } else {
        out.add(path);
      }
    }
  }

  private static void check(List<Map<String, Object>> events, boolean dedupe, List<String> paths)
      throws FormatException {
    EventEncoder enc = new EventEncoder(64, -1, dedupe);
    events.forEach(enc::writeEvent);
    byte[] payload = enc.toBytes();
    EventDecoder maps = new EventDecoder(dedupe);
    maps.reset(payload, 0, payload.length);
    List<Map<String, Object>> decoded = new ArrayList<>();
    while (maps.remaining() > 0) {
      decoded.add(maps.readEvent());
    }
    Projection projection = Projection.of(paths);
    List<Object[][]> rows = new ArrayList<>();
    EventVisitor v = projection.visitor(row -> {
      Object[][] r = new Object[row.size()][];
      for (int i = 0; i < row.size(); i++) {
        r[i] = new Object[] {row.kind(i), row.get(i)};
      }
      rows.add(r);
    });
    EventDecoder d = new EventDecoder(dedupe);
    d.reset(payload, 0, payload.length);
    while (d.remaining() > 0) {
      d.visitEvent(v);
    }
    assertThat(rows).hasSameSizeAs(decoded);
    for (int e = 0; e < decoded.size(); e++) {
      for (int i = 0; i < paths.size(); i++) {
        Object[] want = lookUp(decoded.get(e), paths.get(i));
        Object[] got = rows.get(e)[i];
        assertThat(got[0]).as("kind of %s in %s", paths.get(i), decoded.get(e)).isEqualTo(want[0]);
        assertThat(TestEvents.deepEquals(got[1], want[1])).as("%s in %s", paths.get(i), decoded.get(e)).isTrue();
      }
    }
  }

  @Provide
  Arbitrary<List<Map<String, Object>>> batches() {
    return TestEvents.maps(3).list().ofMinSize(1).ofMaxSize(20);
  }

  @Property(tries = 300)
  void rowsHoldWhatTheMapsHoldAtThePaths(@ForAll("batches") List<Map<String, Object>> events, @ForAll boolean dedupe)
      throws FormatException {
    Set<String> paths = new LinkedHashSet<>();
    events.forEach(e -> paths("", e, paths));
    paths.add("no-such-field");
    paths.add("no.such.path");
    // drop paths that are prefixes of others (a projection rejects them)
    List<String> usable = new ArrayList<>();
    for (String p : paths) {
      if (paths.stream().noneMatch(q -> q.startsWith(p + ".")) && usable.size() < 12) {
        usable.add(p);
      }
    }
    check(events, dedupe, usable);
  }

  @Test
  void theReferenceMixProjectsNestedAndMissingFields() throws FormatException {
    ReferenceEvents gen = new ReferenceEvents(11);
    List<Map<String, Object>> events = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      events.add(gen.next().fields());
    }
    check(events, true, List.of("status", "url", "timing.db", "time", "tags", "job", "nope"));
    check(events, false, List.of("timing.dns", "time.tt", "method", "ok", "timing.nope.deeper"));
  }

  @Test
  void badPathSetsAreRefused() {
    for (String[] bad : List.of(new String[] {"a", "a"}, new String[] {"a", "a.b"}, new String[] {"a.b", "a"},
        new String[] {""}, new String[] {"a..b"}, new String[] {".a"}, new String[] {"a."})) {
      assertThatThrownBy(() -> Projection.of(bad)).as(Arrays.toString(bad)).isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(Projection.of("a.b", "a.c", "d").paths()).containsExactly("a.b", "a.c", "d");
  }
}
