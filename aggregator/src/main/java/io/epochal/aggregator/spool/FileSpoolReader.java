package io.epochal.aggregator.spool;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * A {@link SpoolReader} over a {@link SegmentSource} (a {@link FileSpool}, or a {@link SpoolTail} in
 * another process): one open segment file and a 64 KiB read buffer.
 */
final class FileSpoolReader implements SpoolReader {
  private static final int READ_BUFFER_BYTES = 64 << 10;

  private final SegmentSource spool;
  private final ByteBuffer header = RecordFormat.newHeaderBuffer();
  private final ByteBuffer tmp = ByteBuffer.allocateDirect(READ_BUFFER_BYTES);
  private final CRC32C crc = new CRC32C();
  private long position;
  private Segment segment;
  private FileChannel channel;
  private boolean closed;

  FileSpoolReader(SegmentSource spool, long position) {
    this.spool = spool;
    this.position = position;
  }

  @Override
  public SpoolRecord next() throws IOException {
    if (closed) {
      throw new IllegalStateException("spool reader is closed");
    }
    spool.checkOpen();
    long limit = spool.durableFor(position);
    if (position >= limit) {
      return null;
    }
    for (boolean retried = false; ; retried = true) {
      if (segment == null || position >= segment.end()) {
        moveTo(position);
        if (position >= limit) {
          return null;
        }
      }
      try {
        return read(limit);
      } catch (SpoolCorruptException e) {
        // A source in another process may hold a stale size for a segment that the writer's recovery
        // cut and then rolled: look at the files again, once, before calling the record corrupt.
        if (retried || !spool.refreshSegments()) {
          throw e;
        }
        closeChannel();
      }
    }
  }

  private SpoolRecord read(long limit) throws IOException {
    Segment s = segment;
    long offset = position - s.base;
    long available = Math.min(s.end(), limit) - position;
    header.clear();
    int read = RecordFormat.readFully(channel, header, offset);
    String problem = RecordFormat.checkHeader(header, read, available);
    if (problem != null) {
      throw new SpoolCorruptException(s.path, offset, position, problem);
    }
    long recordBytes = RecordFormat.recordBytes(header);
    int keyLength = RecordFormat.keyLength(header);
    byte[] key = new byte[keyLength];
    byte[] blob = new byte[(int) (recordBytes - RecordFormat.HEADER_BYTES - keyLength)];
    RecordFormat.crcHeader(crc, header);
    try {
      RecordFormat.readInto(channel, offset + RecordFormat.HEADER_BYTES, key, tmp, crc);
      RecordFormat.readInto(channel, offset + RecordFormat.HEADER_BYTES + keyLength, blob, tmp, crc);
    } catch (EOFException e) {
      throw new SpoolCorruptException(s.path, offset, position, "file shorter than the record: " + e.getMessage());
    }
    int computed = (int) crc.getValue();
    int stored = RecordFormat.storedCrc(header);
    if (computed != stored) {
      throw new SpoolCorruptException(s.path, offset, position,
          String.format("CRC32C mismatch (stored 0x%08x, computed 0x%08x)", stored, computed));
    }
    SpoolRecord r = new SpoolRecord(position, position + recordBytes, new String(key, StandardCharsets.UTF_8), blob);
    position += recordBytes;
    return r;
  }

  /** Opens the segment holding {@code pos}, skipping a gap left by a recovery cut. */
  private void moveTo(long pos) throws IOException {
    Segment s = spool.segmentAtOrAfter(pos);
    long acked = spool.acknowledgedPosition();
    if (s == null || (s.base > pos && pos < acked)) {
      throw new IOException("spool " + spool.directory() + ": the records at position " + pos
          + " were acknowledged (up to " + acked + ") and deleted while this reader lagged behind");
    }
    if (s != segment) {
      closeChannel();
      try {
        channel = FileChannel.open(s.path, StandardOpenOption.READ);
      } catch (NoSuchFileException e) {
        throw new IOException("spool " + spool.directory() + ": segment " + s.path.getFileName() + " holding position "
            + pos + " was acknowledged (up to " + spool.acknowledgedPosition() + ") and deleted", e);
      }
      segment = s;
    }
    position = Math.max(pos, s.base);
  }

  @Override
  public long position() {
    return position;
  }

  @Override
  public void close() throws IOException {
    closed = true;
    closeChannel();
  }

  private void closeChannel() throws IOException {
    FileChannel ch = channel;
    channel = null;
    segment = null;
    if (ch != null) {
      ch.close();
    }
  }
}
