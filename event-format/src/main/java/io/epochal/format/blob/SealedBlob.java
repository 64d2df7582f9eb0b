package io.epochal.format.blob;

import io.epochal.format.Tags;

/**
 * One finished blob: its bytes (header, payload, checksum) and what it holds. The array is owned by
 * the blob; callers must not modify it.
 *
 * @param tags the tags of every event in it
 * @param bytes the complete blob
 * @param eventCount events in it
 * @param uncompressedBytes payload bytes before compression
 */
public record SealedBlob(Tags tags, byte[] bytes, int eventCount, int uncompressedBytes) {
  /** Compression ratio: uncompressed payload bytes per blob byte. */
  public double compressionRatio() {
    return (double) uncompressedBytes / bytes.length;
  }
}
