package io.epochal.format.datagram;

import static io.epochal.format.datagram.DatagramFormat.HEADER_BYTES;
import static io.epochal.format.datagram.DatagramFormat.MAX_DATAGRAM_BYTES;
import static io.epochal.format.datagram.DatagramFormat.MAX_EVENTS;
import static io.epochal.format.datagram.DatagramFormat.TRAILER_BYTES;

import com.esotericsoftware.kryo.io.Output;
import io.epochal.format.codec.DatagramStringsBuilder;
import io.epochal.format.codec.EventEncoder;
import io.epochal.format.codec.EventTooLargeException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Encodes events straight into one datagram of at most {@code capacity} bytes, in format v2 (a
 * string section that the records reference: each key, value and tag string travels once per
 * datagram) or v1 (every string spelled out in every record, for aggregators older than v2).
 * Usage: {@link #tryAdd} until it returns false, {@code length = }{@link #finish}, send {@link
 * #buffer()}{@code [0, length)}, {@link #clear()}. Not thread-safe.
 *
 * <p>In v2 a record's bytes depend on the strings the datagram already holds, so an event is
 * encoded into the datagram it travels in: when it does not fit, it is undone (bytes and the
 * strings it added) and must be added again to the next datagram, which encodes it again.
 */
public final class DatagramWriter {
  /** Largest record that fits alone in a datagram. */
  public static final int MAX_RECORD_BYTES = MAX_DATAGRAM_BYTES - HEADER_BYTES - TRAILER_BYTES - 3;

  private final int capacity;
  private final int version;
  /** v2: the string section; null in v1. */
  private final DatagramStringsBuilder strings;
  /** One record body at a time. */
  private final EventEncoder record;
  /** Framed records (length, body), in order. */
  private byte[] records;
  private int recordsLength;
  private int count;
  /** The finished datagram's buffer (capacity bytes, reused); valid while {@link #finished}. */
  private byte[] out;
  private boolean finished;
  private int outLength;

  /**
   * @param capacity largest datagram this writer makes, 12 to {@link DatagramFormat#MAX_DATAGRAM_BYTES}
   * @param version {@link DatagramFormat#VERSION_2} or {@link DatagramFormat#VERSION} (1)
   */
  public DatagramWriter(int capacity, int version) {
    if (capacity < HEADER_BYTES + TRAILER_BYTES + 2 || capacity > MAX_DATAGRAM_BYTES) {
      throw new IllegalArgumentException("datagram capacity " + capacity + " outside [12, " + MAX_DATAGRAM_BYTES + "]");
    }
    if (version != DatagramFormat.VERSION && version != DatagramFormat.VERSION_2) {
      throw new IllegalArgumentException("datagram version " + version + " is not 1 or 2");
    }
    this.capacity = capacity;
    this.version = version;
    this.strings = version == DatagramFormat.VERSION_2 ? new DatagramStringsBuilder() : null;
    this.record = strings != null
        ? new EventEncoder(256, MAX_RECORD_BYTES, strings)
        : new EventEncoder(256, MAX_RECORD_BYTES, false);
    this.records = new byte[Math.min(capacity, 4096)];
  }

  /** Bytes of a datagram with a string section of {@code stringBytes} and framed records of {@code recordsLength}. */
  private static int sizeWith(int stringBytes, int recordsLength) {
    return HEADER_BYTES + stringBytes + recordsLength + TRAILER_BYTES;
  }

  /**
   * Encodes one event with its tags (which must be valid, see {@link io.epochal.format.TagRules})
   * and appends it if the datagram then still fits its capacity; returns false, and changes
   * nothing, if it does not.
   *
   * @throws IllegalArgumentException the event holds an unsupported value (message names the
   *     field); nothing changed
   * @throws EventTooLargeException the record alone exceeds {@link #MAX_RECORD_BYTES}; nothing changed
   */
  public boolean tryAdd(long epoch, String dc, String type, String subtype, Map<String, ?> event) {
    if (finished) {
      throw new IllegalStateException("finished; clear() first");
    }
    if (count == MAX_EVENTS) {
      return false;
    }
    int mark = strings == null ? 0 : strings.size();
    try {
      record.reset();
      record.writeVarLong(epoch);
      record.writeString(dc);
      record.writeString(type);
      record.writeString(subtype);
      record.writeEvent(event);
    } catch (RuntimeException e) {
      undo(mark);
      throw e;
    }
    int len = record.position();
    int framed = Output.varIntLength(len, true) + len;
    int stringBytes = strings == null ? 0 : strings.sectionBytes();
    if (sizeWith(stringBytes, recordsLength + framed) > capacity) {
      undo(mark);
      return false;
    }
    if (records.length < recordsLength + framed) {
      records = Arrays.copyOf(records, Math.min(Math.max(recordsLength + framed, records.length * 2), MAX_DATAGRAM_BYTES));
    }
    int p = putVarInt(records, recordsLength, len);
    System.arraycopy(record.buffer(), 0, records, p, len);
    recordsLength = p + len;
    count++;
    return true;
  }

  private void undo(int mark) {
    if (strings != null) {
      strings.truncate(mark);
    }
  }

  public int count() {
    return count;
  }

  public boolean isEmpty() {
    return count == 0;
  }

  public int capacity() {
    return capacity;
  }

  public int version() {
    return version;
  }

  /** Bytes the datagram would have if finished now. */
  public int size() {
    return sizeWith(strings == null ? 0 : strings.sectionBytes(), recordsLength);
  }

  /** Writes header, string section, records and checksum; returns the datagram's length in {@link #buffer()}. */
  public int finish() {
    if (!finished) {
      if (out == null) {
        out = new byte[capacity];
      }
      int p = HEADER_BYTES;
      if (strings != null) {
        p = strings.writeTo(out, p);
      }
      System.arraycopy(records, 0, out, p, recordsLength);
      outLength = seal(out, version, count, p + recordsLength);
      finished = true;
    }
    return outLength;
  }

  /**
   * The datagram's buffer, finishing it first if needed: bytes {@code [0, finish())} are the
   * datagram, valid until {@link #clear()}.
   */
  public byte[] buffer() {
    finish();
    return out;
  }

  /** The finished datagram as a buffer positioned for sending. */
  public ByteBuffer asByteBuffer() {
    int n = finish();
    return ByteBuffer.wrap(out, 0, n);
  }

  /** Empties the datagram for reuse. */
  public void clear() {
    recordsLength = 0;
    count = 0;
    finished = false;
    outLength = 0;
    if (strings != null) {
      strings.clear();
    }
  }

  /** Writes {@code v} as an unsigned LEB128 varint at {@code buf[at]}; returns the position after it. */
  private static int putVarInt(byte[] buf, int at, int v) {
    while ((v & ~0x7F) != 0) {
      buf[at++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    buf[at++] = (byte) v;
    return at;
  }

  /**
   * Writes the header (magic, {@code version}, flags 0, {@code count}) at {@code buf[0]} and the
   * CRC32C of {@code buf[0, end)} at {@code buf[end]}; returns the datagram's length, {@code end + 4}.
   */
  private static int seal(byte[] buf, int version, int count, int end) {
    buf[0] = (byte) DatagramFormat.MAGIC_0;
    buf[1] = (byte) DatagramFormat.MAGIC_1;
    buf[2] = (byte) version;
    buf[3] = 0;
    buf[4] = (byte) count;
    buf[5] = (byte) (count >>> 8);
    CRC32C crc = new CRC32C();
    crc.update(buf, 0, end);
    int c = (int) crc.getValue();
    buf[end] = (byte) c;
    buf[end + 1] = (byte) (c >>> 8);
    buf[end + 2] = (byte) (c >>> 16);
    buf[end + 3] = (byte) (c >>> 24);
    return end + TRAILER_BYTES;
  }
}
