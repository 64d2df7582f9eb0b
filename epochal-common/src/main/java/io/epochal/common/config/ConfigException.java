package io.epochal.common.config;

import java.util.Optional;

/**
 * A configuration value is invalid, a key under a component's prefix is unknown, or the config
 * file cannot be read. The message is meant for the operator as is, e.g. {@code
 * epochal.aggregator.udp-port = 70000 (from flag --udp-port): must be an integer in [1, 65535]}.
 *
 * <p>Unchecked: it is thrown while a daemon builds its configuration at start-up, where the only
 * sensible handling is to print the message and exit with a usage error; making every config
 * constructor declare it would add nothing.
 */
public class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String key;

  /** A failure not tied to one key (unreadable file, several unknown keys). */
  public ConfigException(String message) {
    this(null, message, null);
  }

  /** A failure of one full key, e.g. {@code epochal.aggregator.udp-port}. */
  public ConfigException(String key, String message) {
    this(key, message, null);
  }

  public ConfigException(String key, String message, Throwable cause) {
    super(message, cause);
    this.key = key;
  }

  /** The full key at fault, if the failure concerns one key. */
  public Optional<String> key() {
    return Optional.ofNullable(key);
  }
}
