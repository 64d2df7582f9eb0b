package io.epochal.common.config;

import io.epochal.common.config.ConfigSources.Supplied;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Typed, validated reads of the configuration keys under one prefix (after ambry's {@code
 * VerifiableProperties}). Each getter declares a key once — name, description, default and
 * allowed range in one expression — and returns the value from the highest-precedence {@link
 * ConfigSources source}, or the default. A component reads all its keys in the constructor of its
 * immutable config class:
 *
 * <pre>{@code
 * record AggregatorConfig(int udpPort, Duration sealAfter, long maxBlobBytes, Path spoolDir) {
 *   AggregatorConfig(Settings s) {
 *     this(s.getInt(ConfigKey.of("udp-port", "UDP port to receive datagrams on."), 5140, 1, 65535),
 *         s.getDuration(ConfigKey.of("seal-after", "How long an epoch stays open."),
 *             Duration.ofSeconds(2), Duration.ofMillis(100), Duration.ofMinutes(5)),
 *         s.getBytes(ConfigKey.of("max-blob-size", "Largest sealed blob."), 500_000, 1024, 4L << 30),
 *         s.getPath(ConfigKey.of("spool.dir", "Spool directory."), Path.of("spool")));
 *   }
 * }
 * }</pre>
 *
 * <p>Forms accepted: integers in decimal; booleans {@code true}/{@code false} (any case);
 * durations {@code 250ms}, {@code 2s}, {@code 5m}, {@code 1h}, {@code 1d}, {@code 0} or ISO-8601
 * {@code PT2S}; byte sizes as a count or with a unit, decimal {@code KB MB GB TB} (1000-based) or
 * binary {@code KiB MiB GiB TiB} (1024-based); enums by constant name in any case with {@code -}
 * for {@code _}; lists comma-separated. Supplied values are trimmed.
 *
 * <p>Every read is recorded: {@link #requireNoUnknownKeys()} fails when a key under the prefix was
 * supplied but never read (a typo, a removed key), {@link #renderEffective()} shows each value with
 * its source and {@link #renderDocumentation()} writes a commented properties template. So read
 * every key unconditionally, then decide what to do with it.
 *
 * <p>Errors: a supplied value that is invalid throws {@link ConfigException}, e.g. {@code
 * epochal.aggregator.udp-port = 70000 (from flag --udp-port): must be an integer in [1, 65535]}; a
 * default outside its own range, or min &gt; max, is a programming error and throws {@link
 * IllegalArgumentException}.
 *
 * <p>Thread-safe; values are immutable, the record of reads is synchronised.
 */
public final class Settings {

  /** Where an effective value came from. */
  public enum Source {
    /** Declared at the read, or given to {@link ConfigSources.Builder#defaults}. */
    DEFAULT,
    /** The config file. */
    FILE,
    /** An environment variable. */
    ENV,
    /** A command-line flag. */
    FLAG
  }

  /**
   * One key as read: its effective value and documentation.
   *
   * @param key the full key, e.g. {@code epochal.aggregator.udp-port}
   * @param value the effective value as supplied or the formatted default; {@code ****} for
   *     secrets; null when unset without a default
   * @param source where the value came from
   * @param origin human-readable source: {@code default}, {@code defaults}, {@code file <path>},
   *     {@code env <NAME>} or {@code flag --<name>}
   * @param defaultValue the formatted declared default, or null if there is none
   * @param form what is allowed, e.g. {@code an integer in [1, 65535]}
   * @param description the key's description
   * @param envName the environment variable that sets the key
   */
  public record Entry(
      String key,
      String value,
      Source source,
      String origin,
      String defaultValue,
      String form,
      String description,
      String envName) {}

  private static final String MASK = "****";

  private final ConfigSources sources;
  /** The prefix given to {@link ConfigSources#settings}; flags are named relative to it. */
  private final String root;

  private final String prefix;
  private final Reads reads;

  /** Read keys, shared by a settings object and its {@link #sub} views. */
  private static final class Reads {
    final Map<String, Entry> entries = new LinkedHashMap<>();
    final Map<String, String> keyByEnvName = new LinkedHashMap<>();
  }

  Settings(ConfigSources sources, String prefix) {
    this.sources = sources;
    this.root = prefix;
    this.prefix = prefix;
    this.reads = new Reads();
  }

  private Settings(Settings parent, String prefix) {
    this.sources = parent.sources;
    this.root = parent.root;
    this.prefix = prefix;
    this.reads = parent.reads;
  }

  /** The full prefix of this view, e.g. {@code epochal.aggregator}. */
  public String prefix() {
    return prefix;
  }

  /**
   * A view of the keys under {@code prefix + "." + name} that shares this view's record of reads,
   * so a part's config class can read {@code spool.dir} as {@code dir} and {@link
   * #requireNoUnknownKeys()} on the parent still knows it.
   */
  public Settings sub(String name) {
    ConfigKey.of(name, "sub-prefix"); // validates the name
    return new Settings(this, prefix + "." + name);
  }

  // ---------------------------------------------------------------------------------- getters

  /**
   * An integer in {@code [min, max]}.
   *
   * @throws ConfigException if the supplied value is not an integer in range
   */
  public int getInt(ConfigKey key, int defaultValue, int min, int max) {
    return (int) getLong(key, defaultValue, min, max, "an integer in [" + min + ", " + max + "]");
  }

  /**
   * A long integer in {@code [min, max]}.
   *
   * @throws ConfigException if the supplied value is not an integer in range
   */
  public long getLong(ConfigKey key, long defaultValue, long min, long max) {
    return getLong(key, defaultValue, min, max, "an integer in [" + min + ", " + max + "]");
  }

  private long getLong(ConfigKey key, long defaultValue, long min, long max, String form) {
    checkRange(key, min <= max && defaultValue >= min && defaultValue <= max, defaultValue, form);
    return read(
        key,
        defaultValue,
        Long.toString(defaultValue),
        form,
        text -> {
          long v;
          try {
            v = Long.parseLong(text);
          } catch (NumberFormatException e) {
            throw new Invalid("must be " + form);
          }
          if (v < min || v > max) {
            throw new Invalid("must be " + form);
          }
          return v;
        });
  }

  /**
   * {@code true} or {@code false}, in any case.
   *
   * @throws ConfigException for any other value
   */
  public boolean getBoolean(ConfigKey key, boolean defaultValue) {
    String form = "true or false";
    return read(
        key,
        defaultValue,
        Boolean.toString(defaultValue),
        form,
        text -> {
          if (text.equalsIgnoreCase("true")) {
            return true;
          }
          if (text.equalsIgnoreCase("false")) {
            return false;
          }
          throw new Invalid("must be " + form);
        });
  }

  /**
   * Any string.
   *
   * @param defaultValue the default, or null for an optional key without one (then null is
   *     returned when the key is not supplied)
   */
  public String getString(ConfigKey key, String defaultValue) {
    return read(key, defaultValue, defaultValue, "a string", text -> text);
  }

  /**
   * A string that matches {@code pattern} as a whole.
   *
   * @param defaultValue the default (must match), or null for none
   * @throws ConfigException if the supplied value does not match
   */
  public String getString(ConfigKey key, String defaultValue, Pattern pattern) {
    return getString(
        key, defaultValue, "a string matching " + pattern.pattern(), s -> pattern.matcher(s).matches());
  }

  /**
   * A string accepted by {@code valid}.
   *
   * @param defaultValue the default (must be valid), or null for none
   * @param form what is allowed, completing "must be ...", e.g. {@code "a host name or IP
   *     address"}
   * @throws ConfigException if the supplied value is rejected
   */
  public String getString(ConfigKey key, String defaultValue, String form, Predicate<String> valid) {
    Objects.requireNonNull(form, "form");
    checkRange(key, defaultValue == null || valid.test(defaultValue), defaultValue, form);
    return read(
        key,
        defaultValue,
        defaultValue,
        form,
        text -> {
          if (!valid.test(text)) {
            throw new Invalid("must be " + form);
          }
          return text;
        });
  }

  /**
   * A duration in {@code [min, max]}: {@code 250ms}, {@code 2s}, {@code 5m}, {@code 1h}, {@code
   * 1d}, {@code 0} or ISO-8601 ({@code PT2S}).
   *
   * @throws ConfigException if the supplied value has another form, overflows or is out of range
   */
  public Duration getDuration(ConfigKey key, Duration defaultValue, Duration min, Duration max) {
    String form =
        "a duration in [" + Units.formatDuration(min) + ", " + Units.formatDuration(max) + "]";
    checkRange(
        key,
        min.compareTo(max) <= 0 && defaultValue.compareTo(min) >= 0 && defaultValue.compareTo(max) <= 0,
        defaultValue,
        form);
    return read(
        key,
        defaultValue,
        Units.formatDuration(defaultValue),
        form,
        text -> {
          Duration d;
          try {
            d = Units.parseDuration(text);
          } catch (ArithmeticException tooLarge) {
            throw new Invalid("must be " + form);
          }
          if (d == null) {
            throw new Invalid("must be " + form + ", e.g. " + Units.DURATION_EXAMPLES);
          }
          if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw new Invalid("must be " + form);
          }
          return d;
        });
  }

  /**
   * A byte count in {@code [min, max]}: a plain number, or with a unit {@code B}, {@code KB},
   * {@code MB}, {@code GB}, {@code TB} (powers of 1000) or {@code KiB}, {@code MiB}, {@code GiB},
   * {@code TiB} (powers of 1024), case-insensitive, e.g. {@code 64KiB}, {@code 500KB}.
   *
   * @throws ConfigException if the supplied value has another form (a negative number included),
   *     overflows a long or is out of range
   */
  public long getBytes(ConfigKey key, long defaultValue, long min, long max) {
    String form =
        "a byte size in [" + Units.formatBytes(min) + ", " + Units.formatBytes(max) + "]";
    checkRange(key, min <= max && defaultValue >= min && defaultValue <= max, defaultValue, form);
    return read(
        key,
        defaultValue,
        Units.formatBytes(defaultValue),
        form,
        text -> {
          Long bytes;
          try {
            bytes = Units.parseBytes(text);
          } catch (ArithmeticException tooLarge) {
            throw new Invalid("must be " + form);
          }
          if (bytes == null) {
            throw new Invalid("must be " + form + ", e.g. " + Units.BYTES_EXAMPLES);
          }
          if (bytes < min || bytes > max) {
            throw new Invalid("must be " + form);
          }
          return bytes;
        });
  }

  /**
   * A file system path; not checked for existence.
   *
   * @param defaultValue the default, or null for an optional key without one
   * @throws ConfigException if the supplied value is empty or not a valid path
   */
  public Path getPath(ConfigKey key, Path defaultValue) {
    String form = "a file system path";
    return read(
        key,
        defaultValue,
        defaultValue == null ? null : defaultValue.toString(),
        form,
        text -> {
          if (text.isEmpty()) {
            throw new Invalid("must be " + form);
          }
          try {
            return Path.of(text);
          } catch (InvalidPathException e) {
            throw new Invalid("must be " + form);
          }
        });
  }

  /**
   * A constant of {@code type}, named in any case with {@code -} or {@code _}: {@code kafka},
   * {@code KAFKA}, {@code local-spool}.
   *
   * @throws ConfigException if the supplied value names no constant
   */
  public <E extends Enum<E>> E getEnum(ConfigKey key, Class<E> type, E defaultValue) {
    Objects.requireNonNull(defaultValue, "defaultValue");
    E[] constants = type.getEnumConstants();
    String form =
        "one of " + Arrays.stream(constants).map(Settings::enumName).collect(Collectors.joining(", "));
    return read(
        key,
        defaultValue,
        enumName(defaultValue),
        form,
        text -> {
          String wanted = text.replace('-', '_');
          for (E c : constants) {
            if (c.name().equalsIgnoreCase(wanted)) {
              return c;
            }
          }
          throw new Invalid("must be " + form);
        });
  }

  private static String enumName(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * A comma-separated list; elements are trimmed and empty elements dropped, so an empty value is
   * an empty list.
   */
  public List<String> getList(ConfigKey key, List<String> defaultValue) {
    List<String> def = List.copyOf(defaultValue);
    return read(
        key,
        def,
        String.join(",", def),
        "a comma-separated list",
        text ->
            Arrays.stream(text.split(",", -1))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .collect(Collectors.toUnmodifiableList()));
  }

  // ---------------------------------------------------------------------------- checks, output

  /**
   * A {@link ConfigException} in the standard form for a check across keys, e.g. {@code throw
   * settings.invalid(MAX_BYTES, "must be at least min-bytes (64KiB)")}.
   *
   * @param requirement what the value must satisfy, starting with "must"
   * @throws IllegalStateException if the key was not read through this view before
   */
  public ConfigException invalid(ConfigKey key, String requirement) {
    String full = fullKey(key);
    Entry e;
    synchronized (reads) {
      e = reads.entries.get(full);
    }
    if (e == null) {
      throw new IllegalStateException(full + " must be read before it is reported invalid");
    }
    String where = e.origin().equals("default") ? "default" : "from " + e.origin();
    return new ConfigException(full, full + " = " + show(e.value()) + " (" + where + "): " + requirement);
  }

  /**
   * Fails if a key under this view's prefix was supplied — in the file, as a flag, in the
   * defaults or as an environment variable named with the prefix — but never read.
   *
   * @throws ConfigException listing every unknown key with its source, and the known keys
   */
  public void requireNoUnknownKeys() {
    Set<String> knownKeys;
    Set<String> knownEnv;
    synchronized (reads) {
      knownKeys = new TreeSet<>(reads.entries.keySet());
      knownEnv = Set.copyOf(reads.keyByEnvName.keySet());
    }
    List<String> unknown = new ArrayList<>();
    String unknownKey = null;
    for (Supplied s : sources.suppliedKeys(prefix + ".", this::defaultFlagName)) {
      if (!knownKeys.contains(s.key())) {
        unknown.add(s.key() + " (from " + s.origin() + ")");
        unknownKey = s.key();
      }
    }
    for (Supplied s : sources.suppliedEnv(ConfigSources.envName(prefix) + "_")) {
      if (!knownEnv.contains(s.key())) {
        unknown.add(s.key() + " (from env)");
        unknownKey = s.key();
      }
    }
    if (unknown.isEmpty()) {
      return;
    }
    String known =
        knownKeys.stream().filter(k -> k.startsWith(prefix + ".")).collect(Collectors.joining(", "));
    throw new ConfigException(
        unknown.size() == 1 ? unknownKey : null,
        (unknown.size() == 1 ? "unknown configuration key under " : "unknown configuration keys under ")
            + prefix
            + ": "
            + String.join(", ", unknown)
            + "; known keys: "
            + (known.isEmpty() ? "none" : known));
  }

  /** Every key read so far (through this view or its {@link #sub} views), in reading order. */
  public List<Entry> entries() {
    synchronized (reads) {
      return List.copyOf(reads.entries.values());
    }
  }

  /**
   * The effective configuration, one line per read key, for {@code --print-config} or a start-up
   * log line: {@code epochal.aggregator.udp-port = 5141 (from flag --udp-port)}.
   */
  public String renderEffective() {
    StringBuilder sb = new StringBuilder();
    for (Entry e : entries()) {
      String where = e.origin().equals("default") ? "default" : "from " + e.origin();
      sb.append(e.key()).append(" = ").append(show(e.value())).append(" (").append(where).append(")\n");
    }
    return sb.toString();
  }

  /**
   * Documentation of every read key as a commented properties template: description, allowed form,
   * environment variable and the default as a commented-out assignment. Render it from a config
   * built over {@link ConfigSources#empty()} so the defaults show.
   */
  public String renderDocumentation() {
    StringBuilder sb = new StringBuilder();
    for (Entry e : entries()) {
      if (sb.length() > 0) {
        sb.append('\n');
      }
      sb.append("# ").append(e.description()).append('\n');
      sb.append("# Allowed: ").append(e.form());
      if (e.defaultValue() == null) {
        sb.append("; no default");
      }
      sb.append(". Environment: ").append(e.envName()).append(".\n");
      sb.append('#').append(e.key()).append('=');
      if (e.defaultValue() != null) {
        sb.append(e.defaultValue());
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    return "Settings[" + prefix + "]";
  }

  // ---------------------------------------------------------------------------------- internals

  /** Parses one trimmed supplied value or says what is required. */
  @FunctionalInterface
  private interface Parser<T> {
    T parse(String text) throws Invalid;
  }

  /** A rejected value; the message is the requirement, e.g. "must be true or false". */
  private static final class Invalid extends Exception {
    private static final long serialVersionUID = 1L;

    Invalid(String requirement) {
      super(requirement, null, false, false);
    }
  }

  private <T> T read(ConfigKey key, T defaultValue, String defaultShown, String form, Parser<T> parser) {
    String full = fullKey(key);
    String envName = ConfigSources.envName(full);
    Supplied supplied = sources.lookup(full, envName, defaultFlagName(full));
    String def = key.secret() && defaultShown != null ? MASK : defaultShown;
    if (supplied == null) {
      record(new Entry(full, def, Source.DEFAULT, "default", def, form, key.description(), envName));
      return defaultValue;
    }
    String text = supplied.value().trim();
    String shown = key.secret() ? MASK : text;
    record(
        new Entry(full, shown, supplied.source(), supplied.origin(), def, form, key.description(), envName));
    try {
      return parser.parse(text);
    } catch (Invalid e) {
      throw new ConfigException(
          full, full + " = " + show(shown) + " (from " + supplied.origin() + "): " + e.getMessage());
    }
  }

  private void record(Entry entry) {
    synchronized (reads) {
      String owner = reads.keyByEnvName.putIfAbsent(entry.envName(), entry.key());
      if (owner != null && !owner.equals(entry.key())) {
        throw new IllegalStateException(
            "keys " + owner + " and " + entry.key() + " share the environment variable " + entry.envName());
      }
      reads.entries.put(entry.key(), entry);
    }
  }

  private String fullKey(ConfigKey key) {
    return prefix + "." + key.name();
  }

  private String defaultFlagName(String fullKey) {
    return "--" + fullKey.substring(root.length() + 1);
  }

  private static String show(String value) {
    if (value == null) {
      return "(none)";
    }
    return value.isEmpty() ? "\"\"" : value;
  }

  private static void checkRange(ConfigKey key, boolean ok, Object defaultValue, String form) {
    if (!ok) {
      throw new IllegalArgumentException(
          "config key " + key.name() + ": default " + defaultValue + " is not " + form);
    }
  }
}
