package io.epochal.relocator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.common.config.ConfigException;
import io.epochal.zooanimal.StoreNodeAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RelocatorConfigTest {
  @Test
  void defaults() {
    RelocatorConfig c = RelocatorConfig.of(Map.of());
    assertThat(c.spoolDir()).isEqualTo(Path.of("spool"));
    assertThat(c.nodes()).containsExactly(new StoreNodeAddress("127.0.0.1", 8098));
    assertThat(c.nodesFile()).isNull();
    assertThat(c.w()).isEqualTo("all");
    assertThat(c.dw()).isEqualTo("0");
    assertThat(c.inFlight()).isEqualTo(16);
    assertThat(c.maxInFlightBytes()).isEqualTo(64L << 20);
    assertThat(c.batchMaxRecords()).isEqualTo(1000);
    assertThat(c.retryBackoffBase()).isEqualTo(Duration.ofMillis(50));
    assertThat(c.retryBackoffMax()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.adminPort()).isEqualTo(9141);
    assertThat(c.putQuery()).isEqualTo("w=all&dw=0&timeout=4000");
  }

  @Test
  void values() {
    RelocatorConfig c = RelocatorConfig.of(Map.of("epochal.relocator.nodes", "a:1, b:2",
        "epochal.relocator.w", "2", "epochal.relocator.dw", "one", "epochal.relocator.in-flight", "64",
        "epochal.relocator.max-in-flight-bytes", "8MiB", "epochal.relocator.request-timeout", "1s"));
    assertThat(c.nodes()).isEqualTo(List.of(new StoreNodeAddress("a", 1), new StoreNodeAddress("b", 2)));
    assertThat(c.putQuery()).isEqualTo("w=2&dw=one&timeout=800");
    assertThat(c.inFlight()).isEqualTo(64);
    assertThat(c.maxInFlightBytes()).isEqualTo(8L << 20);
  }

  @Test
  void badValuesNameTheKey() {
    assertThatThrownBy(() -> RelocatorConfig.of(Map.of("epochal.relocator.w", "most")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("epochal.relocator.w = most");
    assertThatThrownBy(() -> RelocatorConfig.of(Map.of("epochal.relocator.nodes", "nohost")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("epochal.relocator.nodes");
    assertThatThrownBy(() -> RelocatorConfig.of(Map.of("epochal.relocator.nodes", "")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("at least one store node");
    assertThatThrownBy(() -> RelocatorConfig.of(Map.of("epochal.relocator.in-flight", "0")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("epochal.relocator.in-flight");
    assertThatThrownBy(() -> RelocatorConfig.of(Map.of("epochal.relocator.retry.backoff-base", "2s",
        "epochal.relocator.retry.backoff-max", "1s")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("epochal.relocator.retry.backoff-max");
    assertThatThrownBy(() -> RelocatorConfig.of(Map.of("epochal.relocator.inflight", "3")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("unknown configuration key");
  }

  @Test
  void backoffDoublesUpToTheMaxAndJitterOnlyShortens() {
    RelocatorConfig c = RelocatorConfig.of(Map.of("epochal.relocator.retry.backoff-base", "100ms",
        "epochal.relocator.retry.backoff-max", "1s", "epochal.relocator.retry.jitter-percent", "50"));
    Backoff b = new Backoff(c);
    for (int i = 0; i < 100; i++) {
      assertThat(b.at(1)).isBetween(Duration.ofMillis(50), Duration.ofMillis(100));
      assertThat(b.at(3)).isBetween(Duration.ofMillis(200), Duration.ofMillis(400));
      assertThat(b.at(60)).isBetween(Duration.ofMillis(500), Duration.ofSeconds(1));
    }
  }
}
