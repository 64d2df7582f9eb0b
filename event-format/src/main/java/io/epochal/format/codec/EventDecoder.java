package io.epochal.format.codec;

import io.epochal.format.FormatException;
import io.epochal.format.FormatException.Reason;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads what {@link EventEncoder} writes, from untrusted bytes. Every problem (truncation, a length
 * larger than the remaining input, an unknown type, a dangling reference, nesting deeper than
 * {@link EventEncoder#MAX_DEPTH}, more than {@link EventEncoder#MAX_VALUES_PER_EVENT} values in one
 * event, a map that repeats a key) is a {@link FormatException}; no allocation is larger than the
 * remaining input justifies.
 *
 * <p>Two ways to read an event: {@link #readEvent()} builds it as a {@code Map} (maps as
 * insertion-ordered {@link LinkedHashMap}s, lists as {@link ArrayList}s, integers as {@link Long},
 * floating point as {@link Double}); {@link #visitEvent} hands its keys and values to an {@link
 * EventVisitor} and builds nothing, at about half the CPU (docs/benchmarks.md). Both walk the
 * bytes with the same code and accept exactly the same inputs. Repeated strings decode to the same
 * {@link String} instance. Not thread-safe.
 */
public final class EventDecoder extends EncodedWalk {
  /** Distinct keys remembered for the repeated-key check before the memory is reset (between events). */
  private static final int MAX_KEY_IDS = 1 << 16;

  private final boolean allowReferences;
  /** A v2 datagram's string section that references resolve against (literals are then not recorded), or null. */
  private DatagramStrings shared;
  private String[] table = new String[64];
  private int tableSize;
  /** Table index of the string item read last, or -1 (a literal without references). */
  private int lastIndex;
  private final MapBuilder builder = new MapBuilder();

  /*
   * Repeated keys: each distinct key string gets a small id (keyIds), cached per table entry
   * (keyIdOf, id + 1), so a key that is a back-reference costs an array read. The ids of the keys
   * of the maps being walked are on keyStack, innermost map last.
   */
  private final HashMap<String, Integer> keyIds = new HashMap<>();
  private int[] keyIdOf = new int[64];

  /** @param allowReferences whether string back-references are legal in the input (blobs: yes) */
  public EventDecoder(boolean allowReferences) {
    this.allowReferences = allowReferences;
  }

  /** Starts reading {@code buf[off, off+len)} with an empty string table. */
  public void reset(byte[] buf, int off, int len) {
    if (off < 0 || len < 0 || off + len > buf.length) {
      throw new IndexOutOfBoundsException("range [" + off + ", " + off + "+" + len + ") of " + buf.length + " bytes");
    }
    this.in = buf;
    this.pos = off;
    this.limit = off + len;
    Arrays.fill(table, 0, tableSize, null);
    Arrays.fill(keyIdOf, 0, Math.min(tableSize, keyIdOf.length), 0);
    tableSize = 0;
    shared = null;
    if (!keyIds.isEmpty()) {
      keyIds.clear();
    }
  }

  /**
   * Resolves string references against {@code strings}, a v2 datagram's string section, until the
   * next {@link #reset}: a reference names a section string, literals are read as they are and not
   * recorded (so each record of the datagram decodes on its own). Call after {@link #reset}.
   */
  public void useStrings(DatagramStrings strings) {
    this.shared = strings;
  }

  /** Starts reading another range of the same input, keeping the string table. */
  public void setRange(int position, int limit) {
    if (position < 0 || position > limit || limit > in.length) {
      throw new IndexOutOfBoundsException("range [" + position + ", " + limit + ") of " + in.length + " bytes");
    }
    this.pos = position;
    this.limit = limit;
  }

  public int position() {
    return pos;
  }

  public int limit() {
    return limit;
  }

  public int remaining() {
    return limit - pos;
  }

  /** Reads one event (a MAP value) into a map. */
  public Map<String, Object> readEvent() throws FormatException {
    builder.reset();
    try {
      walkEvent(builder, false);
      return builder.result();
    } finally {
      builder.clear();
    }
  }

  /**
   * Reads one event (a MAP value), handing its keys and values to {@code visitor} as they are read.
   * On a {@link FormatException} the visitor has seen the event's values before the fault.
   */
  public void visitEvent(EventVisitor visitor) throws FormatException {
    walkEvent(visitor, true);
  }

  /**
   * Walks one event without building it, registering its strings in the table (so later
   * references resolve) and checking it as {@link #readEvent()} does.
   */
  public void skipEvent() throws FormatException {
    walkEvent(NOTHING, true);
  }

  /** Reads an unsigned varint; negative (over 31 bits) is a {@link Reason#BAD_LENGTH}. */
  public int readVarInt() throws FormatException {
    int v = varInt();
    if (v < 0) {
      throw new FormatException(Reason.BAD_LENGTH, "varint out of range: " + (v & 0xFFFFFFFFL));
    }
    return v;
  }

  /** Reads an unsigned varlong; a negative value is a {@link Reason#BAD_LENGTH}. */
  public long readVarLong() throws FormatException {
    long v = varLong();
    if (v < 0) {
      throw new FormatException(Reason.BAD_LENGTH, "varlong out of range");
    }
    return v;
  }

  /** Reads a string item. */
  public String readString() throws FormatException {
    return string();
  }

  /**
   * @param idKeys whether repeated keys are found by key ids here; if not, the visitor is the map
   *     builder, whose maps show a repeat by their size
   */
  private void walkEvent(EventVisitor v, boolean idKeys) throws FormatException {
    values = 0;
    keyTop = 0;
    if (keyIds.size() > MAX_KEY_IDS) {
      keyIds.clear();
      Arrays.fill(keyIdOf, 0);
    }
    int type = readByte();
    if (type != ValueType.MAP) {
      throw new FormatException(Reason.BAD_TYPE, "an event must be a map, found type " + type);
    }
    map(1, v, idKeys);
  }

  private void map(int depth, EventVisitor v, boolean idKeys) throws FormatException {
    if (depth > EventEncoder.MAX_DEPTH) {
      throw new FormatException(Reason.TOO_DEEP, "containers nested deeper than " + EventEncoder.MAX_DEPTH);
    }
    count();
    int n = length("map size");
    // Each entry takes at least two bytes (key item, value tag).
    if (n > (limit - pos) / 2) {
      throw new FormatException(Reason.BAD_LENGTH, "map of " + n + " entries in " + (limit - pos) + " bytes");
    }
    v.beginMap(n);
    int base = keyTop;
    if (idKeys) {
      reserveKeys(n);
    }
    // A cheap filter: only a map whose key ids collide modulo 64 needs the exact check.
    long seen = 0;
    boolean maybeRepeated = false;
    for (int i = 0; i < n; i++) {
      count();
      String key = string();
      if (idKeys) {
        int id = keyId(key, lastIndex);
        keyStack[keyTop++] = id;
        long bit = 1L << id;
        maybeRepeated |= (seen & bit) != 0;
        seen |= bit;
      }
      v.key(key);
      count();
      int type = readByte();
      if (!scalar(type, v)) {
        container(type, depth, v, idKeys);
      }
    }
    // Checked after the entries, as a map shows it (a failure inside the map comes first).
    if (idKeys ? maybeRepeated && repeats(base, keyTop) : builder.lastMapShort(n)) {
      throw new FormatException(Reason.BAD_LENGTH, "map repeats a key");
    }
    keyTop = base;
    v.endMap();
  }

  private void value(int depth, EventVisitor v, boolean idKeys) throws FormatException {
    count();
    int type = readByte();
    if (!scalar(type, v)) {
      container(type, depth, v, idKeys);
    }
  }

  /** Reads and delivers a value of a scalar {@code type} (its tag read); false for any other type. */
  private boolean scalar(int type, EventVisitor v) throws FormatException {
    switch (type) {
      case ValueType.STRING -> v.stringValue(string());
      case ValueType.LONG -> {
        long u = varLong();
        v.longValue((u >>> 1) ^ -(u & 1));
      }
      case ValueType.DECIMAL -> {
        long u = varLong();
        long zz = u >>> 3;
        long m = (zz >>> 1) ^ -(zz & 1);
        v.doubleValue(m / ValueType.POW10[(int) (u & 7)]);
      }
      case ValueType.TRUE -> v.booleanValue(true);
      case ValueType.FALSE -> v.booleanValue(false);
      case ValueType.NULL -> v.nullValue();
      case ValueType.DOUBLE -> {
        v.doubleValue(f64());
      }
      case ValueType.BYTES -> {
        int n = length("byte array length");
        if (n > limit - pos) {
          throw new FormatException(Reason.BAD_LENGTH, "byte array of " + n + " bytes, " + (limit - pos) + " left");
        }
        int at = pos;
        pos += n;
        v.bytesValue(in, at, n);
      }
      default -> {
        return false;
      }
    }
    return true;
  }

  /** A LIST or MAP value (its tag read); any other type is {@code bad_type}. */
  private void container(int type, int depth, EventVisitor v, boolean idKeys) throws FormatException {
    if (type == ValueType.MAP) {
      map(depth + 1, v, idKeys);
      return;
    }
    if (type != ValueType.LIST) {
      throw new FormatException(Reason.BAD_TYPE, "unknown value type " + type);
    }
    if (depth + 1 > EventEncoder.MAX_DEPTH) {
      throw new FormatException(Reason.TOO_DEEP, "containers nested deeper than " + EventEncoder.MAX_DEPTH);
    }
    int n = length("list size");
    if (n > limit - pos) {
      throw new FormatException(Reason.BAD_LENGTH, "list of " + n + " items in " + (limit - pos) + " bytes");
    }
    v.beginList(n);
    for (int i = 0; i < n; i++) {
      value(depth + 1, v, idKeys);
    }
    v.endList();
  }

  private String string() throws FormatException {
    int h = length("string header");
    int n = h >>> 1;
    if ((h & 1) != 0) {
      if (shared != null) {
        if (n >= shared.size) {
          throw new FormatException(Reason.BAD_REFERENCE, "reference to string " + n + " of " + shared.size);
        }
        lastIndex = -1;
        return shared.string(n);
      }
      if (!allowReferences) {
        throw new FormatException(Reason.BAD_REFERENCE, "string references are not allowed here");
      }
      if (n >= tableSize) {
        throw new FormatException(Reason.BAD_REFERENCE, "reference to string " + n + " of " + tableSize);
      }
      lastIndex = n;
      return table[n];
    }
    if (n > limit - pos) {
      throw new FormatException(Reason.BAD_LENGTH, "string of " + n + " bytes, " + (limit - pos) + " left");
    }
    String s = n == 0 ? "" : new String(in, pos, n, StandardCharsets.UTF_8);
    pos += n;
    if (allowReferences && shared == null) {
      if (tableSize == table.length) {
        table = Arrays.copyOf(table, tableSize * 2);
      }
      lastIndex = tableSize;
      table[tableSize++] = s;
    } else {
      lastIndex = -1;
    }
    return s;
  }

  /** The id of key {@code s}, which is table entry {@code index} (-1: not in the table). */
  private int keyId(String s, int index) {
    int[] ids = keyIdOf;
    if (index >= 0 && index < ids.length && ids[index] != 0) {
      return ids[index] - 1;
    }
    Integer known = keyIds.get(s);
    int id;
    if (known == null) {
      id = keyIds.size();
      keyIds.put(s, id);
    } else {
      id = known;
    }
    if (index >= 0) {
      if (index >= ids.length) {
        keyIdOf = ids = Arrays.copyOf(ids, Math.max(index + 1, ids.length * 2));
      }
      ids[index] = id + 1;
    }
    return id;
  }

  private static final EventVisitor NOTHING = new EventVisitor() {};

  /** Builds the event as maps and lists, innermost container on top of a stack. */
  static final class MapBuilder implements EventVisitor {
    private final Object[] containers = new Object[EventEncoder.MAX_DEPTH + 1];
    private final boolean[] isList = new boolean[EventEncoder.MAX_DEPTH + 1];
    private final String[] keys = new String[EventEncoder.MAX_DEPTH + 1];
    private int top = -1;
    private Object result;
    /** Size of the map that ended last. */
    private int lastMapSize;

    void reset() {
      top = -1;
      result = null;
    }

    /** Drops references to a half-built event. */
    void clear() {
      Arrays.fill(containers, 0, top + 1, null);
      Arrays.fill(keys, 0, top + 1, null);
      top = -1;
      result = null;
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> result() {
      return (Map<String, Object>) result;
    }

    /** Whether the map being closed holds fewer than its {@code n} entries (a key repeated). */
    @SuppressWarnings("unchecked")
    boolean lastMapShort(int n) {
      return ((Map<String, Object>) containers[top]).size() != n;
    }

    @Override
    public void beginMap(int size) {
      containers[++top] = new LinkedHashMap<String, Object>(capacity(size));
      isList[top] = false;
    }

    @Override
    public void key(String key) {
      keys[top] = key;
    }

    @Override
    public void endMap() {
      close();
    }

    @Override
    public void beginList(int size) {
      containers[++top] = new ArrayList<>(Math.min(size, 1024));
      isList[top] = true;
    }

    @Override
    public void endList() {
      close();
    }

    @Override
    public void nullValue() {
      add(null);
    }

    @Override
    public void booleanValue(boolean value) {
      add(value ? Boolean.TRUE : Boolean.FALSE);
    }

    @Override
    public void longValue(long value) {
      add(value);
    }

    @Override
    public void doubleValue(double value) {
      add(value);
    }

    @Override
    public void stringValue(String value) {
      add(value);
    }

    @Override
    public void bytesValue(byte[] bytes, int off, int len) {
      add(Arrays.copyOfRange(bytes, off, off + len));
    }

    private void close() {
      Object c = containers[top];
      containers[top] = null;
      keys[top] = null;
      top--;
      add(c);
    }

    @SuppressWarnings("unchecked")
    private void add(Object value) {
      if (top < 0) {
        result = value;
      } else if (isList[top]) {
        ((List<Object>) containers[top]).add(value);
      } else {
        ((Map<String, Object>) containers[top]).put(keys[top], value);
      }
    }

    private static int capacity(int n) {
      return n < 12 ? 16 : (int) Math.min(1 << 16, n / 0.75f + 1);
    }
  }
}
