package io.epochal.benchmarks;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import io.epochal.format.FormatException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An experiment for a possible blob format v2, not a format: what a payload that does not repeat
 * each map's keys would cost and save. In the "shaped" payload a map is written as tag 10 and a
 * varint {@code h}: {@code h & 1 == 0} defines a new shape of {@code h >>> 1} key string items
 * (numbered in order per payload), {@code h & 1 == 1} reuses shape {@code h >>> 1}; the map's
 * values follow, in its shape's key order. Everything else is v1's value encoding (strings
 * de-duplicated per payload). Same events as the v1 payloads, side by side in one JVM, in thread
 * CPU time per event:
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.ShapedPayloadExperiment [rounds]
 * </pre>
 *
 * <p>Prints, for v1 and shaped: payload and zstd-3 bytes per event, zstd-3 compression and
 * decompression, and a bare walk (no checks: {@link DecodeCost.BareWalk} for v1, the same for
 * shaped) per event.
 */
public final class ShapedPayloadExperiment {
  private ShapedPayloadExperiment() {}

  public static void main(String[] args) throws FormatException {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 40;
    DecodeCost.MixBlobs mix = DecodeCost.MixBlobs.load();
    List<byte[]> v1 = mix.payloads();
    List<byte[]> shaped = new ArrayList<>();
    for (List<Map<String, Object>> es : mix.decoded()) {
      ShapedWriter w = new ShapedWriter();
      es.forEach(w::event);
      shaped.add(w.toBytes());
    }
    long events = mix.events();
    Layout a = new Layout("v1", v1, new DecodeCost.BareWalk()::payload);
    ShapedWalk sw = new ShapedWalk();
    Layout b = new Layout("shaped", shaped, sw::payload);
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long[][] cpu = new long[2][3];
    for (int round = 0; round < rounds; round++) {
      int i = 0;
      for (Layout l : List.of(a, b)) {
        for (int step = 0; step < 3; step++) {
          long t0 = threads.getCurrentThreadCpuTime();
          l.step(step);
          if (round >= rounds / 4) {
            cpu[i][step] += threads.getCurrentThreadCpuTime() - t0;
          }
        }
        i++;
      }
    }
    double n = (rounds - rounds / 4) * (double) events;
    System.out.printf(Locale.ROOT, "%d events of the reference mix, %d payloads%n", events, v1.size());
    System.out.println("| layout | payload bytes/event | zstd-3 bytes/event | zstd-3 compress ns/event | decompress ns/event | bare walk ns/event |");
    System.out.println("|---|---:|---:|---:|---:|---:|");
    int i = 0;
    for (Layout l : List.of(a, b)) {
      System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.0f | %.0f | %.0f |%n", l.name, l.rawBytes / (double) events,
          l.compressedBytes / (double) events, cpu[i][0] / n, cpu[i][1] / n, cpu[i][2] / n);
      i++;
    }
  }

  /** One payload layout: its payloads, compressed once, and the three measured steps. */
  private static final class Layout {
    final String name;
    final List<byte[]> payloads;
    final List<byte[]> compressed = new ArrayList<>();
    final java.util.function.Consumer<byte[]> walk;
    final ZstdCompressCtx zc = new ZstdCompressCtx().setLevel(3);
    final ZstdDecompressCtx zd = new ZstdDecompressCtx();
    final byte[] out;
    long rawBytes;
    long compressedBytes;

    Layout(String name, List<byte[]> payloads, java.util.function.Consumer<byte[]> walk) {
      this.name = name;
      this.payloads = payloads;
      this.walk = walk;
      out = new byte[payloads.stream().mapToInt(p -> p.length).max().orElse(0) + 4096];
      for (byte[] p : payloads) {
        byte[] c = zc.compress(p);
        compressed.add(c);
        rawBytes += p.length;
        compressedBytes += c.length;
      }
    }

    void step(int step) {
      for (int i = 0; i < payloads.size(); i++) {
        byte[] p = payloads.get(i);
        switch (step) {
          case 0 -> zc.compressByteArray(out, 0, out.length, p, 0, p.length);
          case 1 -> zd.decompressByteArray(out, 0, p.length, compressed.get(i), 0, compressed.get(i).length);
          default -> walk.accept(p);
        }
      }
    }
  }

  /** Writes events in the shaped layout (from decoded maps; an experiment, so plain collections). */
  static final class ShapedWriter {
    private byte[] b = new byte[1 << 16];
    private int p;
    private final Map<String, Integer> strings = new HashMap<>();
    private final Map<List<String>, Integer> shapes = new HashMap<>();

    void event(Map<String, Object> e) {
      map(e);
    }

    byte[] toBytes() {
      return Arrays.copyOf(b, p);
    }

    private void map(Map<String, Object> m) {
      put(10);
      List<String> keys = new ArrayList<>(m.keySet());
      Integer shape = shapes.get(keys);
      if (shape != null) {
        varLong(((long) shape << 1) | 1);
      } else {
        shapes.put(keys, shapes.size());
        varLong((long) keys.size() << 1);
        keys.forEach(this::string);
      }
      for (Object v : m.values()) {
        value(v);
      }
    }

    @SuppressWarnings("unchecked")
    private void value(Object v) {
      if (v == null) {
        put(0);
      } else if (v instanceof Boolean x) {
        put(x ? 2 : 1);
      } else if (v instanceof Long x) {
        put(3);
        varLong((x << 1) ^ (x >> 63));
      } else if (v instanceof Double d) {
        decimalOrDouble(d);
      } else if (v instanceof String s) {
        put(5);
        string(s);
      } else if (v instanceof byte[] x) {
        put(6);
        varLong(x.length);
        bytes(x);
      } else if (v instanceof List<?> l) {
        put(7);
        varLong(l.size());
        l.forEach(this::value);
      } else if (v instanceof Map<?, ?> m) {
        map((Map<String, Object>) m);
      } else {
        throw new IllegalArgumentException(v.getClass().toString());
      }
    }

    /** wire-format.md, DECIMAL: the writer's search, then DOUBLE. */
    private void decimalOrDouble(double d) {
      long bits = Double.doubleToRawLongBits(d);
      double[] pow10 = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7};
      for (int k = 0; k < pow10.length; k++) {
        double s = d * pow10[k];
        if (!(Math.abs(s) < 0x1p58)) {
          break;
        }
        long m = Math.round(s);
        if (Double.doubleToRawLongBits(m / pow10[k]) == bits) {
          put(9);
          varLong((((m << 1) ^ (m >> 63)) << 3) | k);
          return;
        }
      }
      put(4);
      for (int i = 0; i < 8; i++) {
        put((int) (bits >>> (8 * i)));
      }
    }

    private void string(String s) {
      Integer ref = strings.get(s);
      if (ref != null) {
        varLong(((long) ref << 1) | 1);
        return;
      }
      strings.put(s, strings.size());
      byte[] u = s.getBytes(StandardCharsets.UTF_8);
      varLong((long) u.length << 1);
      bytes(u);
    }

    private void varLong(long v) {
      while ((v & ~0x7FL) != 0) {
        put((int) ((v & 0x7F) | 0x80));
        v >>>= 7;
      }
      put((int) v);
    }

    private void bytes(byte[] x) {
      for (byte y : x) {
        put(y);
      }
    }

    private void put(int v) {
      if (p == b.length) {
        b = Arrays.copyOf(b, p * 2);
      }
      b[p++] = (byte) v;
    }
  }

  /** {@link DecodeCost.BareWalk} for the shaped layout: only maps differ. */
  static final class ShapedWalk extends DecodeCost.BareWalk {
    private String[][] shapes = new String[64][];
    private int shapeCount;

    @Override
    void payload(byte[] payload) {
      shapeCount = 0;
      super.payload(payload);
    }

    @Override
    void map() {
      int h = varInt();
      String[] keys;
      if ((h & 1) != 0) {
        keys = shapes[h >>> 1];
      } else {
        keys = new String[h >>> 1];
        for (int i = 0; i < keys.length; i++) {
          keys[i] = string();
        }
        if (shapeCount == shapes.length) {
          shapes = Arrays.copyOf(shapes, shapeCount * 2);
        }
        shapes[shapeCount++] = keys;
      }
      for (String k : keys) {
        sum += k.length();
        value();
      }
    }
  }
}
