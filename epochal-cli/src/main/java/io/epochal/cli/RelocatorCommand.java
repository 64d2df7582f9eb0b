package io.epochal.cli;

import io.epochal.common.config.Settings;
import io.epochal.relocator.Relocator;
import io.epochal.relocator.RelocatorConfig;
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

/** {@code epochal relocator}: moves sealed blobs from a spool into the store. */
@Command(
    name = "relocator",
    description = {
      "Move sealed blobs from a spool into the store, then list them in the epoch metadata.",
      "Runs until SIGTERM/SIGINT, then finishes the current batch (bounded by stop-timeout) and exits 0."
    },
    mixinStandardHelpOptions = true)
final class RelocatorCommand implements Callable<Integer> {
  private static final String P = RelocatorConfig.PREFIX + ".";

  @Spec CommandSpec spec;

  @Mixin Daemon.Options daemon;

  @Option(names = "--spool-dir", description = "Spool directory (default ./spool).")
  Path spoolDir;

  @Option(names = "--nodes", description = "Store nodes, host:port,... (default 127.0.0.1:8098).")
  String nodes;

  @Option(names = "--nodes-file", description = "File of host:port lines, reloaded when it changes.")
  Path nodesFile;

  @Option(names = "--admin-port", description = "Admin HTTP port for /metrics and /health (default 9141; 0: any).")
  Integer adminPort;

  @Override
  public Integer call() throws Exception {
    Map<String, String> flags = new LinkedHashMap<>();
    put(flags, "spool.dir", spoolDir);
    put(flags, "nodes", nodes);
    put(flags, "nodes-file", nodesFile);
    put(flags, "admin-port", adminPort);
    Settings settings = Daemon.settings(daemon, RelocatorConfig.PREFIX, flags);
    RelocatorConfig config = Daemon.config(settings, RelocatorConfig::from);
    if (daemon.printConfig) {
      spec.commandLine().getOut().println(settings.renderEffective());
      return ExitCodes.OK;
    }
    PrintWriter err = spec.commandLine().getErr();
    Relocator relocator = new Relocator(config, Clock.systemUTC());
    return Daemon.run(relocator.lifecycle(), () -> {
      err.printf("relocator: spool %s -> %s, admin http://%s:%d/metrics%n", config.spoolDir(),
          nodes != null ? nodes : nodesFile != null ? nodesFile : "configured nodes", config.adminHost(),
          relocator.adminPort());
      err.flush();
    });
  }

  private static void put(Map<String, String> flags, String key, Object value) {
    if (value != null) {
      flags.put(P + key, value.toString());
    }
  }
}
