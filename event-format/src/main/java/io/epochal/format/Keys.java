package io.epochal.format;

/** Parsing helpers shared by the key records. */
final class Keys {
  private Keys() {}

  static String[] split(String key, char sep, int parts, String what) throws FormatException {
    if (key == null) {
      throw new FormatException(FormatException.Reason.INVALID_TAG, what + " is null");
    }
    String[] out = new String[parts];
    int start = 0;
    for (int i = 0; i < parts - 1; i++) {
      int at = key.indexOf(sep, start);
      if (at < 0) {
        throw new FormatException(
            FormatException.Reason.INVALID_TAG,
            what + " \"" + shorten(key) + "\" has " + (i + 1) + " parts, expected " + parts);
      }
      out[i] = key.substring(start, at);
      start = at + 1;
    }
    out[parts - 1] = key.substring(start);
    if (out[parts - 1].indexOf(sep) >= 0) {
      throw new FormatException(
          FormatException.Reason.INVALID_TAG,
          what + " \"" + shorten(key) + "\" has more than " + parts + " parts");
    }
    return out;
  }

  static long parseEpoch(String digits, String key) throws FormatException {
    int n = digits.length();
    if (n == 0 || n > 19 || (n > 1 && digits.charAt(0) == '0')) {
      throw new FormatException(
          FormatException.Reason.INVALID_TAG, "bad epoch in key \"" + shorten(key) + "\"");
    }
    long v = 0;
    for (int i = 0; i < n; i++) {
      char c = digits.charAt(i);
      if (c < '0' || c > '9') {
        throw new FormatException(
            FormatException.Reason.INVALID_TAG, "bad epoch in key \"" + shorten(key) + "\"");
      }
      v = v * 10 + (c - '0');
      if (v < 0) {
        throw new FormatException(
            FormatException.Reason.INVALID_TAG, "epoch out of range in key \"" + shorten(key) + "\"");
      }
    }
    return v;
  }

  static String shorten(String s) {
    return s.length() > 120 ? s.substring(0, 120) + "..." : s;
  }
}
