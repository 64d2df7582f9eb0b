package io.epochal.it;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** An {@code epochal aggregator} in a child JVM, on free ports, with its spool in {@code spoolDir}. */
final class AggregatorDaemon implements AutoCloseable {
  private static final Pattern STARTED = Pattern.compile("udp port (\\d+), admin http://[^:]+:(\\d+)/metrics");

  final Process process;
  final int udpPort;
  final int adminPort;
  final Path stderr;
  private final HttpClient http = HttpClient.newHttpClient();

  private AggregatorDaemon(Process process, int udpPort, int adminPort, Path stderr) {
    this.process = process;
    this.udpPort = udpPort;
    this.adminPort = adminPort;
    this.stderr = stderr;
  }

  static AggregatorDaemon start(Path spoolDir, String... extra) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m", "-jar",
        Distribution.jar().toString(), "aggregator", "--id", "it", "--udp-port", "0", "--admin-port", "0",
        "--spool-dir", spoolDir.toString(), "-D", "epochal.aggregator.udp-host=127.0.0.1",
        "-D", "epochal.aggregator.spool.sync-interval=20ms"));
    cmd.addAll(List.of(extra));
    Path err = Files.createTempFile("aggregator-it", ".err");
    Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      Matcher m = STARTED.matcher(Files.readString(err));
      if (m.find()) {
        return new AggregatorDaemon(p, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), err);
      }
      if (!p.isAlive()) {
        throw new AssertionError("aggregator exited with " + p.exitValue() + ":\n" + Files.readString(err));
      }
      Thread.onSpinWait();
      p.waitFor(20, java.util.concurrent.TimeUnit.MILLISECONDS);
    }
    p.destroyForcibly();
    throw new AssertionError("aggregator did not start in 60 s:\n" + Files.readString(err));
  }

  /** The value of a metric line starting with {@code name} (summed over its series), or -1. */
  double metric(String name) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    double sum = 0;
    boolean found = false;
    for (String line : r.body().split("\n")) {
      if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        found = true;
      }
    }
    return found ? sum : -1;
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
