package io.epochal.common.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Runs {@link SigtermMain} in a child JVM and stops it with SIGTERM, as an init system would. */
class LifecycleStackSigtermTest {

  @Test
  @Timeout(60)
  void sigtermClosesTheStackInReverse() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child =
        new ProcessBuilder(
                java,
                "-Xshare:auto",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                System.getProperty("java.class.path"),
                SigtermMain.class.getName())
            .redirectErrorStream(true)
            .start();
    List<String> lines = new ArrayList<>();
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null && !line.equals("ready")) {
        lines.add(line);
      }
      assertThat(line).as("child output before EOF: %s", lines).isEqualTo("ready");

      // SIGTERM; unlike Process.destroy(), the handle leaves our end of the stdout pipe open.
      assertThat(child.toHandle().destroy()).isTrue();

      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      while ((line = out.readLine()) != null) {
        lines.add(line);
      }
    } finally {
      child.destroyForcibly();
    }

    assertThat(lines)
        .filteredOn(l -> l.startsWith("started ") || l.startsWith("stopped "))
        .containsExactly("started first", "started second", "stopped second", "stopped first");
    assertThat(child.exitValue()).isEqualTo(143); // 128 + SIGTERM
  }
}
