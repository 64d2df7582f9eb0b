package io.epochal.format.codec;

import io.epochal.format.FormatException;
import io.epochal.format.FormatException.Reason;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * Reads a column payload (blob payload v2, docs/blob-format.md "Payload v2") from untrusted bytes
 * and hands out its events in row order, as {@link EventVisitor} calls or maps, exactly as {@link
 * EventDecoder} hands out the same events from a row payload.
 *
 * <p>{@link #reset} checks the payload's structure up front: the dictionary (each string decoded
 * once), every shape (type tags, sizes, depth, value count, key references and repeated keys are
 * checked once per shape, not per event), the shape of every event against the shapes' row counts,
 * and the column lengths against the payload's end. Column values are read, and checked, as
 * events are visited; after the last event every column must be used up exactly.
 *
 * <p>Reusable (one per reader); not thread-safe.
 */
public final class ColumnarDecoder extends EncodedWalk {
  /*
   * Program ops of a shape: op = code | argument << 5, where the argument is a size, a dictionary
   * index (KEY) or a slot; a keyed scalar (K_*: a map entry whose value is a scalar, the usual
   * case) carries its key index and, for the slot types, is followed by its slot: one dispatch per
   * field instead of two.
   */
  static final int OP_BEGIN_MAP = 0;
  static final int OP_KEY = 1;
  static final int OP_END_MAP = 2;
  static final int OP_BEGIN_LIST = 3;
  static final int OP_END_LIST = 4;
  static final int OP_NULL = 5;
  static final int OP_FALSE = 6;
  static final int OP_TRUE = 7;
  static final int OP_LONG = 8;
  static final int OP_DOUBLE = 9;
  static final int OP_STRING = 10;
  static final int OP_BYTES = 11;
  /** Added to a scalar's code: the same value preceded by the key in its argument. */
  static final int KEYED = 8;
  static final int OP_K_NULL = OP_NULL + KEYED;
  static final int OP_K_FALSE = OP_FALSE + KEYED;
  static final int OP_K_TRUE = OP_TRUE + KEYED;
  static final int OP_K_LONG = OP_LONG + KEYED;
  static final int OP_K_DOUBLE = OP_DOUBLE + KEYED;
  static final int OP_K_STRING = OP_STRING + KEYED;
  static final int OP_K_BYTES = OP_BYTES + KEYED;

  private String[] dict = new String[256];
  private int dictSize;
  private int shapeCount;
  private int[][] programs = new int[16][];
  private int[] programLength = new int[16];
  private int[] rows = new int[16];
  /** Index of each shape's first column in {@link #colPos}. */
  private int[] columnBase = new int[17];
  private int[] colPos = new int[64];
  private int[] colEnd = new int[64];
  private int columns;
  private int orderPos;
  private int events;
  private int read;
  private final EventDecoder.MapBuilder builder = new EventDecoder.MapBuilder();

  /* Compiling a shape. */
  private int[] prog = new int[256];
  private int progLength;
  private int slots;

