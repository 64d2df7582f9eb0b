package io.epochal.aggregator.spool;

/**
 * One record read from a spool: a blob and its store key, at a stable position.
 *
 * @param position where the record starts; the same record has the same position after any restart
 * @param nextPosition where the next record starts: the position to pass to {@link
 *     BlobSource#acknowledge} once this record is delivered
 * @param key the blob's store key, as given to {@link BlobSink#append}
 * @param blob the blob's bytes, verified by checksum; a fresh array owned by the caller
 */
public record SpoolRecord(long position, long nextPosition, String key, byte[] blob) {

  @Override
  public String toString() {
    return "SpoolRecord[position=" + position + ", nextPosition=" + nextPosition + ", key=" + key
        + ", blob=" + blob.length + " bytes]";
  }
}
