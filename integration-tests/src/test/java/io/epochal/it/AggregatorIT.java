package io.epochal.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.epochal.aggregator.spool.FileSpool;
import io.epochal.aggregator.spool.SpoolConfig;
import io.epochal.aggregator.spool.SpoolReader;
import io.epochal.aggregator.spool.SpoolRecord;
import io.epochal.emitter.EventEmitter;
import io.epochal.format.BlobKey;
import io.epochal.format.blob.BlobReader;
import io.epochal.format.blob.EventCursor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The aggregator daemon in child JVMs: graceful SIGTERM and repeated SIGKILL under load. */
class AggregatorIT {
  @TempDir Path dir;

  interface Check {
    boolean ok() throws Exception;
  }

  private static void await(String what, Duration timeout, Check condition) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.ok()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.onSpinWait();
      Thread.yield();
    }
  }

  @Test
  void sigtermSealsEverythingFsyncsAndExitsZero() throws Exception {
    Path spoolDir = dir.resolve("spool");
    int n = 5_000;
    try (AggregatorDaemon agg = AggregatorDaemon.start(spoolDir)) {
      try (EventEmitter emitter = EventEmitter.builder().aggregator("127.0.0.1", agg.udpPort).dc("1").type("WEB")
          .build()) {
        for (int i = 0; i < n; i++) {
          emitter.emit(i % 2 == 0 ? "WEB" : "CRON", "", Map.of("seq", i));
          if (i % 1000 == 999) {
            emitter.flush();
            int sent = i + 1;
            await("aggregator received a round", Duration.ofSeconds(30),
                () -> agg.metric("epochal_aggregator_events_received_total") == sent);
          }
        }
      }
      agg.process.destroy(); // SIGTERM
      assertThat(agg.process.waitFor(30, TimeUnit.SECONDS)).as(agg.log()).isTrue();
      assertThat(agg.process.exitValue()).as(agg.log()).isZero();
    }
    BitSet seen = new BitSet(n);
    try (FileSpool spool = FileSpool.open(SpoolConfig.builder(spoolDir).build());
        SpoolReader r = spool.reader(spool.acknowledgedPosition());
        BlobReader reader = new BlobReader()) {
      for (SpoolRecord rec = r.next(); rec != null; rec = r.next()) {
        BlobReader.Blob blob = reader.open(rec.blob());
        assertThat(BlobKey.parse(rec.key()).tags()).isEqualTo(blob.tags());
        EventCursor c = blob.cursor();
        while (c.hasNext()) {
          int seq = ((Long) c.next().get("seq")).intValue();
          assertThat(seen.get(seq)).as("event %d twice", seq).isFalse();
          assertThat(blob.tags().type()).isEqualTo(seq % 2 == 0 ? "WEB" : "CRON");
          seen.set(seq);
        }
      }
    }
    assertThat(seen.cardinality()).isEqualTo(n);
  }

  @Test
  void everyDurableBlobSurvivesRepeatedSigkill() throws Exception {
    Path spoolDir = dir.resolve("spool");
    SplittableRandom random = new SplittableRandom(7);
    double lastDurable = 0;
    Set<String> keys = new HashSet<>();
    for (int round = 0; round < 3; round++) {
      // Short grace and linger so blobs are sealed and spooled while the load runs.
      try (AggregatorDaemon agg = AggregatorDaemon.start(spoolDir, "-D", "epochal.aggregator.grace=0s",
          "-D", "epochal.aggregator.blob.max-bytes=100000")) {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong sent = new AtomicLong();
        Thread load = new Thread(() -> {
          try (EventEmitter emitter = EventEmitter.builder().aggregator("127.0.0.1", agg.udpPort).dc("1")
              .type("WEB").build()) {
            io.epochal.format.reference.ReferenceEvents gen = new io.epochal.format.reference.ReferenceEvents(1);
            while (!stop.get()) {
              io.epochal.format.reference.ReferenceEvents.Event e = gen.next();
              emitter.emit(e.type(), e.subtype(), new LinkedHashMap<>(e.fields()));
              if (sent.incrementAndGet() % 200 == 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000); // ~200k/s at most
              }
            }
          } catch (Exception e) {
            throw new RuntimeException(e);
          }
        });
        load.start();
        double base = lastDurable;
        double target = base + 200_000 + random.nextInt(2_000_000);
        double[] durable = {base};
        await("spool grows while loaded", Duration.ofSeconds(60), () -> {
          durable[0] = agg.metric("epochal_aggregator_spool_durable_position");
          return durable[0] >= target;
        });
        agg.process.destroyForcibly().waitFor(); // SIGKILL while loaded
        stop.set(true);
        load.join();
        lastDurable = durable[0];
      }
      // Reopen after the crash: recovery must keep every record up to the last durable position.
      try (FileSpool spool = FileSpool.open(SpoolConfig.builder(spoolDir).build());
          SpoolReader r = spool.reader(spool.acknowledgedPosition());
          BlobReader reader = new BlobReader()) {
        assertThat(spool.durablePosition()).isGreaterThanOrEqualTo((long) lastDurable);
        keys.clear();
        long records = 0;
        for (SpoolRecord rec = r.next(); rec != null; rec = r.next()) {
          BlobReader.Blob blob = reader.open(rec.blob()); // checksum verified
          EventCursor c = blob.cursor();
          while (c.hasNext()) {
            c.next();
          }
          assertThat(keys.add(rec.key())).as("key %s written twice", rec.key()).isTrue();
          records++;
        }
        assertThat(records).isPositive();
      }
    }
  }
}
