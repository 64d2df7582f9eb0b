package io.epochal.benchmarks.load;

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
 * One load-generating process: emits the reference event mix through a real {@link EventEmitter}
 * at a fixed rate for a fixed time, then prints the emitter's counters as one line starting with
 * {@value #STATS_PREFIX} ({@code key=value} pairs, see {@link #parseStats}).
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.load.LoadEmitter \
 *     --port 5140 --rate 100000 --seconds 60 [--host 127.0.0.1] [--seed 42] [--pool 50000] \
 *     [--start-at EPOCH_MILLIS] [--datagram-bytes 8192] [--datagram-version 0] [--max-buffered 1024] [--sockets 1]
 * </pre>
 *
 * <p>Events come from a pool of {@code --pool} pre-generated events ({@code ReferenceEvents(seed)})
 * cycled in order, so generating them costs nothing during the run. Pacing: event {@code i} is due
 * at {@code start + i / rate}; the loop emits everything due, then parks until a slice of about
 * 0.5 ms worth of events is due again. If the process falls behind (no CPU), it catches up as fast
 * as it can and reports the largest lag ({@code max_lag_ms}), so a run that could not hold the rate
 * is visible. {@code --sockets N} adds the aggregator N times: the emitter then sends round-robin
 * from N sockets (N source ports), which SO_REUSEPORT spreads over the aggregator's channels.
 */
public final class LoadEmitter {
  public static final String STATS_PREFIX = "LOAD_EMITTER_STATS";
  /** With {@code --stamp}: wall-clock milliseconds just before {@code emit()}. */
  public static final String EMIT_MS = "emit_ms";
  /** With {@code --stamp}: 0, 1, 2, ... in emit order. */
  public static final String EMIT_SEQ = "emit_seq";

  private LoadEmitter() {}

  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv, List.of("stamp"));
    args.allowOnly(List.of("host", "port", "rate", "seconds", "seed", "pool", "start-at", "datagram-bytes", "datagram-version",
        "max-buffered", "sockets", "linger-ms", "stamp"));
    String host = args.get("host", "127.0.0.1");
    int port = args.getInt("port", 5140);
    long rate = args.getLong("rate", 100_000);
    long seconds = args.getLong("seconds", 60);
    long seed = args.getLong("seed", 42);
    int poolSize = args.getInt("pool", 50_000);
    long startAt = args.getLong("start-at", 0);
    int sockets = args.getInt("sockets", 1);
    // --stamp: each event carries its emit time and sequence number, so a consumer can measure
    // exact per-event lag and find lost or repeated events (PipelineLag).
    boolean stamp = args.flag("stamp");
    if (rate <= 0 || seconds <= 0 || poolSize <= 0 || sockets <= 0) {
      throw new IllegalArgumentException("--rate, --seconds, --pool and --sockets must be positive");
    }

    ReferenceEvents gen = new ReferenceEvents(seed);
    ReferenceEvents.Event[] pool = new ReferenceEvents.Event[poolSize];
    for (int i = 0; i < poolSize; i++) {
      ReferenceEvents.Event e = gen.next();
      if (stamp) {
        // Our own mutable copy: the stamps are overwritten before each emit(), which encodes the
        // map on this thread before it returns, so reusing the map is safe.
        Map<String, Object> f = new LinkedHashMap<>(e.fields());
        f.put(EMIT_MS, 0L);
        f.put(EMIT_SEQ, 0L);
        e = new ReferenceEvents.Event(e.type(), e.subtype(), f);
      }
      pool[i] = e;
    }

    EventEmitter.Builder b = EventEmitter.builder().dc("1").type("WEB")
        .datagramBytes(args.getInt("datagram-bytes", 8192))
        .datagramVersion(args.getInt("datagram-version", 0))
        .maxBufferedDatagrams(args.getInt("max-buffered", 1024))
        .linger(Duration.ofMillis(args.getLong("linger-ms", 5)));
    for (int i = 0; i < sockets; i++) {
      b.aggregator(host, port);
    }
    long total = rate * seconds;
    long slice = Math.max(1, rate / 2000); // ~0.5 ms of events per wake-up
    double nanosPerEvent = 1e9 / rate;

    try (EventEmitter emitter = b.build()) {
      // A scheduled start, so that several emitters and the harness's measurements begin together.
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
          if (lag > maxLag) {
            maxLag = lag;
          }
          for (; i < due; i++) {
            ReferenceEvents.Event e = pool[p];
            if (stamp) {
              e.fields().put(EMIT_MS, System.currentTimeMillis());
              e.fields().put(EMIT_SEQ, i);
            }
            emitter.emit(e.type(), e.subtype(), e.fields());
            if (++p == poolSize) {
              p = 0;
            }
          }
        }
        if (i < total) {
          long wake = start + (long) ((i + slice - 1) * nanosPerEvent);
          long park = wake - System.nanoTime();
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

  /** Parses a {@value #STATS_PREFIX} line into its key/value pairs (values as longs). */
  public static Map<String, Long> parseStats(String line) {
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
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      return sun.getProcessCpuTime();
    }
    return 0;
  }
}
