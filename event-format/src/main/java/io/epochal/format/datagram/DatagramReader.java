package io.epochal.format.datagram;

import static io.epochal.format.datagram.DatagramFormat.HEADER_BYTES;
import static io.epochal.format.datagram.DatagramFormat.TRAILER_BYTES;

import io.epochal.format.FormatException;
import io.epochal.format.FormatException.Reason;
import io.epochal.format.Tags;
import io.epochal.format.codec.DatagramStrings;
import io.epochal.format.codec.EventDecoder;
import java.util.Arrays;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Decodes datagrams from untrusted senders. The whole datagram is checked (magic, version, flags,
 * checksum, framing of every record) before any event is delivered, so a datagram is either
 * rejected whole with a {@link FormatException} or its records are delivered one by one; a record
 * whose tags or event are invalid is reported to {@link Sink#invalidEvent} and the others are still
 * delivered. Not thread-safe; one reader per receiving thread.
 *
 * <p>{@link #read} decodes every event into a map; {@link #readRecords} decodes only the tags and
 * hands each event on still encoded, for a sink that copies it without decoding it (the aggregator
 * transcodes it into a blob with {@link io.epochal.format.blob.BlobBatch#addEncoded}).
 */
public final class DatagramReader {
  /** Receives what a datagram holds. */
  public interface Sink {
    void event(Tags tags, Map<String, Object> event);

    /** A record that is framed correctly but does not decode; the rest of the datagram goes on. */
    void invalidEvent(FormatException e);
  }

  /**
   * Receives what a datagram holds, each event still encoded. The sink validates the event (as
   * {@link io.epochal.format.codec.EventEncoder#transcodeEvent} does) and throws its {@link
   * FormatException}, which the reader then reports to {@link #invalidEvent}; the datagram's other
   * records are still delivered.
   */
  public interface RecordSink {
    /**
     * One record with valid framing and tags: {@code buf[off, off+len)} is the rest of the record,
     * which must be exactly one MAP value (anything else is the sink's {@link FormatException}).
     * In a v2 datagram its string items may reference {@code strings}, the datagram's string
     * section; in v1 {@code strings} is null and references are invalid. The bytes and the section
     * are valid only during the call.
     *
     * @throws FormatException the event is invalid; the sink must then have kept nothing of it
     */
    void record(Tags tags, byte[] buf, int off, int len, DatagramStrings strings) throws FormatException;

    /** A record that is framed correctly but does not decode; the rest of the datagram goes on. */
    void invalidEvent(FormatException e);
  }

  /** Decoded tags by the bytes of the record prefix that holds them (epoch, dc, type, subtype). */
  private static final int TAG_CACHE_SLOTS = 256;

  private final EventDecoder decoder = new EventDecoder(false);
  private final byte[][] tagKeys = new byte[TAG_CACHE_SLOTS][];
  private final Tags[] tagValues = new Tags[TAG_CACHE_SLOTS];
  private final CRC32C crc = new CRC32C();
  /** The string section of the datagram being read, when it is v2. */
  private final DatagramStrings strings = new DatagramStrings();
  private boolean v2;
  /** v2: the tags of this datagram's records so far, by epoch and (per-datagram) tag string instances. */
  private static final int DATAGRAM_TAGS = 8;
  private final long[] seenEpochs = new long[DATAGRAM_TAGS];
  private final String[][] seenStrings = new String[DATAGRAM_TAGS][3];
  private final Tags[] seenTags = new Tags[DATAGRAM_TAGS];
  private int seen;
  /** v2: tags of recent datagrams, across datagrams (round robin). */
  private static final int RECENT_TAGS = 16;
  private final Tags[] recent = new Tags[RECENT_TAGS];
  private int recentNext;
  private int[] starts = new int[256];
  private int[] ends = new int[256];

  /**
   * Reads the datagram {@code buf[off, off+len)}.
   *
   * @return the number of events delivered to {@link Sink#event}
   * @throws FormatException the datagram as a whole is invalid; nothing was delivered
   */
  public int read(byte[] buf, int off, int len, Sink sink) throws FormatException {
    int count = check(buf, off, len);
    decoder.reset(buf, off, len - TRAILER_BYTES);
    if (v2) {
      decoder.useStrings(strings);
    }
    int delivered = 0;
    for (int i = 0; i < count; i++) {
      decoder.setRange(starts[i], ends[i]);
      Tags tags;
      Map<String, Object> event;
      try {
        tags = readTags();
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

  /**
   * Reads the datagram {@code buf[off, off+len)} like {@link #read}, but delivers each event still
   * encoded: the tags are decoded (and checked) here, the event is validated by the sink. Tags are
   * cached by their bytes, so a record whose tags repeat those of an earlier one costs no strings.
   *
   * @return the number of records the sink accepted
   * @throws FormatException the datagram as a whole is invalid; nothing was delivered
   */
  public int readRecords(byte[] buf, int off, int len, RecordSink sink) throws FormatException {
    int count = check(buf, off, len);
    decoder.reset(buf, off, len - TRAILER_BYTES);
    if (v2) {
      return readRecordsV2(count, buf, sink);
    }
    int delivered = 0;
    for (int i = 0; i < count; i++) {
      int start = starts[i];
      int end = ends[i];
      try {
        Tags tags;
        int eventStart = tagsEnd(buf, start, end);
        int slot = eventStart < 0 ? -1 : slot(buf, start, eventStart);
        byte[] key = slot < 0 ? null : tagKeys[slot];
        if (key != null && Arrays.equals(key, 0, key.length, buf, start, eventStart)) {
          tags = tagValues[slot];
        } else {
          decoder.setRange(start, end);
          tags = readTags();
          eventStart = decoder.position();
          if (slot >= 0) {
            tagKeys[slot] = Arrays.copyOfRange(buf, start, eventStart);
            tagValues[slot] = tags;
          }
        }
        sink.record(tags, buf, eventStart, end - eventStart, null);
      } catch (FormatException e) {
        sink.invalidEvent(e);
        continue;
      }
      delivered++;
    }
    return delivered;
  }

  /**
   * {@link #readRecords} of a v2 datagram: tag strings are (mostly) references to the section, so
   * the same tags are the same string instances within the datagram, and a record whose tags repeat
   * an earlier record's costs four comparisons.
   */
  private int readRecordsV2(int count, byte[] buf, RecordSink sink) {
    decoder.useStrings(strings);
    seen = 0;
    int delivered = 0;
    for (int i = 0; i < count; i++) {
      int end = ends[i];
      try {
        decoder.setRange(starts[i], end);
        long epoch = decoder.readVarLong();
        String dc = decoder.readString();
        String type = decoder.readString();
        String subtype = decoder.readString();
        Tags tags = null;
        for (int k = 0; k < seen; k++) {
          String[] t = seenStrings[k];
          if (seenEpochs[k] == epoch && t[0] == dc && t[1] == type && t[2] == subtype) {
            tags = seenTags[k];
            break;
          }
        }
        if (tags == null) {
          tags = recentTags(epoch, dc, type, subtype);
          int k = seen < DATAGRAM_TAGS ? seen++ : i % DATAGRAM_TAGS;
          seenEpochs[k] = epoch;
          seenStrings[k][0] = dc;
          seenStrings[k][1] = type;
          seenStrings[k][2] = subtype;
          seenTags[k] = tags;
        }
        int eventStart = decoder.position();
        sink.record(tags, buf, eventStart, end - eventStart, strings);
      } catch (FormatException e) {
        sink.invalidEvent(e);
        continue;
      }
      delivered++;
    }
    return delivered;
  }

  /**
   * The {@link Tags} of these values: the instance an earlier datagram used when it is among the
   * last {@value #RECENT_TAGS} (so a batcher's map lookups by tags mostly compare references), else
   * new and checked.
   */
  private Tags recentTags(long epoch, String dc, String type, String subtype) throws FormatException {
    for (Tags t : recent) {
      if (t != null && t.epoch() == epoch && t.dc().equals(dc) && t.type().equals(type) && t.subtype().equals(subtype)) {
        return t;
      }
    }
    Tags t = Tags.checked(epoch, dc, type, subtype);
    recent[recentNext] = t;
    recentNext = (recentNext + 1) % RECENT_TAGS;
    return t;
  }

  private Tags readTags() throws FormatException {
    long epoch = decoder.readVarLong();
    String dc = decoder.readString();
    String type = decoder.readString();
    String subtype = decoder.readString();
    return Tags.checked(epoch, dc, type, subtype);
  }

  /**
   * Where the tags of the record {@code buf[p, end)} end (the epoch varlong and three literal string
   * items), or -1 if they do not parse plainly; the decoder then reads them and reports why.
   */
  private static int tagsEnd(byte[] buf, int p, int end) {
    for (int i = 0; ; i++) {
      if (p >= end) {
        return -1;
      }
      if ((buf[p++] & 0x80) == 0 || i == 8) {
        break;
      }
    }
    for (int s = 0; s < 3; s++) {
      int h = 0;
      for (int shift = 0; ; shift += 7) {
        if (p >= end || shift > 21) {
          return -1;
        }
        int b = buf[p++];
        h |= (b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
          break;
        }
      }
      int n = h >>> 1;
      if ((h & 1) != 0 || n > end - p) {
        return -1;
      }
      p += n;
    }
    return p;
  }

  private static int slot(byte[] buf, int from, int to) {
    int h = 0;
    for (int i = from; i < to; i++) {
      h = 31 * h + buf[i];
    }
    h *= 0x9E3779B9;
    return (h ^ (h >>> 16)) & (TAG_CACHE_SLOTS - 1);
  }

  /**
   * Checks the header, checksum, string section (v2) and framing; returns the record count ({@link
   * #starts}, {@link #ends} filled).
   */
  private int check(byte[] buf, int off, int len) throws FormatException {
    if (len < HEADER_BYTES + TRAILER_BYTES) {
      throw new FormatException(Reason.TRUNCATED, "datagram of " + len + " bytes is shorter than its header");
    }
    if ((buf[off] & 0xFF) != DatagramFormat.MAGIC_0 || (buf[off + 1] & 0xFF) != DatagramFormat.MAGIC_1) {
      throw new FormatException(Reason.BAD_MAGIC, "not an Epochal datagram (bad magic)");
    }
    int version = buf[off + 2] & 0xFF;
    if (version != DatagramFormat.VERSION && version != DatagramFormat.VERSION_2) {
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
    v2 = version == DatagramFormat.VERSION_2;
    int p = off + HEADER_BYTES;
    if (v2) {
      p = strings.parse(buf, p, end);
    }
    frame(buf, p, end, count);
    return count;
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
