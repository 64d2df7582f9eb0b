package io.epochal.benchmarks.pipeline;

import io.epochal.benchmarks.load.Args;
import io.epochal.benchmarks.load.Children;
import io.epochal.benchmarks.load.LoadEmitter;
import io.epochal.benchmarks.load.ProcStats;

import io.epochal.consumer.read.EpochBatch;
import io.epochal.consumer.read.EpochBlob;
import io.epochal.consumer.read.EpochReader;
import io.epochal.consumer.stream.EpochHandler;
import io.epochal.consumer.stream.StreamingConsumer;
import io.epochal.format.blob.EventCursor;
import io.epochal.zooanimal.NodeSelector;
import io.epochal.zooanimal.StoreNodeAddress;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * End-to-end lag harness (issue 5): emit → UDP → aggregator → spool → relocator → store →
 * {@link StreamingConsumer}, with the exact lag of every event.
 *
 * <pre>
 * ./mvnw -q -o -pl epochal-cli,benchmarks -am package -DskipTests
 * java -Xmx2g -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.pipeline.PipelineLag \
 *     --rate 100000 --warmup 20 --seconds 60 \
 *     --config tuned,500ms,1s,250ms --config baseline,2s,3s,1s
 * </pre>
 *
 * <p>Per {@code --config name,grace,lag,lateCheck} (run one after the other in one invocation, each
 * on a fresh data directory): {@code epochal standalone} from {@code --jar} in a child JVM
 * (aggregator {@code grace} set, everything else default but the admin port and the spool cap), a
 * {@link LoadEmitter} (with {@code --stamp}) child sending the reference mix at {@code --rate} for warm-up + measured
 * seconds, and in this JVM a {@link StreamingConsumer} (the given {@code lag} and
 * {@code lateCheckInterval}, other settings default) whose handler decodes every event and records
 * delivery time minus the event's {@code emit_ms} (both {@link System#currentTimeMillis()} on this
 * machine). Lag percentiles cover the events emitted in the measured window; loss and duplicates
 * are counted over the whole run by {@code emit_seq}. CPU of each process (utime + stime from
 * /proc) is taken over the measured window.
 *
 * <p>Other options: {@code --heap} of the standalone JVM [1g]; {@code --set key=value} extra
 * standalone setting, repeatable; {@code --jfr DIR} records the standalone JVM of every config with
 * JFR (profile settings) into DIR; {@code --drain S} the longest wait for stragglers after the
 * emitter ends [45]; {@code --work-dir}.
 */
public final class PipelineLag {
  private static final PrintStream log = System.err;
  private static final Pattern STARTED =
      Pattern.compile("standalone: store http://(\\S+)/, aggregator udp port (\\d+)");

  /** One pipeline configuration under test. */
  record Config(String name, String grace, Duration lag, Duration lateCheck) {
    static Config parse(String s) {
      String[] f = s.split(",");
      if (f.length != 4) {
        throw new IllegalArgumentException("--config name,grace,lag,lateCheck (e.g. tuned,500ms,1s,250ms): " + s);
      }
      return new Config(f[0], f[1], duration(f[2]), duration(f[3]));
    }
  }

  /** What the handler saw. Written by the consumer thread, read after it stopped or racily for progress. */
  static final class Recorder implements EpochHandler {
    final long measureFrom;
    final long measureTo;
    final BitSet seen = new BitSet();
    int[] lags = new int[1 << 20];
    int n;
    volatile long delivered;
    volatile long unique;
    long duplicates;
    long lateEvents;
    long lateBatches;
    long eventsOutside;
    long blobBytes;
    /** Per first delivery: handler entry minus the epoch's end, and handler time, ms. */
    final List<long[]> epochs = new ArrayList<>();

    Recorder(long measureFrom, long measureTo) {
      this.measureFrom = measureFrom;
      this.measureTo = measureTo;
    }

    @Override
    public void handle(EpochBatch batch) throws Exception {
      long entered = System.currentTimeMillis();
      long count = 0;
      for (EpochBlob blob : batch.blobs()) {
        blobBytes += blob.sizeBytes();
        EventCursor c = blob.cursor();
        while (c.hasNext()) {
          Map<String, Object> e = c.next();
          long now = System.currentTimeMillis();
          Object ms = e.get(LoadEmitter.EMIT_MS);
          Object seq = e.get(LoadEmitter.EMIT_SEQ);
          if (ms == null || seq == null) {
            eventsOutside++;
            continue;
          }
          long emitMs = ((Number) ms).longValue();
          int s = Math.toIntExact(((Number) seq).longValue());
          if (seen.get(s)) {
            duplicates++;
          } else {
            seen.set(s);
            unique++;
          }
          count++;
          if (emitMs >= measureFrom && emitMs < measureTo) {
            if (n == lags.length) {
              lags = Arrays.copyOf(lags, n * 2);
            }
            lags[n++] = (int) (now - emitMs);
          }
        }
      }
      delivered += count;
      if (batch.late()) {
        lateBatches++;
        lateEvents += count;
      } else {
        epochs.add(new long[] {batch.epoch(), entered - (batch.epoch() + 1) * 1000, System.currentTimeMillis() - entered,
            count});
      }
    }
  }

