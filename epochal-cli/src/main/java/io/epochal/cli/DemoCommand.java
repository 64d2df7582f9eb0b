package io.epochal.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.epochal.aggregator.Aggregator;
import io.epochal.aggregator.AggregatorConfig;
import io.epochal.aggregator.AggregatorMetrics;
import io.epochal.aggregator.spool.FileSpool;
import io.epochal.aggregator.spool.SpoolReader;
import io.epochal.aggregator.spool.SpoolRecord;
import io.epochal.common.config.ConfigSources;
import io.epochal.emitter.EmitterStats;
import io.epochal.emitter.EventEmitter;
import io.epochal.format.BlobKey;
import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobReader;
import io.epochal.format.blob.EventCursor;
import io.epochal.format.reference.ReferenceEvents;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code epochal demo}: runs what exists of the pipeline on this machine, embedded, with the
 * reference event mix: the real {@link EventEmitter} sends over loopback UDP to a real {@link
 * Aggregator}, which seals per-second blobs into its spool in a temporary directory. A live view
 * shows each second; at the end the aggregator is shut down (sealing and fsyncing what it holds),
 * the spool is read back blob by blob, every checksum verified and every event counted, and a
 * summary compares blob bytes with JSON + gzip. The store, relocator and consumers join the demo as
 * their issues land.
 */
@Command(
    name = "demo",
    description = "Run the pipeline on this machine with a built-in load of the reference event mix.",
    mixinStandardHelpOptions = true)
