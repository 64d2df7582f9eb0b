package io.epochal.format.codec;

import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.io.Input;
import io.epochal.format.FormatException;
import io.epochal.format.FormatException.Reason;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads what {@link EventEncoder} writes, from untrusted bytes. Every problem (truncation, a length
 * larger than the remaining input, an unknown type, a dangling reference, nesting deeper than
 * {@link EventEncoder#MAX_DEPTH}, more than {@link EventEncoder#MAX_VALUES_PER_EVENT} values in one
 * event) is a {@link FormatException}; no allocation is larger than the remaining input justifies.
 *
 * <p>Maps decode as insertion-ordered {@link LinkedHashMap}s, lists as {@link ArrayList}s, integers
 * as {@link Long}, floating point as {@link Double}. Repeated strings decode to the same {@link
 * String} instance. Not thread-safe.
 */
public final class EventDecoder {
  private final Input in = new Input();
  private final boolean allowReferences;
  private String[] table = new String[64];
  private int tableSize;
  private int values;

  /** @param allowReferences whether string back-references are legal in the input (blobs: yes) */
  public EventDecoder(boolean allowReferences) {
    this.allowReferences = allowReferences;
  }

  /** Starts reading {@code buf[off, off+len)} with an empty string table. */
  public void reset(byte[] buf, int off, int len) {
    in.setBuffer(buf, off, len);
    Arrays.fill(table, 0, tableSize, null);
    tableSize = 0;
  }

  /** Starts reading another range of the same input, keeping the string table. */
  public void setRange(int position, int limit) {
    in.setPosition(position);
    in.setLimit(limit);
  }

  public int position() {
    return in.position();
  }

  public int limit() {
    return in.limit();
  }

  public int remaining() {
    return in.limit() - in.position();
  }

  /** Reads one event: a MAP value. */
  public Map<String, Object> readEvent() throws FormatException {
    values = 0;
    try {
      int type = in.readByte() & 0xFF;
      if (type != ValueType.MAP) {
        throw new FormatException(Reason.BAD_TYPE, "an event must be a map, found type " + type);
      }
      return readMap(1);
    } catch (KryoException e) {
      throw truncated(e);
    }
  }

  /**
   * Walks one event without building it, registering its strings in the table (so later
   * references resolve) and checking it as {@link #readEvent()} does.
   */
  public void skipEvent() throws FormatException {
    // Strings must still be materialised for the table; containers need not be.
    readEvent();
  }

  /** Reads an unsigned varint; negative (over 31 bits) is a {@link Reason#BAD_LENGTH}. */
  public int readVarInt() throws FormatException {
    try {
      int v = in.readVarInt(true);
      if (v < 0) {
        throw new FormatException(Reason.BAD_LENGTH, "varint out of range: " + (v & 0xFFFFFFFFL));
      }
      return v;
    } catch (KryoException e) {
      throw truncated(e);
    }
  }

  /** Reads an unsigned varlong; a negative value is a {@link Reason#BAD_LENGTH}. */
  public long readVarLong() throws FormatException {
    try {
      long v = in.readVarLong(true);
      if (v < 0) {
        throw new FormatException(Reason.BAD_LENGTH, "varlong out of range");
      }
      return v;
    } catch (KryoException e) {
      throw truncated(e);
    }
  }

  /** Reads a string item. */
  public String readString() throws FormatException {
    try {
      return string();
    } catch (KryoException e) {
      throw truncated(e);
    }
  }

  private Map<String, Object> readMap(int depth) throws FormatException {
    if (depth > EventEncoder.MAX_DEPTH) {
      throw new FormatException(Reason.TOO_DEEP, "containers nested deeper than " + EventEncoder.MAX_DEPTH);
    }
    count();
    int n = length("map size");
    // Each entry takes at least two bytes (key item, value tag).
    if (n > remaining() / 2) {
      throw new FormatException(Reason.BAD_LENGTH, "map of " + n + " entries in " + remaining() + " bytes");
    }
    LinkedHashMap<String, Object> map = new LinkedHashMap<>(capacity(n));
    for (int i = 0; i < n; i++) {
      count();
      String key = string();
      map.put(key, readValue(depth));
    }
    if (map.size() != n) {
      throw new FormatException(Reason.BAD_LENGTH, "map repeats a key");
    }
    return map;
  }

  private Object readValue(int depth) throws FormatException {
    count();
    int type = in.readByte() & 0xFF;
    switch (type) {
      case ValueType.NULL:
        return null;
      case ValueType.FALSE:
        return Boolean.FALSE;
      case ValueType.TRUE:
        return Boolean.TRUE;
      case ValueType.LONG:
        return in.readVarLong(false);
      case ValueType.DOUBLE:
        return in.readDouble();
      case ValueType.DECIMAL: {
        long v = in.readVarLong(true);
        long zz = v >>> 3;
        long m = (zz >>> 1) ^ -(zz & 1);
        return m / ValueType.POW10[(int) (v & 7)];
      }
      case ValueType.STRING:
        return string();
      case ValueType.BYTES: {
        int n = length("byte array length");
        if (n > remaining()) {
          throw new FormatException(Reason.BAD_LENGTH, "byte array of " + n + " bytes, " + remaining() + " left");
        }
        return in.readBytes(n);
      }
      case ValueType.LIST: {
        if (depth + 1 > EventEncoder.MAX_DEPTH) {
          throw new FormatException(Reason.TOO_DEEP, "containers nested deeper than " + EventEncoder.MAX_DEPTH);
        }
        int n = length("list size");
        if (n > remaining()) {
          throw new FormatException(Reason.BAD_LENGTH, "list of " + n + " items in " + remaining() + " bytes");
        }
        List<Object> list = new ArrayList<>(Math.min(n, 1024));
        for (int i = 0; i < n; i++) {
          list.add(readValue(depth + 1));
        }
        return list;
      }
      case ValueType.MAP:
        return readMap(depth + 1);
      default:
        throw new FormatException(Reason.BAD_TYPE, "unknown value type " + type);
    }
  }

  private String string() throws FormatException {
    int h = length("string header");
    int n = h >>> 1;
    if ((h & 1) != 0) {
      if (!allowReferences) {
        throw new FormatException(Reason.BAD_REFERENCE, "string references are not allowed here");
      }
      if (n >= tableSize) {
        throw new FormatException(Reason.BAD_REFERENCE, "reference to string " + n + " of " + tableSize);
      }
      return table[n];
    }
    int pos = in.position();
    if (n > in.limit() - pos) {
      throw new FormatException(Reason.BAD_LENGTH, "string of " + n + " bytes, " + remaining() + " left");
    }
    String s = n == 0 ? "" : new String(in.getBuffer(), pos, n, StandardCharsets.UTF_8);
    in.setPosition(pos + n);
    if (allowReferences) {
      if (tableSize == table.length) {
        table = Arrays.copyOf(table, tableSize * 2);
      }
      table[tableSize++] = s;
    }
    return s;
  }

  private int length(String what) throws FormatException {
    int n = in.readVarInt(true);
    if (n < 0) {
      throw new FormatException(Reason.BAD_LENGTH, what + " out of range: " + (n & 0xFFFFFFFFL));
    }
    return n;
  }

  private void count() throws FormatException {
    if (++values > EventEncoder.MAX_VALUES_PER_EVENT) {
      throw new FormatException(
          Reason.TOO_LARGE, "event holds more than " + EventEncoder.MAX_VALUES_PER_EVENT + " values");
    }
  }

  private static int capacity(int n) {
    return n < 12 ? 16 : (int) Math.min(1 << 16, n / 0.75f + 1);
  }

  private FormatException truncated(KryoException e) {
    return new FormatException(Reason.TRUNCATED, "input ends early at byte " + in.position(), e);
  }
}
