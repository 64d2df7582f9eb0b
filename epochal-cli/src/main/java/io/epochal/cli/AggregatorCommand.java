package io.epochal.cli;

import io.epochal.aggregator.Aggregator;
import io.epochal.aggregator.AggregatorConfig;
import io.epochal.common.config.Settings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code epochal aggregator}: the UDP aggregation daemon. */
@Command(
    name = "aggregator",
    description = {
      "Receive events over UDP, seal them per second into blobs and spool them durably.",
      "Runs until SIGTERM/SIGINT, then seals every open batch, fsyncs the spool and exits 0."
    },
    mixinStandardHelpOptions = true)
final class AggregatorCommand implements Callable<Integer> {
  private static final String P = AggregatorConfig.PREFIX + ".";

  @Spec CommandSpec spec;

  @Mixin Daemon.Options daemon;

  @Option(names = "--udp-port", description = "UDP port (default 5140; 0: any free port).")
  Integer udpPort;

  @Option(names = "--dc", description = "Data center this aggregator serves.")
  String dc;

  @Option(names = "--id", description = "Aggregator id, unique within the data center (default: host name).")
  String id;

  @Option(names = "--spool-dir", description = "Spool directory (default ./spool).")
  Path spoolDir;

  @Option(names = "--admin-port", description = "Admin HTTP port for /metrics and /health (default 9140; 0: any).")
  Integer adminPort;

  @Override
  public Integer call() throws Exception {
    Map<String, String> flags = new LinkedHashMap<>();
    put(flags, "udp-port", udpPort);
    put(flags, "dc", dc);
    put(flags, "id", id);
    put(flags, "spool.dir", spoolDir);
    put(flags, "admin-port", adminPort);
    Settings settings = Daemon.settings(daemon, AggregatorConfig.PREFIX, flags);
    AggregatorConfig config = Daemon.config(settings, AggregatorConfig::from);
    PrintWriter err = spec.commandLine().getErr();
    if (daemon.printConfig) {
      spec.commandLine().getOut().println(settings.renderEffective());
      return ExitCodes.OK;
    }
    Aggregator aggregator = new Aggregator(config, Clock.systemUTC());
    return Daemon.run(aggregator.lifecycle(), () -> {
      err.printf("aggregator %s (dc %s): udp port %d, admin http://%s:%d/metrics, spool %s%n", config.id(),
          config.dc(), aggregator.udpPort(), config.adminHost(), aggregator.adminPort(), config.spool().directory());
      err.flush();
    });
  }

  private static void put(Map<String, String> flags, String key, Object value) {
    if (value != null) {
      flags.put(P + key, value.toString());
    }
  }
}
