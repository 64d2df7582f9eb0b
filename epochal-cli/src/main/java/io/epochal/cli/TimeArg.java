package io.epochal.cli;

import java.time.Clock;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Time arguments of the CLI, as Unix seconds: {@code 1413813813}; ISO-8601 {@code
 * 2014-10-20T14:03:33Z}, {@code 2014-10-20T16:03:33+02:00} or, without an offset, UTC {@code
 * 2014-10-20T14:03:33}; {@code now}; or relative to now {@code -90s}, {@code -5m}, {@code -2h},
 * {@code -1d} (also {@code now-5m}).
 */
final class TimeArg {
  private static final Pattern RELATIVE = Pattern.compile("(?:now)?-(\\d{1,9})([smhd])");

  private TimeArg() {}

  /** Parses {@code text}; throws {@link UserException} (usage) naming the option and the forms. */
  static long parse(String option, String text, Clock clock) {
    String t = text.trim();
    long now = clock.millis() / 1000;
    if (t.equals("now")) {
      return now;
    }
    Matcher m = RELATIVE.matcher(t);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      long unit = switch (m.group(2)) {
        case "s" -> 1;
        case "m" -> 60;
        case "h" -> 3600;
        default -> 86_400;
      };
      return now - n * unit;
    }
    if (t.matches("\\d{1,12}")) {
      return Long.parseLong(t);
    }
    try {
      return OffsetDateTime.parse(t).toEpochSecond();
    } catch (DateTimeParseException e) {
      // not with an offset
    }
    try {
      return Instant.parse(t).getEpochSecond();
    } catch (DateTimeParseException e) {
      // not an instant
    }
    try {
      return LocalDateTime.parse(t).toEpochSecond(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      throw new UserException(ExitCodes.USAGE, option + " \"" + text + "\" is not a time: use Unix seconds, "
          + "ISO-8601 (2014-10-20T14:03:33Z), now, or -30s/-5m/-2h/-1d");
    }
  }
}
