package io.epochal.format.codec;

import com.esotericsoftware.kryo.KryoException;
import io.epochal.format.FormatException;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Writes events (schema-less {@code Map<String,Object>}) in the Epochal value encoding on top of
 * Kryo's {@link com.esotericsoftware.kryo.io.Output} primitives (little-endian fixed ints, Kryo varints). The encoding is closed
 * and explicit: a fixed table of type tags (see docs/wire-format.md), no class names, no object
 * references, so the same map always gives the same bytes and other languages can read them.
 *
 * <p>Accepted values: {@code null}, {@link String} (any {@link CharSequence}), {@link Boolean},
 * integral numbers ({@link Byte}, {@link Short}, {@link Integer}, {@link Long}, {@link BigInteger}
 * within the range of a long) written as long, {@link Float} and {@link Double} written as double,
 * {@code byte[]}, {@link List} and {@code Map} with string keys, nested at most {@link #MAX_DEPTH}
 * deep. Map entries are written in the map's iteration order. Anything else throws {@link
 * IllegalArgumentException} naming the field.
 *
 * <p>With string de-duplication on, the first occurrence of a string (key or value) is written
 * literally and every repeat as a back-reference to it; the scope of the string table runs from
 * one {@link #reset()} to the next (one blob). Repeats are recognised by their UTF-8 bytes, so two
 * Java strings that encode alike (only possible with unpaired surrogates, written as {@code ?})
 * share one entry. Not thread-safe; reuse one instance per thread.
 *
 * <p>{@link #transcodeEvent} appends an event that is already encoded (a datagram record's event)
 * without decoding it into a map: the bytes are those {@link #writeEvent} would write for the
 * decoded map.
 */
public final class EventEncoder {
  /** Deepest allowed nesting of containers; the event map itself is depth 1. */
  public static final int MAX_DEPTH = 32;

  /** Most values (including nested ones and map keys) one event may hold. */
  public static final int MAX_VALUES_PER_EVENT = 65_536;

  private final EventOutput out;
  private final boolean dedupe;
  private final StringTable table;
  /** A v2 datagram's string section that every string goes to (records then hold references), or null. */
  private final DatagramStringsBuilder shared;
  private EventTranscoder transcoder;
  private int values;
  private int lastEventStart = -1;
  private int lastTableSize;

  /**
   * @param initialBytes initial buffer size
   * @param maxBytes largest size the buffer may grow to ({@code -1}: no limit); writing past it
   *     throws {@link EventTooLargeException}
   * @param dedupeStrings whether repeated strings become back-references
   */
  public EventEncoder(int initialBytes, int maxBytes, boolean dedupeStrings) {
    this.out = new EventOutput(initialBytes, maxBytes);
    this.dedupe = dedupeStrings;
    this.table = dedupeStrings ? new StringTable() : null;
    this.shared = null;
  }

  /**
   * An encoder for v2 datagram records: every string (key, value, tag) is added to {@code strings},
   * the datagram's string section, and written as a reference to it. {@link #reset()} does not
   * clear the section (its owner, the datagram writer, does); a failed {@link #writeEvent} removes
   * the strings it added.
   *
   * @param initialBytes initial buffer size
   * @param maxBytes largest size the buffer may grow to ({@code -1}: no limit)
   * @param strings the section the strings go to
   */
  public EventEncoder(int initialBytes, int maxBytes, DatagramStringsBuilder strings) {
    this.out = new EventOutput(initialBytes, maxBytes);
    this.dedupe = false;
    this.table = null;
    this.shared = strings;
  }

  /** Forgets the written bytes and the string table. */
  public void reset() {
    lastEventStart = -1;
    out.reset();
    if (table != null) {
      table.clear();
    }
  }

  /**
   * Removes the event written by the last successful {@link #writeEvent}: its bytes and the strings
   * it added to the table. Only the last event can be removed, once.
   */
  public void unwriteLastEvent() {
    if (lastEventStart < 0) {
      throw new IllegalStateException("no event to unwrite");
    }
    undo(lastEventStart, lastTableSize);
    lastEventStart = -1;
  }

  /** Bytes written since the last {@link #reset()}. */
  public int position() {
    return out.position();
  }

  /** The internal buffer; bytes {@code [0, position())} are valid until the next write. */
  public byte[] buffer() {
    return out.getBuffer();
  }

  /** A copy of the bytes written. */
  public byte[] toBytes() {
    return Arrays.copyOf(out.getBuffer(), out.position());
  }

  /** Number of distinct strings in the table (0 when de-duplication is off). */
  public int distinctStrings() {
    return table == null ? 0 : table.size();
  }

  public boolean dedupesStrings() {
    return dedupe;
  }

  /** Whether strings go to a datagram string section (v2 records) rather than being written here. */
  public boolean sharesStrings() {
    return shared != null;
  }

  /**
   * Writes one event as a MAP value. On {@link IllegalArgumentException} or {@link
   * EventTooLargeException} nothing of the event remains: the write position is restored and the
   * strings first seen in it are removed from the table again (their literals are gone).
   */
  public void writeEvent(Map<String, ?> event) {
    if (event == null) {
      throw new IllegalArgumentException("event must not be null");
    }
    int start = out.position();
    int tableSize = table != null ? table.size() : shared != null ? shared.size() : 0;
    values = 0;
    lastEventStart = -1;
    try {
      writeMap(event, 1);
      lastEventStart = start;
      lastTableSize = tableSize;
    } catch (FieldError e) {
      undo(start, tableSize);
      throw new IllegalArgumentException("event field " + e.path() + ": " + e.getMessage());
    } catch (KryoException e) {
      undo(start, tableSize);
      throw new EventTooLargeException(
          "event does not fit in " + out.getMaxCapacity() + " bytes", e);
    } catch (RuntimeException e) {
      undo(start, tableSize);
      throw e;
    }
  }

  /**
   * Appends one event given in the value encoding: {@code buf[off, off+len)} must hold exactly one
   * MAP value without string references, as a datagram record carries it, from an untrusted source
   * ({@code buf} must not be this encoder's {@link #buffer()}). The bytes written, and the strings
   * added to the table, are exactly those of {@code writeEvent(new EventDecoder(false).readEvent())}
   * on the same bytes, but no map or string is built (docs/wire-format.md gives what the round trip
   * normalises: varint forms, DECIMAL/DOUBLE choice, NaN, malformed UTF-8).
   *
   * <p>The input is checked as {@link EventDecoder#readEvent()} checks it, in the same order.
   *
   * @throws FormatException the bytes are not a valid event; the reason is the one {@link
   *     EventDecoder} gives, or {@link FormatException.Reason#TRAILING_BYTES} if bytes follow the
   *     value. Nothing of the event remains (position and table restored), as after a failed {@link
   *     #writeEvent}
   * @throws EventTooLargeException the event does not fit in the encoder's byte limit; nothing remains
   */
  public void transcodeEvent(byte[] buf, int off, int len) throws FormatException {
    transcodeEvent(buf, off, len, null);
  }

  /**
   * {@link #transcodeEvent(byte[], int, int)} for an event of a v2 datagram record, whose string
   * items may be references to the datagram's string section {@code strings} (null: none allowed,
   * as in v1). The bytes written are those of {@code writeEvent} on the event as {@link
   * EventDecoder#useStrings} decodes it. Each section string is looked up in this encoder's table at
   * most once per datagram: later references to it cost an array read.
   */
  public void transcodeEvent(byte[] buf, int off, int len, DatagramStrings strings) throws FormatException {
    if (shared != null) {
      throw new IllegalStateException("a datagram record encoder does not transcode");
    }
    if (transcoder == null) {
      transcoder = new EventTranscoder(out, table);
    }
    int start = out.position();
    int tableSize = table == null ? 0 : table.size();
    lastEventStart = -1;
    try {
      transcoder.event(buf, off, len, strings);
      lastEventStart = start;
      lastTableSize = tableSize;
    } catch (FormatException e) {
      undo(start, tableSize);
      throw e;
    } catch (KryoException e) {
      undo(start, tableSize);
      throw new EventTooLargeException("event does not fit in " + out.getMaxCapacity() + " bytes", e);
    } catch (RuntimeException e) {
      undo(start, tableSize);
      throw e;
    }
  }

  private void undo(int start, int tableSize) {
    out.setPosition(start);
    if (table != null) {
      // Literals written by the failed event are gone; so must their table entries be.
      table.truncate(tableSize);
    } else if (shared != null) {
      shared.truncate(tableSize);
    }
  }

  /** Writes an unsigned Kryo varint. */
  public void writeVarInt(int value) {
    try {
      out.writeVarInt(value, true);
    } catch (KryoException e) {
      throw new EventTooLargeException("buffer full", e);
    }
  }

  /** Writes an unsigned Kryo varlong. */
  public void writeVarLong(long value) {
    try {
      out.writeVarLong(value, true);
    } catch (KryoException e) {
      throw new EventTooLargeException("buffer full", e);
    }
  }

  /** Writes a string item (literal, or back-reference when de-duplicating). */
  public void writeString(String s) {
    try {
      string(s);
    } catch (KryoException e) {
      throw new EventTooLargeException("buffer full", e);
    }
  }

  private void writeMap(Map<?, ?> map, int depth) {
    if (depth > MAX_DEPTH) {
      throw new FieldError("nested deeper than " + MAX_DEPTH + " levels");
    }
    count();
    out.writeByte(ValueType.MAP);
    int n = map.size();
    out.writeVarInt(n, true);
    int written = 0;
    for (Map.Entry<?, ?> e : map.entrySet()) {
      Object k = e.getKey();
      if (!(k instanceof String)) {
        throw new FieldError("map keys must be strings, got " + (k == null ? "null" : k.getClass().getName()));
      }
      String key = (String) k;
      count();
      string(key);
      try {
        writeValue(e.getValue(), depth);
      } catch (FieldError err) {
        throw err.within(key);
      }
      written++;
    }
    if (written != n) {
      throw new FieldError("map changed size while being written");
    }
  }

  private void writeValue(Object v, int depth) {
    count();
    if (v == null) {
      out.writeByte(ValueType.NULL);
    } else if (v instanceof String) {
      out.writeByte(ValueType.STRING);
      string((String) v);
    } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
      out.writeByte(ValueType.LONG);
      out.writeVarLong(((Number) v).longValue(), false);
    } else if (v instanceof Double || v instanceof Float) {
      writeDouble(out, ((Number) v).doubleValue());
    } else if (v instanceof Boolean) {
      out.writeByte((Boolean) v ? ValueType.TRUE : ValueType.FALSE);
    } else if (v instanceof Map) {
      writeMap((Map<?, ?>) v, depth + 1);
    } else if (v instanceof List) {
      List<?> list = (List<?>) v;
      if (depth + 1 > MAX_DEPTH) {
        throw new FieldError("nested deeper than " + MAX_DEPTH + " levels");
      }
      out.writeByte(ValueType.LIST);
      int n = list.size();
      out.writeVarInt(n, true);
      int i = 0;
      for (Object item : list) {
        if (i == n) {
          throw new FieldError("list changed size while being written");
        }
        try {
          writeValue(item, depth + 1);
        } catch (FieldError err) {
          throw err.within("[" + i + "]");
        }
        i++;
      }
      if (i != n) {
        throw new FieldError("list changed size while being written");
      }
    } else if (v instanceof byte[]) {
      byte[] b = (byte[]) v;
      out.writeByte(ValueType.BYTES);
      out.writeVarInt(b.length, true);
      out.writeBytes(b);
    } else if (v instanceof BigInteger) {
      BigInteger big = (BigInteger) v;
      if (big.bitLength() > 63) {
        throw new FieldError("integer " + big + " does not fit in a long");
      }
      out.writeByte(ValueType.LONG);
      out.writeVarLong(big.longValue(), false);
    } else if (v instanceof CharSequence) {
      out.writeByte(ValueType.STRING);
      string(v.toString());
    } else {
      throw new FieldError(
          "unsupported value type "
              + v.getClass().getName()
              + " (allowed: String, Boolean, integral numbers, Float/Double, byte[], List, Map, null)");
    }
  }

  /**
   * Writes a double as DECIMAL when it is exactly {@code m / 10^k} for some {@code k <= 7} (as most
   * measured values are: 24.533, 0.5, 1200.0), which takes 2-5 bytes and compresses well; else as
   * 8 IEEE-754 bytes. The check compares bits, so decoding gives back the very same double.
   */
  static void writeDouble(EventOutput out, double d) {
    long bits = Double.doubleToRawLongBits(d);
    for (int k = 0; k < ValueType.POW10.length; k++) {
      double scaled = d * ValueType.POW10[k];
      if (!(Math.abs(scaled) < 0x1p58)) {
        break; // also leaves NaN and infinities to the DOUBLE form
      }
      long m = Math.round(scaled);
      if (Double.doubleToRawLongBits(m / ValueType.POW10[k]) == bits) {
        out.writeByte(ValueType.DECIMAL);
        out.writeVarLong((((m << 1) ^ (m >> 63)) << 3) | k, true);
        return;
      }
    }
    out.writeByte(ValueType.DOUBLE);
    out.writeDouble(d);
  }

  private void count() {
    if (++values > MAX_VALUES_PER_EVENT) {
      throw new FieldError("event holds more than " + MAX_VALUES_PER_EVENT + " values");
    }
  }

  private void string(String s) {
    if (table == null) {
      if (shared != null) {
        out.writeVarInt((shared.indexOf(s) << 1) | 1, true);
        return;
      }
      out.writeLiteral(s);
      return;
    }
    // Written as a literal first: the table is keyed on the bytes, which are then in the buffer.
    int start = out.position();
    int n = out.writeLiteral(s);
    byte[] buf = out.getBuffer();
    int at = out.position() - n;
    int hash = (int) ByteStrings.hashAndAscii(buf, at, n);
    int ref = table.find(buf, at, n, hash, buf);
    if (ref >= 0) {
      out.setPosition(start);
      out.writeVarInt((ref << 1) | 1, true);
      return;
    }
    table.add(at, n, hash);
  }

  /**
   * A bad value, thrown without a stack trace; each enclosing container adds its key while the
   * exception unwinds, so the happy path never builds field paths.
   */
  private static final class FieldError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final StringBuilder path = new StringBuilder();

    FieldError(String message) {
      super(message, null, false, false);
    }

    FieldError within(String segment) {
      if (path.length() > 0 && path.charAt(0) != '[') {
        path.insert(0, '.');
      }
      path.insert(0, segment);
      return this;
    }

    String path() {
      return path.length() == 0 ? "<event>" : "'" + path + "'";
    }
  }
}
