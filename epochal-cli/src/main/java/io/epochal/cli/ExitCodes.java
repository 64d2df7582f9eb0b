package io.epochal.cli;

/** Exit codes of the {@code epochal} command (documented in docs/cli.md). */
final class ExitCodes {
  /** Success. */
  static final int OK = 0;
  /** Some input was rejected (e.g. a JSON line that is not an object); the rest was processed. */
  static final int PARTIAL = 1;
  /** Wrong flags or arguments. */
  static final int USAGE = 2;
  /** A check failed (e.g. the demo read back different counts than it wrote). */
  static final int CHECK_FAILED = 3;
  /** The environment does not allow the command (unresolvable host, unreadable file, port in use). */
  static final int UNAVAILABLE = 4;
  /** An unexpected internal error. */
  static final int SOFTWARE = 70;

  private ExitCodes() {}
}
