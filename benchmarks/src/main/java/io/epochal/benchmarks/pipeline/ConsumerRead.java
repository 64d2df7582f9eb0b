package io.epochal.benchmarks.pipeline;

import io.epochal.benchmarks.BlobReadBenchmark;
import io.epochal.benchmarks.load.Args;
import io.epochal.benchmarks.load.Children;
import io.epochal.benchmarks.load.ProcStats;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.epochal.consumer.http.StoreClient;
import io.epochal.consumer.read.EpochBatch;
import io.epochal.consumer.read.EpochBlob;
import io.epochal.consumer.read.EpochIterator;
import io.epochal.consumer.read.EpochReader;
import io.epochal.format.BlobKey;
import io.epochal.format.EpochMember;
import io.epochal.format.EpochMembers;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.EventCursor;
import io.epochal.format.blob.SealedBlob;
import io.epochal.format.reference.ReferenceEvents;
import io.epochal.zooanimal.NodeSelector;
import io.epochal.zooanimal.StoreNodeAddress;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Consumer read throughput (issue 5): compressed MB/s and events/s per CPU-second of the reading
 * process, for {@link EpochReader} fetching, verifying, decompressing and decoding every event.
 *
 * <pre>
 * ./mvnw -q -o -pl epochal-cli,benchmarks -am package -DskipTests
 * java -Xms2g -Xmx2g -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.pipeline.ConsumerRead \
 *     --epochs 20 --events 150000 --reps 3 [--warmup 1] [--blob-version 1|2]
 * </pre>
 *
 * <p>It starts {@code epochal store} from {@code --jar} in a child JVM (n_val 1, a fresh data
 * directory, port 0), then fills it, second by second, with {@code --events} events of the
 * reference mix per second ({@code ReferenceEvents}, seed {@code --seed}) for {@code --epochs}
 * seconds: per (type, subtype) the blobs a {@link BlobEncoder} with the aggregator's defaults
 * (dedupe, zstd 3, 500,000-byte blobs) builds, PUT to {@code events/<key>} with {@link StoreClient},
 * and the members to {@code epochs/<epoch>-1}, as the relocator does. The same events, cut into the
 * same chunks, also go as JSON lines + gzip (Jackson, {@code java.util.zip} level 6) to bucket
 * {@code jsongz} under the same keys: the naive format's baseline.
 *
 * <p>Then it reads the whole range {@code --reps} times in each mode, after {@code --warmup} [1]
 * warm-up passes of each (round robin over the modes), measuring this JVM's process CPU time ({@code OperatingSystemMXBean}: every thread, GC and
 * JIT included), its threads' CPU from /proc, the store's CPU and wall time:
 * <ul>
 *   <li>{@code epochal}: {@link EpochReader#read} (defaults: 16 blob GETs in flight, 4 epochs read
 *       ahead), every blob's {@link EpochBlob#cursor()} and every event decoded into its map;
 *   <li>{@code epochal-visit}: the same reads, every blob decoded with {@link EpochBlob#visitEvents}
 *       into {@link BlobReadBenchmark.ChecksumVisitor} (every key and value folded into a checksum,
 *       no map per event);
 *   <li>{@code epochal-fetch}: the same reads without cursor (fetch + CRC32C + header check only);
 *   <li>{@code jsongz}: GET of every {@code jsongz} value (16 in flight, same client settings), gunzip,
 *       and Jackson {@code readValue} of every line into a map;
 *   <li>{@code jsongz-fetch}: those GETs only.
 * </ul>
 */
public final class ConsumerRead {
  private static final PrintStream log = System.err;
  private static final Pattern STARTED = Pattern.compile("store \\S+: http://(\\S+?)/ \\(ring");
  private static final String DC = "1";
  private static final int IN_FLIGHT = 16;

  private List<String> modes() {
    return Arrays.asList(args.get("modes", "epochal-fetch,epochal-visit,epochal,jsongz-fetch,jsongz").split(","));
  }

  /** One pass over the range. */
  record Pass(String mode, int rep, long events, long bytes, long checksum, double wallS, double cpuS, double storeCpuS,
      Map<String, Double> threads) {
    double mbPerCpuS() {
      return bytes / 1e6 / cpuS;
    }

    double eventsPerCpuS() {
      return events / cpuS;
    }
  }

  private final Args args;
  private final StoreNodeAddress store;
  private final long storePid;
  private final List<BlobKey> keys = new ArrayList<>();
  /** Events in the blob of each key (the same events are in its jsongz value). */
  private final List<Integer> keyEvents = new ArrayList<>();
  private long firstEpoch;
  private long lastEpoch;
  private long blobBytes;
  private long jsonGzBytes;
  private long jsonBytes;
  private long events;

  private ConsumerRead(Args args, StoreNodeAddress store, long storePid) {
    this.args = args;
    this.store = store;
    this.storePid = storePid;
  }

  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv, List.of());
    args.allowOnly(List.of("jar", "epochs", "events", "reps", "seed", "work-dir", "heap", "modes", "first-epoch", "blob-version", "warmup"));
    Path work = args.get("work-dir", null) != null ? Path.of(args.get("work-dir", null))
        : Files.createTempDirectory("consumer-read");
    Files.createDirectories(work);
    try (Children children = new Children()) {
      List<String> cmd = List.of(PipelineLag.java(), "-Xms" + args.get("heap", "1g"), "-Xmx" + args.get("heap", "1g"),
          "-jar", args.get("jar", "epochal-cli/target/epochal.jar"), "store", "--data-dir",
          work.resolve("store").toString(), "--http-port", "0", "-D", "epochal.store.default-n-val=1");
      Path err = work.resolve("store.err");
      Process p = children.start(new ProcessBuilder(cmd).redirectError(err.toFile())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD));
      Matcher m = PipelineLag.awaitLine(p, err, STARTED);
      log.printf("[%s] store pid %d at %s%n  %s%n", Instant.now(), p.pid(), m.group(1), String.join(" ", cmd));
      ConsumerRead r = new ConsumerRead(args, StoreNodeAddress.parse(m.group(1)), p.pid());
      r.fill();
      List<Pass> passes = r.measure();
      r.report(passes, argv, String.join(" ", cmd));
      p.destroy();
      p.waitFor(30, TimeUnit.SECONDS);
    } finally {
      log.println("work directory: " + work);
    }
    System.exit(0);
  }

  // ------------------------------------------------------------------ fill

  private void fill() throws Exception {
    int epochs = args.getInt("epochs", 20);
    int perEpoch = args.getInt("events", 150_000);
    firstEpoch = args.getLong("first-epoch", 1_700_000_000L);
    lastEpoch = firstEpoch + epochs - 1;
    ReferenceEvents gen = new ReferenceEvents(args.getLong("seed", 42));
    ObjectMapper json = new ObjectMapper();
    // the baseline's values are built only when a jsongz mode is to be measured (they take most of the fill time)
    boolean withJson = modes().stream().anyMatch(m -> m.startsWith("jsongz"));
    long t0 = System.nanoTime();
    long chunk = 0;
    try (BlobEncoder encoder = BlobEncoder.builder().producerId("a1")
            .version(args.getInt("blob-version", io.epochal.format.blob.BlobFormat.DEFAULT_VERSION)).build();
        StoreClient client = StoreClient.builder().build()) {
      for (long epoch = firstEpoch; epoch <= lastEpoch; epoch++) {
        Map<String, List<Map<String, Object>>> groups = new TreeMap<>();
        for (int i = 0; i < perEpoch; i++) {
          ReferenceEvents.Event e = gen.next();
          groups.computeIfAbsent(e.type() + "\u0000" + e.subtype(), k -> new ArrayList<>()).add(e.fields());
        }
        List<EpochMember> members = new ArrayList<>();
        List<CompletableFuture<StoreClient.Response>> puts = new ArrayList<>();
        for (Map.Entry<String, List<Map<String, Object>>> g : groups.entrySet()) {
          String[] ts = g.getKey().split("\u0000", -1);
          Tags tags = new Tags(epoch, DC, ts[0], ts[1]);
          List<Map<String, Object>> list = g.getValue();
          int from = 0;
          for (SealedBlob b : encoder.encode(tags, list)) {
            // a batch cuts its events into chunks in order, so blob k holds the next eventCount events
            List<Map<String, Object>> part = list.subList(from, from + b.eventCount());
            from += b.eventCount();
            BlobKey key = tags.blobKey("a1." + chunk++);
            keys.add(key);
            keyEvents.add(b.eventCount());
            members.add(key.member());
            blobBytes += b.bytes().length;
            events += b.eventCount();
            puts.add(client.put(store, "events", key.format(), "w=all", Unpooled.wrappedBuffer(b.bytes()),
                "application/x-epochal-blob"));
            if (withJson) {
              ByteArrayOutputStream raw = new ByteArrayOutputStream(part.size() * 520);
              for (Map<String, Object> event : part) {
                raw.write(json.writeValueAsBytes(event));
                raw.write('\n');
              }
              jsonBytes += raw.size();
              ByteArrayOutputStream gz = new ByteArrayOutputStream(raw.size() / 6);
              try (GZIPOutputStream out = new GZIPOutputStream(gz, 1 << 16)) {
                raw.writeTo(out);
              }
              jsonGzBytes += gz.size();
              puts.add(client.put(store, "jsongz", key.format(), "w=all", Unpooled.wrappedBuffer(gz.toByteArray()),
                  "application/octet-stream"));
            }
          }
          if (from != list.size()) {
            throw new IllegalStateException("blobs of " + tags + " hold " + from + " of " + list.size() + " events");
          }
        }
        for (CompletableFuture<StoreClient.Response> f : puts) {
          check(f.get(60, TimeUnit.SECONDS), "PUT");
        }
        check(client.put(store, "epochs", new Tags(epoch, DC, "X", "").epochKey().format(), "w=all",
            Unpooled.wrappedBuffer(EpochMembers.format(members).getBytes(StandardCharsets.UTF_8)),
            "text/plain; charset=utf-8").get(60, TimeUnit.SECONDS), "PUT epochs");
        log.printf("  epoch %d: %,d events in %d blobs%n", epoch, perEpoch, members.size());
      }
    }
    log.printf("filled %d seconds: %,d events, %,d blobs, %,d blob bytes (%.1f/event), JSON %,d bytes, JSON+gzip %,d "
            + "bytes (%.1f/event) in %.1f s%n", epochs, events, keys.size(), blobBytes, (double) blobBytes / events,
        jsonBytes, jsonGzBytes, (double) jsonGzBytes / events, (System.nanoTime() - t0) / 1e9);
  }

  private static void check(StoreClient.Response r, String what) throws IOException {
    try {
      if (r.status() / 100 != 2) {
        throw new IOException(what + " answered " + r.status() + ": " + r.text());
      }
    } finally {
      r.release();
    }
  }

  // ------------------------------------------------------------------ read

  private List<Pass> measure() throws Exception {
    List<String> modes = modes();
    int reps = args.getInt("reps", 3);
    int warmup = args.getInt("warmup", 1);
    List<Pass> passes = new ArrayList<>();
    NodeSelector nodes = NodeSelector.of(List.of(store), Duration.ofSeconds(1));
    try (EpochReader reader = EpochReader.builder().nodes(nodes).dcs(DC).build();
        StoreClient client = StoreClient.builder().build()) {
      for (int i = 1 - warmup; i <= reps; i++) {
        int rep = Math.max(0, i);
        for (String mode : modes) {
          Pass p = pass(mode, rep, reader, client);
          log.printf(Locale.ROOT, "  %s %-13s %,d events %,.1f MB wall %.2f s cpu %.2f s (store %.2f s): %.0f MB/s per "
                  + "CPU s, %,.0f events/s per CPU s%n", rep == 0 ? "warm-up" : "rep " + rep, mode, p.events,
              p.bytes / 1e6, p.wallS, p.cpuS, p.storeCpuS, p.mbPerCpuS(), p.eventsPerCpuS());
          if (rep > 0) {
            passes.add(p);
          }
        }
      }
    }
    return passes;
  }

  private Pass pass(String mode, int rep, EpochReader reader, StoreClient client) throws Exception {
    System.gc(); // start each pass on an emptied heap, so one pass does not pay for the previous one's garbage
    long pid = ProcessHandle.current().pid();
    Map<String, Long> threads0 = ProcStats.threadCpuNanos(pid);
    long store0 = ProcStats.processCpuNanos(storePid);
    long cpu0 = processCpuNanos();
    long t0 = System.nanoTime();
    long[] r = switch (mode) {
      case "epochal-visit" -> readEpochal(reader, Decode.VISIT);
      case "epochal" -> readEpochal(reader, Decode.MAPS);
      case "epochal-fetch" -> readEpochal(reader, Decode.NONE);
      case "jsongz" -> readJsonGz(client, true);
      case "jsongz-fetch" -> readJsonGz(client, false);
      default -> throw new IllegalArgumentException("--modes: unknown mode " + mode);
    };
    long wall = System.nanoTime() - t0;
    long cpu = processCpuNanos() - cpu0;
    long storeCpu = ProcStats.processCpuNanos(storePid) - store0;
    Map<String, Long> threads1 = ProcStats.threadCpuNanos(pid);
    Map<String, Double> threads = new TreeMap<>();
    threads1.forEach((k, v) -> threads.put(k, (v - threads0.getOrDefault(k, 0L)) / 1e9));
    if (r[0] != events) {
      throw new IllegalStateException(mode + " read " + r[0] + " events, " + events + " were stored");
    }
    return new Pass(mode, rep, r[0], mode.startsWith("jsongz") ? jsonGzBytes : blobBytes, r[2], wall / 1e9, cpu / 1e9,
        storeCpu / 1e9, threads);
  }

  /** {events, bytes, checksum}. */
  private enum Decode { NONE, MAPS, VISIT }

  private long[] readEpochal(EpochReader reader, Decode decode) throws Exception {
    long n = 0;
    long bytes = 0;
    long sink = 0;
    BlobReadBenchmark.ChecksumVisitor visitor = new BlobReadBenchmark.ChecksumVisitor();
    try (EpochIterator it = reader.read(firstEpoch, lastEpoch)) {
      while (it.hasNext()) {
        EpochBatch batch = it.next();
        for (EpochBlob blob : batch.blobs()) {
          bytes += blob.sizeBytes();
          switch (decode) {
            case MAPS -> {
              EventCursor c = blob.cursor();
              while (c.hasNext()) {
                sink += c.next().size();
                n++;
              }
            }
            case VISIT -> n += blob.visitEvents(visitor);
            case NONE -> n += blob.eventCount();
          }
        }
      }
    }
    return new long[] {n, bytes, sink + visitor.sum};
  }

  /** {events, bytes, checksum}: GETs in key order, {@value #IN_FLIGHT} in flight, decoded in order on this thread. */
  private long[] readJsonGz(StoreClient client, boolean decode) throws Exception {
    ObjectMapper json = new ObjectMapper();
    ArrayDeque<CompletableFuture<StoreClient.Response>> window = new ArrayDeque<>();
    int next = 0;
    long n = 0;
    long bytes = 0;
    long sink = 0;
    int blob = 0;
    while (blob < keys.size()) {
      while (next < keys.size() && window.size() < IN_FLIGHT) {
        window.add(client.get(store, "jsongz", keys.get(next++).format(), null));
      }
      StoreClient.Response resp = window.poll().get(60, TimeUnit.SECONDS);
      byte[] body;
      try {
        if (resp.status() != 200) {
          throw new IOException("GET jsongz answered " + resp.status());
        }
        body = ByteBufUtil.getBytes(resp.body());
      } finally {
        resp.release();
      }
      bytes += body.length;
      if (decode) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(
            new GZIPInputStream(new ByteArrayInputStream(body), 1 << 16), StandardCharsets.UTF_8), 1 << 16)) {
          for (String line; (line = in.readLine()) != null; ) {
            @SuppressWarnings("unchecked")
            Map<String, Object> event = json.readValue(line, Map.class);
            sink += event.size();
            n++;
          }
        }
      } else {
        n += keyEvents.get(blob);
      }
      blob++;
    }
    return new long[] {n, bytes, sink};
  }

  private static long processCpuNanos() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    throw new IllegalStateException("no process CPU time on this JVM");
  }

  // ------------------------------------------------------------------ report

  private void report(List<Pass> passes, String[] argv, String storeCmd) {
    PrintStream o = System.out;
    o.println();
    o.println("Command: java -cp benchmarks/target/benchmarks.jar " + ConsumerRead.class.getName() + " "
        + String.join(" ", argv));
    o.printf(Locale.ROOT, "Data: %d seconds x %,d events = %,d events; %,d blobs, %,d blob bytes (%.1f bytes/event); "
            + "JSON %,d bytes (%.1f/event); JSON+gzip %,d bytes (%.1f/event)%n", lastEpoch - firstEpoch + 1,
        events / (lastEpoch - firstEpoch + 1), events, keys.size(), blobBytes, (double) blobBytes / events, jsonBytes,
        (double) jsonBytes / events, jsonGzBytes, (double) jsonGzBytes / events);
    o.println("Store: " + storeCmd);
    o.println();
    o.println("Medians of " + passes.stream().filter(p -> p.mode.equals(passes.get(0).mode)).count()
        + " passes (range in brackets); CPU = the reading JVM's process CPU time:");
    o.println();
    o.println("| mode | MB/s of stored bytes per CPU s | events/s per CPU s | reader CPU s | wall s | reader cores "
        + "| store CPU s | CPU s per 70 MB of blobs |");
    o.println("|---|---:|---:|---:|---:|---:|---:|---:|");
    Map<String, List<Pass>> byMode = passes.stream().collect(Collectors.groupingBy(Pass::mode, LinkedHashMap::new,
        Collectors.toList()));
    for (Map.Entry<String, List<Pass>> e : byMode.entrySet()) {
      List<Pass> ps = e.getValue();
      double mb = median(ps.stream().mapToDouble(Pass::mbPerCpuS).toArray());
      double ev = median(ps.stream().mapToDouble(Pass::eventsPerCpuS).toArray());
      double cpu = median(ps.stream().mapToDouble(Pass::cpuS).toArray());
      double wall = median(ps.stream().mapToDouble(Pass::wallS).toArray());
      double storeCpu = median(ps.stream().mapToDouble(Pass::storeCpuS).toArray());
      // per 70 MB of Epochal blobs: the same events, whatever their encoding
      double per70 = cpu * 70e6 / blobBytes;
      o.printf(Locale.ROOT, "| %s | %.0f [%.0f–%.0f] | %,.0f [%,.0f–%,.0f] | %.2f | %.2f | %.2f | %.2f | %.3f |%n",
          e.getKey(), mb, min(ps, Pass::mbPerCpuS), max(ps, Pass::mbPerCpuS), ev, min(ps, Pass::eventsPerCpuS),
          max(ps, Pass::eventsPerCpuS), cpu, wall, cpu / wall, storeCpu, per70);
    }
    o.println();
    o.println("Reader CPU by thread (s), median pass of each mode:");
    for (Map.Entry<String, List<Pass>> e : byMode.entrySet()) {
      List<Pass> ps = new ArrayList<>(e.getValue());
      ps.sort((a, b) -> Double.compare(a.cpuS, b.cpuS));
      Pass p = ps.get(ps.size() / 2);
      o.println("    " + e.getKey() + ": " + p.threads.entrySet().stream().filter(t -> t.getValue() >= 0.01)
          .sorted(Map.Entry.<String, Double>comparingByValue().reversed())
          .map(t -> String.format(Locale.ROOT, "%s %.2f", t.getKey(), t.getValue())).collect(Collectors.joining(", ")));
    }
    o.println();
    o.println("Raw:");
    for (Pass p : passes) {
      o.printf(Locale.ROOT, "    mode=%s rep=%d events=%d bytes=%d wall_s=%.3f cpu_s=%.3f store_cpu_s=%.3f%n", p.mode,
          p.rep, p.events, p.bytes, p.wallS, p.cpuS, p.storeCpuS);
    }
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static double min(List<Pass> ps, java.util.function.ToDoubleFunction<Pass> f) {
    return ps.stream().mapToDouble(f).min().orElse(Double.NaN);
  }

  private static double max(List<Pass> ps, java.util.function.ToDoubleFunction<Pass> f) {
    return ps.stream().mapToDouble(f).max().orElse(Double.NaN);
  }
}
