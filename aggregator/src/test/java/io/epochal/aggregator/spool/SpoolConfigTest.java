package io.epochal.aggregator.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SpoolConfigTest {
  private static final Path DIR = Path.of("/var/lib/epochal/spool");

  @Test
  void defaults() {
    SpoolConfig c = SpoolConfig.builder(DIR).build();
    assertThat(c.directory()).isEqualTo(DIR);
    assertThat(c.segmentBytes()).isEqualTo(64L << 20);
    assertThat(c.maxBytes()).isEqualTo(4L << 30);
    assertThat(c.syncInterval()).isEqualTo(Duration.ofMillis(50));
    assertThat(c.syncsEveryAppend()).isFalse();
    assertThat(SpoolConfig.builder(DIR).syncInterval(Duration.ZERO).build().syncsEveryAppend()).isTrue();
  }

  @Test
  void badValuesNameTheKeyTheValueAndTheRange() {
    assertThatThrownBy(() -> SpoolConfig.builder(null).build()).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("spool.dir must be set");
    assertThatThrownBy(() -> SpoolConfig.builder(DIR).segmentBytes(100).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("spool.segment-bytes = 100 is out of range [4096, 1073741824]");
    assertThatThrownBy(() -> SpoolConfig.builder(DIR).segmentBytes(2L << 30).build())
        .hasMessage("spool.segment-bytes = 2147483648 is out of range [4096, 1073741824]");
    assertThatThrownBy(() -> SpoolConfig.builder(DIR).segmentBytes(1 << 20).maxBytes((2 << 20) - 1).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("spool.max-bytes = 2097151 is out of range [2097152 (2 x spool.segment-bytes), "
            + "9223372036854775807]");
    assertThatThrownBy(() -> SpoolConfig.builder(DIR).syncInterval(Duration.ofMillis(-1)).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("spool.sync-interval = -1 ms is out of range [0 ms, 10000 ms]");
    assertThatThrownBy(() -> SpoolConfig.builder(DIR).syncInterval(Duration.ofSeconds(11)).build())
        .hasMessage("spool.sync-interval = 11000 ms is out of range [0 ms, 10000 ms]");
    assertThatThrownBy(() -> SpoolConfig.builder(DIR).syncInterval(null).build())
        .hasMessage("spool.sync-interval = null is out of range [0 ms, 10000 ms]");
  }

  @Test
  void boundsAreInclusive() {
    SpoolConfig c = SpoolConfig.builder(DIR).segmentBytes(4096).maxBytes(8192).syncInterval(Duration.ofSeconds(10))
        .build();
    assertThat(c.maxBytes()).isEqualTo(8192);
    assertThat(SpoolConfig.builder(DIR).segmentBytes(1 << 30).maxBytes(Long.MAX_VALUE).build().segmentBytes())
        .isEqualTo(1 << 30);
  }
}
