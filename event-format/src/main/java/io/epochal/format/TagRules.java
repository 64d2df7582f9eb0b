package io.epochal.format;

import java.nio.charset.StandardCharsets;

/**
 * The rules every tag ({@code dc}, {@code type}, {@code subtype}) and chunk token obeys, so that keys
 * built from them parse back unambiguously.
 *
 * <p>A tag is at most {@link #MAX_TAG_BYTES} bytes of UTF-8 and contains none of {@code : | /},
 * whitespace or control characters. {@code dc}, {@code type} and chunk tokens must not be empty;
 * {@code subtype} may be.
 */
public final class TagRules {
  /** Longest tag, in UTF-8 bytes. */
  public static final int MAX_TAG_BYTES = 64;

  private TagRules() {}

  /**
   * Returns {@code value} if it is a valid tag, else throws {@link IllegalArgumentException} naming
   * the field and the offending character.
   */
  public static String requireValid(String field, String value, boolean mayBeEmpty) {
    String problem = problem(value, mayBeEmpty);
    if (problem != null) {
      throw new IllegalArgumentException("invalid " + field + " " + quote(value) + ": " + problem);
    }
    return value;
  }

  /** Like {@link #requireValid} for decoders: throws the checked {@link FormatException}. */
  public static String checkValid(String field, String value, boolean mayBeEmpty)
      throws FormatException {
    String problem = problem(value, mayBeEmpty);
    if (problem != null) {
      throw new FormatException(
          FormatException.Reason.INVALID_TAG, "invalid " + field + " " + quote(value) + ": " + problem);
    }
    return value;
  }

  /** Whether {@code value} is a valid tag. */
  public static boolean isValid(String value, boolean mayBeEmpty) {
    return problem(value, mayBeEmpty) == null;
  }

  /** A description of what is wrong with {@code value}, or {@code null} if it is valid. */
  static String problem(String value, boolean mayBeEmpty) {
    if (value == null) {
      return "must not be null";
    }
    int n = value.length();
    if (n == 0) {
      return mayBeEmpty ? null : "must not be empty";
    }
    if (n > MAX_TAG_BYTES) {
      return "longer than " + MAX_TAG_BYTES + " bytes";
    }
    boolean ascii = true;
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (c >= 0x80) {
        ascii = false;
      }
      if (c == ':' || c == '|' || c == '/') {
        return "must not contain '" + c + "'";
      }
      if (Character.isWhitespace(c) || Character.isSpaceChar(c)) {
        return "must not contain whitespace (at index " + i + ")";
      }
      if (Character.isISOControl(c)) {
        return "must not contain control characters (at index " + i + ")";
      }
      if (Character.isSurrogate(c)) {
        boolean paired =
            Character.isHighSurrogate(c)
                && i + 1 < n
                && Character.isLowSurrogate(value.charAt(i + 1));
        if (!paired) {
          return "contains an unpaired surrogate (at index " + i + ")";
        }
        i++;
      }
    }
    if (!ascii && value.getBytes(StandardCharsets.UTF_8).length > MAX_TAG_BYTES) {
      return "longer than " + MAX_TAG_BYTES + " bytes";
    }
    return null;
  }

  private static String quote(String value) {
    if (value == null) {
      return "null";
    }
    String shown = value.length() > 80 ? value.substring(0, 80) + "..." : value;
    StringBuilder b = new StringBuilder(shown.length() + 2).append('"');
    for (int i = 0; i < shown.length(); i++) {
      char c = shown.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }
}
