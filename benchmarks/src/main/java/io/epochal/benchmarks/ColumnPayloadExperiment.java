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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The experiment that preceded blob format v2 (docs/blob-format.md "Payload v2"), not that format
 * (which keeps nested maps, has one blob-wide dictionary and numbers shapes by skeleton): a
 * column-wise payload of the same
 * events as the v1 payloads, to see what its decode would cost. Nested maps are flattened to
 * dotted paths; events with the same path list (a shape) form a group; per group each path is a
 * column: all-integer columns as zigzag varlongs, columns of short decimals as v1's DECIMAL
 * varlongs, all-string columns as per-column dictionary
 * references (varint {@code index << 1 | 1}, or {@code length << 1} and the UTF-8 bytes of a new
 * string), anything else as v1-style tagged values. A byte per event names its group, so row
 * order is kept. The bare column walk reads every value, as {@link DecodeCost.BareWalk} does:
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.ColumnPayloadExperiment [rounds]
 * </pre>
 */
public final class ColumnPayloadExperiment {
  private ColumnPayloadExperiment() {}

  public static void main(String[] args) throws FormatException {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 40;
    DecodeCost.MixBlobs mix = DecodeCost.MixBlobs.load();
    List<byte[]> v1 = mix.payloads();
    List<byte[]> columns = new ArrayList<>();
    for (List<Map<String, Object>> es : mix.decoded()) {
      columns.add(write(es));
    }
    long events = mix.events();
    DecodeCost.BareWalk rows = new DecodeCost.BareWalk();
    ColumnWalk cols = new ColumnWalk();
    ZstdCompressCtx zc = new ZstdCompressCtx().setLevel(3);
    ZstdDecompressCtx zd = new ZstdDecompressCtx();
    List<List<byte[]>> layouts = List.of(v1, columns);
    List<List<byte[]>> compressed = new ArrayList<>();
    long[] raw = new long[2];
    long[] packed = new long[2];
    for (int l = 0; l < 2; l++) {
      List<byte[]> c = new ArrayList<>();
      for (byte[] p : layouts.get(l)) {
        byte[] x = zc.compress(p);
        c.add(x);
        raw[l] += p.length;
        packed[l] += x.length;
      }
      compressed.add(c);
    }
    byte[] out = new byte[1 << 24];
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long[][] cpu = new long[2][3];
    for (int round = 0; round < rounds; round++) {
      for (int l = 0; l < 2; l++) {
        List<byte[]> ps = layouts.get(l);
        long tc = threads.getCurrentThreadCpuTime();
        for (byte[] p : ps) {
          zc.compressByteArray(out, 0, out.length, p, 0, p.length);
        }
        long t0 = threads.getCurrentThreadCpuTime();
        for (int i = 0; i < ps.size(); i++) {
          zd.decompressByteArray(out, 0, ps.get(i).length, compressed.get(l).get(i), 0, compressed.get(l).get(i).length);
        }
        long t1 = threads.getCurrentThreadCpuTime();
        for (byte[] p : ps) {
          if (l == 0) {
            rows.payload(p);
          } else {
            cols.payload(p);
          }
        }
        long t2 = threads.getCurrentThreadCpuTime();
        if (round >= rounds / 4) {
          cpu[l][0] += t1 - t0;
          cpu[l][1] += t2 - t1;
          cpu[l][2] += t0 - tc;
        }
      }
    }
    double n = (rounds - rounds / 4) * (double) events;
    System.out.printf(Locale.ROOT, "%d events of the reference mix (checksums %d, %d)%n", events, rows.sum, cols.sum);
    System.out.println("| layout | payload bytes/event | zstd-3 bytes/event | zstd-3 compress ns/event | decompress ns/event | bare walk ns/event |");
    System.out.println("|---|---:|---:|---:|---:|---:|");
    String[] names = {"v1 rows", "columns"};
    for (int l = 0; l < 2; l++) {
      System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.0f | %.0f | %.0f |%n", names[l], raw[l] / (double) events,
          packed[l] / (double) events, cpu[l][2] / n, cpu[l][0] / n, cpu[l][1] / n);
    }
  }

  private static void flatten(String prefix, Map<String, Object> m, Map<String, Object> out) {
    for (var e : m.entrySet()) {
      String path = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
      if (e.getValue() instanceof Map<?, ?> inner && !inner.isEmpty()) {
        @SuppressWarnings("unchecked")
        Map<String, Object> sub = (Map<String, Object>) inner;
        flatten(path, sub, out);
      } else {
        out.put(path, e.getValue());
      }
    }
  }

  /** groups, then per event its group, then per group: count, paths, columns. */
  static byte[] write(List<Map<String, Object>> events) {
    Out o = new Out();
    Map<List<String>, Integer> groupOf = new LinkedHashMap<>();
    List<List<Map<String, Object>>> groups = new ArrayList<>();
    byte[] order = new byte[events.size()];
    for (int i = 0; i < events.size(); i++) {
      Map<String, Object> flat = new LinkedHashMap<>();
      flatten("", events.get(i), flat);
      List<String> paths = new ArrayList<>(flat.keySet());
      Integer g = groupOf.get(paths);
      if (g == null) {
        g = groups.size();
        groupOf.put(paths, g);
        groups.add(new ArrayList<>());
      }
      groups.get(g).add(flat);
      order[i] = (byte) (int) g; // an experiment: under 256 shapes per payload here
    }
    o.varLong(events.size());
    o.bytes(order);
    o.varLong(groups.size());
    for (var entry : groupOf.entrySet()) {
      List<String> paths = entry.getKey();
      List<Map<String, Object>> rows = groups.get(entry.getValue());
      o.varLong(rows.size());
      o.varLong(paths.size());
      for (String path : paths) {
        o.literal(path);
        List<Object> col = new ArrayList<>(rows.size());
        rows.forEach(r -> col.add(r.get(path)));
        if (col.stream().allMatch(v -> v instanceof Long)) {
          o.put(1);
          for (Object v : col) {
            long x = (Long) v;
            o.varLong((x << 1) ^ (x >> 63));
          }
        } else if (col.stream().allMatch(v -> v instanceof String)) {
          o.put(2);
          Map<String, Integer> dict = new HashMap<>();
          for (Object v : col) {
            Integer ref = dict.get(v);
            if (ref != null) {
              o.varLong(((long) ref << 1) | 1);
            } else {
              dict.put((String) v, dict.size());
              o.literal((String) v);
            }
          }
        } else if (col.stream().allMatch(v -> v instanceof Double d && decimal(d) != null)) {
          o.put(4); // v1's DECIMAL form without the tag
          for (Object v : col) {
            o.varLong(decimal((Double) v));
          }
        } else {
          o.put(3);
          for (Object v : col) {
            o.tagged(v);
          }
        }
      }
    }
    return o.toBytes();
  }

  private static final double[] POW10 = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7};

  /** wire-format.md's DECIMAL {@code (zigzag(m) << 3) | k} for {@code d}, or null if it has none. */
  static Long decimal(double d) {
    long bits = Double.doubleToRawLongBits(d);
    for (int k = 0; k < POW10.length; k++) {
      double s = d * POW10[k];
      if (!(Math.abs(s) < 0x1p58)) {
        return null;
      }
      long m = Math.round(s);
      if (Double.doubleToRawLongBits(m / POW10[k]) == bits) {
        return (((m << 1) ^ (m >> 63)) << 3) | k;
      }
    }
    return null;
  }

  /** A growable byte array with the value encodings the experiment needs. */
  static final class Out {
    private byte[] b = new byte[1 << 16];
    private int p;

    byte[] toBytes() {
      return Arrays.copyOf(b, p);
    }

    void put(int v) {
      if (p == b.length) {
        b = Arrays.copyOf(b, p * 2);
      }
      b[p++] = (byte) v;
    }

    void bytes(byte[] x) {
      for (byte y : x) {
        put(y);
      }
    }

    void varLong(long v) {
      while ((v & ~0x7FL) != 0) {
        put((int) ((v & 0x7F) | 0x80));
        v >>>= 7;
      }
      put((int) v);
    }

    void literal(String s) {
      byte[] u = s.getBytes(StandardCharsets.UTF_8);
      varLong((long) u.length << 1);
      bytes(u);
    }

    /** v1's value tags, strings always literal (mixed columns are rare here). */
    void tagged(Object v) {
      if (v == null) {
        put(0);
      } else if (v instanceof Boolean x) {
        put(x ? 2 : 1);
      } else if (v instanceof Long x) {
        put(3);
        varLong((x << 1) ^ (x >> 63));
      } else if (v instanceof Double d) {
        put(4);
        long bits = Double.doubleToRawLongBits(d);
        for (int i = 0; i < 8; i++) {
          put((int) (bits >>> (8 * i)));
        }
      } else if (v instanceof String s) {
        put(5);
        literal(s);
      } else {
        put(6); // lists, byte arrays, empty maps: their string form, as bytes
        byte[] u = String.valueOf(v).getBytes(StandardCharsets.UTF_8);
        varLong(u.length);
        bytes(u);
      }
    }
  }

  /** Reads every value of a column payload, trusting it. */
  static final class ColumnWalk {
    private byte[] b;
    private int p;
    long sum;

    private long varLong() {
      long r = 0;
      for (int shift = 0; ; shift += 7) {
        int x = b[p++];
        r |= (long) (x & 0x7f) << shift;
        if (x >= 0) {
          return r;
        }
      }
    }

    private String literal() {
      int n = (int) (varLong() >>> 1);
      String s = new String(b, p, n, StandardCharsets.UTF_8);
      p += n;
      return s;
    }

    void payload(byte[] payload) {
      b = payload;
      p = 0;
      int events = (int) varLong();
      p += events; // the row order, one byte per event
      int groups = (int) varLong();
      String[] dict = new String[1 << 10];
      for (int g = 0; g < groups; g++) {
        int rows = (int) varLong();
        int paths = (int) varLong();
        for (int c = 0; c < paths; c++) {
          sum += literal().length();
          int kind = b[p++];
          if (kind == 1) {
            for (int r = 0; r < rows; r++) {
              sum += varLong();
            }
          } else if (kind == 4) {
            double dsum = 0;
            for (int r = 0; r < rows; r++) {
              long u = varLong();
              long zz = u >>> 3;
              dsum += ((zz >>> 1) ^ -(zz & 1)) / POW10[(int) (u & 7)];
            }
            sum += (long) dsum;
          } else if (kind == 2) {
            int size = 0;
            for (int r = 0; r < rows; r++) {
              long h = varLong();
              String s;
              if ((h & 1) != 0) {
                s = dict[(int) (h >>> 1)];
              } else {
                int n = (int) (h >>> 1);
                s = new String(b, p, n, StandardCharsets.UTF_8);
                p += n;
                if (size == dict.length) {
                  dict = Arrays.copyOf(dict, size * 2);
                }
                dict[size++] = s;
              }
              sum += s.length();
            }
          } else {
            for (int r = 0; r < rows; r++) {
              int t = b[p++];
              switch (t) {
                case 0, 1, 2 -> sum += t;
                case 3 -> sum += varLong();
                case 4 -> {
                  sum += b[p];
                  p += 8;
                }
                case 5 -> sum += literal().length();
                default -> {
                  int skip = (int) varLong(); // not "p += varLong()": that would add to p as it was before the read
                  p += skip;
                }
              }
            }
          }
        }
      }
    }
  }
}
