package io.epochal.common.config;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parsing and formatting of durations ({@code 250ms}) and byte sizes ({@code 64KiB}). */
final class Units {
  static final String DURATION_EXAMPLES = "250ms, 2s, 5m, 1h, 1d or ISO-8601 PT2S";
  static final String BYTES_EXAMPLES = "1048576, 64KiB, 512MiB, 4GiB or 500KB";

  private static final Pattern SHORT_DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");
  private static final Pattern BYTES = Pattern.compile("(\\d+)\\s*([A-Za-z]*)");
  private static final Map<String, Long> BYTE_UNITS =
      Map.ofEntries(
          Map.entry("", 1L),
          Map.entry("b", 1L),
          Map.entry("kb", 1_000L),
          Map.entry("mb", 1_000_000L),
          Map.entry("gb", 1_000_000_000L),
          Map.entry("tb", 1_000_000_000_000L),
          Map.entry("kib", 1L << 10),
          Map.entry("mib", 1L << 20),
          Map.entry("gib", 1L << 30),
          Map.entry("tib", 1L << 40));
  private static final long[] FORMAT_UNITS = {
    1L << 40, 1L << 30, 1L << 20, 1L << 10, 1_000_000_000_000L, 1_000_000_000L, 1_000_000L, 1_000L
  };
  private static final String[] FORMAT_NAMES = {"TiB", "GiB", "MiB", "KiB", "TB", "GB", "MB", "KB"};

  private Units() {}

  /**
   * Parses {@code 250ms}, {@code 2s}, {@code 5m}, {@code 1h}, {@code 1d}, {@code 0} or ISO-8601
   * ({@code PT2S}).
   *
   * @return the duration, or null if the text has none of these forms
   * @throws ArithmeticException if the number is too large for a {@link Duration}
   */
  static Duration parseDuration(String text) {
    if (text.equals("0")) {
      return Duration.ZERO;
    }
    Matcher m = SHORT_DURATION.matcher(text);
    if (m.matches()) {
      long n = parseDigits(m.group(1));
      switch (m.group(2)) {
        case "ms":
          return Duration.ofMillis(n);
        case "s":
          return Duration.ofSeconds(n);
        case "m":
          return Duration.ofSeconds(Math.multiplyExact(n, 60L));
        case "h":
          return Duration.ofSeconds(Math.multiplyExact(n, 3_600L));
        default:
          return Duration.ofSeconds(Math.multiplyExact(n, 86_400L));
      }
    }
    String upper = text.toUpperCase(Locale.ROOT);
    if (upper.startsWith("P") || upper.startsWith("-P") || upper.startsWith("+P")) {
      try {
        return Duration.parse(text);
      } catch (DateTimeParseException e) {
        return null;
      }
    }
    return null;
  }

  /** The shortest exact form: {@code 250ms}, {@code 2s}, {@code 5m}, {@code 1h}, {@code 1d}. */
  static String formatDuration(Duration d) {
    if (d.isZero()) {
      return "0";
    }
    if (d.isNegative()) {
      return d.toString();
    }
    long seconds = d.getSeconds();
    if (d.getNano() == 0) {
      if (seconds % 86_400 == 0) {
        return seconds / 86_400 + "d";
      }
      if (seconds % 3_600 == 0) {
        return seconds / 3_600 + "h";
      }
      if (seconds % 60 == 0) {
        return seconds / 60 + "m";
      }
      return seconds + "s";
    }
    if (d.getNano() % 1_000_000 == 0 && seconds < Long.MAX_VALUE / 1_000 - 1) {
      return (seconds * 1_000 + d.getNano() / 1_000_000) + "ms";
    }
    return d.toString();
  }

  /**
   * Parses a byte count, optionally with a unit: {@code B}, decimal {@code KB MB GB TB} (powers
   * of 1000) or binary {@code KiB MiB GiB TiB} (powers of 1024); units are case-insensitive.
   *
   * @return the byte count, or null if the text has no such form (negative numbers included)
   * @throws ArithmeticException if the count does not fit in a {@code long}
   */
  static Long parseBytes(String text) {
    Matcher m = BYTES.matcher(text);
    if (!m.matches()) {
      return null;
    }
    Long unit = BYTE_UNITS.get(m.group(2).toLowerCase(Locale.ROOT));
    if (unit == null) {
      return null;
    }
    return Math.multiplyExact(parseDigits(m.group(1)), unit);
  }

  /** The shortest exact form, binary units first: {@code 64KiB}, {@code 500KB}, {@code 1023}. */
  static String formatBytes(long bytes) {
    if (bytes > 0) {
      for (int i = 0; i < FORMAT_UNITS.length; i++) {
        if (bytes % FORMAT_UNITS[i] == 0) {
          return bytes / FORMAT_UNITS[i] + FORMAT_NAMES[i];
        }
      }
    }
    return Long.toString(bytes);
  }

  /** Parses ASCII digits; a number with too many digits is an overflow, not a syntax error. */
  private static long parseDigits(String digits) {
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException e) {
      throw new ArithmeticException("too large: " + digits);
    }
  }
}
