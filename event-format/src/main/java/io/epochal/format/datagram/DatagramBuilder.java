package io.epochal.format.datagram;

import static io.epochal.format.datagram.DatagramFormat.HEADER_BYTES;
import static io.epochal.format.datagram.DatagramFormat.MAX_DATAGRAM_BYTES;
import static io.epochal.format.datagram.DatagramFormat.MAX_EVENTS;
import static io.epochal.format.datagram.DatagramFormat.TRAILER_BYTES;

import com.esotericsoftware.kryo.io.Output;
import java.nio.ByteBuffer;

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
    return HEADER_BYTES + Output.varIntLength(recordLength, true) + recordLength + TRAILER_BYTES;
  }

  /** Appends one record if it fits; returns false (and changes nothing) if it does not. */
  public boolean tryAdd(byte[] record, int off, int len) {
    if (finished) {
      throw new IllegalStateException("finished; clear() first");
    }
    int need = Output.varIntLength(len, true) + len;
    if (count == MAX_EVENTS || pos + need + TRAILER_BYTES > buf.length) {
      return false;
    }
    pos = DatagramFormat.putVarInt(buf, pos, len);
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
      pos = DatagramFormat.seal(buf, DatagramFormat.VERSION, count, pos);
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
}
