package io.epochal.format.codec;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Rewrites a row payload (blob payload v1: consecutive MAP values, one string table, as this
 * library's {@link EventEncoder} writes it) into a column payload (blob payload v2,
 * docs/blob-format.md "Payload v2"): the blob's distinct strings once, in a dictionary; each
 * distinct event structure (a <em>shape</em>: maps, keys, lists and value types, without the
 * values) once; per event its shape; and per shape one column per value position, holding that
 * position's values of all the shape's events in order.
 *
 * <p>The input is trusted: it must be exactly what an {@link EventEncoder} wrote (the aggregator's
 * and {@code BlobEncoder}'s open chunk), so nothing is validated; the readers validate v2 payloads
 * in full ({@link ColumnarDecoder}). The output is a function of the input bytes alone, so two
 * row payloads that are equal give equal column payloads.
 *
 * <p>Events of one kind mostly repeat one of the last two shapes (a boolean field that flips
 * changes the shape), so each event is first matched against those, its values written straight
 * into the matched shape's columns; a failed match undoes what it wrote. Only other events are
 * walked into a skeleton that is hashed and looked up. Both paths write the same bytes
 * (ColumnarEncoderTest); on the reference mix 91% of events match, and the conversion takes 5-10%
 * less time than with the general path alone (docs/benchmarks.md).
 *
 * <p>Buffers are kept between calls (one encoder per blob encoder); not thread-safe.
 */
public final class ColumnarEncoder {
  /** Column buffers kept between calls, in bytes; above this the shapes' buffers are dropped. */
  static final long KEEP_BYTES = 8L << 20;

  private byte[] in;
  private int p;

  private final Buf dict = new Buf(1 << 12);
  private int dictCount;
  private final Buf order = new Buf(1 << 12);
  /** The current event's skeleton and its values, in column form, one after another. */
  private final Buf skel = new Buf(256);
  private final Buf vals = new Buf(1024);
  private int[] slotEnd = new int[64];
  private int slots;

  private Shape[] shapes = new Shape[16];
  private int shapeCount;
  /** Open addressing over shapes by skeleton hash: shape index + 1, 0 empty. */
  private int[] table = new int[64];
  private Shape last;
  private Shape beforeLast;

  private byte[] out = new byte[0];

  /** An encoder that matches each event against the last two shapes first (the fast path). */
  public ColumnarEncoder() {
    this(true);
  }

  /**
   * @param matchShapes false: every event is walked into a skeleton and looked up (the general
   *     path alone, which writes the same bytes more slowly; for tests and benchmarks)
   */
  public ColumnarEncoder(boolean matchShapes) {
    this.matchPrevious = matchShapes;
  }

  /*
   * Match program of the event being walked (general path), kept with its shape: one op per
   * skeleton item, op = code | argument << 4 (a size, or for KEY the key's expected string item,
   * a back-reference). Each event is first matched against the programs of the last two shapes
   * (see the class comment).
   */
  private static final int M_MAP = 0;
  private static final int M_LIST = 1;
  private static final int M_KEY = 2;
  private static final int M_NULL = 3;
  private static final int M_FALSE = 4;
  private static final int M_TRUE = 5;
  private static final int M_LONG = 6;
  private static final int M_DOUBLE = 7;
  private static final int M_STRING = 8;
  private static final int M_BYTES = 9;
  private int[] prog = new int[64];
  private int progLength;
  /** Column lengths before the value being matched was written, to undo a failed match. */
  private int[] marks = new int[64];
  /** Whether events are first matched against the last two shapes. */
  private final boolean matchPrevious;
  /** Events that matched one of the last two shapes (for tests and benchmarks). */
  long matched;

  /** The distinct structure of events, and its columns. */
  private static final class Shape {
    byte[] skeleton = new byte[64];
    int skeletonLength;
    int hash;
    int index;
    int rows;
    int columnCount;
    Buf[] columns = new Buf[0];
    int[] program = new int[0];
    int programLength;

    boolean sameSkeleton(Buf s, int h) {
      return hash == h && skeletonLength == s.length
          && Arrays.equals(skeleton, 0, skeletonLength, s.bytes, 0, s.length);
    }

    long retained() {
      long n = skeleton.length;
      for (Buf b : columns) {
        n += b == null ? 0 : b.bytes.length;
      }
      return n;
    }
  }

  /**
   * Converts the row payload {@code rows[0, length)}, which holds {@code events} events; the result
   * is {@link #output()}{@code [0, returned length)}, valid until the next call.
   */
  public int convert(byte[] rows, int length, int events) {
    in = rows;
    p = 0;
    dict.length = 0;
    dictCount = 0;
    order.length = 0;
    shapeCount = 0;
    last = null;
    beforeLast = null;
    int need = Integer.highestOneBit(Math.max(16, events / 2)) * 4;
    if (table.length < need) {
      table = new int[need];
    } else {
      Arrays.fill(table, 0);
    }
    for (int e = 0; e < events; e++) {
      if (matchPrevious && last != null) {
        // Events of one kind mostly repeat one of the last two shapes (a boolean field flips).
        Shape m = matches(last) ? last : beforeLast != null && matches(beforeLast) ? beforeLast : null;
        if (m != null) {
          if (m == beforeLast) {
            beforeLast = last;
            last = m;
          }
          m.rows++;
          order.varInt(m.index);
          matched++;
          continue;
        }
      }
      skel.length = 0;
      vals.length = 0;
      slots = 0;
      progLength = 0;
      value(in[p++]);
      Shape s = shapeOf();
      s.rows++;
      order.varInt(s.index);
      int from = 0;
      for (int j = 0; j < slots; j++) {
        int to = slotEnd[j];
        s.columns[j].put(vals.bytes, from, to - from);
        from = to;
      }
    }
    if (p != length) {
      throw new IllegalStateException("row payload of " + length + " bytes held " + p + " bytes of " + events + " events");
    }
    int size = assemble();
    in = null;
    long retained = 0;
    for (int i = 0; i < shapes.length && shapes[i] != null; i++) {
      retained += shapes[i].retained();
    }
    if (retained > KEEP_BYTES) {
      shapes = new Shape[16];
    }
    return size;
  }

  /** The buffer {@link #convert} wrote into. */
  public byte[] output() {
    return out;
  }

  private int assemble() {
    long size = varIntLength(dictCount) + (long) dict.length + varIntLength(shapeCount) + order.length;
    for (int i = 0; i < shapeCount; i++) {
      Shape s = shapes[i];
      size += varIntLength(s.rows) + varIntLength(s.skeletonLength) + s.skeletonLength;
      for (int j = 0; j < s.columnCount; j++) {
        size += varIntLength(s.columns[j].length) + s.columns[j].length;
      }
    }
    if (size > Integer.MAX_VALUE - 16) {
      throw new IllegalStateException("column payload of " + size + " bytes");
    }
    // 16 bytes of slack: the varint writers ask for room for their longest form.
    if (out.length < size + 16) {
      out = new byte[(int) Math.max(size + 16, Math.min(Integer.MAX_VALUE - 16, out.length * 3L / 2))];
    }
    Buf o = new Buf(out);
    o.varInt(dictCount);
    o.put(dict.bytes, 0, dict.length);
    o.varInt(shapeCount);
    for (int i = 0; i < shapeCount; i++) {
      Shape s = shapes[i];
      o.varInt(s.rows);
      o.varInt(s.skeletonLength);
      o.put(s.skeleton, 0, s.skeletonLength);
    }
    o.put(order.bytes, 0, order.length);
    for (int i = 0; i < shapeCount; i++) {
      Shape s = shapes[i];
      for (int j = 0; j < s.columnCount; j++) {
        o.varInt(s.columns[j].length);
        o.put(s.columns[j].bytes, 0, s.columns[j].length);
      }
    }
    if (o.length != size || o.bytes != out) {
      throw new IllegalStateException("column payload size " + o.length + " != " + size);
    }
    return o.length;
  }

  /**
   * Walks the event at {@link #p} along shape {@code s}'s program, writing its values into the
   * shape's columns (and its new strings into the dictionary). If the event turns out to have
   * another shape, undoes those writes, leaves {@link #p} at the event and returns false.
   */
  private boolean matches(Shape s) {
    int p0 = p;
    int dictLength = dict.length;
    int dictEntries = dictCount;
    int[] program = s.program;
    int n = s.programLength;
    Buf[] cols = s.columns;
    if (marks.length < s.columnCount) {
      marks = new int[Math.max(s.columnCount, marks.length * 2)];
    }
    int[] mark = marks;
    byte[] b = in;
    int q = p;
    int slot = 0;
    for (int i = 0; i < n; i++) {
      int op = program[i];
      int code = op & 15;
      if (code == M_KEY) {
        // Keys are back-references; the first 64 entries fit in one byte. (This one-byte fast path
        // and the STRING case's are written out: as a shared helper setting p, the conversion
        // measured 3-4% slower.)
        int x = b[q];
        if (x >= 0) {
          q++;
        } else {
          p = q;
          x = readVarInt();
          q = p;
        }
        if (x != op >>> 4) {
          return undo(p0, dictLength, dictEntries, cols, slot);
        }
        continue;
      }
      int tag = b[q++];
      switch (code) {
        case M_LONG -> {
          if (tag != ValueType.LONG) {
            return undo(p0, dictLength, dictEntries, cols, slot);
          }
          int from = q;
          for (int k = 0; k < 8 && b[q++] < 0; k++) {
            if (k == 7) {
              q++; // the 9th byte of a varlong holds 8 bits
            }
          }
          Buf c = cols[slot];
          mark[slot++] = c.length;
          c.put(b, from, q - from);
        }
        case M_STRING -> {
          if (tag != ValueType.STRING) {
            return undo(p0, dictLength, dictEntries, cols, slot);
          }
          int h = b[q];
          if (h >= 0) {
            q++;
          } else {
            p = q;
            h = readVarInt();
            q = p;
          }
          int index;
          if ((h & 1) != 0) {
            index = h >>> 1;
          } else {
            int len = h >>> 1;
            dict.varInt(len);
            dict.put(b, q, len);
            q += len;
            index = dictCount++;
          }
          Buf c = cols[slot];
          mark[slot++] = c.length;
          c.varInt(index);
        }
        case M_DOUBLE -> {
          if (tag == ValueType.DECIMAL) {
            p = q;
            long v = readVarLong();
            q = p;
            Buf c = cols[slot];
            mark[slot++] = c.length;
            c.varLong(v << 1);
          } else if (tag == ValueType.DOUBLE) {
            Buf c = cols[slot];
            mark[slot++] = c.length;
            c.put(1);
            c.put(b, q, 8);
            q += 8;
          } else {
            return undo(p0, dictLength, dictEntries, cols, slot);
          }
        }
        case M_MAP, M_LIST -> {
          if (tag != (code == M_MAP ? ValueType.MAP : ValueType.LIST)) {
            return undo(p0, dictLength, dictEntries, cols, slot);
          }
          p = q;
          int size = readVarInt();
          q = p;
          if (size != op >>> 4) {
            return undo(p0, dictLength, dictEntries, cols, slot);
          }
        }
        case M_NULL, M_FALSE, M_TRUE -> {
          // NULL, FALSE, TRUE are tags 0, 1, 2
          if (tag != code - M_NULL) {
            return undo(p0, dictLength, dictEntries, cols, slot);
          }
        }
        case M_BYTES -> {
          if (tag != ValueType.BYTES) {
            return undo(p0, dictLength, dictEntries, cols, slot);
          }
          int from = q;
          p = q;
          int len = readVarInt();
          q = p + len;
          Buf c = cols[slot];
          mark[slot++] = c.length;
          c.put(b, from, q - from);
        }
        default -> throw new IllegalStateException("match op " + op);
      }
    }
    p = q;
    return true;
  }

  /** Undoes a failed {@link #matches}: the columns' first {@code written} values, new strings, position. */
  private boolean undo(int p0, int dictLength, int dictEntries, Buf[] cols, int written) {
    for (int j = 0; j < written; j++) {
      cols[j].length = marks[j];
    }
    dict.length = dictLength;
    dictCount = dictEntries;
    p = p0;
    return false;
  }

  private void op(int code, int arg) {
    if (progLength == prog.length) {
      prog = Arrays.copyOf(prog, progLength * 2);
    }
    prog[progLength++] = code | arg << 4;
  }

  /** The shape of the event just walked ({@link #skel}), made if it is new. */
  private Shape shapeOf() {
    // Events of one kind mostly repeat one of the last two shapes: compare before hashing.
    if (sameAs(last)) {
      return last;
    }
    if (sameAs(beforeLast)) {
      Shape s = beforeLast;
      beforeLast = last;
      last = s;
      return s;
    }
    beforeLast = last;
    int h = hash(skel.bytes, skel.length);
    int mask = table.length - 1;
    int i = h & mask;
    while (table[i] != 0) {
      Shape s = shapes[table[i] - 1];
      if (s.sameSkeleton(skel, h)) {
        last = s;
        return s;
      }
      i = (i + 1) & mask;
    }
    Shape s = newShape(h);
    table[i] = s.index + 1;
    if ((shapeCount * 2) > table.length) {
      rehash();
    }
    last = s;
    return s;
  }

  private boolean sameAs(Shape s) {
    return s != null && s.skeletonLength == skel.length
        && Arrays.equals(s.skeleton, 0, skel.length, skel.bytes, 0, skel.length);
  }

  private Shape newShape(int h) {
    if (shapeCount == shapes.length) {
      shapes = Arrays.copyOf(shapes, shapeCount * 2);
    }
    Shape s = shapes[shapeCount];
    if (s == null) {
      s = shapes[shapeCount] = new Shape();
    }
    s.index = shapeCount++;
    s.hash = h;
    s.rows = 0;
    if (s.skeleton.length < skel.length) {
      s.skeleton = new byte[skel.length];
    }
    System.arraycopy(skel.bytes, 0, s.skeleton, 0, skel.length);
    s.skeletonLength = skel.length;
    if (s.program.length < progLength) {
      s.program = new int[progLength];
    }
    System.arraycopy(prog, 0, s.program, 0, progLength);
    s.programLength = progLength;
    if (s.columns.length < slots) {
      s.columns = Arrays.copyOf(s.columns, slots);
    }
    for (int j = 0; j < slots; j++) {
      if (s.columns[j] == null) {
        s.columns[j] = new Buf(64);
      }
      s.columns[j].length = 0;
    }
    s.columnCount = slots;
    return s;
  }

  private void rehash() {
    int[] t = new int[table.length * 2];
    int mask = t.length - 1;
    for (int k = 0; k < shapeCount; k++) {
      int i = shapes[k].hash & mask;
      while (t[i] != 0) {
        i = (i + 1) & mask;
      }
      t[i] = k + 1;
    }
    table = t;
  }

  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  /** A hash of {@code b[0, n)}, eight bytes a step. */
  private static int hash(byte[] b, int n) {
    long h = n;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      h = (h ^ (long) LONGS.get(b, i)) * 0x9E3779B97F4A7C15L;
    }
    for (; i < n; i++) {
      h = (h ^ b[i]) * 0x9E3779B97F4A7C15L;
    }
    return (int) (h ^ (h >>> 32));
  }

  /** Walks the value whose tag was just read, from {@link #in} at {@link #p}. */
  private void value(int tag) {
    switch (tag) {
      case ValueType.NULL, ValueType.FALSE, ValueType.TRUE -> {
        skel.put(tag);
        op(M_NULL + tag, 0);
      }
      case ValueType.LONG -> {
        skel.put(ValueType.LONG);
        op(M_LONG, 0);
        int from = p;
        skipVarLong();
        vals.put(in, from, p - from);
        endSlot();
      }
      case ValueType.DECIMAL -> {
        skel.put(ValueType.DOUBLE);
        op(M_DOUBLE, 0);
        vals.varLong(readVarLong() << 1);
        endSlot();
      }
      case ValueType.DOUBLE -> {
        skel.put(ValueType.DOUBLE);
        op(M_DOUBLE, 0);
        vals.put(1);
        vals.put(in, p, 8);
        p += 8;
        endSlot();
      }
      case ValueType.STRING -> {
        skel.put(ValueType.STRING);
        op(M_STRING, 0);
        vals.varInt(stringIndex());
        endSlot();
      }
      case ValueType.BYTES -> {
        skel.put(ValueType.BYTES);
        op(M_BYTES, 0);
        int from = p;
        int n = readVarInt();
        p += n;
        vals.put(in, from, p - from);
        endSlot();
      }
      case ValueType.LIST -> {
        skel.put(ValueType.LIST);
        int n = readVarInt();
        skel.varInt(n);
        op(M_LIST, n);
        for (int i = 0; i < n; i++) {
          value(in[p++]);
        }
      }
      case ValueType.MAP -> {
        skel.put(ValueType.MAP);
        int n = readVarInt();
        skel.varInt(n);
        op(M_MAP, n);
        for (int i = 0; i < n; i++) {
          int k = stringIndex();
          skel.varInt(k);
          // A later event matches this key only as a back-reference to entry k.
          op(M_KEY, k << 1 | 1);
          value(in[p++]);
        }
      }
      default -> throw new IllegalStateException("not a row payload: type " + tag + " at " + (p - 1));
    }
  }

  private void endSlot() {
    if (slots == slotEnd.length) {
      slotEnd = Arrays.copyOf(slotEnd, slots * 2);
    }
    slotEnd[slots++] = vals.length;
  }

  /** The dictionary index of the string item at {@link #p}; a literal becomes the next entry. */
  private int stringIndex() {
    int h = readVarInt();
    if ((h & 1) != 0) {
      return h >>> 1;
    }
    int n = h >>> 1;
    dict.varInt(n);
    dict.put(in, p, n);
    p += n;
    return dictCount++;
  }

  private int readVarInt() {
    int r = 0;
    for (int shift = 0; ; shift += 7) {
      int b = in[p++];
      r |= (b & 0x7F) << shift;
      if (b >= 0 || shift == 28) {
        return r;
      }
    }
  }

  /** Kryo's varlong (docs/wire-format.md): 7 bits in each of bytes 1-8, all 8 bits of a 9th. */
  private long readVarLong() {
    long r = 0;
    for (int shift = 0; shift < 56; shift += 7) {
      int b = in[p++];
      r |= (long) (b & 0x7F) << shift;
      if (b >= 0) {
        return r;
      }
    }
    return r | (long) (in[p++] & 0xFF) << 56;
  }

  private void skipVarLong() {
    for (int i = 0; i < 8; i++) {
      if (in[p++] >= 0) {
        return;
      }
    }
    p++;
  }

  static int varIntLength(int v) {
    return v >>> 7 == 0 ? 1 : v >>> 14 == 0 ? 2 : v >>> 21 == 0 ? 3 : v >>> 28 == 0 ? 4 : 5;
  }

  /**
   * A growable byte array with the encodings of docs/wire-format.md (Kryo's varint forms). Not
   * Kryo's {@code Output}: with it the conversion took 1.4-1.6x as long (600 against 380-450 ns
   * per event of the reference mix), its per-call capacity checks and flush hooks on every one of
   * the ~70 small writes per event.
   */
  static final class Buf {
    byte[] bytes;
    int length;

    Buf(int capacity) {
      bytes = new byte[capacity];
    }

    Buf(byte[] fixed) {
      bytes = fixed;
    }

    private void room(int n) {
      if (bytes.length - length < n) {
        bytes = Arrays.copyOf(bytes, Math.max(length + n, bytes.length * 2));
      }
    }

    void put(int b) {
      room(1);
      bytes[length++] = (byte) b;
    }

    void put(byte[] src, int off, int n) {
      room(n);
      if (n <= 16) {
        for (int i = 0; i < n; i++) {
          bytes[length + i] = src[off + i];
        }
      } else {
        System.arraycopy(src, off, bytes, length, n);
      }
      length += n;
    }

    /** Kryo's {@code writeVarInt(v, true)}. */
    void varInt(int v) {
      room(5);
      while ((v & ~0x7F) != 0) {
        bytes[length++] = (byte) ((v & 0x7F) | 0x80);
        v >>>= 7;
      }
      bytes[length++] = (byte) v;
    }

    /** Kryo's {@code writeVarLong(v, true)}: at most 9 bytes. */
    void varLong(long v) {
      room(9);
      for (int i = 0; i < 8; i++) {
        if ((v & ~0x7FL) == 0) {
          bytes[length++] = (byte) v;
          return;
        }
        bytes[length++] = (byte) ((v & 0x7F) | 0x80);
        v >>>= 7;
      }
      bytes[length++] = (byte) v;
    }
  }
}
