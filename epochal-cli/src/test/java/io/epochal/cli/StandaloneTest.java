package io.epochal.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.epochal.common.config.ConfigSources;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The standalone node's admin server speaks for all three parts. */
class StandaloneTest {
  @TempDir Path dataDir;

  @Test
  void healthCoversTheAggregatorTheRelocatorAndTheStore() throws Exception {
    Map<String, String> ports = Map.of(
        "epochal.store.http-port", "0",
        "epochal.aggregator.udp-port", "0",
        "epochal.aggregator.admin-port", "0");
    try (Standalone standalone = new Standalone(
        ConfigSources.builder().defaults(Standalone.defaults(dataDir)).flags(ports).build(), Clock.systemUTC())) {
      standalone.start();
      HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + standalone.aggregator().adminPort() + "/health")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
      assertThat(health.body()).contains("\"spool\"", "\"receiver\"", "\"relocation\"", "\"store\"")
          .doesNotContain("DOWN");
    }
  }
}
