package io.epochal.aggregator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.common.config.ConfigException;
import io.epochal.common.config.ConfigSources;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AggregatorConfigTest {
  private static AggregatorConfig config(Map<String, String> values) {
    Map<String, String> flags = new HashMap<>();
    flags.put(AggregatorConfig.PREFIX + ".spool.dir", "/tmp/unused-spool");
    values.forEach((k, v) -> flags.put(AggregatorConfig.PREFIX + "." + k, v));
    return AggregatorConfig.from(ConfigSources.builder().flags(flags).build().settings(AggregatorConfig.PREFIX));
  }

  @Test
  void theDrainIntervalDefaultsTo2msAndIsAtMostTheTickInterval() {
    assertThat(config(Map.of()).receiver().drainInterval()).isEqualTo(Duration.ofMillis(2));
    assertThat(config(Map.of("udp-drain-interval", "0")).receiver().drainInterval()).isZero();
    // A tick interval below the default drain interval lowers the default with it.
    assertThat(config(Map.of("tick-interval", "1ms")).receiver().drainInterval()).isEqualTo(Duration.ofMillis(1));
    assertThatThrownBy(() -> config(Map.of("udp-drain-interval", "50ms")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("epochal.aggregator.udp-drain-interval")
        .hasMessageContaining("20");
  }
}
