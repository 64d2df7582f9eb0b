package io.epochal.common.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The raw configuration of a process, merged from four sources in a fixed order, each overriding the
 * one before: <b>defaults</b> (given here, over the defaults declared where keys are read) &lt;
 * <b>config file</b> (Java {@code .properties}, UTF-8, optional) &lt; <b>environment</b> &lt;
 * <b>command-line flags</b>. Typed values are read through {@link #settings(String)}.
 *
 * <pre>{@code
 * ConfigSources sources = ConfigSources.builder()
 *     .file(configPath)                 // null: no file
 *     .env(System.getenv())             // nothing is read implicitly
 *     .flags(Map.of("epochal.aggregator.udp-port", "5141"))  // the CLI maps --udp-port to its key
 *     .build();                         // reads the file; ConfigException if it cannot
 * Settings settings = sources.settings("epochal.aggregator");
 * AggregatorConfig config = new AggregatorConfig(settings);  // reads and validates every key
 * settings.requireNoUnknownKeys();     // a typo anywhere under the prefix fails start-up
 * log.info("configuration:\n{}", settings.renderEffective());
 * }</pre>
 *
 * <p><b>Environment names.</b> The key {@code epochal.aggregator.udp-port} is set by {@code
 * EPOCHAL_AGGREGATOR_UDP_PORT}: upper case, {@code .} and {@code -} become {@code _} ({@link
 * #envName}). Because that mapping cannot be reversed, a variable is matched by computing the name
 * of each key a component reads; variables with the prefix's environment name ({@code
 * EPOCHAL_AGGREGATOR_}) that match no read key are reported as unknown by {@link
 * Settings#requireNoUnknownKeys()}.
 *
 * <p><b>Flags</b> are given as full keys. Error messages name a flag as {@code --} followed by the
 * key relative to the {@link Settings} prefix ({@code --udp-port}), unless {@link
 * Builder#flag(String, String, String)} names it.
 *
 * <p>Immutable and thread-safe.
 */
public final class ConfigSources {
  private static final Pattern PREFIX = Pattern.compile("[a-z0-9]+([.-][a-z0-9]+)*");

  private final Map<String, String> defaults;
  private final Map<String, String> file;
  private final String fileOrigin;
  private final Map<String, String> env;
  private final Map<String, String> flags;
  private final Map<String, String> flagNames;

  private ConfigSources(Builder b, Map<String, String> file, String fileOrigin) {
    this.defaults = Map.copyOf(b.defaults);
    this.file = Map.copyOf(file);
    this.fileOrigin = fileOrigin;
    this.env = Map.copyOf(b.env);
    this.flags = Map.copyOf(b.flags);
    this.flagNames = Map.copyOf(b.flagNames);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** An empty set of sources: every key takes its declared default (for docs and tests). */
  public static ConfigSources empty() {
    return builder().build();
  }

  /** Collects the sources. Not thread-safe; later calls of the same method add to earlier ones. */
  public static final class Builder {
    private final Map<String, String> defaults = new LinkedHashMap<>();
    private Path file;
    private final Map<String, String> env = new LinkedHashMap<>();
    private final Map<String, String> flags = new LinkedHashMap<>();
    private final Map<String, String> flagNames = new LinkedHashMap<>();

    private Builder() {}

    /**
     * Full keys and values that override the declared defaults but nothing else, e.g. the data
     * directories {@code epochal standalone} derives from its one {@code --data-dir}.
     */
    public Builder defaults(Map<String, String> values) {
      putAll(defaults, values);
      return this;
    }

    /** A Java properties file (UTF-8) of full keys, read by {@link #build()}; null for none. */
    public Builder file(Path path) {
      this.file = path;
      return this;
    }

    /** The process environment, normally {@code System.getenv()}; nothing is read implicitly. */
    public Builder env(Map<String, String> environment) {
      putAll(env, environment);
      return this;
    }

    /** Command-line values by full key, e.g. {@code epochal.aggregator.udp-port -> 5141}. */
    public Builder flags(Map<String, String> values) {
      putAll(flags, values);
      return this;
    }

    /** One command-line value with the flag's name as the user typed it, for error messages. */
    public Builder flag(String key, String value, String flagName) {
      flags.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      flagNames.put(key, Objects.requireNonNull(flagName, "flagName"));
      return this;
    }

    /**
     * Reads the config file, if any, and freezes the sources.
     *
     * @throws ConfigException if the file cannot be read or is not a valid properties file
     */
    public ConfigSources build() {
      Map<String, String> fileValues = new LinkedHashMap<>();
      String origin = null;
      if (file != null) {
        origin = "file " + file;
        Properties props = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
          props.load(r);
        } catch (IOException | IllegalArgumentException e) {
          throw new ConfigException(null, "config file " + file + " cannot be read: " + e, e);
        }
        for (String name : props.stringPropertyNames()) {
          fileValues.put(name, props.getProperty(name));
        }
      }
      return new ConfigSources(this, fileValues, origin);
    }

    private static void putAll(Map<String, String> into, Map<String, String> from) {
      from.forEach(
          (k, v) -> into.put(Objects.requireNonNull(k, "key"), Objects.requireNonNull(v, k)));
    }
  }

  /**
   * A typed, validating view of the keys under {@code prefix}, e.g. {@code epochal.aggregator}.
   * Each call returns a new view with its own record of read keys.
   *
   * @throws IllegalArgumentException if the prefix is not lower-case dotted/hyphenated words
   */
  public Settings settings(String prefix) {
    if (!PREFIX.matcher(Objects.requireNonNull(prefix, "prefix")).matches()) {
      throw new IllegalArgumentException("invalid config prefix: " + prefix);
    }
    return new Settings(this, prefix);
  }

  /** The environment variable for a full key: {@code epochal.a.udp-port -> EPOCHAL_A_UDP_PORT}. */
  public static String envName(String key) {
    return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  /** A supplied (non-declared-default) value of one key. */
  record Supplied(String key, String value, Settings.Source source, String origin) {}

  /**
   * The value of a full key with the highest precedence, or null if no source has it.
   *
   * @param flagFallbackName the flag name to report when none was given with {@link Builder#flag}
   */
  Supplied lookup(String key, String envName, String flagFallbackName) {
    String v = flags.get(key);
    if (v != null) {
      return new Supplied(key, v, Settings.Source.FLAG, "flag " + flagName(key, flagFallbackName));
    }
    v = env.get(envName);
    if (v != null) {
      return new Supplied(key, v, Settings.Source.ENV, "env " + envName);
    }
    v = file.get(key);
    if (v != null) {
      return new Supplied(key, v, Settings.Source.FILE, fileOrigin);
    }
    v = defaults.get(key);
    if (v != null) {
      return new Supplied(key, v, Settings.Source.DEFAULT, "defaults");
    }
    return null;
  }

  private String flagName(String key, String fallback) {
    return flagNames.getOrDefault(key, fallback);
  }

  /** Every full key supplied by defaults, file or flags that starts with {@code keyPrefix}. */
  List<Supplied> suppliedKeys(String keyPrefix, Function<String, String> flag) {
    List<Supplied> out = new ArrayList<>();
    collect(out, flags, keyPrefix, Settings.Source.FLAG, k -> "flag " + flagName(k, flag.apply(k)));
    collect(out, file, keyPrefix, Settings.Source.FILE, k -> fileOrigin);
    collect(out, defaults, keyPrefix, Settings.Source.DEFAULT, k -> "defaults");
    return out;
  }

  /** Every environment variable whose name starts with {@code envPrefix}. */
  List<Supplied> suppliedEnv(String envPrefix) {
    List<Supplied> out = new ArrayList<>();
    collect(out, env, envPrefix, Settings.Source.ENV, k -> "env");
    return out;
  }

  private static void collect(
      List<Supplied> out,
      Map<String, String> source,
      String keyPrefix,
      Settings.Source kind,
      Function<String, String> origin) {
    source.keySet().stream()
        .filter(k -> k.startsWith(keyPrefix))
        .sorted()
        .forEach(k -> out.add(new Supplied(k, source.get(k), kind, origin.apply(k))));
  }
}