  /** Everything measured for one config. */
  record Result(Config config, Map<String, Long> emitter, long delivered, long unique, long duplicates, long lateEvents,
      long lateBatches, int[] sortedLags, double standaloneCores, double emitterCores, double consumerCores,
      double machineCores, Map<String, Double> standaloneThreads, long[] readAtMs, long[] handlerMs, long blobBytes,
      Map<String, String> metrics, String command) {}

  private final Args args;
  private final Children children;
  private final Path work;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private PipelineLag(Args args, Children children, Path work) {
    this.args = args;
    this.children = children;
    this.work = work;
  }

  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv, List.of());
    args.allowOnly(List.of("jar", "rate", "warmup", "seconds", "config", "heap", "set", "jfr", "drain", "work-dir",
        "seed"));
    Path work = args.get("work-dir", null) != null ? Path.of(args.get("work-dir", null))
        : Files.createTempDirectory("pipeline-lag");
    Files.createDirectories(work);
    try (Children children = new Children()) {
      new PipelineLag(args, children, work).run(argv);
    } finally {
      log.println("work directory (logs): " + work);
    }
    System.exit(0);
  }

  private void run(String[] argv) throws Exception {
    List<String> specs = args.all("config").isEmpty() ? List.of("tuned,500ms,1s,250ms", "baseline,2s,3s,1s")
        : args.all("config");
    List<Result> results = new ArrayList<>();
    for (String spec : specs) {
      results.add(runConfig(Config.parse(spec)));
    }
    report(results, argv);
  }

  private Result runConfig(Config c) throws Exception {
    Path jar = Path.of(args.get("jar", "epochal-cli/target/epochal.jar"));
    long rate = args.getLong("rate", 100_000);
    long warmup = args.getLong("warmup", 20);
    long seconds = args.getLong("seconds", 60);
    Path dir = work.resolve(c.name());
    Files.createDirectories(dir);
    int adminPort;
    try (ServerSocket s = new ServerSocket(0)) {
      adminPort = s.getLocalPort();
    }
    List<String> cmd = new ArrayList<>(List.of(java(), "-Xms" + args.get("heap", "1g"), "-Xmx" + args.get("heap", "1g")));
    if (args.get("jfr", null) != null) {
      Path jfr = Path.of(args.get("jfr", null)).toAbsolutePath();
      Files.createDirectories(jfr);
      cmd.add("-XX:StartFlightRecording=settings=profile,dumponexit=true,filename=" + jfr.resolve(c.name() + ".jfr"));
    }
    cmd.addAll(List.of("-jar", jar.toString(), "standalone", "--data-dir", dir.resolve("data").toString(),
        "--http-port", "0", "--udp-port", "0"));
    List<String> settings = new ArrayList<>(List.of("epochal.aggregator.admin-port=" + adminPort,
        "epochal.aggregator.grace=" + c.grace(), "epochal.aggregator.spool.max-bytes=64GiB",
        "epochal.relocator.admin-port=0"));
    settings.addAll(args.all("set"));
    for (String s : settings) {
      cmd.add("-D");
      cmd.add(s);
    }
    Path err = dir.resolve("standalone.err");
    Process standalone = children.start(new ProcessBuilder(cmd).redirectError(err.toFile())
        .redirectOutput(ProcessBuilder.Redirect.DISCARD));
    Matcher m = awaitLine(standalone, err, STARTED);
    StoreNodeAddress store = StoreNodeAddress.parse(m.group(1));
    int udpPort = Integer.parseInt(m.group(2));
    log.printf("%n[%s] config %s: standalone pid %d, store %s, udp %d, admin %d%n  %s%n", Instant.now(), c.name(),
        standalone.pid(), store, udpPort, adminPort, String.join(" ", cmd));

    long startAt = (System.currentTimeMillis() / 1000 + 4) * 1000;
    long measureFrom = startAt + warmup * 1000;
    long measureTo = measureFrom + seconds * 1000;
    Path out = dir.resolve("emitter.out");
    Process emitter = children.start(new ProcessBuilder(java(), "-Xms256m", "-Xmx1g", "-cp",
        System.getProperty("java.class.path"), LoadEmitter.class.getName(), "--stamp", "--port", String.valueOf(udpPort),
        "--rate", String.valueOf(rate), "--seconds", String.valueOf(warmup + seconds), "--seed",
        args.get("seed", "42"), "--start-at", String.valueOf(startAt))
        .redirectOutput(out.toFile()).redirectError(dir.resolve("emitter.err").toFile()));

    Recorder rec = new Recorder(measureFrom, measureTo);
    NodeSelector nodes = NodeSelector.of(List.of(store), Duration.ofSeconds(1));
    long[] cpu0;
    long[] cpu1;
    Map<String, Long> threads0;
    Map<String, Long> threads1;
    Map<String, Long> stats;
    try (EpochReader reader = EpochReader.builder().nodes(nodes).dcs("1").build();
        StreamingConsumer consumer = StreamingConsumer.builder().reader(reader).handler(rec)
            .checkpoint(dir.resolve("checkpoint")).lag(c.lag()).lateCheckInterval(c.lateCheck())
            .startEpoch(startAt / 1000 - 1).build()) {
      consumer.start();
      parkUntil(measureFrom);
      cpu0 = cpu(standalone, emitter);
      threads0 = ProcStats.threadCpuNanos(standalone.pid());
      while (System.currentTimeMillis() < measureTo) {
        parkUntil(Math.min(measureTo, System.currentTimeMillis() + 10_000));
        log.printf("  +%3ds delivered %,d, consumer next epoch %d (now - %d s)%s%n",
            (System.currentTimeMillis() - startAt) / 1000, rec.delivered, consumer.nextEpoch(),
            System.currentTimeMillis() / 1000 - consumer.nextEpoch(),
            consumer.lastFailure() == null ? "" : ", failing: " + consumer.lastFailure());
      }
      cpu1 = cpu(standalone, emitter);
      threads1 = ProcStats.threadCpuNanos(standalone.pid());
      if (!emitter.waitFor(60, TimeUnit.SECONDS)) {
        throw new IOException("emitter did not finish");
      }
      String line = Files.readAllLines(out).stream().filter(l -> l.startsWith(LoadEmitter.STATS_PREFIX)).findFirst()
          .orElseThrow(() -> new IOException("emitter printed no stats; see " + dir));
      log.println("  emitter: " + line);
      stats = LoadEmitter.parseStats(line);
      long drainUntil = System.currentTimeMillis() + args.getLong("drain", 45) * 1000;
      while (System.currentTimeMillis() < drainUntil && rec.unique < stats.get("sent")) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
      }
    }
    Map<String, String> metrics = scrape(adminPort);
    standalone.destroy();
    if (!standalone.waitFor(60, TimeUnit.SECONDS)) {
      standalone.destroyForcibly().waitFor();
    }
    double window = (measureTo - measureFrom) / 1000.0;
    Map<String, Double> threads = new TreeMap<>();
    for (Map.Entry<String, Long> e : threads1.entrySet()) {
      threads.put(e.getKey(), (e.getValue() - threads0.getOrDefault(e.getKey(), 0L)) / 1e9);
    }
    int[] lags = Arrays.copyOf(rec.lags, rec.n);
    Arrays.sort(lags);
    long[] readAt = rec.epochs.stream().filter(e -> e[0] * 1000 >= measureFrom && e[0] * 1000 < measureTo)
        .mapToLong(e -> e[1]).sorted().toArray();
    long[] handler = rec.epochs.stream().filter(e -> e[0] * 1000 >= measureFrom && e[0] * 1000 < measureTo)
        .mapToLong(e -> e[2]).sorted().toArray();
    return new Result(c, stats, rec.delivered, rec.seen.cardinality(), rec.duplicates, rec.lateEvents, rec.lateBatches,
        lags, (cpu1[0] - cpu0[0]) / 1e9 / window, (cpu1[1] - cpu0[1]) / 1e9 / window,
        (cpu1[2] - cpu0[2]) / 1e9 / window, (cpu1[3] - cpu0[3]) / 1e9 / window, threads, readAt, handler,
        rec.blobBytes, metrics, String.join(" ", cmd));
  }

  /** {standalone, emitter, this JVM, machine busy} CPU nanoseconds. */
  private static long[] cpu(Process standalone, Process emitter) throws IOException {
    return new long[] {ProcStats.processCpuNanos(standalone.pid()), ProcStats.processCpuNanos(emitter.pid()),
        ProcStats.processCpuNanos(ProcessHandle.current().pid()), ProcStats.machineCpuNanos()[0]};
  }

  private static final Pattern KEPT = Pattern.compile(
      "^epochal_(aggregator_(events_received_total|events_late_total|events_dropped_total|datagrams_dropped_total"
          + "|seal_delay_seconds|spool_delay_seconds)|relocator_(publish_delay_seconds|put_latency_seconds"
          + "|put_failures_total|put_retries_total))");

  /** The aggregator's and relocator's metrics that explain lag, as Prometheus renders them. */
  private Map<String, String> scrape(int adminPort) {
    Map<String, String> m = new TreeMap<>();
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/metrics"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      for (String line : r.body().split("\n")) {
        if (KEPT.matcher(line).find()) {
          int sp = line.lastIndexOf(' ');
          m.put(line.substring(0, sp).replaceAll("(aggregator|dc)=\"[^\"]*\",?", "").replace(",}", "}")
              .replace("{}", ""), line.substring(sp + 1));
        }
      }
    } catch (IOException | InterruptedException e) {
      m.put("scrape failed", e.toString());
    }
    return m;
  }

  // ------------------------------------------------------------------ report

  private void report(List<Result> results, String[] argv) {
    PrintStream o = System.out;
    o.println();
    o.println("Command: java -cp benchmarks/target/benchmarks.jar " + PipelineLag.class.getName() + " "
        + String.join(" ", argv));
    o.println();
    o.println("| config | grace | consumer lag | late check | emitted | sent | delivered (unique) | loss | duplicates "
        + "| events in late batches | lag p50 | p90 | p99 | p99.9 | max |");
    o.println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (Result r : results) {
      long sent = r.emitter.get("sent");
      o.printf(Locale.ROOT, "| %s | %s | %d ms | %d ms | %,d | %,d | %,d | %s | %,d | %,d (%d batches) | %s | %s | %s "
              + "| %s | %s |%n",
          r.config.name(), r.config.grace(), r.config.lag().toMillis(), r.config.lateCheck().toMillis(),
          r.emitter.get("emitted"), sent, r.unique, sent - r.unique == 0 ? "**0**" : String.format(Locale.ROOT, "%,d",
              sent - r.unique), r.duplicates, r.lateEvents, r.lateBatches, ms(pct(r.sortedLags, 0.5)),
          ms(pct(r.sortedLags, 0.9)), ms(pct(r.sortedLags, 0.99)), ms(pct(r.sortedLags, 0.999)),
          ms(pct(r.sortedLags, 1.0)));
    }
    o.println();
    o.println("| config | lag samples | standalone cores | emitter cores | consumer (harness) cores | machine busy cores "
        + "| first read after epoch end p50 / max | handler ms p50 / max | emitter max lag | blob bytes/event |");
    o.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (Result r : results) {
      o.printf(Locale.ROOT, "| %s | %,d | %.2f | %.2f | %.2f | %.2f | %d / %d ms | %d / %d ms | %d ms | %.1f |%n",
          r.config.name(), r.sortedLags.length, r.standaloneCores, r.emitterCores, r.consumerCores, r.machineCores,
          pctL(r.readAtMs, 0.5), pctL(r.readAtMs, 1), pctL(r.handlerMs, 0.5), pctL(r.handlerMs, 1),
          r.emitter.get("max_lag_ms"), (double) r.blobBytes / Math.max(1, r.delivered));
    }
    o.println();
    for (Result r : results) {
      o.println("Standalone CPU by thread over the window (s), " + r.config.name() + ": " + r.standaloneThreads.entrySet()
          .stream().filter(e -> e.getValue() >= 0.5).sorted(Map.Entry.<String, Double>comparingByValue().reversed())
          .map(e -> String.format(Locale.ROOT, "%s %.1f", e.getKey(), e.getValue())).collect(Collectors.joining(", ")));
      o.println("Metrics at the end, " + r.config.name() + ":");
      r.metrics.forEach((k, v) -> o.println("    " + k + " " + v));
      o.println("Standalone: " + r.command);
    }
  }

  private static String ms(int v) {
    return String.format(Locale.ROOT, "%,d ms", v);
  }

  private static int pct(int[] sorted, double q) {
    if (sorted.length == 0) {
      return -1;
    }
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  private static long pctL(long[] sorted, double q) {
    if (sorted.length == 0) {
      return -1;
    }
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  // ------------------------------------------------------------------ helpers

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  static Matcher awaitLine(Process p, Path stderr, Pattern pattern) throws IOException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      Matcher m = pattern.matcher(Files.readString(stderr));
      if (m.find()) {
        return m;
      }
      if (!p.isAlive()) {
        throw new IOException("child exited with " + p.exitValue() + ":\n" + Files.readString(stderr));
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
    throw new IOException("child did not print its start-up line within 60 s:\n" + Files.readString(stderr));
  }

  static void parkUntil(long epochMillis) {
    for (long left; (left = epochMillis - System.currentTimeMillis()) > 0; ) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(left));
    }
  }

  static Duration duration(String d) {
    String s = d.trim().toLowerCase(Locale.ROOT);
    if (s.endsWith("ms")) {
      return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
    }
    if (s.endsWith("s")) {
      return Duration.ofMillis(Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * 1000));
    }
    throw new IllegalArgumentException("'" + d + "': use e.g. 2s or 500ms");
  }

}
