package io.epochal.it;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The README's first command, minus the build: the distribution runs the demo in its own JVM. */
class DemoIT {
  @Test
  void demoRunsEndToEndAndPassesItsCheck() throws Exception {
    Distribution.Result r = Distribution.run(120, "demo", "--seconds", "2", "--rate", "20000");
    assertThat(r.exitCode()).as("stdout:\n%s\nstderr:\n%s", r.stdout(), r.stderr()).isZero();
    assertThat(r.stdout()).contains("check              OK").contains("emitted            40,000 events")
        .contains("relocator          ").contains("streaming consumer").contains("historical fetch")
        .contains("end-to-end lag     emit -> delivered: p50");
  }

  @Test
  void unknownCommandIsAUsageError() throws Exception {
    Distribution.Result r = Distribution.run(60, "no-such-command");
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.stderr()).contains("Unmatched argument").doesNotContain("Exception");
  }
}
