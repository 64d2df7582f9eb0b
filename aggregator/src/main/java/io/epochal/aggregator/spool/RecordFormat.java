package io.epochal.aggregator.spool;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The layout of one spool record, as specified in docs/spool-format.md. All integers little-endian.
 *
 * <pre>
 * offset size field
 *  0     4    magic       "EPSR" (45 50 53 52)
 *  4     4    crc         CRC32C of bytes [8, 12 + length)
 *  8     4    length      bytes after this field: 2 + keyLength + blobLength
 * 12     2    keyLength   1..1024
 * 14     k    key         UTF-8
 * 14+k   n    blob
 * </pre>
 *
 * Also the checks a reader applies to untrusted bytes, shared by recovery and {@link SpoolReader}s.
 */
final class RecordFormat {
  static final int MAGIC = 0x52535045; // "EPSR" read as a little-endian u32
  static final int HEADER_BYTES = 14;
  static final int LENGTH_OFFSET = 8;
  static final int MAX_KEY_BYTES = 1024;
  static final int MAX_BLOB_BYTES = 32 << 20;
  static final long MAX_LENGTH = 2L + MAX_KEY_BYTES + MAX_BLOB_BYTES;

  private RecordFormat() {}

  /** Bytes a record with this key and blob takes on disk. */
  static long recordBytes(int keyBytes, int blobBytes) {
    return HEADER_BYTES + (long) keyBytes + blobBytes;
  }

  static ByteBuffer newHeaderBuffer() {
    return ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The CRC32C a record with this key and blob stores: over length, keyLength, key and blob. */
  static int crc(CRC32C crc, byte[] key, byte[] blob) {
    int length = 2 + key.length + blob.length;
    crc.reset();
    crc.update(length);
    crc.update(length >>> 8);
    crc.update(length >>> 16);
    crc.update(length >>> 24);
    crc.update(key.length);
    crc.update(key.length >>> 8);
    crc.update(key, 0, key.length);
    crc.update(blob, 0, blob.length);
    return (int) crc.getValue();
  }

  /** Writes a record's 14-byte header at the buffer's position. */
  static void putHeader(ByteBuffer buf, int crc, int keyBytes, int blobBytes) {
    buf.putInt(MAGIC).putInt(crc).putInt(2 + keyBytes + blobBytes).putShort((short) keyBytes);
  }

  /**
   * Encodes a key as UTF-8, refusing what would not read back as the same string.
   *
   * @throws IllegalArgumentException if the key is empty, longer than {@value #MAX_KEY_BYTES} UTF-8
   *     bytes, or holds an unpaired surrogate
   */
  static byte[] encodeKey(String key) {
    int n = key.length();
    if (n == 0 || n > MAX_KEY_BYTES) {
      throw new IllegalArgumentException("spool key must be 1.." + MAX_KEY_BYTES + " UTF-8 bytes, is " + n + " chars");
    }
    byte[] ascii = new byte[n];
    for (int i = 0; i < n; i++) {
      char c = key.charAt(i);
      if (c >= 0x80) {
        return encodeNonAscii(key);
      }
      ascii[i] = (byte) c;
    }
    return ascii;
  }

  private static byte[] encodeNonAscii(String key) {
    ByteBuffer encoded;
    try {
      encoded = StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).encode(CharBuffer.wrap(key));
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("spool key is not valid Unicode (unpaired surrogate): " + e.getMessage(), e);
    }
    if (encoded.remaining() > MAX_KEY_BYTES) {
      throw new IllegalArgumentException("spool key must be 1.." + MAX_KEY_BYTES + " UTF-8 bytes, is "
          + encoded.remaining());
    }
    byte[] bytes = new byte[encoded.remaining()];
    encoded.get(bytes);
    return bytes;
  }

  /**
   * Checks a header read from a file. {@code header} holds {@code read} bytes from position 0 (all
   * 14 when available); {@code available} is how many bytes the file region holds from the record's
   * start. Returns null if the header is plausible (the CRC still has to be checked), else why not.
   */
  static String checkHeader(ByteBuffer header, int read, long available) {
    if (read < HEADER_BYTES) {
      return "truncated header (" + read + " of " + HEADER_BYTES + " bytes)";
    }
    int magic = header.getInt(0);
    if (magic != MAGIC) {
      boolean zero = true;
      for (int i = 0; i < HEADER_BYTES; i++) {
        zero &= header.get(i) == 0;
      }
      return zero ? "zero-filled header" : String.format("bad magic 0x%08x", magic);
    }
    long length = Integer.toUnsignedLong(header.getInt(LENGTH_OFFSET));
    if (length < 3 || length > MAX_LENGTH) {
      return "length " + length + " out of range [3, " + MAX_LENGTH + "]";
    }
    if (LENGTH_OFFSET + 4 + length > available) {
      return "record of " + (LENGTH_OFFSET + 4 + length) + " bytes extends past the end (" + available
          + " bytes left)";
    }
    int keyLength = Short.toUnsignedInt(header.getShort(12));
    if (keyLength < 1 || keyLength > MAX_KEY_BYTES || 2L + keyLength > length) {
      return "key length " + keyLength + " out of range [1, " + Math.min(MAX_KEY_BYTES, length - 2) + "]";
    }
    return null;
  }

  /** Record bytes of a header that passed {@link #checkHeader}. */
  static long recordBytes(ByteBuffer header) {
    return LENGTH_OFFSET + 4 + Integer.toUnsignedLong(header.getInt(LENGTH_OFFSET));
  }

  static int storedCrc(ByteBuffer header) {
    return header.getInt(4);
  }

  static int keyLength(ByteBuffer header) {
    return Short.toUnsignedInt(header.getShort(12));
  }

  /** Starts the CRC of a record: its length and keyLength fields. */
  static void crcHeader(CRC32C crc, ByteBuffer header) {
    crc.reset();
    crc.update(header.array(), header.arrayOffset() + LENGTH_OFFSET, 6);
  }

  /** Reads up to {@code buf.remaining()} bytes at {@code position}; returns how many (fewer only at EOF). */
  static int readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    int total = 0;
    while (buf.hasRemaining()) {
      int n = ch.read(buf, position + total);
      if (n < 0) {
        break;
      }
      total += n;
    }
    return total;
  }

  /** Feeds {@code length} bytes at {@code position} into {@code crc}, through {@code tmp}. */
  static void crcRange(FileChannel ch, long position, long length, ByteBuffer tmp, CRC32C crc) throws IOException {
    long done = 0;
    while (done < length) {
      tmp.clear();
      if (length - done < tmp.capacity()) {
        tmp.limit((int) (length - done));
      }
      int n = readFully(ch, tmp, position + done);
      if (n < tmp.limit()) {
        throw new EOFException("file ended " + (length - done - n) + " bytes early");
      }
      tmp.flip();
      crc.update(tmp);
      done += n;
    }
  }

  /** Reads {@code dst} whole from {@code position} through {@code tmp}, feeding it to {@code crc}. */
  static void readInto(FileChannel ch, long position, byte[] dst, ByteBuffer tmp, CRC32C crc) throws IOException {
    int done = 0;
    while (done < dst.length) {
      tmp.clear();
      if (dst.length - done < tmp.capacity()) {
        tmp.limit(dst.length - done);
      }
      int n = readFully(ch, tmp, position + done);
      if (n < tmp.limit()) {
        throw new EOFException("file ended " + (dst.length - done - n) + " bytes early");
      }
      tmp.flip();
      tmp.get(dst, done, n);
      done += n;
    }
    crc.update(dst, 0, dst.length);
  }
}
