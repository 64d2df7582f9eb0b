package io.epochal.benchmarks;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import io.epochal.format.FormatException;
import io.epochal.format.blob.BlobFormat;
import io.epochal.format.blob.BlobHeader;
import io.epochal.format.blob.BlobReader;
import io.epochal.format.blob.SealedBlob;
import io.epochal.format.codec.ColumnarDecoder;
import io.epochal.format.codec.ColumnarEncoder;
import io.epochal.format.codec.EventDecoder;
import io.epochal.format.codec.EventVisitor;
import io.epochal.format.codec.Projection;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a blob's read (and write) CPU goes, per event, every step measured side by side in one
 * JVM on the blobs of one second of the reference mix ({@value BenchmarkData#MIX_EVENTS} events,
 * the aggregator's defaults: dedupe, zstd 3, 500,000-byte blobs), in thread CPU time, rounds
 * interleaved so that every step sees the same machine:
 *
 * <ul>
 *   <li>{@code crc32c}: the checksum over the stored blob;
 *   <li>{@code zstd-decompress}: decompression into a reused buffer;
 *   <li>{@code bare-walk}: the cheapest walk of the decompressed payload this format allows — no
 *       bounds checks, no validation, no visitor, strings made only when new (as any decoder
 *       must, for later references): a floor under any row-wise decoder of the format, not a
 *       usable decoder;
 *   <li>{@code visit}: {@link EventDecoder#visitEvent} with {@link BlobReadBenchmark.ChecksumVisitor};
 *   <li>{@code projection}: the same walk with a {@link Projection} of {@code status}, {@code url}
 *       and {@code timing.db};
 *   <li>{@code maps}: {@link EventDecoder#readEvent};
 *   <li>{@code v1 read}: {@code BlobReader.open} + {@code visitAll} of each blob, a consumer's whole read;
 *   <li>the same blobs in blob format v2 (columns): {@code v2 zstd-decompress}, {@code v2 visit}
 *       ({@link ColumnarDecoder} reset and every event visited), {@code v2 maps}, {@code v2 read};
 *   <li>{@code v2 rows to columns}: {@link ColumnarEncoder#convert} of the v1 payloads (the
 *       aggregator's added step), and the same with the general path alone (no matching of each
 *       event against the last two shapes: the conversion before 2026-12-02, same bytes);
 *   <li>{@code zstd-N} and {@code v2 zstd-N}: compressing the payloads again at level N (the
 *       aggregator's side).
 * </ul>
 *
 * <p>The MB/s column counts each version's own stored bytes.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.DecodeCost [rounds] [zstd levels, e.g. 1,2,3]
 * </pre>
 */
public final class DecodeCost {
  private DecodeCost() {}

  public static void main(String[] args) throws FormatException {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 40;
    String[] levels = (args.length > 1 ? args[1] : "1,2,3").split(",");
    MixBlobs mix = MixBlobs.load(BlobFormat.VERSION_ROWS);
    MixBlobs mix2 = MixBlobs.load(BlobFormat.VERSION_COLUMNS);
    if (mix2.events() != mix.events()) {
      throw new IllegalStateException("v1 and v2 blobs hold " + mix.events() + " and " + mix2.events() + " events");
    }
    List<byte[]> blobs = mix.blobs();
    List<byte[]> payloads = mix.payloads();
    long events = mix.events();
    double[] storedPerEvent = new double[3];
    for (MixBlobs m : List.of(mix, mix2)) {
      long stored = m.blobs().stream().mapToLong(b -> b.length).sum();
      long payloadBytes = m.payloads().stream().mapToLong(p -> p.length).sum();
      storedPerEvent[m.version()] = stored / (double) events;
      System.out.printf(Locale.ROOT, "blob v%d: %d blobs, %d events, %.1f stored bytes/event, %.1f payload bytes/event%n",
          m.version(), m.blobs().size(), events, stored / (double) events, payloadBytes / (double) events);
    }

    // name -> (step, blob version whose stored bytes the MB/s column counts)
    Map<String, Step> steps = new LinkedHashMap<>();
    Map<String, Integer> versionOf = new LinkedHashMap<>();
    steps.put("crc32c", crc(blobs));
    steps.put("zstd-decompress", decompress(blobs));
    steps.put("bare-walk", bareWalk(payloads));
    steps.put("visit", visit(payloads));
    steps.put("projection", projection(payloads));
    steps.put("maps", maps(payloads));
    steps.put("v1 read: open + visitAll", read(blobs));
    steps.forEach((k, v) -> versionOf.put(k, 1));
    steps.put("v2 zstd-decompress", decompress(mix2.blobs()));
    steps.put("v2 visit", visitColumns(mix2.payloads(), mix2.counts()));
    steps.put("v2 maps", mapsColumns(mix2.payloads(), mix2.counts()));
    steps.put("v2 read: open + visitAll", read(mix2.blobs()));
    steps.put("v2 rows to columns (writer)", convert(new ColumnarEncoder(), payloads, mix.counts()));
    steps.put("v2 rows to columns, general path only", convert(new ColumnarEncoder(false), payloads, mix.counts()));
    steps.forEach((k, v) -> versionOf.putIfAbsent(k, 2));
    for (String level : levels) {
      steps.put("zstd-" + level, compress(payloads, Integer.parseInt(level.trim())));
      versionOf.put("zstd-" + level, 1);
      steps.put("v2 zstd-" + level, compress(mix2.payloads(), Integer.parseInt(level.trim())));
      versionOf.put("v2 zstd-" + level, 2);
    }
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Map<String, Long> cpu = new LinkedHashMap<>();
    long sink = 0;
    for (int round = 0; round < rounds; round++) {
      for (var s : steps.entrySet()) {
        long t0 = threads.getCurrentThreadCpuTime();
        sink += s.getValue().run();
        long t = threads.getCurrentThreadCpuTime() - t0;
        if (round >= rounds / 4) {
          cpu.merge(s.getKey(), t, Long::sum);
        }
      }
    }
    double measured = (rounds - rounds / 4) * (double) events;
    System.out.println("| step | CPU ns per event | MB/s of stored blob bytes per CPU s | events/s per CPU s |");
    System.out.println("|---|---:|---:|---:|");
    for (var e : cpu.entrySet()) {
      double ns = e.getValue() / measured;
      System.out.printf(Locale.ROOT, "| %s | %.0f | %.0f | %.2fM |%n", e.getKey(), ns,
          storedPerEvent[versionOf.get(e.getKey())] / ns * 1e3, 1e3 / ns);
    }
    System.out.println("(checksum " + sink + ")");
  }

  /** A whole read of each blob as a consumer makes it: checksum, header, decompress, every event visited. */
  private static Step read(List<byte[]> blobs) {
    BlobReader reader = new BlobReader();
    BlobReadBenchmark.ChecksumVisitor v = new BlobReadBenchmark.ChecksumVisitor();
    return () -> {
      for (byte[] b : blobs) {
        reader.open(b).visitAll(v);
      }
      return v.sum;
    };
  }

  private static Step visitColumns(List<byte[]> payloads, List<Integer> counts) {
    ColumnarDecoder d = new ColumnarDecoder();
    BlobReadBenchmark.ChecksumVisitor v = new BlobReadBenchmark.ChecksumVisitor();
    return () -> {
      for (int i = 0; i < payloads.size(); i++) {
        byte[] p = payloads.get(i);
        d.reset(p, 0, p.length, counts.get(i));
        while (d.hasNext()) {
          d.visitEvent(v);
        }
      }
      return v.sum;
    };
  }

  private static Step mapsColumns(List<byte[]> payloads, List<Integer> counts) {
    ColumnarDecoder d = new ColumnarDecoder();
    return () -> {
      long s = 0;
      for (int i = 0; i < payloads.size(); i++) {
        byte[] p = payloads.get(i);
        d.reset(p, 0, p.length, counts.get(i));
        while (d.hasNext()) {
          s += d.readEvent().size();
        }
      }
      return s;
    };
  }

  private static Step convert(ColumnarEncoder c, List<byte[]> rows, List<Integer> counts) {
    return () -> {
      long s = 0;
      for (int i = 0; i < rows.size(); i++) {
        s += c.convert(rows.get(i), rows.get(i).length, counts.get(i));
      }
      return s;
    };
  }

  /**
   * The blobs of one second of the reference mix as the aggregator seals them (dedupe, zstd 3,
   * 500,000 bytes), and their decompressed payloads.
   */
  record MixBlobs(int version, List<byte[]> blobs, List<byte[]> payloads, List<Integer> counts, long events) {
    /** The mix's blobs in blob format v1 (rows). */
    static MixBlobs load() throws FormatException {
      return load(BlobFormat.VERSION_ROWS);
    }

    static MixBlobs load(int version) throws FormatException {
      List<byte[]> blobs = new ArrayList<>();
      List<byte[]> payloads = new ArrayList<>();
      List<Integer> counts = new ArrayList<>();
      long events = 0;
      try (BlobReader reader = new BlobReader();
          var enc = BenchmarkData.encoder(true, true, 3, version);
          ZstdDecompressCtx z = new ZstdDecompressCtx()) {
        for (var group : BenchmarkData.referenceMixBatches().entrySet()) {
          for (SealedBlob b : BenchmarkData.steadyStateBlobs(enc, group.getKey(), group.getValue())) {
            BlobHeader h = reader.open(b.bytes()).header();
            byte[] p = new byte[h.uncompressedLength()];
            z.decompressByteArray(p, 0, p.length, b.bytes(), h.headerLength(), h.storedLength());
            blobs.add(b.bytes());
            payloads.add(p);
            counts.add(h.eventCount());
            events += h.eventCount();
          }
        }
      }
      return new MixBlobs(version, blobs, payloads, counts, events);
    }

    /** Every event of the payloads, decoded. */
    List<List<Map<String, Object>>> decoded() throws FormatException {
      List<List<Map<String, Object>>> out = new ArrayList<>();
      for (byte[] p : payloads) {
        EventDecoder d = new EventDecoder(true);
        d.reset(p, 0, p.length);
        List<Map<String, Object>> es = new ArrayList<>();
        while (d.remaining() > 0) {
          es.add(d.readEvent());
        }
        out.add(es);
      }
      return out;
    }
  }

  /** One pass of a step over the data; returns something derived from all of it. */
  private interface Step {
    long run() throws FormatException;
  }

  private static Step crc(List<byte[]> blobs) {
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    return () -> {
      long s = 0;
      for (byte[] b : blobs) {
        crc.reset();
        crc.update(b, 0, b.length);
        s += crc.getValue();
      }
      return s;
    };
  }

  private static Step decompress(List<byte[]> blobs) throws FormatException {
    ZstdDecompressCtx z = new ZstdDecompressCtx();
    List<BlobHeader> headers = new ArrayList<>();
    try (BlobReader reader = new BlobReader()) {
      for (byte[] b : blobs) {
        headers.add(reader.open(b).header());
      }
    }
    byte[] out = new byte[headers.stream().mapToInt(BlobHeader::uncompressedLength).max().orElse(0)];
    return () -> {
      long s = 0;
      for (int i = 0; i < blobs.size(); i++) {
        BlobHeader h = headers.get(i);
        s += z.decompressByteArray(out, 0, h.uncompressedLength(), blobs.get(i), h.headerLength(), h.storedLength());
      }
      return s;
    };
  }

  private static Step visit(List<byte[]> payloads) {
    EventDecoder d = new EventDecoder(true);
    BlobReadBenchmark.ChecksumVisitor v = new BlobReadBenchmark.ChecksumVisitor();
    return () -> {
      for (byte[] p : payloads) {
        d.reset(p, 0, p.length);
        while (d.remaining() > 0) {
          d.visitEvent(v);
        }
      }
      return v.sum;
    };
  }

  private static Step projection(List<byte[]> payloads) {
    EventDecoder d = new EventDecoder(true);
    long[] sum = new long[1];
    EventVisitor v = Projection.of("status", "url", "timing.db").visitor(row -> {
      sum[0] += row.isLong(0) ? row.getLong(0) : 0;
      String url = row.getString(1);
      sum[0] += url == null ? 0 : url.length();
      sum[0] += row.kind(2) == Projection.Kind.DOUBLE ? (long) row.getDouble(2) : 0;
    });
    return () -> {
      for (byte[] p : payloads) {
        d.reset(p, 0, p.length);
        while (d.remaining() > 0) {
          d.visitEvent(v);
        }
      }
      return sum[0];
    };
  }

  private static Step maps(List<byte[]> payloads) {
    EventDecoder d = new EventDecoder(true);
    return () -> {
      long s = 0;
      for (byte[] p : payloads) {
        d.reset(p, 0, p.length);
        while (d.remaining() > 0) {
          s += d.readEvent().size();
        }
      }
      return s;
    };
  }

  private static Step compress(List<byte[]> payloads, int level) {
    ZstdCompressCtx z = new ZstdCompressCtx().setLevel(level);
    byte[] out = new byte[payloads.stream().mapToInt(p -> p.length).max().orElse(0) + 4096];
    return () -> {
      long s = 0;
      for (byte[] p : payloads) {
        s += z.compressByteArray(out, 0, out.length, p, 0, p.length);
      }
      return s;
    };
  }

  private static Step bareWalk(List<byte[]> payloads) {
    BareWalk w = new BareWalk();
    return () -> {
      for (byte[] p : payloads) {
        w.payload(p);
      }
      return w.sum;
    };
  }

  /**
   * The format's value grammar walked with nothing but what every decoder must do: read each tag
   * and varint, make each new string (later references name it), resolve each reference. Trusts
   * its input completely (Epochal's own payloads): the floor, not a decoder.
   */
  static class BareWalk {
    byte[] b;
    int p;
    private String[] table = new String[1 << 10];
    private int size;
    long sum;

    void payload(byte[] payload) {
      b = payload;
      p = 0;
      size = 0;
      while (p < b.length) {
        p++; // the event's map tag
        map();
      }
    }

    int varInt() {
      int x = b[p++];
      if (x >= 0) {
        return x;
      }
      int r = x & 0x7f;
      for (int shift = 7; ; shift += 7) {
        x = b[p++];
        r |= (x & 0x7f) << shift;
        if (x >= 0 || shift == 28) {
          return r;
        }
      }
    }

    final long varLong() {
      long r = 0;
      for (int shift = 0; shift < 56; shift += 7) {
        int x = b[p++];
        r |= (long) (x & 0x7f) << shift;
        if (x >= 0) {
          return r;
        }
      }
      return r | (long) (b[p++] & 0xff) << 56;
    }

    final String string() {
      int h = varInt();
      int n = h >>> 1;
      if ((h & 1) != 0) {
        return table[n];
      }
      String s = new String(b, p, n, StandardCharsets.UTF_8);
      p += n;
      if (size == table.length) {
        table = java.util.Arrays.copyOf(table, size * 2);
      }
      table[size++] = s;
      return s;
    }

    /** A map, its tag read. */
    void map() {
      int n = varInt();
      for (int i = 0; i < n; i++) {
        sum += string().length();
        value();
      }
    }

    final void value() {
      int t = b[p++];
      switch (t) {
        case 0, 1, 2 -> sum += t;
        case 3, 9 -> sum += varLong();
        case 4 -> {
          sum += b[p];
          p += 8;
        }
        case 5 -> sum += string().length();
        case 6 -> {
          int skip = varInt(); // not "p += varInt()": that would add to p as it was before the read
          p += skip;
        }
        case 7 -> {
          int n = varInt();
          for (int i = 0; i < n; i++) {
            value();
          }
        }
        case 8, 10 -> map(); // 10: a shaped map (ShapedPayloadExperiment)
        default -> throw new IllegalStateException("value type " + t);
      }
    }
  }
}
