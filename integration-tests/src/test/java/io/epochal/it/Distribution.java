package io.epochal.it;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the built {@code epochal} distribution (epochal-cli/target/epochal.jar) in a child JVM. */
final class Distribution {
  record Result(int exitCode, String stdout, String stderr) {}

  private Distribution() {}

  static Path jar() {
    Path jar = Path.of(System.getProperty("epochal.home", "../epochal-cli/target")).resolve("epochal.jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("distribution not built: " + jar.toAbsolutePath());
    }
    return jar;
  }

  /** Runs {@code epochal args...}, waiting at most {@code timeoutSeconds}; kills it after that. */
  static Result run(long timeoutSeconds, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    cmd.add("-jar");
    cmd.add(jar().toString());
    cmd.addAll(List.of(args));
    File out = File.createTempFile("epochal-it", ".out");
    File err = File.createTempFile("epochal-it", ".err");
    try {
      Process p = new ProcessBuilder(cmd).redirectOutput(out).redirectError(err).start();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor();
        throw new AssertionError("epochal " + String.join(" ", args) + " did not finish in " + timeoutSeconds + " s; stdout:\n"
            + Files.readString(out.toPath()) + "\nstderr:\n" + Files.readString(err.toPath()));
      }
      return new Result(p.exitValue(), Files.readString(out.toPath(), StandardCharsets.UTF_8),
          Files.readString(err.toPath(), StandardCharsets.UTF_8));
    } finally {
      out.delete();
      err.delete();
    }
  }
}
