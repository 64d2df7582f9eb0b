package io.epochal.common.config;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The declaration of one configuration key: its name relative to a {@link Settings} prefix and the
 * one sentence that documents it. The default and the allowed range are given where the key is
 * read, so key, description, default and range sit in one expression:
 *
 * <pre>{@code
 * int port = settings.getInt(ConfigKey.of("udp-port", "UDP port to receive datagrams on."), 5140, 1, 65535);
 * }</pre>
 *
 * <p>Names are lower-case words separated by {@code -} or {@code .} ({@code spool.max-bytes}). A
 * {@linkplain #secret secret} key's value is masked in rendered configuration and error messages.
 *
 * @param name the key relative to the prefix, e.g. {@code udp-port}
 * @param description what the key controls, for {@link Settings#renderDocumentation()}
 * @param secret whether the value must not be printed
 */
public record ConfigKey(String name, String description, boolean secret) {
  private static final Pattern NAME = Pattern.compile("[a-z0-9]+([.-][a-z0-9]+)*");

  /**
   * Validates the declaration.
   *
   * @throws IllegalArgumentException if the name is not lower-case dotted/hyphenated words or the
   *     description is blank
   */
  public ConfigKey {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(description, "description");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "config key name must be lower-case words separated by '-' or '.': " + name);
    }
    if (description.isBlank()) {
      throw new IllegalArgumentException("config key " + name + " needs a description");
    }
  }

  /** A key whose value may be printed. */
  public static ConfigKey of(String name, String description) {
    return new ConfigKey(name, description, false);
  }

  /** A key whose value (a password, a token) is shown as {@code ****}. */
  public static ConfigKey secret(String name, String description) {
    return new ConfigKey(name, description, true);
  }
}
