package io.epochal.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.epochal.aggregator.AggregatorMetrics;
import io.epochal.common.config.ConfigSources;
import io.epochal.common.time.ManualClock;
import io.epochal.consumer.read.EpochBatch;
import io.epochal.consumer.read.EpochBlob;
import io.epochal.consumer.read.EpochIterator;
import io.epochal.consumer.read.EpochReader;
import io.epochal.consumer.stream.StreamingConsumer;
import io.epochal.emitter.EmitterStats;
import io.epochal.emitter.EventEmitter;
import io.epochal.format.Tags;
import io.epochal.format.blob.EventCursor;
import io.epochal.format.reference.ReferenceEvents;
import io.epochal.zooanimal.NodeSelector;
import io.micrometer.core.instrument.Counter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code epochal demo}: the whole pipeline on this machine, embedded ({@link Standalone}: store,
 * aggregator and relocator in this process, in a temporary directory, on free ports), with the
 * reference event mix sent through the real {@link EventEmitter} over loopback UDP and read back
 * by a real {@link StreamingConsumer} following the present. A live view shows each second; then
 * a historical fetch through {@link EpochReader} reads the whole range back, verifying every blob
 * and counting every event, and a summary compares bytes with JSON + gzip and gives the
 * end-to-end lag (emit to delivery) of every event.
 */
@Command(
    name = "demo",
    description = "Run the whole pipeline on this machine with a built-in load of the reference event mix.",
    mixinStandardHelpOptions = true)
final class DemoCommand implements Callable<Integer> {
  /** Grace and consumer lag of the demo: one machine over loopback has no stragglers to wait for. */
  static final Duration GRACE = Duration.ofMillis(500);
  static final Duration CONSUMER_LAG = Duration.ofMillis(1200);

  @Spec CommandSpec spec;

  @Option(names = "--seconds", defaultValue = "5", description = "How long to emit (default: ${DEFAULT-VALUE}).")
  int seconds;

  @Option(names = "--rate", defaultValue = "50000", description = "Events per second to emit (default: ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--dc", defaultValue = "1", description = "Data center tag (default: ${DEFAULT-VALUE}).")
  String dc;

  @Option(names = "--keep", description = "Keep the data directory at the end (its path is printed).")
  boolean keep;

