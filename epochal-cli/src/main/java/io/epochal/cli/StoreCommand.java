package io.epochal.cli;

import io.epochal.common.config.Settings;
import io.epochal.store.EventStore;
import io.epochal.store.StoreConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code epochal store}: one event-store node with the Riak-compatible HTTP API. */
@Command(
    name = "store",
    description = {
      "Run an event-store node: Bitcask-style partitions behind Riak's HTTP API.",
      "Runs until SIGTERM/SIGINT, then finishes queued requests, fsyncs every partition and exits 0."
    },
    mixinStandardHelpOptions = true)
final class StoreCommand implements Callable<Integer> {
  private static final String P = StoreConfig.PREFIX + ".";

  @Spec CommandSpec spec;

  @Mixin Daemon.Options daemon;

  @Option(names = "--http-port", description = "HTTP API port (default 8098; 0: any free port).")
  Integer httpPort;

  @Option(names = "--listen-address", description = "Address to listen on (default 127.0.0.1).")
  String listenAddress;

  @Option(names = "--data-dir", description = "Data directory (default ./data).")
  Path dataDir;

  @Override
  public Integer call() throws Exception {
    Map<String, String> flags = new LinkedHashMap<>();
    put(flags, "http-port", httpPort);
    put(flags, "listen-address", listenAddress);
    put(flags, "data-dir", dataDir);
    Settings settings = Daemon.settings(daemon, StoreConfig.PREFIX, flags);
    StoreConfig config = Daemon.config(settings, StoreConfig::from);
    if (daemon.printConfig) {
      spec.commandLine().getOut().println(settings.renderEffective());
      return ExitCodes.OK;
    }
    PrintWriter err = spec.commandLine().getErr();
    EventStore store = new EventStore(config, Clock.systemUTC());
    return Daemon.run(store.lifecycle(), () -> {
      err.printf("store %s: http://%s:%d/ (ring %d partitions, data %s)%n", config.nodeName(), config.http().host(),
          store.httpPort(), config.node().partitions(), config.node().dataDir());
      err.flush();
    });
  }

  private static void put(Map<String, String> flags, String key, Object value) {
    if (value != null) {
      flags.put(P + key, value.toString());
    }
  }
}
