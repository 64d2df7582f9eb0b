package io.epochal.cli;

import io.epochal.common.config.ConfigException;
import io.epochal.common.config.ConfigSources;
import io.epochal.common.lifecycle.LifecycleComponent;
import io.epochal.common.lifecycle.LifecycleStack;
import java.io.PrintWriter;
import java.nio.file.Files;
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

/** {@code epochal standalone}: store, aggregator and relocator in one process. */
@Command(
    name = "standalone",
    description = {
      "Run store, aggregator and relocator in one process on one data directory (n_val 1).",
      "Keys of all three parts apply (epochal.store.*, epochal.aggregator.*, epochal.relocator.*).",
      "Runs until SIGTERM/SIGINT, then seals open batches, relocates what it can, fsyncs and exits 0."
    },
    mixinStandardHelpOptions = true)
final class StandaloneCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin Daemon.Options daemon;

  @Option(names = "--data-dir", required = true, description = "Data directory (store/ and spool/ inside).")
  Path dataDir;

  @Option(names = "--http-port", description = "Store HTTP port (default 8098; 0: any).")
  Integer httpPort;

  @Option(names = "--udp-port", description = "Aggregator UDP port (default 5140; 0: any).")
  Integer udpPort;

  @Override
  public Integer call() throws Exception {
    if (daemon.config != null && !Files.isReadable(daemon.config)) {
      throw new UserException(ExitCodes.UNAVAILABLE, "cannot read --config " + daemon.config);
    }
    Map<String, String> flags = new LinkedHashMap<>();
    if (httpPort != null) {
      flags.put("epochal.store.http-port", httpPort.toString());
    }
    if (udpPort != null) {
      flags.put("epochal.aggregator.udp-port", udpPort.toString());
    }
    Standalone standalone;
    try {
      ConfigSources sources = Daemon.commandLine(ConfigSources.builder().defaults(Standalone.defaults(dataDir))
          .file(daemon.config).env(System.getenv()), daemon, flags).build();
      standalone = new Standalone(sources, Clock.systemUTC());
      standalone.requireNoUnknownKeys();
    } catch (ConfigException | IllegalArgumentException e) {
      throw new UserException(ExitCodes.USAGE, e.getMessage(), e);
    }
    if (daemon.printConfig) {
      spec.commandLine().getOut().println(standalone.renderEffective());
      return ExitCodes.OK;
    }
    PrintWriter err = spec.commandLine().getErr();
    LifecycleStack stack = LifecycleStack.builder("standalone")
        .add(LifecycleComponent.of("standalone", standalone::start, standalone::close)).build();
    return Daemon.run(stack, () -> {
      err.printf("standalone: store http://%s/, aggregator udp port %d, admin http://127.0.0.1:%d/metrics, data %s%n",
          standalone.storeAddress(), standalone.aggregator().udpPort(), standalone.aggregator().adminPort(), dataDir);
      err.flush();
    });
  }
}
