package io.epochal.benchmarks.load;

import io.epochal.aggregator.spool.FileSpool;
import io.epochal.aggregator.spool.SpoolConfig;
import io.epochal.aggregator.spool.SpoolReader;
import io.epochal.aggregator.spool.SpoolRecord;
import io.epochal.format.BlobKey;
import io.epochal.format.FormatException;
import io.epochal.format.blob.BlobReader;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Load harness for the aggregator (issue 3): the highest event rate the real daemon sustains with
 * zero loss, its CPU cost per event, and how soon a sealed second is in the spool.
 *
 * <pre>
 * ./mvnw -q -pl epochal-cli -am package -DskipTests      # the distribution (epochal.jar)
 * ./mvnw -q -pl benchmarks -am package -DskipTests       # this harness
 * java -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.load.AggregatorLoad \
 *     --rates 50000,100000,150000,200000,300000 --seconds 60
 * </pre>
 *
 * <p>Options (defaults in brackets): {@code --rates} events/s per step [50k..500k]; {@code --seconds}
 * per step [60]; {@code --warmup S} a first step of S seconds at {@code --warmup-rate} [first rate],
 * reported but not judged [0: none]; {@code --emitters N} emitter processes sharing the rate [1];
 * {@code --sockets N} source sockets per emitter [1]; {@code --set key=value} aggregator setting
 * ({@code epochal.aggregator.} is prepended), repeatable; {@code --grace} [2s]; {@code --heap}
 * aggregator -Xmx [1g]; {@code --jvm-opt} extra aggregator JVM option, repeatable; {@code --jfr FILE}
 * record the aggregator with JFR (profile settings); {@code --pin} the aggregator on CPU 0 and the
 * emitters on CPU 1 (taskset; needs 2 CPUs); {@code --keep-going} do not stop at the first
 * lossy step; {@code --work-dir} logs and spool [a temp dir]; {@code --keep-spool}; {@code --seed}
 * [42]; {@code --poll-ms} spool watcher poll [10]; {@code --settle-timeout} s [120];
 * {@code --datagram-bytes} [8192], {@code --datagram-version} [0: the emitter's choice by size] and {@code --max-buffered} [1024]
 * of the emitters.
 *
 * <p>It starts {@code epochal aggregator} from {@code --jar} (default
 * {@code epochal-cli/target/epochal.jar}) in a child JVM on free ports with a temporary spool, then
 * for each rate runs {@code --emitters} {@link LoadEmitter} processes that together send the
 * reference mix at that rate for {@code --seconds}, starting on a whole second. After each step it
 * waits until the aggregator has received, sealed and synced everything (received counter still for
 * 1 s, no open batches, nothing queued for the spool, the spool's durable position at its end), and
 * records: the emitters' counters, the aggregator's counters from {@code /metrics}, kernel UDP drops
 * (the aggregator socket's {@code drops} in /proc/net/udp{,6}, and the machine-wide
 * {@code RcvbufErrors}/{@code InErrors} of /proc/net/snmp), the aggregator's CPU time from
 * /proc/&lt;pid&gt;/stat (and per thread), the machine's CPU time, and when each second's blobs
 * appeared in the spool ({@link SpoolWatcher}). It stops after the first step that lost events or
 * where the emitters could not hold the rate ({@code --keep-going} to go on). At the end it stops the
 * aggregator with SIGTERM and reads the whole spool through {@link FileSpool}, attributing blobs to
 * steps by their epoch, as the authoritative "events in the spool" count.
 *
 * <p>Every child process is killed when the harness ends, also on failure or Ctrl-C.
 */
public final class AggregatorLoad {
  private static final List<String> OPTIONS = List.of("jar", "rates", "seconds", "emitters", "sockets", "heap",
      "set", "jvm-opt", "jfr", "pin", "work-dir", "keep-spool", "keep-going", "warmup", "seed", "poll-ms", "grace",
      "settle-timeout", "datagram-bytes", "datagram-version", "max-buffered", "emitter-heap", "warmup-rate");
  private static final PrintStream log = System.err;

  private final Args args;
  private final Children children;
  private final Path work;
  private final long graceMillis;
  private final int emitters;
  private AggregatorChild aggregator;
  private SpoolWatcher watcher;
  private int stepIndex;
  /** {@code --pin}: the aggregator on CPU 0, the emitters on CPU 1 (taskset). */
  private final boolean pin;

  /** Counters at one instant. */
  private record Snapshot(long atMillis, Map<String, Double> metrics, Map<String, Long> snmp, ProcStats.SocketStats socket,
      long aggregatorCpu, Map<String, Long> threads, long[] machine, long harnessCpu) {}

  /** Everything measured in one step. */
  record Step(String label, long rate, long seconds, long firstEpoch, long lastEpoch, long emitted, long sent,
      long emitterDropped, Map<String, Long> emitterDrops, long emitterCpuMs, long emitterMaxLagMs,
      long emitterElapsedMs, long received, long datagrams, Map<String, Double> aggregatorDrops,
      long socketDrops, long rcvbufErrors, long inErrors, double aggregatorCpuS, Map<String, Double> threadCpuS,
      double windowS, double machineBusyS, double harnessCpuS, long watchedEvents, long watchedBlobs,
      double[] epochDelaysMs, double metricSpoolP50Ms, double metricSpoolP99Ms, double metricSpoolMeanMs,
      double metricSealMeanMs, long late, long settleMs, boolean settled) {
    long aggregatorDropsTotal() {
      return (long) aggregatorDrops.values().stream().mapToDouble(Double::doubleValue).sum();
    }

    boolean emitterHeldRate() {
      return emitterDropped == 0 && emitterMaxLagMs < 1000 && emitterElapsedMs < seconds * 1000 + 1000;
    }
  }

  private AggregatorLoad(Args args, Children children, Path work) {
    this.args = args;
    this.children = children;
    this.work = work;
    this.graceMillis = parseMillis(args.get("grace", "2s"));
    this.emitters = args.getInt("emitters", 1);
    this.pin = args.flag("pin");
  }

  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv, List.of("keep-spool", "keep-going", "pin"));
    args.allowOnly(OPTIONS);
    Path work = args.get("work-dir", null) != null ? Path.of(args.get("work-dir", null))
        : Files.createTempDirectory("aggregator-load");
    Files.createDirectories(work);
    int exit = 1;
    try (Children children = new Children()) {
      exit = new AggregatorLoad(args, children, work).run(argv);
    } finally {
      if (!args.flag("keep-spool")) {
        deleteRecursively(work.resolve("spool"));
      }
      log.println("work directory (logs" + (args.flag("keep-spool") ? ", spool" : "") + "): " + work);
    }
    System.exit(exit);
  }

  private int run(String[] argv) throws Exception {
    Path jar = Path.of(args.get("jar", "epochal-cli/target/epochal.jar"));
    if (!Files.isRegularFile(jar)) {
      throw new IllegalArgumentException(jar + " not found: build it with ./mvnw -q -pl epochal-cli -am package -DskipTests");
    }
    List<Long> rates = Arrays.stream(args.get("rates", "50000,100000,150000,200000,300000,400000,500000").split(","))
        .map(s -> Long.parseLong(s.trim().replace("_", ""))).toList();
    long seconds = args.getLong("seconds", 60);
    long warmup = args.getLong("warmup", 0);

    List<String> settings = new ArrayList<>();
    settings.add("epochal.aggregator.grace=" + args.get("grace", "2s"));
    settings.add("epochal.aggregator.spool.max-bytes=64GiB"); // a load test must not hit the cap
    for (String s : args.all("set")) {
      settings.add(s.startsWith("epochal.") ? s : "epochal.aggregator." + s);
    }
    List<String> jvm = new ArrayList<>();
    jvm.add("-Xmx" + args.get("heap", "1g"));
    jvm.addAll(args.all("jvm-opt"));
    if (args.get("jfr", null) != null) {
      jvm.add("-XX:StartFlightRecording=settings=profile,dumponexit=true,filename=" + Path.of(args.get("jfr", null))
          .toAbsolutePath());
    }

    Path spoolDir = work.resolve("spool");
    aggregator = AggregatorChild.start(jar, spoolDir, work.resolve("aggregator.err"), jvm, settings, children);
    if (pin) {
      // Every thread of the aggregator on CPU 0 (threads it starts later inherit the mask); the
      // emitters on CPU 1: as on separate machines, they no longer push each other's working sets
      // out of the per-core caches, which made CPU time per event swing by a quarter run to run.
      Process p = new ProcessBuilder("taskset", "-a", "-p", "-c", "0", String.valueOf(aggregator.pid()))
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
      if (p.waitFor() != 0) {
        throw new IllegalStateException("taskset failed: " + out);
      }
      log.printf("pinned: aggregator to CPU 0, emitters to CPU 1%n");
    }
    log.printf("harness: %s%n", String.join(" ", argv));
    log.printf("aggregator pid %d: udp port %d, admin %s, spool %s%n  %s%n", aggregator.pid(), aggregator.udpPort,
        aggregator.admin, spoolDir, String.join(" ", aggregator.command));
    for (String line : Files.readAllLines(aggregator.stderr)) {
      if (line.contains("WARN") || line.contains("receiving UDP")) {
        log.println("  aggregator: " + line);
      }
    }
    watcher = new SpoolWatcher(spoolDir, args.getLong("poll-ms", 10));
    snapshot(); // loads the HTTP client and /proc readers, so that step snapshots are quick

    List<Step> steps = new ArrayList<>();
    try {
      if (warmup > 0) {
        steps.add(runStep("warm-up", args.getLong("warmup-rate", rates.get(0)), warmup));
      }
      for (long rate : rates) {
        Step s = runStep(String.format(Locale.ROOT, "%,d/s", rate), rate, seconds);
        steps.add(s);
        boolean ok = zeroLoss(s) && s.emitterHeldRate();
        if (!ok && !args.flag("keep-going")) {
          log.printf("stopping: the %s step %s%n", s.label(), !zeroLoss(s) ? "lost events" : "did not get the rate "
              + "out of the emitters");
          break;
        }
      }
    } finally {
      watcher.poll();
      watcher.close();
      log.println("stopping the aggregator (SIGTERM) ...");
      int code = aggregator.stop(120);
      log.printf("aggregator exited with %d%n", code);
    }
    Verified verified = verifySpool(spoolDir, steps);
    printReport(steps, verified, argv);
    return 0;
  }

  // ------------------------------------------------------------------ one step

  private Step runStep(String label, long rate, long seconds) throws Exception {
    int index = stepIndex++;
    long startAt = (System.currentTimeMillis() / 1000 + 3) * 1000; // a whole second, after the JVMs started
    List<Process> procs = new ArrayList<>();
    List<Path> outs = new ArrayList<>();
    for (int i = 0; i < emitters; i++) {
      long r = rate / emitters + (i == 0 ? rate % emitters : 0);
      Path out = work.resolve("emitter-" + index + "-" + i + ".out");
      List<String> cmd = new ArrayList<>(pin ? List.of("taskset", "-c", "1") : List.of());
      cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xms256m", "-Xmx" + args.get("emitter-heap", "1g"), "-cp", System.getProperty("java.class.path"),
          LoadEmitter.class.getName(), "--host", "127.0.0.1", "--port", String.valueOf(aggregator.udpPort),
          "--rate", String.valueOf(r), "--seconds", String.valueOf(seconds),
          "--seed", String.valueOf(args.getLong("seed", 42) + 1000L * index + i), "--start-at", String.valueOf(startAt),
          "--sockets", args.get("sockets", "1"), "--datagram-bytes", args.get("datagram-bytes", "8192"),
          "--datagram-version", args.get("datagram-version", "0"),
          "--max-buffered", args.get("max-buffered", "1024")));
      procs.add(children.start(new ProcessBuilder(cmd).redirectOutput(out.toFile())
          .redirectError(work.resolve("emitter-" + index + "-" + i + ".err").toFile())));
      outs.add(out);
    }
    log.printf("%n[%s] step %s: %,d events/s for %d s from %s (%d emitter process(es))%n", now(), label, rate, seconds,
        Instant.ofEpochMilli(startAt), emitters);
    // Just before the start, so that no datagram of this step can arrive before the snapshot.
    parkUntil(startAt - 1000);
    Snapshot before = snapshot();
    if (System.currentTimeMillis() >= startAt) {
      throw new IllegalStateException("the snapshot before the step took until after its start");
    }
    parkUntil(startAt);

    // While the emitters run: a progress line every 5 s.
    long deadline = startAt + seconds * 1000 + 60_000;
    Snapshot prev = before;
    while (procs.stream().anyMatch(Process::isAlive)) {
      if (System.currentTimeMillis() > deadline) {
        throw new IOException("emitters did not finish within " + (seconds + 60) + " s");
      }
      procs.get(0).waitFor(5, TimeUnit.SECONDS);
      if (procs.stream().anyMatch(Process::isAlive)) {
        Map<String, Double> m = aggregator.scrape();
        ProcStats.SocketStats sock = ProcStats.udpSockets(aggregator.udpPort);
        long t = System.currentTimeMillis();
        double dt = (t - prev.atMillis) / 1000.0;
        double recv = AggregatorChild.sum(m, "epochal_aggregator_events_received_total")
            - AggregatorChild.sum(prev.metrics, "epochal_aggregator_events_received_total");
        long cpu = ProcStats.processCpuNanos(aggregator.pid());
        log.printf("  +%3ds received %,9.0f/s  aggregator CPU %4.0f%%  open %6.1f MB  spool queue %5.1f MB  "
                + "socket rx queue %6.1f KB  socket drops +%d%n",
            (t - startAt) / 1000, recv / dt, (cpu - prev.aggregatorCpu) / 1e7 / dt,
            AggregatorChild.get(m, "epochal_aggregator_batches_open_bytes") / 1e6,
            AggregatorChild.get(m, "epochal_aggregator_spool_queue_bytes") / 1e6, sock.rxQueueBytes() / 1e3,
            sock.drops() - before.socket.drops());
        prev = new Snapshot(t, m, prev.snmp, prev.socket, cpu, prev.threads, prev.machine, prev.harnessCpu);
      }
    }
    List<Map<String, Long>> stats = new ArrayList<>();
    for (int i = 0; i < procs.size(); i++) {
      String line = Files.readAllLines(outs.get(i)).stream().filter(l -> l.startsWith(LoadEmitter.STATS_PREFIX))
          .findFirst().orElseThrow(() -> new IOException("emitter printed no stats; see " + outs.get(0)));
      log.println("  emitter " + i + ": " + line);
      stats.add(LoadEmitter.parseStats(line));
    }
    long firstEpoch = stats.stream().mapToLong(m -> m.get("first_epoch")).min().orElseThrow();
    long lastEpoch = stats.stream().mapToLong(m -> m.get("last_epoch")).max().orElseThrow();

    // Settle: everything received, sealed, handed to the spool and synced.
    long settleStart = System.currentTimeMillis();
    long settleDeadline = settleStart + args.getLong("settle-timeout", 120) * 1000;
    double lastReceived = -1;
    long receivedSince = System.currentTimeMillis();
    double lastDurable = -1;
    boolean settled = false;
    while (System.currentTimeMillis() < settleDeadline) {
      Map<String, Double> m = aggregator.scrape();
      double received = AggregatorChild.sum(m, "epochal_aggregator_events_received_total");
      double durable = AggregatorChild.get(m, "epochal_aggregator_spool_durable_position");
      long t = System.currentTimeMillis();
      if (received != lastReceived) {
        lastReceived = received;
        receivedSince = t;
      }
      watcher.poll();
      boolean done = t >= (lastEpoch + 1) * 1000 + graceMillis + 200
          && t - receivedSince >= 1000
          && AggregatorChild.get(m, "epochal_aggregator_batches_open") == 0
          && AggregatorChild.get(m, "epochal_aggregator_spool_queue_bytes") == 0
          && durable == lastDurable
          && (long) durable == watcher.position();
      lastDurable = durable;
      if (done) {
        settled = true;
        break;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
    }
    Snapshot after = snapshot();
    long settleMs = after.atMillis - settleStart;
    if (!settled) {
      log.printf("  WARNING: the aggregator did not settle within %d s%n", args.getLong("settle-timeout", 120));
    }

    Map<String, Long> emitterDrops = new TreeMap<>();
    for (Map<String, Long> m : stats) {
      m.forEach((k, v) -> {
        if (k.startsWith("dropped.") && v > 0) {
          emitterDrops.merge(k.substring(8), v, Long::sum);
        }
      });
    }
    Map<String, Double> aggDrops = new TreeMap<>();
    deltaByLabel(before, after, "epochal_aggregator_events_dropped_total", "events ", aggDrops);
    deltaByLabel(before, after, "epochal_aggregator_datagrams_dropped_total", "datagrams ", aggDrops);
    deltaByLabel(before, after, "epochal_aggregator_datagrams_malformed_total", "malformed ", aggDrops);
    deltaByLabel(before, after, "epochal_aggregator_events_invalid_total", "invalid ", aggDrops);

    Map<String, Double> threads = new HashMap<>();
    after.threads.forEach((k, v) -> {
      double d = (v - before.threads.getOrDefault(k, 0L)) / 1e9;
      if (d > 0) {
        threads.put(k, d);
      }
    });

    Map<Long, SpoolWatcher.EpochSeen> seen = watcher.epochs(firstEpoch, lastEpoch);
    long watchedEvents = seen.values().stream().mapToLong(e -> e.events).sum();
    long watchedBlobs = seen.values().stream().mapToLong(e -> e.blobs).sum();
    double[] delays = seen.entrySet().stream()
        .mapToDouble(e -> e.getValue().lastSeenMillis - (e.getKey() + 1) * 1000.0).sorted().toArray();

    Step s = new Step(label, rate, seconds, firstEpoch, lastEpoch,
        sum(stats, "emitted"), sum(stats, "sent"), sum(stats, "dropped"), emitterDrops, sum(stats, "cpu_ms"),
        stats.stream().mapToLong(m -> m.get("max_lag_ms")).max().orElse(0),
        stats.stream().mapToLong(m -> m.get("elapsed_ms")).max().orElse(0),
        (long) delta(before, after, "epochal_aggregator_events_received_total"),
        (long) delta(before, after, "epochal_aggregator_datagrams_total"), aggDrops,
        after.socket.drops() - before.socket.drops(),
        after.snmp.getOrDefault("RcvbufErrors", 0L) - before.snmp.getOrDefault("RcvbufErrors", 0L),
        after.snmp.getOrDefault("InErrors", 0L) - before.snmp.getOrDefault("InErrors", 0L),
        (after.aggregatorCpu - before.aggregatorCpu) / 1e9, threads,
        (after.atMillis - before.atMillis) / 1000.0, (after.machine[0] - before.machine[0]) / 1e9,
        (after.harnessCpu - before.harnessCpu) / 1e9, watchedEvents, watchedBlobs, delays,
        AggregatorChild.get(after.metrics, "epochal_aggregator_spool_delay_seconds{quantile=\"0.5\"}") * 1000,
        AggregatorChild.get(after.metrics, "epochal_aggregator_spool_delay_seconds{quantile=\"0.99\"}") * 1000,
        meanMs(before, after, "epochal_aggregator_spool_delay_seconds"),
        meanMs(before, after, "epochal_aggregator_seal_delay_seconds"),
        (long) delta(before, after, "epochal_aggregator_events_late_total"), settleMs, settled);
    log.printf("  => %s%n", oneLine(s));
    return s;
  }

  private Snapshot snapshot() throws IOException, InterruptedException {
    long pid = aggregator.pid();
    return new Snapshot(System.currentTimeMillis(), aggregator.scrape(), ProcStats.udpSnmp(),
        ProcStats.udpSockets(aggregator.udpPort), ProcStats.processCpuNanos(pid), ProcStats.threadCpuNanos(pid),
        ProcStats.machineCpuNanos(), harnessCpuNanos());
  }

  private static boolean zeroLoss(Step s) {
    return s.sent == s.received && s.received == s.watchedEvents && s.socketDrops == 0 && s.aggregatorDropsTotal() == 0
        && s.settled;
  }

  // ------------------------------------------------------------------ the spool, read back

  /** Per step (by index): events and blobs read back through FileSpool; plus totals and anomalies. */
  record Verified(long[] events, long[] blobs, long totalEvents, long totalBlobs, long bytes, long duplicateKeys,
      long outsideSteps, long tagMismatches, long readMillis, String error) {}

  private Verified verifySpool(Path dir, List<Step> steps) {
    long[] events = new long[steps.size()];
    long[] blobs = new long[steps.size()];
    long total = 0;
    long totalBlobs = 0;
    long bytes = 0;
    long dup = 0;
    long outside = 0;
    long mismatch = 0;
    long t0 = System.currentTimeMillis();
    Set<String> keys = new HashSet<>();
    try (FileSpool spool = FileSpool.open(SpoolConfig.builder(dir).maxBytes(1L << 50).build());
        SpoolReader reader = spool.reader(spool.acknowledgedPosition());
        BlobReader blobReader = new BlobReader()) {
      for (SpoolRecord r; (r = reader.next()) != null; ) {
        BlobKey key = BlobKey.parse(r.key());
        BlobReader.Blob blob = blobReader.open(r.blob());
        if (!blob.tags().equals(key.tags())) {
          mismatch++;
        }
        if (!keys.add(r.key())) {
          dup++;
        }
        int n = blob.eventCount();
        total += n;
        totalBlobs++;
        bytes += r.blob().length;
        boolean in = false;
        for (int i = 0; i < steps.size(); i++) {
          Step s = steps.get(i);
          if (key.epoch() >= s.firstEpoch && key.epoch() <= s.lastEpoch) {
            events[i] += n;
            blobs[i]++;
            in = true;
          }
        }
        if (!in) {
          outside += n;
        }
      }
    } catch (IOException | FormatException | RuntimeException e) {
      return new Verified(events, blobs, total, totalBlobs, bytes, dup, outside, mismatch,
          System.currentTimeMillis() - t0, e.toString());
    }
    return new Verified(events, blobs, total, totalBlobs, bytes, dup, outside, mismatch,
        System.currentTimeMillis() - t0, null);
  }

  // ------------------------------------------------------------------ report

  private void printReport(List<Step> steps, Verified v, String[] argv) {
    PrintStream out = System.out;
    out.println();
    out.println("### Aggregator load: `AggregatorLoad " + String.join(" ", argv) + "`");
    out.println();
    out.printf("%d emitter process(es); aggregator `%s`; spool read back through FileSpool in %d ms%s.%n%n",
        emitters, String.join(" ", aggregator.command.subList(1, aggregator.command.size())), v.readMillis,
        v.error == null ? "" : " (FAILED: " + v.error + ")");
    out.println("| rate (events/s) | emitted | sent | received | spooled | loss | kernel drops (socket / RcvbufErrors) "
        + "| aggregator CPU s | CPU s per M events | events/s per aggregator core | spool delay p50 / p99 / max "
        + "| emitter drops |");
    out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (int i = 0; i < steps.size(); i++) {
      Step s = steps.get(i);
      long spooled = v.error == null ? v.events[i] : s.watchedEvents;
      long loss = s.sent - spooled;
      out.printf(Locale.ROOT, "| %s | %,d | %,d | %,d | %,d | %s | %d / %d | %.1f | %.2f | %,.0f | %s | %s |%n",
          s.label, s.emitted, s.sent, s.received, spooled,
          loss == 0 && s.aggregatorDropsTotal() == 0 ? "**0**" : String.format(Locale.ROOT, "%,d (%.3f%%)", loss,
              100.0 * loss / Math.max(1, s.sent)),
          s.socketDrops, s.rcvbufErrors, s.aggregatorCpuS, s.aggregatorCpuS * 1e6 / Math.max(1, s.received),
          s.received / Math.max(1e-9, s.aggregatorCpuS),
          String.format(Locale.ROOT, "%.0f / %.0f / %.0f ms", pct(s.epochDelaysMs, 0.5), pct(s.epochDelaysMs, 0.99),
              pct(s.epochDelaysMs, 1.0)),
          s.emitterDropped == 0 ? "0" : String.format(Locale.ROOT, "%,d %s", s.emitterDropped, s.emitterDrops));
    }
    out.println();
    out.println("Details per step:");
    out.println();
    out.println("| rate | aggregator cores (avg over step + settle) | aggregator CPU by thread (s) | emitter CPU s / max lag "
        + "| machine busy cores (others*) | aggregator spool.delay p50 / p99 / mean, seal.delay mean | late events "
        + "| aggregator drops | watcher events / FileSpool events, blobs | settle |");
    out.println("|---|---:|---|---:|---:|---|---:|---|---|---:|");
    for (int i = 0; i < steps.size(); i++) {
      Step s = steps.get(i);
      String threads = s.threadCpuS.entrySet().stream()
          .sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(6)
          .map(e -> String.format(Locale.ROOT, "%s %.1f", e.getKey(), e.getValue())).collect(Collectors.joining(", "));
      double others = s.machineBusyS - s.aggregatorCpuS - s.emitterCpuMs / 1000.0 - s.harnessCpuS;
      out.printf(Locale.ROOT, "| %s | %.2f | %s | %.1f / %d ms | %.2f (%.2f) | %.0f / %.0f / %.0f ms, %.0f ms | %,d | %s "
              + "| %,d / %s, %,d blobs | %.1f s%s |%n",
          s.label, s.aggregatorCpuS / s.windowS, threads, s.emitterCpuMs / 1000.0, s.emitterMaxLagMs,
          s.machineBusyS / s.windowS, others / s.windowS, s.metricSpoolP50Ms, s.metricSpoolP99Ms, s.metricSpoolMeanMs,
          s.metricSealMeanMs, s.late, nonZero(s.aggregatorDrops),
          s.watchedEvents, v.error == null ? String.format(Locale.ROOT, "%,d", v.events[i]) : "n/a",
          v.error == null ? v.blobs[i] : s.watchedBlobs, s.settleMs / 1000.0, s.settled ? "" : " (NOT settled)");
    }
    out.println();
    out.printf(Locale.ROOT, "Spool: %,d events in %,d blobs, %,d blob bytes (%.1f bytes/event); duplicate keys %d; "
            + "events outside every step %d; blob tags differing from their key %d; watcher errors %d%s.%n",
        v.totalEvents, v.totalBlobs, v.bytes, (double) v.bytes / Math.max(1, v.totalEvents), v.duplicateKeys,
        v.outsideSteps, v.tagMismatches, watcher.errors(), watcher.lastError() == null ? "" : " (" + watcher.lastError() + ")");
    out.println("*others: machine busy time minus aggregator, emitters and harness, i.e. other processes and "
        + "softirq time the kernel charged to nobody in particular.");
    out.println();
    Step best = null;
    for (Step s : steps) {
      int i = steps.indexOf(s);
      long spooled = v.error == null ? v.events[i] : s.watchedEvents;
      if (!s.label.equals("warm-up") && zeroLoss(s) && spooled == s.sent && s.emitterHeldRate()
          && (best == null || s.rate > best.rate)) {
        best = s;
      }
    }
    out.println(best == null ? "No step was loss-free." : String.format(Locale.ROOT,
        "Highest zero-loss rate: %,d events/s for %d s (%.2f CPU s per M events = %,.0f events/s per aggregator core).",
        best.rate, best.seconds, best.aggregatorCpuS * 1e6 / best.received, best.received / best.aggregatorCpuS));
    out.println();
    out.println("Raw:");
    for (Step s : steps) {
      out.println("    " + oneLine(s));
    }
  }

  private static String oneLine(Step s) {
    return String.format(Locale.ROOT, "step=%s rate=%d seconds=%d epochs=%d..%d emitted=%d sent=%d emitter_dropped=%d%s "
            + "emitter_cpu_s=%.1f emitter_max_lag_ms=%d received=%d datagrams=%d watched=%d blobs=%d "
            + "agg_drops=%s socket_drops=%d rcvbuf_errors=%d in_errors=%d agg_cpu_s=%.2f window_s=%.1f "
            + "cpu_s_per_M=%.2f events_per_core_s=%.0f machine_busy_s=%.1f harness_cpu_s=%.1f "
            + "epoch_delay_ms_p50=%.0f p99=%.0f max=%.0f (n=%d) metric_spool_delay_ms p50=%.0f p99=%.0f mean=%.0f "
            + "late=%d settle_ms=%d settled=%s",
        s.label.replace(" ", ""), s.rate, s.seconds, s.firstEpoch, s.lastEpoch, s.emitted, s.sent, s.emitterDropped,
        s.emitterDrops.isEmpty() ? "" : s.emitterDrops.toString().replace(" ", ""), s.emitterCpuMs / 1000.0,
        s.emitterMaxLagMs, s.received, s.datagrams, s.watchedEvents, s.watchedBlobs,
        nonZero(s.aggregatorDrops), s.socketDrops, s.rcvbufErrors, s.inErrors, s.aggregatorCpuS,
        s.windowS, s.aggregatorCpuS * 1e6 / Math.max(1, s.received), s.received / Math.max(1e-9, s.aggregatorCpuS),
        s.machineBusyS, s.harnessCpuS, pct(s.epochDelaysMs, 0.5), pct(s.epochDelaysMs, 0.99), pct(s.epochDelaysMs, 1),
        s.epochDelaysMs.length, s.metricSpoolP50Ms, s.metricSpoolP99Ms, s.metricSpoolMeanMs, s.late, s.settleMs,
        s.settled);
  }

  // ------------------------------------------------------------------ helpers

  private static String nonZero(Map<String, Double> drops) {
    String d = drops.entrySet().stream().filter(e -> e.getValue() > 0)
        .map(e -> e.getKey().replace(" ", ".") + ":" + e.getValue().longValue()).collect(Collectors.joining(","));
    return d.isEmpty() ? "0" : d;
  }

  /** Nearest-rank percentile of sorted values; NaN when empty. */
  private static double pct(double[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  private static double delta(Snapshot a, Snapshot b, String name) {
    return AggregatorChild.sum(b.metrics, name) - AggregatorChild.sum(a.metrics, name);
  }

  private static double meanMs(Snapshot a, Snapshot b, String timer) {
    double n = AggregatorChild.get(b.metrics, timer + "_count") - AggregatorChild.get(a.metrics, timer + "_count");
    double sum = AggregatorChild.get(b.metrics, timer + "_sum") - AggregatorChild.get(a.metrics, timer + "_sum");
    return n == 0 ? Double.NaN : sum / n * 1000;
  }

  private static void deltaByLabel(Snapshot a, Snapshot b, String name, String prefix, Map<String, Double> into) {
    Map<String, Double> before = AggregatorChild.byLabel(a.metrics, name);
    AggregatorChild.byLabel(b.metrics, name).forEach((k, v) -> into.put(prefix + k, v - before.getOrDefault(k, 0.0)));
  }

  private static long sum(List<Map<String, Long>> stats, String key) {
    return stats.stream().mapToLong(m -> m.getOrDefault(key, 0L)).sum();
  }

  private static long harnessCpuNanos() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    return 0;
  }

  private static void parkUntil(long epochMillis) {
    for (long left; (left = epochMillis - System.currentTimeMillis()) > 0; ) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(left));
    }
  }

  private static long parseMillis(String d) {
    String s = d.trim().toLowerCase(Locale.ROOT);
    if (s.endsWith("ms")) {
      return Long.parseLong(s.substring(0, s.length() - 2));
    }
    if (s.endsWith("s")) {
      return Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * 1000);
    }
    throw new IllegalArgumentException("--grace '" + d + "': use e.g. 2s or 500ms");
  }

  private static String now() {
    return Instant.now().toString();
  }

  private static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> files = Files.walk(p)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    }
  }
}
