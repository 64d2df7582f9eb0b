package io.epochal.common.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class UnitsTest {

  @Property
  void formattedBytesParseBack(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE) long bytes) {
    assertThat(Units.parseBytes(Units.formatBytes(bytes))).isEqualTo(bytes);
  }

  @Property
  void formattedDurationsParseBack(
      @ForAll @LongRange(min = 0, max = Long.MAX_VALUE / 1_000_000_000L) long seconds,
      @ForAll @LongRange(min = 0, max = 999_999_999) long nanos) {
    Duration d = Duration.ofSeconds(seconds, nanos);
    assertThat(Units.parseDuration(Units.formatDuration(d))).isEqualTo(d);
  }

  @Test
  void formatsWithTheLargestExactUnit() {
    assertThat(Units.formatBytes(65536)).isEqualTo("64KiB");
    assertThat(Units.formatBytes(500_000)).isEqualTo("500KB");
    assertThat(Units.formatBytes(4L << 30)).isEqualTo("4GiB");
    assertThat(Units.formatBytes(1023)).isEqualTo("1023");
    assertThat(Units.formatDuration(Duration.ofMillis(250))).isEqualTo("250ms");
    assertThat(Units.formatDuration(Duration.ofMinutes(90))).isEqualTo("90m");
    assertThat(Units.formatDuration(Duration.ofDays(10))).isEqualTo("10d");
    assertThat(Units.formatDuration(Duration.ofNanos(1500))).isEqualTo("PT0.0000015S");
  }
}
