package io.epochal.format.datagram;

import static io.epochal.format.datagram.DatagramFormat.HEADER_BYTES;
import static io.epochal.format.datagram.DatagramFormat.TRAILER_BYTES;

import io.epochal.format.FormatException;
import io.epochal.format.FormatException.Reason;
import io.epochal.format.Tags;
import io.epochal.format.codec.EventDecoder;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Decodes datagrams from untrusted senders. The whole datagram is checked (magic, version, flags,
 * checksum, framing of every record) before any event is delivered, so a datagram is either
 * rejected whole with a {@link FormatException} or its records are delivered one by one; a record
 * whose tags or event are invalid is reported to {@link Sink#invalidEvent} and the others are still
 * delivered. Not thread-safe; one reader per receiving thread.
 */
public final class DatagramReader {
  /** Receives what a datagram holds. */
  public interface Sink {
    void event(Tags tags, Map<String, Object> event);

    /** A record that is framed correctly but does not decode; the rest of the datagram goes on. */
    void invalidEvent(FormatException e);
  }

  private final EventDecoder decoder = new EventDecoder(false);
  private final CRC32C crc = new CRC32C();
  private int[] starts = new int[256];
  private int[] ends = new int[256];

  /**
   * Reads the datagram {@code buf[off, off+len)}.
   *
   * @return the number of events delivered to {@link Sink#event}
   * @throws FormatException the datagram as a whole is invalid; nothing was delivered
   */
  public int read(byte[] buf, int off, int len, Sink sink) throws FormatException {
    if (len < HEADER_BYTES + TRAILER_BYTES) {
      throw new FormatException(Reason.TRUNCATED, "datagram of " + len + " bytes is shorter than its header");
    }
    if ((buf[off] & 0xFF) != DatagramFormat.MAGIC_0 || (buf[off + 1] & 0xFF) != DatagramFormat.MAGIC_1) {
      throw new FormatException(Reason.BAD_MAGIC, "not an Epochal datagram (bad magic)");
    }
    int version = buf[off + 2] & 0xFF;
    if (version != DatagramFormat.VERSION) {
      throw new FormatException(Reason.BAD_VERSION, "datagram version " + version + " is not supported");
    }
    if (buf[off + 3] != 0) {
      throw new FormatException(Reason.BAD_HEADER, "reserved datagram flags set: " + (buf[off + 3] & 0xFF));
    }
    int end = off + len - TRAILER_BYTES;
    crc.reset();
    crc.update(buf, off, len - TRAILER_BYTES);
    int expected =
        (buf[end] & 0xFF)
            | (buf[end + 1] & 0xFF) << 8
            | (buf[end + 2] & 0xFF) << 16
            | (buf[end + 3] & 0xFF) << 24;
    if ((int) crc.getValue() != expected) {
      throw new FormatException(Reason.CHECKSUM_MISMATCH, "datagram checksum mismatch");
    }
    int count = (buf[off + 4] & 0xFF) | (buf[off + 5] & 0xFF) << 8;
    if (count == 0) {
      throw new FormatException(Reason.COUNT_MISMATCH, "datagram holds no events");
    }
    frame(buf, off + HEADER_BYTES, end, count);
    decoder.reset(buf, off, len - TRAILER_BYTES);
    int delivered = 0;
    for (int i = 0; i < count; i++) {
      decoder.setRange(starts[i], ends[i]);
      Tags tags;
      Map<String, Object> event;
      try {
        long epoch = decoder.readVarLong();
        String dc = decoder.readString();
        String type = decoder.readString();
        String subtype = decoder.readString();
        tags = Tags.checked(epoch, dc, type, subtype);
        event = decoder.readEvent();
        if (decoder.remaining() != 0) {
          throw new FormatException(
              Reason.TRAILING_BYTES, decoder.remaining() + " bytes left after the event in record " + i);
        }
      } catch (FormatException e) {
        sink.invalidEvent(e);
        continue;
      }
      sink.event(tags, event);
      delivered++;
    }
    return delivered;
  }

  /** Checks that exactly {@code count} length-prefixed records fill {@code [p, end)}. */
  private void frame(byte[] buf, int p, int end, int count) throws FormatException {
    if (starts.length < count) {
      starts = new int[count];
      ends = new int[count];
    }
    for (int i = 0; i < count; i++) {
      int n = 0;
      int shift = 0;
      while (true) {
        if (p >= end) {
          throw new FormatException(Reason.TRUNCATED, "record " + i + " of " + count + " is missing");
        }
        int b = buf[p++];
        n |= (b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
          break;
        }
        shift += 7;
        if (shift > 21) {
          throw new FormatException(Reason.BAD_LENGTH, "record " + i + " length does not fit a datagram");
        }
      }
      if (n == 0 || n > end - p) {
        throw new FormatException(
            Reason.BAD_LENGTH, "record " + i + " declares " + n + " bytes, " + (end - p) + " left");
      }
      starts[i] = p;
      ends[i] = p + n;
      p += n;
    }
    if (p != end) {
      throw new FormatException(Reason.TRAILING_BYTES, (end - p) + " bytes after the last record");
    }
  }
}