  /**
   * Starts reading the column payload {@code buf[off, off+len)} of a blob that declares {@code
   * eventCount} events, checking its structure (see the class comment).
   */
  public void reset(byte[] buf, int off, int len, int eventCount) throws FormatException {
    if (off < 0 || len < 0 || off + len > buf.length) {
      throw new IndexOutOfBoundsException("range [" + off + ", " + off + "+" + len + ") of " + buf.length + " bytes");
    }
    in = buf;
    pos = off;
    limit = off + len;
    Arrays.fill(dict, 0, dictSize, null);
    dictSize = 0;
    shapeCount = 0;
    columns = 0;
    read = 0;
    events = eventCount;
    readDictionary();
    int s = length("shape count");
    // A shape takes at least 4 bytes (rows, length, MAP, size): checked before arrays are sized by it.
    if (s == 0 || s > eventCount || s > (limit - pos) / 4) {
      throw new FormatException(Reason.BAD_LENGTH, s + " shapes for " + eventCount + " events");
    }
    if (programs.length < s) {
      int n = Math.max(s, programs.length * 2);
      programs = Arrays.copyOf(programs, n);
      programLength = Arrays.copyOf(programLength, n);
      rows = Arrays.copyOf(rows, n);
      columnBase = Arrays.copyOf(columnBase, n + 1);
    }
    long total = 0;
    for (int i = 0; i < s; i++) {
      int r = length("shape rows");
      if (r == 0) {
        throw new FormatException(Reason.BAD_LENGTH, "shape " + i + " has no events");
      }
      total += r;
      if (total > eventCount) {
        throw new FormatException(Reason.COUNT_MISMATCH, "shapes hold more than the declared " + eventCount + " events");
      }
      rows[i] = r;
      int n = length("shape length");
      if (n > limit - pos) {
        throw new FormatException(Reason.BAD_LENGTH, "shape of " + n + " bytes, " + (limit - pos) + " left");
      }
      compile(i, pos + n);
      columnBase[i] = columns;
      columns += slots;
      shapeCount++;
    }
    if (total != eventCount) {
      throw new FormatException(Reason.COUNT_MISMATCH, "shapes hold " + total + " events, the blob declares " + eventCount);
    }
    columnBase[s] = columns;
    readOrder();
    if (colPos.length < columns) {
      colPos = new int[Math.max(columns, colPos.length * 2)];
      colEnd = new int[colPos.length];
    }
    for (int c = 0; c < columns; c++) {
      int n = length("column length");
      if (n > limit - pos) {
        throw new FormatException(Reason.BAD_LENGTH, "column of " + n + " bytes, " + (limit - pos) + " left");
      }
      colPos[c] = pos;
      colEnd[c] = pos + n;
      pos += n;
    }
    if (pos != limit) {
      throw new FormatException(Reason.TRAILING_BYTES, (limit - pos) + " payload bytes after the last column");
    }
  }