final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--seconds", defaultValue = "5", description = "How long to emit (default: ${DEFAULT-VALUE}).")
  int seconds;

  @Option(names = "--rate", defaultValue = "50000", description = "Events per second to emit (default: ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--dc", defaultValue = "1", description = "Data center tag (default: ${DEFAULT-VALUE}).")
  String dc;

  @Option(names = "--keep", description = "Keep the spool directory at the end (its path is printed).")
  boolean keep;

  @Override
  public Integer call() throws Exception {
    if (seconds < 1 || seconds > 3600) {
      throw new UserException(ExitCodes.USAGE, "--seconds " + seconds + " is outside 1..3600");
    }
    if (rate < 1 || rate > 2_000_000) {
      throw new UserException(ExitCodes.USAGE, "--rate " + rate + " is outside 1..2000000");
    }
    PrintWriter out = spec.commandLine().getOut();
    Path dir = Files.createTempDirectory("epochal-demo-");
    try {
      out.printf("epochal demo: emitter -UDP-> aggregator -> spool (%s)%n", dir);
      out.printf("(the store, relocator and consumers join this demo as they land; see README)%n%n");
      AggregatorConfig config = AggregatorConfig.from(ConfigSources.builder()
          .flags(Map.of(
              "epochal.aggregator.id", "demo",
              "epochal.aggregator.dc", dc,
              "epochal.aggregator.udp-host", "127.0.0.1",
              "epochal.aggregator.udp-port", "0",
              "epochal.aggregator.admin-port", "0",
              "epochal.aggregator.spool.dir", dir.resolve("spool").toString()))
          .build().settings(AggregatorConfig.PREFIX));
      Aggregator aggregator = new Aggregator(config, Clock.systemUTC());
      EmitterStats stats;
      double received;
      try {
        aggregator.start();
        out.printf("aggregator: udp port %d, metrics http://127.0.0.1:%d/metrics%n%n", aggregator.udpPort(),
            aggregator.adminPort());
        try (EventEmitter emitter =
            EventEmitter.builder().aggregator("127.0.0.1", aggregator.udpPort()).dc(dc).type("WEB").build()) {
          emit(emitter, aggregator.metrics(), out);
          emitter.flush();
          stats = awaitDelivery(emitter, aggregator.metrics());
        }
        received = received(aggregator.metrics());
      } finally {
        aggregator.close(); // seals every open batch and fsyncs the spool
      }
      return summarize(stats, (long) received, aggregator.metrics(), config, out);
    } finally {
      if (keep) {
        out.printf("spool kept in %s%n", dir);
      } else {
        deleteRecursively(dir);
      }
      out.flush();
    }
  }

  private void emit(EventEmitter emitter, AggregatorMetrics metrics, PrintWriter out) {
    ReferenceEvents gen = new ReferenceEvents(42);
    out.printf("%-7s %11s %11s %8s %12s %9s%n", "second", "emitted/s", "received/s", "blobs", "spool bytes", "dropped");
    long start = System.nanoTime();
    long total = (long) seconds * rate;
    long emitted = 0;
    long lastEmitted = 0;
    double lastReceived = 0;
    int second = 1;
    while (emitted < total) {
      long now = System.nanoTime();
      long due = Math.min(total, (now - start) * rate / 1_000_000_000L + 1);
      while (emitted < due) {
        ReferenceEvents.Event e = gen.next();
        emitter.emit(e.type(), e.subtype(), e.fields());
        emitted++;
      }
      if (now - start >= second * 1_000_000_000L) {
        double received = received(metrics);
        out.printf("%-7d %11d %11.0f %8.0f %12.0f %9d%n", second, emitted - lastEmitted, received - lastReceived,
            metrics.blobsSealed.count(), gauge(metrics, "epochal.aggregator.spool.bytes"),
            emitter.stats().droppedTotal() + (long) droppedByAggregator(metrics));
        out.flush();
        lastEmitted = emitted;
        lastReceived = received;
        second++;
      }
      if (emitted >= due) {
        LockSupport.parkNanos(200_000); // pacing, not synchronisation
      }
    }
  }

  /** Waits until the aggregator received what the emitter sent, or 10 s pass without progress. */
  private static EmitterStats awaitDelivery(EventEmitter emitter, AggregatorMetrics metrics) {
    long lastProgress = System.nanoTime();
    double last = -1;
    while (true) {
      EmitterStats s = emitter.stats();
      double got = received(metrics);
      if (s.sent() + s.droppedTotal() >= s.emitted() && got >= s.sent()) {
        return s;
      }
      if (got != last) {
        last = got;
        lastProgress = System.nanoTime();
      } else if (System.nanoTime() - lastProgress > Duration.ofSeconds(10).toNanos()) {
        return s;
      }
      LockSupport.parkNanos(1_000_000);
    }
  }

  private int summarize(EmitterStats s, long received, AggregatorMetrics metrics, AggregatorConfig config,
      PrintWriter out) throws IOException, FormatException {
    long blobs = 0;
    long readBack = 0;
    long blobBytes = 0;
    long jsonBytes = 0;
    int maxBlob = 0;
    ObjectMapper json = new ObjectMapper();
    Map<Tags, GzipCounter> baseline = new HashMap<>();
    try (FileSpool spool = FileSpool.open(config.spool());
        SpoolReader r = spool.reader(spool.acknowledgedPosition());
        BlobReader reader = new BlobReader()) {
      for (SpoolRecord rec = r.next(); rec != null; rec = r.next()) {
        BlobReader.Blob blob = reader.open(rec.blob());
        if (!BlobKey.parse(rec.key()).tags().equals(blob.tags())) {
          throw new IllegalStateException("spool key " + rec.key() + " does not match its blob " + blob.tags());
        }
        GZIPOutputStream gzip = baseline.computeIfAbsent(blob.tags(), t -> new GzipCounter()).gzip;
        EventCursor c = blob.cursor();
        while (c.hasNext()) {
          byte[] line = json.writeValueAsBytes(c.next());
          jsonBytes += line.length + 1;
          gzip.write(line);
          gzip.write('\n');
          readBack++;
        }
        blobs++;
        blobBytes += rec.blob().length;
        maxBlob = Math.max(maxBlob, rec.blob().length);
      }
    }
    long gzipBytes = 0;
    for (GzipCounter g : baseline.values()) {
      g.gzip.close();
      gzipBytes += g.count[0];
    }
    double dropped = droppedByAggregator(metrics);
    out.printf("%nsummary%n");
    out.printf("  emitted            %,d events (%,d datagrams, %,d bytes on the wire)%n", s.emitted(), s.datagrams(), s.bytes());
    out.printf("  dropped (emitter)  %,d %s%n", s.droppedTotal(), s.droppedTotal() == 0 ? "" : s.dropped());
    out.printf("  received           %,d events by the aggregator; %,.0f dropped by it; %,d lost in transit%n",
        received, dropped, s.sent() - received);
    out.printf("  spool              %,d blobs (largest %,d bytes), %,d events read back, every checksum verified%n",
        blobs, maxBlob, readBack);
    if (received > 0) {
      out.printf("  bytes per event    %.1f in blobs vs %.1f as JSON+gzip (%.2fx), %.1f as JSON%n",
          (double) blobBytes / received, (double) gzipBytes / received,
          (double) blobBytes / Math.max(1, gzipBytes), (double) jsonBytes / received);
      out.printf("  seconds to spool   p50 %s, p99 %s after the second ends (grace %d ms)%n",
          percentile(metrics, 0.5), percentile(metrics, 0.99), config.batcher().grace().toMillis());
    }
    boolean ok = received > 0 && readBack == received && received == s.sent() && dropped == 0;
    out.printf("  check              %s%n", ok ? "OK: every event the emitter sent is in the spool, exactly once"
        : "FAILED: sent, received and spooled counts differ");
    out.flush();
    return ok ? ExitCodes.OK : ExitCodes.CHECK_FAILED;
  }

  private static double received(AggregatorMetrics metrics) {
    return metrics.registry().find("epochal.aggregator.events.received").counters().stream()
        .mapToDouble(Counter::count).sum();
  }

  private static double droppedByAggregator(AggregatorMetrics metrics) {
    return metrics.registry().find("epochal.aggregator.events.dropped").counters().stream()
        .mapToDouble(Counter::count).sum();
  }

  private static double gauge(AggregatorMetrics metrics, String name) {
    var g = metrics.registry().find(name).gauge();
    return g == null ? 0 : g.value();
  }

  private static String percentile(AggregatorMetrics metrics, double p) {
    for (ValueAtPercentile v : metrics.spoolDelay.takeSnapshot().percentileValues()) {
      if (v.percentile() == p) {
        return String.format("%.0f ms", v.value(TimeUnit.MILLISECONDS));
      }
    }
    return "n/a";
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** JSON lines + gzip of one group, counting compressed bytes only: the naive baseline. */
  private static final class GzipCounter {
    final long[] count = new long[1];
    final GZIPOutputStream gzip;

    GzipCounter() {
      try {
        gzip = new GZIPOutputStream(new OutputStream() {
          @Override
          public void write(int b) {
            count[0]++;
          }

          @Override
          public void write(byte[] b, int off, int len) {
            count[0] += len;
          }
        });
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
