package io.epochal.format;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/** Generators and comparison helpers for event maps, shared by the format tests. */
public final class TestEvents {
  private TestEvents() {}

  /** Unicode strings without unpaired surrogates, including empty ones and some emoji. */
  public static Arbitrary<String> strings() {
    Arbitrary<String> plain =
        Arbitraries.strings()
            .withCharRange('\u0000', '\uD7FF')
            .withCharRange('\uE000', '\uFFFD')
            .ofMinLength(0)
            .ofMaxLength(24);
    Arbitrary<String> common = Arbitraries.of("", "host", "url", "GET", "200", "web-001", "é", "日本語", "😀x");
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(5, plain),
        net.jqwik.api.Tuple.of(4, common),
        net.jqwik.api.Tuple.of(1, Combinators.combine(plain, common).as((a, b) -> a + "😀" + b)));
  }

  public static Arbitrary<Object> values(int depth) {
    List<Arbitrary<?>> options = new ArrayList<>();
    options.add(strings());
    options.add(Arbitraries.longs());
    options.add(Arbitraries.doubles());
    options.add(Arbitraries.of(Boolean.TRUE, Boolean.FALSE));
    options.add(Arbitraries.bytes().array(byte[].class).ofMaxSize(16));
    options.add(Arbitraries.just("null-marker").map(x -> (Object) null));
    if (depth > 0) {
      options.add(values(depth - 1).list().ofMaxSize(4));
      options.add(maps(depth - 1));
    }
    @SuppressWarnings({"unchecked", "rawtypes"})
    Arbitrary<Object> any = (Arbitrary) Arbitraries.oneOf((List) options);
    return any;
  }

  /** Maps with string keys, nested up to {@code depth} more levels. */
  public static Arbitrary<Map<String, Object>> maps(int depth) {
    return Arbitraries.maps(strings(), values(depth)).ofMaxSize(8).map(LinkedHashMap::new);
  }

  /**
   * Deep equality as the codec sees it: byte arrays by content, integral numbers as long, floats as
   * double, map order ignored.
   */
  public static boolean deepEquals(Object a, Object b) {
    if (a instanceof byte[] && b instanceof byte[]) {
      return Arrays.equals((byte[]) a, (byte[]) b);
    }
    if (a instanceof Map && b instanceof Map) {
      Map<?, ?> x = (Map<?, ?>) a;
      Map<?, ?> y = (Map<?, ?>) b;
      if (x.size() != y.size()) {
        return false;
      }
      for (Map.Entry<?, ?> e : x.entrySet()) {
        if (!y.containsKey(e.getKey()) || !deepEquals(e.getValue(), y.get(e.getKey()))) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof List && b instanceof List) {
      List<?> x = (List<?>) a;
      List<?> y = (List<?>) b;
      if (x.size() != y.size()) {
        return false;
      }
      for (int i = 0; i < x.size(); i++) {
        if (!deepEquals(x.get(i), y.get(i))) {
          return false;
        }
      }
      return true;
    }
    if (isIntegral(a) && isIntegral(b)) {
      return ((Number) a).longValue() == ((Number) b).longValue();
    }
    if (a instanceof Float || b instanceof Float) {
      return a instanceof Number && b instanceof Number
          && Double.compare(((Number) a).doubleValue(), ((Number) b).doubleValue()) == 0;
    }
    return a == null ? b == null : a.equals(b);
  }

  private static boolean isIntegral(Object o) {
    return o instanceof Long || o instanceof Integer || o instanceof Short || o instanceof Byte;
  }

  /** A map nested {@code depth} levels deep (the outer map is level 1). */
  public static Map<String, Object> nested(int depth) {
    Map<String, Object> root = new LinkedHashMap<>();
    Map<String, Object> m = root;
    for (int i = 1; i < depth; i++) {
      Map<String, Object> child = new LinkedHashMap<>();
      m.put("k" + i, child);
      m = child;
    }
    m.put("leaf", "x");
    return root;
  }
}
