package io.epochal.format.datagram;

import static io.epochal.format.datagram.DatagramFormat.HEADER_BYTES;
import static io.epochal.format.datagram.DatagramFormat.MAX_DATAGRAM_BYTES;
import static io.epochal.format.datagram.DatagramFormat.MAX_EVENTS;
import static io.epochal.format.datagram.DatagramFormat.TRAILER_BYTES;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Packs encoded event records (from {@link EventRecords#encode}) into one datagram of at most
 * {@code capacity} bytes. Usage: {@link #tryAdd} until it returns false, {@link #finish}, send
 * {@link #buffer()}{@code [0, length)}, {@link #clear()}. Not thread-safe.
 */
public final class DatagramBuilder {
  private final byte[] buf;
  private int pos = HEADER_BYTES;
  private int count;
  private boolean finished;

  /** @param capacity largest datagram this builder makes, at most {@link DatagramFormat#MAX_DATAGRAM_BYTES} */
  public DatagramBuilder(int capacity) {
    if (capacity < HEADER_BYTES + TRAILER_BYTES + 2 || capacity > MAX_DATAGRAM_BYTES) {
      throw new IllegalArgumentException(
          "datagram capacity " + capacity + " outside [12, " + MAX_DATAGRAM_BYTES + "]");
    }
    this.buf = new byte[capacity];
  }

  /** Bytes a datagram holding only a record of {@code recordLength} bytes takes. */
  public static int sizeAlone(int recordLength) {
    return HEADER_BYTES + varIntSize(recordLength) + recordLength + TRAILER_BYTES;
  }

  /** Appends one record if it fits; returns false (and changes nothing) if it does not. */
  public boolean tryAdd(byte[] record, int off, int len) {
    if (finished) {
      throw new IllegalStateException("finished; clear() first");
    }
    int need = varIntSize(len) + len;
    if (count == MAX_EVENTS || pos + need + TRAILER_BYTES > buf.length) {
      return false;
    }
    int v = len;
    while ((v & ~0x7F) != 0) {
      buf[pos++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    buf[pos++] = (byte) v;
    System.arraycopy(record, off, buf, pos, len);
    pos += len;
    count++;
    return true;
  }

  public int count() {
    return count;
  }

  public boolean isEmpty() {
    return count == 0;
  }

  /** Bytes the datagram would have if finished now. */
  public int size() {
    return pos + TRAILER_BYTES;
  }

  /** Writes header and checksum; returns the datagram's length in {@link #buffer()}. */
  public int finish() {
    if (!finished) {
      buf[0] = (byte) DatagramFormat.MAGIC_0;
      buf[1] = (byte) DatagramFormat.MAGIC_1;
      buf[2] = (byte) DatagramFormat.VERSION;
      buf[3] = 0;
      buf[4] = (byte) count;
      buf[5] = (byte) (count >>> 8);
      CRC32C crc = new CRC32C();
      crc.update(buf, 0, pos);
      int c = (int) crc.getValue();
      buf[pos] = (byte) c;
      buf[pos + 1] = (byte) (c >>> 8);
      buf[pos + 2] = (byte) (c >>> 16);
      buf[pos + 3] = (byte) (c >>> 24);
      pos += TRAILER_BYTES;
      finished = true;
    }
    return pos;
  }

  public byte[] buffer() {
    return buf;
  }

  /** The finished datagram as a buffer positioned for sending. */
  public ByteBuffer asByteBuffer() {
    return ByteBuffer.wrap(buf, 0, finish());
  }

  public void clear() {
    pos = HEADER_BYTES;
    count = 0;
    finished = false;
  }

  static int varIntSize(int v) {
    int n = 1;
    while ((v & ~0x7F) != 0) {
      v >>>= 7;
      n++;
    }
    return n;
  }
}
