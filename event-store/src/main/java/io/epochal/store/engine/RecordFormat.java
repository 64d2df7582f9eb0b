package io.epochal.store.engine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The data-file record (docs/store-format.md), all integers big-endian:
 *
 * <pre>
 * offset size field
 *      0    4 crc32c      CRC-32C of every following byte of the record
 *      4    8 timestamp   write time, ms since the Unix epoch (monotonic per engine)
 *     12    1 flags       bit 0: tombstone; other bits 0
 *     13    2 key length  1..65535
 *     15    4 value len   0..2^31-1
 *     19    k key         engine key: [bucket length u8][bucket UTF-8][key bytes]
 *   19+k    v value
 * </pre>
 */
final class RecordFormat {
  static final int HEADER = 19;
  static final int FLAG_TOMBSTONE = 1;
  static final int MAX_KEY = 0xFFFF;
  /** Earliest plausible timestamp (2001-09-09); used to reject garbage while resynchronising a scan. */
  static final long MIN_TIMESTAMP = 1_000_000_000_000L;
  /** Latest plausible timestamp (year 2286). */
  static final long MAX_TIMESTAMP = 10_000_000_000_000L;

  private RecordFormat() {}

  /** Writes the header (crc left 0) into {@code h} at 0..18. */
  static void header(ByteBuffer h, long timestamp, boolean tombstone, int keyLength, int valueLength) {
    h.putInt(0, 0);
    h.putLong(4, timestamp);
    h.put(12, (byte) (tombstone ? FLAG_TOMBSTONE : 0));
    h.putShort(13, (short) keyLength);
    h.putInt(15, valueLength);
  }

  /** CRC-32C of the header bytes after the crc, the key and the value buffers (positions untouched). */
  static int crc(ByteBuffer header, byte[] key, ByteBuffer[] value) {
    CRC32C crc = new CRC32C();
    crc.update(header.duplicate().position(4).limit(HEADER));
    crc.update(key);
    for (ByteBuffer b : value) {
      crc.update(b.duplicate());
    }
    return (int) crc.getValue();
  }

  /** Whether the 19 header bytes at {@code b}'s position describe a record that could be real. */
  static boolean plausible(ByteBuffer b, int at, long maxRecordBytes) {
    long ts = b.getLong(at + 4);
    int flags = b.get(at + 12) & 0xFF;
    int keyLength = b.getShort(at + 13) & 0xFFFF;
    int valueLength = b.getInt(at + 15);
    return ts >= MIN_TIMESTAMP && ts <= MAX_TIMESTAMP && (flags & ~FLAG_TOMBSTONE) == 0 && keyLength >= 2
        && valueLength >= 0 && HEADER + (long) keyLength + valueLength <= maxRecordBytes;
  }

  /** The engine key of {@code key} in {@code bucket}: [bucket length u8][bucket UTF-8][key]. */
  static byte[] engineKey(String bucket, byte[] key) {
    byte[] b = bucket.getBytes(StandardCharsets.UTF_8);
    if (b.length == 0 || b.length > 255) {
      throw new IllegalArgumentException("bucket must be 1..255 bytes of UTF-8, is " + b.length);
    }
    if (key.length == 0 || 1 + b.length + key.length > MAX_KEY) {
      throw new IllegalArgumentException("key must be 1.." + (MAX_KEY - 1 - b.length) + " bytes, is " + key.length);
    }
    byte[] k = new byte[1 + b.length + key.length];
    k[0] = (byte) b.length;
    System.arraycopy(b, 0, k, 1, b.length);
    System.arraycopy(key, 0, k, 1 + b.length, key.length);
    return k;
  }

  /** The bucket of an engine key. */
  static String bucketOf(byte[] engineKey) {
    return new String(engineKey, 1, engineKey[0] & 0xFF, StandardCharsets.UTF_8);
  }

  /** The key part of an engine key (without the bucket). */
  static byte[] keyOf(byte[] engineKey) {
    int off = 1 + (engineKey[0] & 0xFF);
    byte[] k = new byte[engineKey.length - off];
    System.arraycopy(engineKey, off, k, 0, k.length);
    return k;
  }
}
