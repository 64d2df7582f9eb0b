package io.epochal.it;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** An {@code epochal store} node in a child JVM, with its data in {@code dataDir}. */
final class StoreDaemon implements AutoCloseable {
  private static final Pattern STARTED = Pattern.compile("store \\S+: http://[^:]+:(\\d+)/");

  final ChildJvm child;
  final Process process;
  final int port;

  private StoreDaemon(ChildJvm child) {
    this.child = child;
    this.process = child.process;
    this.port = child.group(1);
  }

  /** A node on any free port. */
  static StoreDaemon start(Path dataDir, String... extra) throws IOException, InterruptedException {
    return start(dataDir, 0, extra);
  }

  /** A node on {@code port} (0: any free port). */
  static StoreDaemon start(Path dataDir, int port, String... extra) throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(List.of("store", "--http-port", Integer.toString(port), "--data-dir",
        dataDir.toString()));
    args.addAll(List.of(extra));
    return new StoreDaemon(ChildJvm.start(STARTED, args));
  }

  String log() throws IOException {
    return child.log();
  }

  @Override
  public void close() throws IOException {
    child.close();
  }
}
