package io.epochal.it;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** An {@code epochal aggregator} in a child JVM, on free ports, with its spool in {@code spoolDir}. */
final class AggregatorDaemon implements AutoCloseable {
  private static final Pattern STARTED = Pattern.compile("udp port (\\d+), admin http://[^:]+:(\\d+)/metrics");

  final ChildJvm child;
  final Process process;
  final int udpPort;
  final int adminPort;

  private AggregatorDaemon(ChildJvm child) {
    this.child = child;
    this.process = child.process;
    this.udpPort = child.group(1);
    this.adminPort = child.group(2);
  }

  static AggregatorDaemon start(Path spoolDir, String... extra) throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(List.of("aggregator", "--id", "it", "--udp-port", "0", "--admin-port", "0",
        "--spool-dir", spoolDir.toString(), "-D", "epochal.aggregator.udp-host=127.0.0.1",
        "-D", "epochal.aggregator.spool.sync-interval=20ms"));
    args.addAll(List.of(extra));
    return new AggregatorDaemon(ChildJvm.start(STARTED, args));
  }

  /** The value of a metric line starting with {@code name} (summed over its series), or -1. */
  double metric(String name) throws IOException, InterruptedException {
    return ChildJvm.metric(adminPort, name);
  }

  String log() throws IOException {
    return child.log();
  }

  @Override
  public void close() throws IOException {
    child.close();
  }
}
