package io.epochal.benchmarks;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import io.epochal.format.codec.EventEncoder;
import io.epochal.format.reference.ReferenceEvents;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * zstd parameters against the aggregator's real payloads: the reference mix encoded (strings
 * de-duplicated, as blobs are) into payloads of about the size the aggregator compresses at 200,000
 * events/s (a blob of 500 KB at the mix's ratio), each kind (type, subtype) in its own payloads.
 * Every configuration compresses all payloads, alternating round by round so that all see the same
 * machine; prints thread CPU ns per event and compressed bytes per event.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.ZstdParams [events] [rounds] [payload bytes]
 * </pre>
 */
public final class ZstdParams {
  private ZstdParams() {}

  /** A named configuration of a compression context. */
  private record Config(String name, int level, int windowLog, int hashLog, int chainLog, int searchLog, int minMatch, int strategy) {
    ZstdCompressCtx context() {
      ZstdCompressCtx c = new ZstdCompressCtx();
      c.setLevel(level);
      c.setChecksum(false);
      c.setContentSize(true);
      if (windowLog > 0) {
        c.setWindowLog(windowLog);
      }
      if (hashLog > 0) {
        c.setHashLog(hashLog);
      }
      if (chainLog > 0) {
        c.setChainLog(chainLog);
      }
      if (searchLog > 0) {
        c.setSearchLog(searchLog);
      }
      if (minMatch > 0) {
        c.setMinMatch(minMatch);
      }
      if (strategy > 0) {
        c.setStrategy(strategy);
      }
      return c;
    }
  }

  public static void main(String[] args) {
    int events = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    int payloadBytes = args.length > 2 ? Integer.parseInt(args[2]) : 1_100_000;
    List<byte[]> payloads = payloads(events, payloadBytes);
    long raw = payloads.stream().mapToLong(p -> p.length).sum();
    System.out.printf(Locale.ROOT, "%d events in %d payloads, %.1f raw bytes/event%n", events, payloads.size(), raw / (double) events);
    List<Config> configs = List.of(
        new Config("level 3 (default)", 3, 0, 0, 0, 0, 0, 0),
        new Config("level 1", 1, 0, 0, 0, 0, 0, 0),
        new Config("level 2", 2, 0, 0, 0, 0, 0, 0),
        new Config("level 3, hash 16 chain 15", 3, 0, 16, 15, 0, 0, 0),
        new Config("level 3, hash 15 chain 14", 3, 0, 15, 14, 0, 0, 0),
        new Config("level 3, hash 14 chain 13", 3, 0, 14, 13, 0, 0, 0),
        new Config("level 3, minMatch 6", 3, 0, 0, 0, 0, 6, 0),
        new Config("level 3, window 20", 3, 20, 0, 0, 0, 0, 0),
        new Config("fast, hash 17", 1, 0, 17, 0, 0, 0, 1),
        new Config("level 4", 4, 0, 0, 0, 0, 0, 0));
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long[] cpu = new long[configs.size()];
    long[] out = new long[configs.size()];
    ZstdCompressCtx[] ctx = new ZstdCompressCtx[configs.size()];
    for (int i = 0; i < ctx.length; i++) {
      ctx[i] = configs.get(i).context();
    }
    byte[] dst = new byte[(int) Zstd.compressBound(payloadBytes * 2L)];
    for (int round = 0; round < rounds; round++) {
      for (int i = 0; i < ctx.length; i++) {
        long start = threads.getCurrentThreadCpuTime();
        long bytes = 0;
        for (byte[] p : payloads) {
          bytes += ctx[i].compressByteArray(dst, 0, dst.length, p, 0, p.length);
        }
        if (round > 0) {
          cpu[i] += threads.getCurrentThreadCpuTime() - start;
          out[i] = bytes;
        }
      }
    }
    double n = (rounds - 1) * (double) events;
    for (int i = 0; i < ctx.length; i++) {
      System.out.printf(Locale.ROOT, "%-28s %6.0f ns/event  %6.2f bytes/event  (%.2fx the CPU, %+.1f%% bytes of level 3)%n",
          configs.get(i).name(), cpu[i] / n, out[i] / (double) events, cpu[i] / (double) cpu[0], 100.0 * (out[i] - out[0]) / out[0]);
      ctx[i].close();
    }
  }

  /** The mix, each kind into de-duplicated payloads cut at {@code payloadBytes}. */
  static List<byte[]> payloads(int events, int payloadBytes) {
    Map<String, EventEncoder> open = new HashMap<>();
    List<byte[]> out = new ArrayList<>();
    for (ReferenceEvents.Event e : new ReferenceEvents(BenchmarkData.SEED).next(events)) {
      EventEncoder enc = open.computeIfAbsent(e.type() + "/" + e.subtype(), k -> new EventEncoder(1 << 16, -1, true));
      enc.writeEvent(e.fields());
      if (enc.position() >= payloadBytes) {
        out.add(enc.toBytes());
        enc.reset();
      }
    }
    for (EventEncoder enc : open.values()) {
      if (enc.position() > 0) {
        out.add(enc.toBytes());
      }
    }
    return out;
  }
}
