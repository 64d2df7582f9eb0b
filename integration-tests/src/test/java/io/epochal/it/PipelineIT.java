package io.epochal.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.epochal.consumer.read.EpochBatch;
import io.epochal.consumer.read.EpochBlob;
import io.epochal.consumer.read.EpochIterator;
import io.epochal.consumer.read.EpochReader;
import io.epochal.emitter.EventEmitter;
import io.epochal.format.blob.EventCursor;
import io.epochal.format.reference.ReferenceEvents;
import io.epochal.zooanimal.NodeSelector;
import io.epochal.zooanimal.StoreNodeAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole pipeline as separate processes on loopback: emitter (this JVM) → UDP → {@code epochal
 * aggregator} → spool → {@code epochal relocator} (a separate daemon on the live spool) → {@code
 * epochal store} → {@link EpochReader} and {@code epochal fetch}. While events flow, the relocator
 * is SIGKILLed and restarted twice and the store once; every event the aggregator accepted is read
 * back exactly once, equal after decoding, with the right tags.
 */
class PipelineIT {
  private static final Pattern RELOCATOR = Pattern.compile("relocator: spool .* admin http://[^:]+:(\\d+)/metrics");
  private static final int EVENTS = 40_000;
  private static final ObjectMapper JSON = new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS,
      true);

  @TempDir Path dir;

  @Test
  void everyAcceptedEventIsReadBackExactlyOnceThroughCrashes() throws Exception {
    int storePort;
    try (ServerSocket s = new ServerSocket(0)) {
      storePort = s.getLocalPort();
    }
    Path spool = dir.resolve("spool");
    Path storeDir = dir.resolve("store");
    Map<String, Integer> emitted = new HashMap<>();
    long firstSecond = System.currentTimeMillis() / 1000;
    List<String> relocatorArgs = List.of("relocator", "--spool-dir", spool.toString(), "--nodes",
        "127.0.0.1:" + storePort, "--admin-port", "0", "-D", "epochal.relocator.in-flight=2",
        "-D", "epochal.relocator.retry.backoff-max=500ms");
    StoreDaemon store = StoreDaemon.start(storeDir, storePort, "-D", "epochal.store.ring-partitions=16");
    try {
      // 1. Aggregator and relocator as separate daemons on one spool; emit while the relocator is
      //    SIGKILLed and restarted twice and the store once.
      try (AggregatorDaemon agg = AggregatorDaemon.start(spool, "-D", "epochal.aggregator.grace=500ms",
          "-D", "epochal.aggregator.blob.max-bytes=70000")) {
        ChildJvm relocator = ChildJvm.start(RELOCATOR, relocatorArgs);
        try (EventEmitter emitter = EventEmitter.builder().aggregator("127.0.0.1", agg.udpPort).dc("1").type("WEB")
            .build()) {
          ReferenceEvents gen = new ReferenceEvents(11);
          long start = System.nanoTime();
          int crashes = 0;
          for (int i = 0; i < EVENTS; i++) {
            ReferenceEvents.Event e = gen.next();
            emitter.emit(e.type(), e.subtype(), e.fields());
            emitted.merge(identity(e.type(), e.subtype(), e.fields()), 1, Integer::sum);
            if (i % 5_000 == 4_999 && crashes < 3
                && ChildJvm.metric(relocator.group(1), "epochal_relocator_blobs_relocated_total") >= 1) {
              crashes++;
              if (crashes == 2) {
                store.child.kill(); // the store goes down while the relocator writes; it retries
                store.close();
                store = StoreDaemon.start(storeDir, storePort, "-D", "epochal.store.ring-partitions=16");
              } else {
                relocator.kill(); // SIGKILL with PUTs in flight; restart from the acknowledged position
                relocator.close();
                relocator = ChildJvm.start(RELOCATOR, relocatorArgs);
              }
            }
            long due = start + i * 100_000L; // 10,000 events/s, so several epochs
            long wait = due - System.nanoTime();
            if (wait > 0) {
              LockSupport.parkNanos(wait); // pacing, not synchronisation
            }
          }
          emitter.flush();
          awaitMetric(agg.adminPort, "epochal_aggregator_events_received_total", EVENTS, agg);
          assertThat(crashes).as("crashes injected while blobs moved").isEqualTo(3);
        }
        // 2. Everything sealed, then everything relocated; both daemons stop cleanly.
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline && (ChildJvm.metric(agg.adminPort, "epochal_aggregator_batches_open") != 0
            || ChildJvm.metric(relocator.group(1), "epochal_relocator_backlog_bytes") != 0
            || ChildJvm.metric(relocator.group(1), "epochal_relocator_pending_age_seconds") > 0)) {
          relocator.process.waitFor(50, TimeUnit.MILLISECONDS);
        }
        assertThat(ChildJvm.metric(relocator.group(1), "epochal_relocator_backlog_bytes")).as("spool drained")
            .isZero();
        relocator.process.destroy();
        assertThat(relocator.process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(relocator.process.exitValue()).isZero();
        relocator.close();
        agg.process.destroy(); // SIGTERM: seal, fsync, exit 0
        assertThat(agg.process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(agg.process.exitValue()).isZero();
      }
      long lastSecond = System.currentTimeMillis() / 1000 + 1;
      // 3. Read back: the EpochReader and the CLI both see every event exactly once.
      Map<String, Integer> read = new HashMap<>();
      try (EpochReader reader = EpochReader.builder()
          .nodes(NodeSelector.of(List.of(new StoreNodeAddress("127.0.0.1", storePort)), Duration.ofSeconds(1)))
          .dcs("1").build();
          EpochIterator epochs = reader.read(firstSecond - 1, lastSecond)) {
        while (epochs.hasNext()) {
          EpochBatch batch = epochs.next();
          for (EpochBlob blob : batch.blobs()) {
            assertThat(blob.tags().dc()).isEqualTo("1");
            assertThat(blob.tags().epoch()).isEqualTo(batch.epoch());
            EventCursor c = blob.cursor();
            while (c.hasNext()) {
              read.merge(identity(blob.tags().type(), blob.tags().subtype(), c.next()), 1, Integer::sum);
            }
          }
        }
      }
      assertThat(read).as("events read back, each exactly once").isEqualTo(emitted);
      Path out = dir.resolve("fetched.jsonl");
      Distribution.Result fetch = Distribution.run(120, "fetch", "--nodes", "127.0.0.1:" + storePort, "--from",
          Long.toString(firstSecond - 1), "--to", Long.toString(lastSecond), "--output", out.toString());
      assertThat(fetch.exitCode()).as(fetch.stderr()).isZero();
      Map<String, Integer> fetched = new HashMap<>();
      for (String line : Files.readAllLines(out)) {
        JsonNode n = JSON.readTree(line);
        fetched.merge(identity(n.get("type").asText(), n.get("subtype").asText(),
            JSON.convertValue(n.get("event"), Map.class)), 1, Integer::sum);
      }
      assertThat(fetched).as("epochal fetch output").isEqualTo(emitted);
    } finally {
      store.close();
    }
  }

  @Test
  void fetchGivesOneLineErrorsAndExitCodes() throws Exception {
    Distribution.Result badTime = Distribution.run(60, "fetch", "--from", "yesterday");
    assertThat(badTime.exitCode()).isEqualTo(2);
    assertThat(badTime.stderr()).contains("--from \"yesterday\" is not a time").doesNotContain("Exception");
    Distribution.Result backwards = Distribution.run(60, "fetch", "--from", "now", "--to", "-1h");
    assertThat(backwards.exitCode()).isEqualTo(2);
    assertThat(backwards.stderr()).contains("is before --from");
    Distribution.Result badFlag = Distribution.run(60, "fetch", "--from", "now", "--frmat", "jsonl");
    assertThat(badFlag.exitCode()).isEqualTo(2);
    assertThat(badFlag.stderr()).contains("Unknown options: '--frmat'");
    int dead;
    try (ServerSocket s = new ServerSocket(0)) {
      dead = s.getLocalPort();
    }
    Distribution.Result unreachable = Distribution.run(60, "fetch", "--nodes", "127.0.0.1:" + dead, "--from", "-5s",
        "--deadline", "1");
    assertThat(unreachable.exitCode()).isEqualTo(4);
    assertThat(unreachable.stderr()).contains("127.0.0.1:" + dead).doesNotContain("\tat ");
  }

  /** An event's identity for multiset comparison: tags and its fields as canonical JSON. */
  private static String identity(String type, String subtype, Map<?, ?> fields) throws Exception {
    return type + ":" + subtype + ":" + JSON.writeValueAsString(JSON.readTree(JSON.writeValueAsString(fields)));
  }

  private static void awaitMetric(int port, String name, double atLeast, AggregatorDaemon agg) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    double v = -1;
    while (System.nanoTime() < deadline) {
      v = ChildJvm.metric(port, name);
      if (v >= atLeast) {
        return;
      }
      Thread.onSpinWait();
      LockSupport.parkNanos(20_000_000); // polling a remote counter, with a deadline
    }
    throw new AssertionError(name + " = " + v + ", expected at least " + atLeast + (agg == null ? "" : "\n" + agg.log()));
  }
}
