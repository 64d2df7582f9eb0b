package io.epochal.benchmarks.pipeline;

import io.epochal.benchmarks.load.Args;
import io.epochal.benchmarks.load.Children;

import io.epochal.emitter.DropReason;
import io.epochal.emitter.EmitterStats;
import io.epochal.emitter.EventEmitter;
import io.epochal.format.reference.ReferenceEvents;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * The load of {@link PipelineLag}: the reference mix through a real {@link EventEmitter} at a fixed
 * rate (the pacing of {@code io.epochal.benchmarks.load.LoadEmitter}), each event stamped with two
 * extra fields so that a consumer can measure exact per-event lag and find lost or repeated events:
 * {@value #EMIT_MS} (wall-clock milliseconds just before {@code emit()}) and {@value #EMIT_SEQ}
 * (0, 1, 2, ... in emit order). Prints one {@value #STATS_PREFIX} line of {@code key=value} pairs.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.pipeline.LagEmitter \
 *     --port 5140 --rate 100000 --seconds 60 [--start-at EPOCH_MILLIS] [--seed 42] [--pool 50000]
 * </pre>
 */
public final class LagEmitter {
  static final String STATS_PREFIX = "LAG_EMITTER_STATS";
  static final String EMIT_MS = "emit_ms";
  static final String EMIT_SEQ = "emit_seq";

  private LagEmitter() {}

  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv, List.of());
    args.allowOnly(List.of("host", "port", "rate", "seconds", "seed", "pool", "start-at", "datagram-bytes",
        "max-buffered", "linger-ms"));
    long rate = args.getLong("rate", 100_000);
    long seconds = args.getLong("seconds", 60);
    int poolSize = args.getInt("pool", 50_000);
    long startAt = args.getLong("start-at", 0);
    if (rate <= 0 || seconds <= 0 || poolSize <= 0) {
      throw new IllegalArgumentException("--rate, --seconds and --pool must be positive");
    }
    ReferenceEvents gen = new ReferenceEvents(args.getLong("seed", 42));
    String[] types = new String[poolSize];
    String[] subtypes = new String[poolSize];
    @SuppressWarnings("unchecked")
    Map<String, Object>[] pool = new Map[poolSize];
    for (int i = 0; i < poolSize; i++) {
      ReferenceEvents.Event e = gen.next();
      types[i] = e.type();
      subtypes[i] = e.subtype();
      // Our own mutable copy: the two stamps are overwritten before each emit(), which encodes the
      // map on this thread before it returns, so reusing the map is safe.
      pool[i] = new LinkedHashMap<>(e.fields());
      pool[i].put(EMIT_MS, 0L);
      pool[i].put(EMIT_SEQ, 0L);
    }

    EventEmitter.Builder b = EventEmitter.builder().dc("1").type("WEB")
        .datagramBytes(args.getInt("datagram-bytes", 8192))
        .maxBufferedDatagrams(args.getInt("max-buffered", 1024))
        .linger(Duration.ofMillis(args.getLong("linger-ms", 5)))
        .aggregator(args.get("host", "127.0.0.1"), args.getInt("port", 5140));
    long total = rate * seconds;
    long slice = Math.max(1, rate / 2000); // ~0.5 ms of events per wake-up
    double nanosPerEvent = 1e9 / rate;

    try (EventEmitter emitter = b.build()) {
      while (System.currentTimeMillis() < startAt) {
        LockSupport.parkNanos(Math.min(50_000_000L, (startAt - System.currentTimeMillis()) * 1_000_000L));
      }
      long cpu0 = processCpuNanos();
      long firstEpoch = Math.floorDiv(System.currentTimeMillis(), 1000L);
      long start = System.nanoTime();
      long maxLag = 0;
      long i = 0;
      int p = 0;
      while (i < total) {
        long now = System.nanoTime();
        long due = Math.min(total, (long) ((now - start) / nanosPerEvent) + 1);
        if (due > i) {
          long lag = now - (start + (long) (i * nanosPerEvent));
          maxLag = Math.max(maxLag, lag);
          for (; i < due; i++) {
            Map<String, Object> f = pool[p];
            f.put(EMIT_MS, System.currentTimeMillis());
            f.put(EMIT_SEQ, i);
            emitter.emit(types[p], subtypes[p], f);
            if (++p == poolSize) {
              p = 0;
            }
          }
        }
        if (i < total) {
          long park = start + (long) ((i + slice - 1) * nanosPerEvent) - System.nanoTime();
          if (park > 0) {
            LockSupport.parkNanos(park);
          }
        }
      }
      long elapsed = System.nanoTime() - start;
      long lastEpoch = Math.floorDiv(System.currentTimeMillis(), 1000L);
      emitter.close(); // sends what is buffered; every event is then sent or dropped
      long cpu = processCpuNanos() - cpu0;
      EmitterStats s = emitter.stats();
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("rate", rate);
      out.put("seconds", seconds);
      out.put("emitted", s.emitted());
      out.put("sent", s.sent());
      out.put("datagrams", s.datagrams());
      out.put("bytes", s.bytes());
      out.put("dropped", s.droppedTotal());
      for (DropReason r : DropReason.values()) {
        out.put("dropped." + r.label(), s.dropped().getOrDefault(r, 0L));
      }
      out.put("first_epoch", firstEpoch);
      out.put("last_epoch", lastEpoch);
      out.put("elapsed_ms", elapsed / 1_000_000);
      out.put("max_lag_ms", maxLag / 1_000_000);
      out.put("cpu_ms", cpu / 1_000_000);
      StringBuilder line = new StringBuilder(STATS_PREFIX);
      out.forEach((k, v) -> line.append(' ').append(k).append('=').append(v));
      System.out.println(line);
      System.out.flush();
    }
  }

  /** Parses a {@value #STATS_PREFIX} line into its key/value pairs. */
  static Map<String, Long> parseStats(String line) {
    if (!line.startsWith(STATS_PREFIX + " ")) {
      throw new IllegalArgumentException("not a stats line: " + line);
    }
    Map<String, Long> m = new LinkedHashMap<>();
    for (String kv : line.substring(STATS_PREFIX.length() + 1).trim().split(" ")) {
      int eq = kv.indexOf('=');
      m.put(kv.substring(0, eq), Long.parseLong(kv.substring(eq + 1)));
    }
    return m;
  }

  private static long processCpuNanos() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    return 0;
  }
}
