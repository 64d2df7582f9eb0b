package io.epochal.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code epochal} command. Each daemon and tool is a subcommand. Errors print one line (with
 * {@code --verbose}, the stack trace) and exit with {@link ExitCodes}.
 */
@Command(
    name = "epochal",
    mixinStandardHelpOptions = true,
    versionProvider = Epochal.Version.class,
    description = "Per-second event pipeline: emit, aggregate, store and read events.",
    subcommands = {EmitCommand.class, AggregatorCommand.class, StoreCommand.class, RelocatorCommand.class, StandaloneCommand.class, FetchCommand.class, TailCommand.class, DemoCommand.class, CommandLine.HelpCommand.class})
public final class Epochal implements Runnable {
  @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Show stack traces of errors.")
  boolean verbose;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required (see: epochal help)");
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code (for tests and {@link #main}). */
  public static int run(String... args) {
    CommandLine cli = commandLine();
    return cli.execute(args);
  }

  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Epochal());
    cli.setExecutionExceptionHandler(Epochal::onError);
    cli.setParameterExceptionHandler(Epochal::onBadArguments);
    return cli;
  }

  private static int onError(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
    PrintWriter err = cmd.getErr();
    boolean verbose = parsed.hasMatchedOption("--verbose")
        || (parsed.subcommand() != null && parsed.subcommand().hasMatchedOption("--verbose"));
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    err.println("epochal " + cmd.getCommandName() + ": " + message);
    if (verbose) {
      e.printStackTrace(err);
    } else {
      err.println("(run with --verbose for details)");
    }
    err.flush();
    return e instanceof UserException ue ? ue.exitCode() : ExitCodes.SOFTWARE;
  }

  private static int onBadArguments(CommandLine.ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    PrintWriter err = cmd.getErr();
    err.println("epochal: " + e.getMessage());
    err.println("Try 'epochal " + (cmd.getParent() == null ? "" : cmd.getCommandName() + " ") + "--help'.");
    err.flush();
    return ExitCodes.USAGE;
  }

  /** Prints the version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Epochal.class.getPackage().getImplementationVersion();
      return new String[] {"epochal " + (v == null ? "(development build)" : v)};
    }
  }
}