  private void readDictionary() throws FormatException {
    int d = length("dictionary size");
    if (d > limit - pos) {
      throw new FormatException(Reason.BAD_LENGTH, "dictionary of " + d + " strings in " + (limit - pos) + " bytes");
    }
    for (int i = 0; i < d; i++) {
      if (i == dict.length) {
        // Grown as strings are read, so a lying count cannot make a large array.
        dict = Arrays.copyOf(dict, i * 2);
      }
      int n = length("string length");
      if (n > limit - pos) {
        throw new FormatException(Reason.BAD_LENGTH, "string of " + n + " bytes, " + (limit - pos) + " left");
      }
      // ASCII (most strings) is Latin-1 too, and that constructor only copies the bytes.
      dict[i] = n == 0 ? "" : new String(in, pos, n,
          ByteStrings.isAscii(in, pos, n) ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
      pos += n;
      dictSize = i + 1;
    }
  }

  /** Reads the shape of every event (one varint each) and checks them against the shapes' rows. */
  private void readOrder() throws FormatException {
    orderPos = pos;
    int[] seen = new int[shapeCount];
    for (int e = 0; e < events; e++) {
      int s = varInt();
      if (s < 0 || s >= shapeCount) {
        throw new FormatException(Reason.BAD_REFERENCE, "event " + e + " names shape " + (s & 0xFFFFFFFFL) + " of " + shapeCount);
      }
      if (++seen[s] > rows[s]) {
        throw new FormatException(Reason.COUNT_MISMATCH, "more events of shape " + s + " than its " + rows[s]);
      }
    }
  }

  /** Compiles the skeleton {@code in[pos, end)} of shape {@code index} into its program. */
  private void compile(int index, int end) throws FormatException {
    int outerLimit = limit;
    limit = end;
    progLength = 0;
    slots = 0;
    values = 0;
    int tag = readByte();
    if (tag != ValueType.MAP) {
      throw new FormatException(Reason.BAD_TYPE, "an event must be a map, shape " + index + " starts with type " + tag);
    }
    map(1);
    if (pos != end) {
      throw new FormatException(Reason.TRAILING_BYTES, (end - pos) + " bytes after the event in shape " + index);
    }
    limit = outerLimit;
    int[] p = programs[index];
    if (p == null || p.length < progLength) {
      p = programs[index] = new int[Math.max(progLength, 16)];
    }
    System.arraycopy(prog, 0, p, 0, progLength);
    programLength[index] = progLength;
  }

  private void emit(int code, int arg) {
    if (progLength == prog.length) {
      prog = Arrays.copyOf(prog, progLength * 2);
    }
    prog[progLength++] = code | arg << 5;
  }

  private void emitWord(int word) {
    if (progLength == prog.length) {
      prog = Arrays.copyOf(prog, progLength * 2);
    }
    prog[progLength++] = word;
  }

  private void map(int depth) throws FormatException {
    if (depth > EventEncoder.MAX_DEPTH) {
      throw new FormatException(Reason.TOO_DEEP, "containers nested deeper than " + EventEncoder.MAX_DEPTH);
    }
    count();
    int n = length("map size");
    if (n > (limit - pos) / 2) {
      throw new FormatException(Reason.BAD_LENGTH, "map of " + n + " entries in a shape of " + (limit - pos) + " bytes left");
    }
    emit(OP_BEGIN_MAP, n);
    int[] keys = new int[n];
    for (int i = 0; i < n; i++) {
      count();
      int k = length("key");
      if (k >= dictSize) {
        throw new FormatException(Reason.BAD_REFERENCE, "key names string " + k + " of " + dictSize);
      }
      keys[i] = k;
      count();
      int tag = readByte();
      if (tag <= ValueType.BYTES) {
        keyedScalar(tag, k);
      } else {
        emit(OP_KEY, k);
        value(tag, depth);
      }
    }
    if (n > 1 && repeatsKey(keys)) {
      throw new FormatException(Reason.BAD_LENGTH, "map repeats a key");
    }
    emit(OP_END_MAP, 0);
  }

  /** A map entry whose value is a scalar: one op with the key (and the slot after it). */
  private void keyedScalar(int tag, int key) {
    switch (tag) {
      case ValueType.NULL -> emit(OP_K_NULL, key);
      case ValueType.FALSE -> emit(OP_K_FALSE, key);
      case ValueType.TRUE -> emit(OP_K_TRUE, key);
      default -> {
        // LONG, DOUBLE, STRING, BYTES: tags 3-6, codes 8-11
        emit(tag + 5 + KEYED, key);
        emitWord(slots++);
      }
    }
  }

  /** Whether two of the keys (dictionary indexes) name equal strings. */
  private boolean repeatsKey(int[] keys) {
    if (keys.length <= 16) {
      for (int i = 0; i < keys.length; i++) {
        for (int j = i + 1; j < keys.length; j++) {
          if (keys[i] == keys[j] || dict[keys[i]].equals(dict[keys[j]])) {
            return true;
          }
        }
      }
      return false;
    }
    Set<String> seen = new HashSet<>();
    for (int k : keys) {
      if (!seen.add(dict[k])) {
        return true;
      }
    }
    return false;
  }

  private void value(int tag, int depth) throws FormatException {
    switch (tag) {
      case ValueType.NULL -> emit(OP_NULL, 0);
      case ValueType.FALSE -> emit(OP_FALSE, 0);
      case ValueType.TRUE -> emit(OP_TRUE, 0);
      case ValueType.LONG -> emit(OP_LONG, slots++);
      case ValueType.DOUBLE -> emit(OP_DOUBLE, slots++);
      case ValueType.STRING -> emit(OP_STRING, slots++);
      case ValueType.BYTES -> emit(OP_BYTES, slots++);
      case ValueType.MAP -> map(depth + 1);
      case ValueType.LIST -> {
        if (depth + 1 > EventEncoder.MAX_DEPTH) {
          throw new FormatException(Reason.TOO_DEEP, "containers nested deeper than " + EventEncoder.MAX_DEPTH);
        }
        int n = length("list size");
        if (n > limit - pos) {
          throw new FormatException(Reason.BAD_LENGTH, "list of " + n + " items in a shape of " + (limit - pos) + " bytes left");
        }
        emit(OP_BEGIN_LIST, n);
        for (int i = 0; i < n; i++) {
          count();
          value(readByte(), depth + 1);
        }
        emit(OP_END_LIST, 0);
      }
      default -> throw new FormatException(Reason.BAD_TYPE, "unknown value type " + tag + " in a shape");
    }
  }

  public boolean hasNext() {
    return read < events;
  }

  /** Reads the next event into a map. */
  public Map<String, Object> readEvent() throws FormatException {
    builder.reset();
    try {
      visitEvent(builder);
      return builder.result();
    } finally {
      builder.clear();
    }
  }

  /**
   * Hands the next event's keys and values to {@code v}. On a {@link FormatException} the visitor
   * has seen the event's values before the fault.
   */
  public void visitEvent(EventVisitor v) throws FormatException {
    if (read >= events) {
      throw new NoSuchElementException("all " + events + " events were read");
    }
    // The order was checked by reset: the varint is complete and names a shape.
    int s = 0;
    for (int shift = 0; ; shift += 7) {
      int b = in[orderPos++];
      s |= (b & 0x7F) << shift;
      if (b >= 0 || shift == 28) {
        break;
      }
    }
    int[] program = programs[s];
    int n = programLength[s];
    int base = columnBase[s];
    String[] d = dict;
    for (int i = 0; i < n; ) {
      int op = program[i++];
      switch (op & 31) {
        case OP_K_LONG -> {
          v.key(d[op >>> 5]);
          long u = columnVarLong(base + program[i++]);
          v.longValue((u >>> 1) ^ -(u & 1));
        }
        case OP_K_STRING -> {
          v.key(d[op >>> 5]);
          v.stringValue(columnString(base + program[i++]));
        }
        case OP_K_DOUBLE -> {
          v.key(d[op >>> 5]);
          v.doubleValue(columnDouble(base + program[i++]));
        }
        case OP_BEGIN_MAP -> v.beginMap(op >>> 5);
        case OP_END_MAP -> v.endMap();
        case OP_KEY -> v.key(d[op >>> 5]);
        case OP_K_NULL -> {
          v.key(d[op >>> 5]);
          v.nullValue();
        }
        case OP_K_FALSE -> {
          v.key(d[op >>> 5]);
          v.booleanValue(false);
        }
        case OP_K_TRUE -> {
          v.key(d[op >>> 5]);
          v.booleanValue(true);
        }
        case OP_K_BYTES -> {
          v.key(d[op >>> 5]);
          columnBytes(base + program[i++], v);
        }
        case OP_LONG -> {
          long u = columnVarLong(base + (op >>> 5));
          v.longValue((u >>> 1) ^ -(u & 1));
        }
        case OP_STRING -> v.stringValue(columnString(base + (op >>> 5)));
        case OP_DOUBLE -> v.doubleValue(columnDouble(base + (op >>> 5)));
        case OP_BYTES -> columnBytes(base + (op >>> 5), v);
        case OP_BEGIN_LIST -> v.beginList(op >>> 5);
        case OP_END_LIST -> v.endList();
        case OP_NULL -> v.nullValue();
        case OP_FALSE -> v.booleanValue(false);
        case OP_TRUE -> v.booleanValue(true);
        default -> throw new IllegalStateException("op " + op);
      }
    }
    if (++read == events) {
      for (int c = 0; c < columns; c++) {
        if (colPos[c] != colEnd[c]) {
          throw new FormatException(
              Reason.COUNT_MISMATCH, (colEnd[c] - colPos[c]) + " bytes left in column " + c + " after the last event");
        }
      }
    }
  }

  /** Drops references to the payload and its strings. */
  public void clear() {
    in = new byte[0];
    pos = limit = 0;
    Arrays.fill(dict, 0, dictSize, null);
    dictSize = 0;
    events = read = 0;
  }

  private long columnVarLong(int c) throws FormatException {
    int p = colPos[c];
    byte[] b = in;
    if (colEnd[c] - p >= 9) {
      // Fast path: a whole varlong fits before the column's end.
      long r = 0;
      for (int shift = 0; shift < 56; shift += 7) {
        int x = b[p++];
        r |= (long) (x & 0x7F) << shift;
        if (x >= 0) {
          colPos[c] = p;
          return r;
        }
      }
      colPos[c] = p + 1;
      return r | (long) (b[p] & 0xFF) << 56;
    }
    pos = p;
    limit = colEnd[c];
    long r = varLong();
    colPos[c] = pos;
    return r;
  }

  private String columnString(int c) throws FormatException {
    int k = columnVarInt(c);
    if (k < 0 || k >= dictSize) {
      throw new FormatException(Reason.BAD_REFERENCE, "value names string " + (k & 0xFFFFFFFFL) + " of " + dictSize);
    }
    return dict[k];
  }

  private void columnBytes(int c, EventVisitor v) throws FormatException {
    int len = columnVarInt(c);
    if (len < 0 || len > colEnd[c] - colPos[c]) {
      throw new FormatException(Reason.BAD_LENGTH, "byte array of " + (len & 0xFFFFFFFFL) + " bytes past its column");
    }
    int at = colPos[c];
    colPos[c] += len;
    v.bytesValue(in, at, len);
  }

  private int columnVarInt(int c) throws FormatException {
    int p = colPos[c];
    byte[] b = in;
    int room = colEnd[c] - p;
    if (room >= 5) {
      // Fast path: a whole varint fits before the column's end (dictionary indexes of a large
      // blob take 2-3 bytes).
      int x = b[p];
      if (x >= 0) {
        colPos[c] = p + 1;
        return x;
      }
      int r = x & 0x7F;
      x = b[p + 1];
      r |= (x & 0x7F) << 7;
      if (x >= 0) {
        colPos[c] = p + 2;
        return r;
      }
      x = b[p + 2];
      r |= (x & 0x7F) << 14;
      if (x >= 0) {
        colPos[c] = p + 3;
        return r;
      }
      x = b[p + 3];
      r |= (x & 0x7F) << 21;
      if (x >= 0) {
        colPos[c] = p + 4;
        return r;
      }
      colPos[c] = p + 5;
      return r | (b[p + 4] & 0x7F) << 28;
    }
    if (room > 0 && b[p] >= 0) {
      colPos[c] = p + 1;
      return b[p];
    }
    pos = p;
    limit = colEnd[c];
    int r = varInt();
    colPos[c] = pos;
    return r;
  }

  /** A DOUBLE column value: varlong {@code u << 1} of a DECIMAL {@code u}, or 1 and 8 bytes LE. */
  private double columnDouble(int c) throws FormatException {
    long v = columnVarLong(c);
    if ((v & 1) == 0) {
      long u = v >>> 1;
      long zz = u >>> 3;
      long m = (zz >>> 1) ^ -(zz & 1);
      return m / ValueType.POW10[(int) (u & 7)];
    }
    if (v != 1) {
      throw new FormatException(Reason.BAD_TYPE, "double column value " + v + " is neither a decimal nor 1");
    }
    pos = colPos[c];
    limit = colEnd[c];
    double d = f64();
    colPos[c] = pos;
    return d;
  }
}
