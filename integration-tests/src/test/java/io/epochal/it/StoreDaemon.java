package io.epochal.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** An {@code epochal store} node in a child JVM on a free port, with its data in {@code dataDir}. */
final class StoreDaemon implements AutoCloseable {
  private static final Pattern STARTED = Pattern.compile("store \\S+: http://[^:]+:(\\d+)/");

  final Process process;
  final int port;
  final Path stderr;

  private StoreDaemon(Process process, int port, Path stderr) {
    this.process = process;
    this.port = port;
    this.stderr = stderr;
  }

  static StoreDaemon start(Path dataDir, String... extra) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m", "-jar",
        Distribution.jar().toString(), "store", "--http-port", "0", "--data-dir", dataDir.toString()));
    cmd.addAll(List.of(extra));
    Path err = Files.createTempFile("store-it", ".err");
    Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      Matcher m = STARTED.matcher(Files.readString(err));
      if (m.find()) {
        return new StoreDaemon(p, Integer.parseInt(m.group(1)), err);
      }
      if (!p.isAlive()) {
        throw new AssertionError("store exited with " + p.exitValue() + ":\n" + Files.readString(err));
      }
      p.waitFor(20, TimeUnit.MILLISECONDS);
    }
    p.destroyForcibly();
    throw new AssertionError("store did not start in 60 s:\n" + Files.readString(err));
  }

  String log() throws IOException {
    return Files.readString(stderr);
  }

  @Override
  public void close() throws IOException {
    process.destroyForcibly();
    Files.deleteIfExists(stderr);
  }
}
