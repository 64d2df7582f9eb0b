package io.epochal.format.blob;

/** Constants of the blob format, versions 1 and 2 (docs/blob-format.md). */
public final class BlobFormat {
  /** First four bytes of every blob: ASCII {@code "EPBL"}. */
  static final byte[] MAGIC = {'E', 'P', 'B', 'L'};

  /** Blob format v1: a row payload (consecutive MAP values, one string table). */
  public static final int VERSION_ROWS = 1;
  /** Blob format v2: a column payload (dictionary, shapes, columns); same header. */
  public static final int VERSION_COLUMNS = 2;
  /** The version writers produce unless told otherwise. */
  public static final int DEFAULT_VERSION = VERSION_COLUMNS;
  /** Payload codec: stored as is. */
  public static final int CODEC_NONE = 0;
  /** Payload codec: one zstd frame. */
  public static final int CODEC_ZSTD = 1;
  /** Flag bit: the payload uses string back-references. */
  public static final int FLAG_DEDUPED_STRINGS = 1;
  /** Fixed part of the header, before the four length-prefixed strings. */
  static final int FIXED_HEADER_BYTES = 32;
  /** Largest header: fixed part plus four strings of at most 64 bytes each. */
  public static final int MAX_HEADER_BYTES = FIXED_HEADER_BYTES + 4 * (1 + 64);
  /** The CRC32C postfix. */
  public static final int CHECKSUM_BYTES = 4;
  /** Largest uncompressed payload a reader accepts and a writer produces. */
  public static final int MAX_UNCOMPRESSED_BYTES = 16 << 20;
  /** Default blob size limit: blobs stay under 500 KB. */
  public static final int DEFAULT_MAX_BLOB_BYTES = 500_000;

  private BlobFormat() {}
}
