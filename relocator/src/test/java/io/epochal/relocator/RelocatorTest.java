package io.epochal.relocator;

import static io.epochal.relocator.RelocatorTesting.appendBlobs;
import static io.epochal.relocator.RelocatorTesting.assertRelocated;
import static io.epochal.relocator.RelocatorTesting.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.aggregator.spool.FileSpool;
import io.epochal.relocator.RelocatorTesting.Written;
import io.epochal.store.EventStore;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon: its own spool, store client and admin server. */
class RelocatorTest {
  @TempDir Path storeDir;
  @TempDir Path spoolDir;

  @Test
  void daemonRelocatesItsSpoolAndServesMetricsAndHealth() throws Exception {
    List<Written> written;
    long end;
    try (FileSpool spool = RelocatorTesting.openSpool(spoolDir)) {
      written = appendBlobs(spool, 0, 30, 10, 9);
      end = spool.durablePosition();
    }
    EventStore store = RelocatorTesting.startStore(storeDir);
    try {
      RelocatorConfig config = RelocatorConfig.of(Map.of(
          "epochal.relocator.spool.dir", spoolDir.toString(),
          "epochal.relocator.nodes", "127.0.0.1:" + store.httpPort(),
          "epochal.relocator.admin-port", "0"));
      Relocator relocator = new Relocator(config, Clock.systemUTC());
      try {
        relocator.start();
        await("acknowledged", Duration.ofSeconds(60),
            () -> relocator.registry().get("epochal.relocator.acknowledged.position").gauge().value() == end);
        assertRelocated(store, written);
        String admin = "http://127.0.0.1:" + relocator.adminPort();
        HttpResponse<String> health = RelocatorTesting.HTTP.send(HttpRequest.newBuilder(URI.create(admin + "/health"))
            .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("\"relocation\"");
        HttpResponse<String> metrics = RelocatorTesting.HTTP.send(HttpRequest.newBuilder(URI.create(admin
            + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains(
            "epochal_relocator_blobs_relocated_total 30.0",
            "epochal_relocator_relocated_bytes_total",
            "epochal_relocator_epochs_written_total",
            "epochal_relocator_members_published_total 30.0",
            "epochal_relocator_put_latency_seconds_count{bucket=\"events\"}",
            "epochal_relocator_backlog_bytes 0.0",
            "epochal_relocator_lag_seconds",
            "epochal_relocator_pending_age_seconds 0.0",
            "epochal_relocator_inflight_bytes 0.0",
            "epochal_relocator_acknowledged_position " + (double) end);
        if (Boolean.getBoolean("relocator.printMetrics")) {
          System.out.println(metrics.body());
        }
      } finally {
        relocator.close();
      }
    } finally {
      store.close();
    }
    try (FileSpool spool = RelocatorTesting.openSpool(spoolDir)) {
      assertThat(spool.acknowledgedPosition()).isEqualTo(end);
    }
  }

  @Test
  void aSpoolDirectoryThatDoesNotExistStopsStartUpInsteadOfMakingAnEmptySpool() {
    Path typo = spoolDir.resolve("spoool");
    RelocatorConfig config = RelocatorConfig.of(Map.of(
        "epochal.relocator.spool.dir", typo.toString(),
        "epochal.relocator.nodes", "127.0.0.1:9",
        "epochal.relocator.admin-port", "0"));
    Relocator relocator = new Relocator(config, Clock.systemUTC());
    try {
      assertThatThrownBy(relocator::start).hasStackTraceContaining("spool directory " + typo + " does not exist");
    } finally {
      relocator.close();
    }
    assertThat(typo).doesNotExist();
  }
}
