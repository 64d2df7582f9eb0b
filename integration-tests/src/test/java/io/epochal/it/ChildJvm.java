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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** An {@code epochal} daemon in a child JVM, started and awaited until it prints its start line. */
final class ChildJvm implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  final Process process;
  final Matcher started;
  final Path stderr;

  private ChildJvm(Process process, Matcher started, Path stderr) {
    this.process = process;
    this.started = started;
    this.stderr = stderr;
  }

  /** Runs {@code epochal args...} and waits (60 s at most) for a stderr line matching {@code startLine}. */
  static ChildJvm start(Pattern startLine, List<String> args) throws IOException, InterruptedException {
    return start(startLine, args, null);
  }

  /** As {@link #start(Pattern, List)}, with standard output appended to {@code stdout} (null: discarded). */
  static ChildJvm start(Pattern startLine, List<String> args, Path stdout) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m", "-jar", Distribution.jar().toString()));
    cmd.addAll(args);
    Path err = Files.createTempFile("epochal-child", ".err");
    Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).redirectOutput(stdout == null
        ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.appendTo(stdout.toFile())).start();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      Matcher m = startLine.matcher(Files.readString(err) + (stdout == null ? "" : Files.readString(stdout)));
      if (m.find()) {
        return new ChildJvm(p, m, err);
      }
      if (!p.isAlive()) {
        throw new AssertionError(args.get(0) + " exited with " + p.exitValue() + ":\n" + Files.readString(err));
      }
      p.waitFor(20, TimeUnit.MILLISECONDS);
    }
    p.destroyForcibly();
    throw new AssertionError(args.get(0) + " did not start in 60 s:\n" + Files.readString(err));
  }

  int group(int i) {
    return Integer.parseInt(started.group(i));
  }

  /** The value of a Prometheus metric on {@code port} (summed over its series), or -1 when absent. */
  static double metric(int port, String name) throws IOException, InterruptedException {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
        .build(), HttpResponse.BodyHandlers.ofString());
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

  void kill() throws InterruptedException {
    process.destroyForcibly().waitFor(); // SIGKILL
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
