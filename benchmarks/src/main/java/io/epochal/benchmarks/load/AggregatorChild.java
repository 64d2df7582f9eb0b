package io.epochal.benchmarks.load;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code epochal aggregator} from the distribution jar in a child JVM, on free ports: parses the
 * start-up line for the ports and scrapes its Prometheus {@code /metrics}. Used by one thread.
 */
final class AggregatorChild {
  private static final Pattern STARTED =
      Pattern.compile("aggregator \\S+ \\(dc \\S+\\): udp port (\\d+), admin http://([^/]+)/metrics");

  final Process process;
  final int udpPort;
  final String admin;
  final Path stderr;
  final List<String> command;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private AggregatorChild(Process process, int udpPort, String admin, Path stderr, List<String> command) {
    this.process = process;
    this.udpPort = udpPort;
    this.admin = admin;
    this.stderr = stderr;
    this.command = command;
  }

  /** Starts the aggregator and waits (at most 60 s) for its start-up line. */
  static AggregatorChild start(Path jar, Path spoolDir, Path stderr, List<String> jvmOptions, List<String> settings,
      Children children) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-jar", jar.toString(), "aggregator", "--id", "a1", "--udp-port", "0", "--admin-port", "0",
        "--spool-dir", spoolDir.toString()));
    for (String s : settings) {
      cmd.add("-D");
      cmd.add(s);
    }
    Process p = children.start(new ProcessBuilder(cmd).redirectError(stderr.toFile())
        .redirectOutput(ProcessBuilder.Redirect.DISCARD));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      Matcher m = STARTED.matcher(Files.readString(stderr));
      if (m.find()) {
        return new AggregatorChild(p, Integer.parseInt(m.group(1)), m.group(2), stderr, cmd);
      }
      if (!p.isAlive()) {
        throw new IOException("aggregator exited with " + p.exitValue() + ":\n" + Files.readString(stderr));
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
    p.destroyForcibly();
    throw new IOException("aggregator did not print its ports within 60 s:\n" + Files.readString(stderr));
  }

  long pid() {
    return process.pid();
  }

  /**
   * One scrape of /metrics: every sample line, keyed by the metric name plus its labels other than
   * the common {@code dc} and {@code aggregator} ones (e.g. {@code epochal_aggregator_events_dropped_total{reason="expired"}}).
   */
  Map<String, Double> scrape() throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + admin + "/metrics"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException("GET /metrics answered " + r.statusCode());
    }
    Map<String, Double> m = new HashMap<>();
    for (String line : r.body().split("\n")) {
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int sp = line.lastIndexOf(' ');
      String name = line.substring(0, sp)
          .replaceAll("(aggregator|dc)=\"[^\"]*\",?", "")
          .replace(",}", "}")
          .replace("{}", "");
      m.put(name, Double.parseDouble(line.substring(sp + 1)));
    }
    return m;
  }

  /** Sum of every series whose name (before the labels) is {@code name}. */
  static double sum(Map<String, Double> scrape, String name) {
    double s = 0;
    for (Map.Entry<String, Double> e : scrape.entrySet()) {
      String k = e.getKey();
      if (k.equals(name) || k.startsWith(name + "{")) {
        s += e.getValue();
      }
    }
    return s;
  }

  /** Series of {@code name} by the value of its single label, e.g. reason → count. */
  static Map<String, Double> byLabel(Map<String, Double> scrape, String name) {
    Map<String, Double> out = new HashMap<>();
    for (Map.Entry<String, Double> e : scrape.entrySet()) {
      String k = e.getKey();
      if (k.startsWith(name + "{")) {
        String label = k.substring(k.indexOf('"') + 1, k.lastIndexOf('"'));
        out.put(label, e.getValue());
      }
    }
    return out;
  }

  static double get(Map<String, Double> scrape, String key) {
    return scrape.getOrDefault(key, 0.0);
  }

  /** SIGTERM (seal, fsync, exit), waiting at most {@code seconds}; returns the exit code, or -1 if it had to be killed. */
  int stop(long seconds) throws InterruptedException {
    process.destroy();
    if (process.waitFor(seconds, TimeUnit.SECONDS)) {
      return process.exitValue();
    }
    process.destroyForcibly().waitFor();
    return -1;
  }
}
