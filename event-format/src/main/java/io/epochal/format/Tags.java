package io.epochal.format;

/**
 * The tags every event carries: its creation second ({@code epoch}, UTC Unix seconds), data center,
 * type and subtype (which may be empty). Construction validates them with {@link TagRules}.
 *
 * @param epoch creation second, UTC Unix seconds, {@code >= 0}
 * @param dc data center, non-empty
 * @param type event type, non-empty
 * @param subtype event subtype, possibly empty
 */
public record Tags(long epoch, String dc, String type, String subtype) {
  public Tags {
    if (epoch < 0) {
      throw new IllegalArgumentException("invalid epoch " + epoch + ": must be >= 0");
    }
    TagRules.requireValid("dc", dc, false);
    TagRules.requireValid("type", type, false);
    TagRules.requireValid("subtype", subtype, true);
  }

  /** Validating factory for decoders: throws the checked {@link FormatException}. */
  public static Tags checked(long epoch, String dc, String type, String subtype)
      throws FormatException {
    if (epoch < 0) {
      throw new FormatException(
          FormatException.Reason.INVALID_TAG, "invalid epoch " + epoch + ": must be >= 0");
    }
    TagRules.checkValid("dc", dc, false);
    TagRules.checkValid("type", type, false);
    TagRules.checkValid("subtype", subtype, true);
    return new Tags(epoch, dc, type, subtype);
  }

  /** The same tags for another second. */
  public Tags withEpoch(long otherEpoch) {
    return new Tags(otherEpoch, dc, type, subtype);
  }

  /** The blob key of chunk {@code chunk} of these tags. */
  public BlobKey blobKey(String chunk) {
    return new BlobKey(epoch, dc, type, subtype, chunk);
  }

  /** The epoch metadata key these tags' blobs are listed under. */
  public EpochKey epochKey() {
    return new EpochKey(epoch, dc);
  }
}
