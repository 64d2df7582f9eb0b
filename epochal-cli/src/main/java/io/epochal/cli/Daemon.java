package io.epochal.cli;

import io.epochal.common.config.ConfigException;
import io.epochal.common.config.ConfigSources;
import io.epochal.common.config.Settings;
import io.epochal.common.lifecycle.LifecycleStack;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * What every daemon command shares: the configuration sources (defaults < {@code --config} file <
 * environment < flags), and running a lifecycle stack until SIGTERM or SIGINT, which close the
 * stack (flushing what it holds) and end the process with exit code 0.
 */
final class Daemon {
  private static final Logger log = LoggerFactory.getLogger(Daemon.class);

  /** Options every daemon takes; picocli mixes them into the command. */
  static final class Options {
    @Option(names = "--config", paramLabel = "FILE", description = "Properties file with configuration keys.")
    Path config;

    @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE",
        description = "Any configuration key, e.g. -D epochal.aggregator.grace=3s (see docs/operations.md).")
    Map<String, String> set = new LinkedHashMap<>();

    @Option(names = "--print-config", description = "Print the effective configuration and exit.")
    boolean printConfig;
  }

  private Daemon() {}

  /** Settings for {@code prefix} from all sources; {@code flags} maps full keys to flag values. */
  static Settings settings(Options options, String prefix, Map<String, String> flags) {
    if (options.config != null && !Files.isReadable(options.config)) {
      throw new UserException(ExitCodes.UNAVAILABLE, "cannot read --config " + options.config);
    }
    try {
      return commandLine(ConfigSources.builder().file(options.config).env(System.getenv()), options, flags).build()
          .settings(prefix);
    } catch (ConfigException e) {
      throw new UserException(ExitCodes.USAGE, e.getMessage(), e);
    }
  }

  /**
   * Adds the command line to {@code sources}: the {@code -D} values (named "-D" in error messages)
   * and the flags by full key, which win over a {@code -D} of the same key.
   */
  static ConfigSources.Builder commandLine(ConfigSources.Builder sources, Options options, Map<String, String> flags) {
    options.set.forEach((k, v) -> {
      if (!flags.containsKey(k)) {
        sources.flag(k, v, "-D");
      }
    });
    return sources.flags(flags);
  }

  /** Reads a daemon's config with {@code reader}, mapping bad values to a usage error. */
  static <T> T config(Settings settings, java.util.function.Function<Settings, T> reader) {
    try {
      T config = reader.apply(settings);
      settings.requireNoUnknownKeys();
      return config;
    } catch (ConfigException | IllegalArgumentException e) {
      throw new UserException(ExitCodes.USAGE, e.getMessage(), e);
    }
  }

  /** Starts the stack, runs until SIGTERM/SIGINT, closes it; returns the exit code. */
  static int run(LifecycleStack stack, Runnable started) throws Exception {
    Signal.handle(new Signal("TERM"), s -> close(stack, "SIGTERM"));
    Signal.handle(new Signal("INT"), s -> close(stack, "SIGINT"));
    stack.installShutdownHook();
    try {
      stack.start();
    } catch (Exception e) {
      Throwable root = e;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      String why = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
      throw new UserException(ExitCodes.UNAVAILABLE, "could not start: " + why, e);
    }
    started.run();
    stack.awaitTermination();
    return ExitCodes.OK;
  }

  private static void close(LifecycleStack stack, String why) {
    Thread t = new Thread(() -> {
      log.info("{}: shutting down", why);
      stack.close();
    }, "epochal-shutdown");
    t.start();
  }
}
