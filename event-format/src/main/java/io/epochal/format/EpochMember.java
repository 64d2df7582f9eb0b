package io.epochal.format;

/**
 * One entry of an epoch's metadata: {@code <type>:<subtype>:<chunk>}, naming the blob {@code
 * <epoch>:<dc>:<type>:<subtype>:<chunk>}.
 */
public record EpochMember(String type, String subtype, String chunk) implements Comparable<EpochMember> {
  public EpochMember {
    TagRules.requireValid("type", type, false);
    TagRules.requireValid("subtype", subtype, true);
    TagRules.requireValid("chunk", chunk, false);
  }

  /** The blob key this member names within {@code epochKey}. */
  public BlobKey blobKey(EpochKey epochKey) {
    return new BlobKey(epochKey.epoch(), epochKey.dc(), type, subtype, chunk);
  }

  public String format() {
    return type + ":" + subtype + ":" + chunk;
  }

  @Override
  public String toString() {
    return format();
  }

  public static EpochMember parse(String member) throws FormatException {
    String[] parts = Keys.split(member, ':', 3, "epoch member");
    TagRules.checkValid("type", parts[0], false);
    TagRules.checkValid("subtype", parts[1], true);
    TagRules.checkValid("chunk", parts[2], false);
    return new EpochMember(parts[0], parts[1], parts[2]);
  }

  /** Orders by type, subtype, then chunk (the stable order of a formatted member list). */
  @Override
  public int compareTo(EpochMember o) {
    int c = type.compareTo(o.type);
    if (c == 0) {
      c = subtype.compareTo(o.subtype);
    }
    return c != 0 ? c : chunk.compareTo(o.chunk);
  }
}
