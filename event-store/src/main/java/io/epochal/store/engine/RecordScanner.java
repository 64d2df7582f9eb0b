package io.epochal.store.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Reads a data file record by record, checking every CRC. A record that fails (bad CRC, or sizes
 * that cannot be true) is skipped by searching forward for the next offset where a plausible
 * record with a valid CRC starts; if none follows, the bad bytes are the torn tail of an
 * interrupted write and {@link Result#validEnd} says where the good records end.
 */
final class RecordScanner {
  private static final int WINDOW = 1 << 20;

  /** What one scan found. */
  record Result(long validEnd, long records, long corruptRecords, long corruptBytes, long firstCorruptOffset) {}

  /** Receives each valid record, with its bytes (header included) in {@code record}'s remaining bytes. */
  interface Visitor {
    void record(long offset, int size, long timestamp, boolean tombstone, byte[] key, ByteBuffer record)
        throws IOException;
  }

  private final FileChannel channel;
  private final long size;
  private final long maxRecordBytes;
  private ByteBuffer window = ByteBuffer.allocateDirect(WINDOW);
  private long windowStart = -1;
  private int windowLength;

  RecordScanner(FileChannel channel, long size, long maxRecordBytes) {
    this.channel = channel;
    this.size = size;
    this.maxRecordBytes = maxRecordBytes;
  }

  Result scan(Visitor visitor) throws IOException {
    long pos = 0;
    long records = 0;
    long corrupt = 0;
    long corruptBytes = 0;
    long firstCorrupt = -1;
    while (pos < size) {
      int recordSize = validAt(pos);
      if (recordSize > 0) {
        visit(pos, recordSize, visitor);
        records++;
        pos += recordSize;
        continue;
      }
      long next = resync(pos + 1);
      if (next < 0) {
        return new Result(pos, records, corrupt, corruptBytes, firstCorrupt);
      }
      if (firstCorrupt < 0) {
        firstCorrupt = pos;
      }
      corrupt++;
      corruptBytes += next - pos;
      pos = next;
    }
    return new Result(pos, records, corrupt, corruptBytes, firstCorrupt);
  }

  private long resync(long from) throws IOException {
    for (long p = from; p + RecordFormat.HEADER <= size; p++) {
      if (validAt(p) > 0) {
        return p;
      }
    }
    return -1;
  }

  /** The size of the valid record at {@code pos}, or 0. */
  private int validAt(long pos) throws IOException {
    if (size - pos < RecordFormat.HEADER) {
      return 0;
    }
    ByteBuffer h = bytes(pos, RecordFormat.HEADER);
    int at = h.position();
    if (!RecordFormat.plausible(h, at, maxRecordBytes)) {
      return 0;
    }
    long recordSize = RecordFormat.HEADER + (long) (h.getShort(at + 13) & 0xFFFF) + h.getInt(at + 15);
    if (pos + recordSize > size) {
      return 0;
    }
    int stored = h.getInt(at);
    ByteBuffer r = bytes(pos, (int) recordSize);
    CRC32C crc = new CRC32C();
    crc.update(r.duplicate().position(r.position() + 4));
    return (int) crc.getValue() == stored ? (int) recordSize : 0;
  }

  private void visit(long pos, int recordSize, Visitor visitor) throws IOException {
    ByteBuffer r = bytes(pos, recordSize);
    int at = r.position();
    int keyLength = r.getShort(at + 13) & 0xFFFF;
    byte[] key = new byte[keyLength];
    r.duplicate().position(at + RecordFormat.HEADER).get(key);
    visitor.record(pos, recordSize, r.getLong(at + 4), (r.get(at + 12) & RecordFormat.FLAG_TOMBSTONE) != 0, key,
        r.duplicate());
  }

  /** A view of {@code length} file bytes at {@code pos} (position..limit), valid until the next call. */
  private ByteBuffer bytes(long pos, int length) throws IOException {
    if (windowStart < 0 || pos < windowStart || pos + length > windowStart + windowLength) {
      if (length > window.capacity()) {
        window = ByteBuffer.allocateDirect(Math.max(length, window.capacity() * 2));
      }
      window.clear();
      long n = Math.min(window.capacity(), size - pos);
      window.limit((int) n);
      while (window.hasRemaining()) {
        if (channel.read(window, pos + window.position()) < 0) {
          throw new IOException("file shrank while being scanned");
        }
      }
      windowStart = pos;
      windowLength = (int) n;
    }
    int off = (int) (pos - windowStart);
    return window.duplicate().position(off).limit(off + length);
  }
}
