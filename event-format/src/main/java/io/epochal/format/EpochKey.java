package io.epochal.format;

/**
 * Key of the epoch metadata in bucket {@code epochs}: {@code <epoch>-<dc>}, e.g. {@code
 * 1413813813-1}. The epoch is digits only, so the first {@code -} ends it; the dc may contain
 * further dashes.
 */
public record EpochKey(long epoch, String dc) {
  public EpochKey {
    if (epoch < 0) {
      throw new IllegalArgumentException("invalid epoch " + epoch + ": must be >= 0");
    }
    TagRules.requireValid("dc", dc, false);
  }

  public String format() {
    return epoch + "-" + dc;
  }

  @Override
  public String toString() {
    return format();
  }

  public static EpochKey parse(String key) throws FormatException {
    if (key == null) {
      throw new FormatException(FormatException.Reason.INVALID_TAG, "epoch key is null");
    }
    int dash = key.indexOf('-');
    if (dash <= 0) {
      throw new FormatException(
          FormatException.Reason.INVALID_TAG,
          "epoch key \"" + Keys.shorten(key) + "\" is not <epoch>-<dc>");
    }
    long epoch = Keys.parseEpoch(key.substring(0, dash), key);
    String dc = TagRules.checkValid("dc", key.substring(dash + 1), false);
    return new EpochKey(epoch, dc);
  }
}