  /** Emit times (ms) of the events of each second, for exact per-event lag at delivery. */
  private final Map<Long, long[]> emitTimes = new ConcurrentHashMap<>();
  private final Map<Long, Integer> emittedPerEpoch = new ConcurrentHashMap<>();
  private final AtomicLong delivered = new AtomicLong();
  private final AtomicLong deliveredBlobBytes = new AtomicLong();
  private final long[][] lags = new long[1][];
  private int lagCount;
  private volatile long lastLagMs = -1;

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
    lags[0] = new long[(int) Math.min(Integer.MAX_VALUE - 8, (long) seconds * rate + 1024)];
    Clock clock = Clock.systemUTC();
    Map<String, String> flags = new LinkedHashMap<>();
    flags.put("epochal.store.http-port", "0");
    flags.put("epochal.aggregator.udp-port", "0");
    flags.put("epochal.aggregator.udp-host", "127.0.0.1");
    flags.put("epochal.aggregator.admin-port", "0");
    flags.put("epochal.aggregator.id", "demo");
    flags.put("epochal.aggregator.dc", dc);
    flags.put("epochal.aggregator.grace", GRACE.toMillis() + "ms");
    flags.put("epochal.store.ring-partitions", "16");
    Standalone standalone = new Standalone(ConfigSources.builder().defaults(Standalone.defaults(dir)).flags(flags)
        .build(), clock);
    try {
      out.printf("epochal demo: emitter -UDP-> aggregator -> spool -> relocator -> store -> streaming consumer%n");
      out.printf("data in %s%n", dir);
      standalone.start();
      NodeSelector nodes = NodeSelector.of(List.of(standalone.storeAddress()), Duration.ofSeconds(1));
      out.printf("store http://%s/  aggregator udp port %d, metrics http://127.0.0.1:%d/metrics%n%n",
          standalone.storeAddress(), standalone.aggregator().udpPort(), standalone.aggregator().adminPort());
      EmitterStats stats;
      long firstEpoch = clock.millis() / 1000;
      long lastEpoch;
      try (EpochReader streamReader = EpochReader.builder().nodes(nodes).dcs(dc).build();
          StreamingConsumer consumer = StreamingConsumer.builder().reader(streamReader)
              .checkpoint(dir.resolve("consumer.checkpoint")).clock(clock).lag(CONSUMER_LAG)
              .idlePoll(Duration.ofMillis(50)).startEpoch(firstEpoch).handler(this::deliver).build()) {
        consumer.start();
        // The emitter dates each event with the very millisecond the loop counted it in (read once,
        // before emit): two clock reads could fall on either side of a second's boundary.
        ManualClock emitClock = new ManualClock(clock.millis());
        try (EventEmitter emitter = EventEmitter.builder().aggregator("127.0.0.1", standalone.aggregator().udpPort())
            .dc(dc).type("WEB").clock(emitClock).build()) {
          emit(emitter, standalone, out, clock, emitClock);
          emitter.flush();
          stats = emitter.stats();
        }
        lastEpoch = clock.millis() / 1000;
        awaitDelivery(stats, lastEpoch, clock, standalone, out);
      }
      return summarize(stats, standalone, nodes, firstEpoch, lastEpoch, out);
    } finally {
      standalone.close();
      if (keep) {
        out.printf("data kept in %s%n", dir);
      } else {
        deleteRecursively(dir);
      }
      out.flush();
    }
  }

  private void deliver(EpochBatch batch) {
    long now = System.currentTimeMillis();
    long events = batch.eventCount();
    delivered.addAndGet(events);
    deliveredBlobBytes.addAndGet(batch.sizeBytes());
    if (batch.late() || events == 0) {
      return;
    }
    lastLagMs = now - (batch.epoch() + 1) * 1000;
    long[] times = emitTimes.get(batch.epoch());
    if (times != null) {
      synchronized (lags) {
        int n = (int) Math.min(events, times.length);
        for (int i = 0; i < n && lagCount < lags[0].length; i++) {
          lags[0][lagCount++] = now - times[i];
        }
      }
    }
  }

  private void emit(EventEmitter emitter, Standalone s, PrintWriter out, Clock clock, ManualClock emitClock) {
    ReferenceEvents gen = new ReferenceEvents(42);
    out.printf("%-7s %10s %10s %6s %8s %10s %9s %7s %12s%n", "second", "emitted/s", "received/s", "blobs", "relocated",
        "delivered", "bytes/ev", "ratio", "lag");
    long start = System.nanoTime();
    long total = (long) seconds * rate;
    long emitted = 0;
    long lastEmitted = 0;
    double lastReceived = 0;
    int second = 1;
    long[] current = null;
    long currentEpoch = -1;
    int inEpoch = 0;
    AggregatorMetrics am = s.aggregator().metrics();
    while (emitted < total) {
      long now = System.nanoTime();
      // Catch up at most 5 ms worth at a time: a starved emitting thread then emits late, not in
      // bursts that overflow the emitter's buffer and the socket.
      long due = Math.min(Math.min(total, (now - start) * rate / 1_000_000_000L + 1), emitted + Math.max(1, rate / 200));
      while (emitted < due) {
        ReferenceEvents.Event e = gen.next();
        long ms = clock.millis();
        long epoch = ms / 1000;
        if (epoch != currentEpoch) {
          if (current != null) {
            emitTimes.put(currentEpoch, Arrays.copyOf(current, inEpoch));
            emittedPerEpoch.put(currentEpoch, inEpoch);
          }
          current = new long[Math.max(16, rate + rate / 10)];
          currentEpoch = epoch;
          inEpoch = 0;
        }
        if (inEpoch == current.length) {
          current = Arrays.copyOf(current, current.length * 2);
        }
        current[inEpoch++] = ms;
        emitClock.set(ms);
        emitter.emit(e.type(), e.subtype(), e.fields());
        emitted++;
      }
      if (now - start >= second * 1_000_000_000L) {
        double received = received(am);
        double blobBytes = am.blobBytes.totalAmount();
        double sealedEvents = am.blobEvents.totalAmount();
        out.printf("%-7d %10d %10.0f %6.0f %8.0f %10d %9.1f %6.1fx %12s%n", second, emitted - lastEmitted,
            received - lastReceived, am.blobsSealed.count(), relocated(s), delivered.get(),
            sealedEvents == 0 ? 0 : blobBytes / sealedEvents, am.compressionRatio.mean(),
            lastLagMs < 0 ? "-" : lastLagMs + " ms");
        out.flush();
        lastEmitted = emitted;
        lastReceived = received;
        second++;
      }
      if (emitted >= due) {
        LockSupport.parkNanos(200_000); // pacing, not synchronisation
      }
    }
    if (current != null) {
      emitTimes.put(currentEpoch, Arrays.copyOf(current, inEpoch));
      emittedPerEpoch.put(currentEpoch, inEpoch);
    }
  }

  /** Waits until the consumer got every event the aggregator accepted, or 30 s pass without progress. */
  private void awaitDelivery(EmitterStats s, long lastEpoch, Clock clock, Standalone standalone, PrintWriter out) {
    long lastProgress = System.nanoTime();
    long last = -1;
    long shown = clock.millis() / 1000;
    while (true) {
      double accepted = received(standalone.aggregator().metrics());
      long got = delivered.get();
      if (got >= s.emitted() || (got >= accepted && accepted > 0 && clock.millis() / 1000 > lastEpoch + 5)) {
        return;
      }
      if (got != last) {
        last = got;
        lastProgress = System.nanoTime();
      } else if (System.nanoTime() - lastProgress > Duration.ofSeconds(30).toNanos()) {
        return;
      }
      long sec = clock.millis() / 1000;
      if (sec != shown) {
        shown = sec;
        out.printf("%-7s %10s %10s %6.0f %8.0f %10d %9s %7s %12s%n", "(drain)", "", "",
            standalone.aggregator().metrics().blobsSealed.count(), relocated(standalone), got, "", "",
            lastLagMs < 0 ? "-" : lastLagMs + " ms");
        out.flush();
      }
      LockSupport.parkNanos(10_000_000);
    }
  }

  private int summarize(EmitterStats s, Standalone standalone, NodeSelector nodes, long firstEpoch, long lastEpoch,
      PrintWriter out) throws Exception {
    AggregatorMetrics am = standalone.aggregator().metrics();
    long received = (long) received(am);
    double dropped = droppedByAggregator(am);
    // Historical fetch of the whole range, every blob verified, every event decoded and counted.
    long fetched = 0;
    long blobs = 0;
    long blobBytes = 0;
    long jsonBytes = 0;
    long wrongEpoch = 0;
    ObjectMapper json = new ObjectMapper();
    Map<Tags, GzipCounter> baseline = new HashMap<>();
    long t0 = System.nanoTime();
    try (EpochReader reader = EpochReader.builder().nodes(nodes).dcs(dc).build();
        EpochIterator epochs = reader.read(firstEpoch, lastEpoch + 2)) {
      while (epochs.hasNext()) {
        EpochBatch batch = epochs.next();
        long expected = emittedPerEpoch.getOrDefault(batch.epoch(), 0);
        if (batch.eventCount() > expected) {
          wrongEpoch++; // more than was emitted in that second: a duplicate or a misfiled event
        }
        for (EpochBlob blob : batch.blobs()) {
          GZIPOutputStream gzip = baseline.computeIfAbsent(blob.tags(), t -> new GzipCounter()).gzip;
          EventCursor c = blob.cursor();
          while (c.hasNext()) {
            byte[] line = json.writeValueAsBytes(c.next());
            jsonBytes += line.length + 1;
            gzip.write(line);
            gzip.write('\n');
            fetched++;
          }
          blobs++;
          blobBytes += blob.sizeBytes();
        }
      }
    }
    double fetchSeconds = (System.nanoTime() - t0) / 1e9;
    long gzipBytes = 0;
    for (GzipCounter g : baseline.values()) {
      g.gzip.close();
      gzipBytes += g.count[0];
    }
    long[] sorted;
    synchronized (lags) {
      sorted = Arrays.copyOf(lags[0], lagCount);
    }
    Arrays.sort(sorted);
    out.printf("%nsummary%n");
    out.printf("  emitted            %,d events (%,d datagrams, %,d bytes on the wire)%n", s.emitted(), s.datagrams(),
        s.bytes());
    out.printf("  dropped (emitter)  %,d%s%n", s.droppedTotal(), s.droppedTotal() == 0 ? "" : " " + s.dropped());
    out.printf("  aggregator         %,d events received, %,.0f dropped, %,d lost in transit; %,.0f blobs sealed%n",
        received, dropped, Math.max(0, s.emitted() - s.droppedTotal() - received), am.blobsSealed.count());
    out.printf("  relocator          %,.0f blobs stored at w=all, %,.0f epoch members published%n", relocated(standalone),
        relocatorMetric(standalone, "epochal.relocator.members.published"));
    out.printf("  streaming consumer %,d events delivered%n", delivered.get());
    out.printf("  historical fetch   %,d blobs, %,d events in %.2f s, every checksum verified%n", blobs, fetched,
        fetchSeconds);
    if (received > 0) {
      out.printf("  bytes per event    %.1f in blobs vs %.1f as JSON+gzip (%.2fx), %.1f as JSON%n",
          (double) blobBytes / Math.max(1, fetched), (double) gzipBytes / Math.max(1, fetched),
          (double) blobBytes / Math.max(1, gzipBytes), (double) jsonBytes / Math.max(1, fetched));
    }
    if (sorted.length > 0) {
      out.printf("  end-to-end lag     emit -> delivered: p50 %,d ms, p99 %,d ms, max %,d ms (grace %d ms, consumer lag %d ms)%n",
          sorted[sorted.length / 2], sorted[(int) Math.min(sorted.length - 1, sorted.length * 99L / 100)],
          sorted[sorted.length - 1], GRACE.toMillis(), CONSUMER_LAG.toMillis());
    }
    boolean ok = received > 0 && dropped == 0 && fetched == received && delivered.get() >= received
        && wrongEpoch == 0;
    long lostBefore = s.emitted() - received;
    out.printf("  check              %s%n", ok
        ? "OK: every event the aggregator accepted was stored once, delivered live and fetched back in its second"
        : "FAILED: received " + received + ", dropped by the aggregator " + (long) dropped + ", delivered "
            + delivered.get() + ", fetched " + fetched + ", seconds with more events than emitted " + wrongEpoch);
    if (lostBefore > 0) {
      out.printf("  note               %,d events (%.2f%%) never reached the aggregator: the emitter's counted drops "
          + "and UDP datagrams the kernel dropped; a busy machine, or try a lower --rate%n", lostBefore,
          100.0 * lostBefore / s.emitted());
    }
    out.flush();
    return ok ? ExitCodes.OK : ExitCodes.CHECK_FAILED;
  }

  private static double relocated(Standalone s) {
    return relocatorMetric(s, "epochal.relocator.blobs.relocated");
  }

  private static double relocatorMetric(Standalone s, String name) {
    return s.aggregator().metrics().registry().find(name).counters().stream().mapToDouble(Counter::count).sum();
  }

  private static double received(AggregatorMetrics metrics) {
    return metrics.registry().find("epochal.aggregator.events.received").counters().stream()
        .mapToDouble(Counter::count).sum();
  }

  private static double droppedByAggregator(AggregatorMetrics metrics) {
    return metrics.registry().find("epochal.aggregator.events.dropped").counters().stream()
        .mapToDouble(Counter::count).sum();
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
