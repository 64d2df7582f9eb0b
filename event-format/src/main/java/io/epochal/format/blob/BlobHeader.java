package io.epochal.format.blob;

import io.epochal.format.Tags;

/**
 * The header of a blob, readable without decompressing or decoding anything.
 *
 * @param version format version (1)
 * @param codec {@link BlobFormat#CODEC_NONE} or {@link BlobFormat#CODEC_ZSTD}
 * @param flags bit 0: {@link BlobFormat#FLAG_DEDUPED_STRINGS}
 * @param dictionaryId zstd dictionary the payload was compressed with; 0 for none
 * @param eventCount number of events in the payload
 * @param uncompressedLength payload bytes after decompression
 * @param storedLength payload bytes as stored
 * @param tags epoch, dc, type and subtype shared by every event of the blob
 * @param producerId the writer (aggregator id) that made the blob
 * @param headerLength bytes of the header; the payload starts here
 */
public record BlobHeader(
    int version,
    int codec,
    int flags,
    int dictionaryId,
    int eventCount,
    int uncompressedLength,
    int storedLength,
    Tags tags,
    String producerId,
    int headerLength) {

  /** Total blob length: header, payload and checksum. */
  public int blobLength() {
    return headerLength + storedLength + BlobFormat.CHECKSUM_BYTES;
  }

  public boolean dedupedStrings() {
    return (flags & BlobFormat.FLAG_DEDUPED_STRINGS) != 0;
  }
}
