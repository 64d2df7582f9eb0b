package io.epochal.format;

/**
 * Key of one blob in bucket {@code events}: {@code <epoch>:<dc>:<type>:<subtype>:<chunk>}, e.g.
 * {@code 1413813813:1:WEB:app:a7.0}. The chunk token is unique per writer (aggregator id and
 * sequence), so two writers never produce the same key.
 */
public record BlobKey(long epoch, String dc, String type, String subtype, String chunk) {
  public BlobKey {
    new Tags(epoch, dc, type, subtype);
    TagRules.requireValid("chunk", chunk, false);
  }

  /** The tags shared by every event of this blob. */
  public Tags tags() {
    return new Tags(epoch, dc, type, subtype);
  }

  /** This blob's entry in the epoch metadata of {@link #epochKey()}. */
  public EpochMember member() {
    return new EpochMember(type, subtype, chunk);
  }

  public EpochKey epochKey() {
    return new EpochKey(epoch, dc);
  }

  /** The key as stored: {@code <epoch>:<dc>:<type>:<subtype>:<chunk>}. */
  public String format() {
    return epoch + ":" + dc + ":" + type + ":" + subtype + ":" + chunk;
  }

  @Override
  public String toString() {
    return format();
  }

  /** Parses {@link #format()}'s output; anything else gives a {@link FormatException}. */
  public static BlobKey parse(String key) throws FormatException {
    String[] parts = Keys.split(key, ':', 5, "blob key");
    long epoch = Keys.parseEpoch(parts[0], key);
    TagRules.checkValid("chunk", parts[4], false);
    Tags tags = Tags.checked(epoch, parts[1], parts[2], parts[3]);
    return new BlobKey(tags.epoch(), tags.dc(), tags.type(), tags.subtype(), parts[4]);
  }
}
