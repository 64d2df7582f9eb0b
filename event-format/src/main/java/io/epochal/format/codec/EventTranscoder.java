package io.epochal.format.codec;

import io.epochal.format.FormatException;
import io.epochal.format.FormatException.Reason;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Copies one encoded event without string references (a datagram record's event, from an untrusted
 * sender) into an {@link EventEncoder}'s output, producing exactly the bytes {@code
 * writeEvent(new EventDecoder(false).readEvent())} would, without building the map or its strings.
 *
 * <p>The walk checks what {@link EventDecoder} checks, in the same order, and fails with the same
 * {@link Reason}. What the decode/encode round trip changes is re-encoded the same way here:
 * varints and varlongs in their shortest form, doubles re-chosen between DECIMAL and DOUBLE (NaN
 * canonical), malformed UTF-8 replaced by U+FFFD, and strings de-duplicated through the encoder's
 * byte-keyed {@link StringTable}. Everything else is copied as bytes.
 *
 * <p>It leaves rolling back a failed event to its {@link EventEncoder}. Not thread-safe.
 */
final class EventTranscoder {
  private final EventOutput out;
  /** The encoder's string table, or null without de-duplication. */
  private final StringTable table;
  /** Without de-duplication: the distinct keys of the current event, to detect repeated keys. */
  private final StringTable keys;
  private byte[] in;
  private int pos;
  private int limit;
  private int values;
  /** Key identities (table indexes) of the maps being walked, innermost last. */
  private int[] keyStack = new int[64];
  private int keyTop;
  private int[] sortScratch = new int[0];

  EventTranscoder(EventOutput out, StringTable table) {
    this.out = out;
    this.table = table;
    this.keys = table == null ? new StringTable() : null;
  }

  /** Transcodes {@code buf[off, off+len)}, which must hold exactly one MAP value. */
  void event(byte[] buf, int off, int len) throws FormatException {
    in = buf;
    pos = off;
    limit = off + len;
    values = 0;
    keyTop = 0;
    if (keys != null) {
      keys.clear();
    }
    try {
      int type = readByte();
      if (type != ValueType.MAP) {
        throw new FormatException(Reason.BAD_TYPE, "an event must be a map, found type " + type);
      }
      map(1);
      if (pos != limit) {
        throw new FormatException(Reason.TRAILING_BYTES, (limit - pos) + " bytes left after the event");
      }
    } finally {
      in = null;
    }
  }

  private void map(int depth) throws FormatException {
    if (depth > EventEncoder.MAX_DEPTH) {
      throw new FormatException(Reason.TOO_DEEP, "containers nested deeper than " + EventEncoder.MAX_DEPTH);
    }
    count();
    int n = length("map size");
    // Each entry takes at least two bytes (key item, value tag).
    if (n > (limit - pos) / 2) {
      throw new FormatException(Reason.BAD_LENGTH, "map of " + n + " entries in " + (limit - pos) + " bytes");
    }
    out.writeByte(ValueType.MAP);
    out.writeVarInt(n, true);
    int base = keyTop;
    if (keyStack.length < base + n) {
      keyStack = Arrays.copyOf(keyStack, Math.max(base + n, keyStack.length * 2));
    }
    // A cheap filter: only a map whose key identities collide modulo 64 needs the exact check.
    long seen = 0;
    boolean maybeRepeated = false;
    for (int i = 0; i < n; i++) {
      count();
      int id = string(true);
      keyStack[keyTop++] = id;
      long bit = 1L << id;
      maybeRepeated |= (seen & bit) != 0;
      seen |= bit;
      value(depth);
    }
    // Checked after the entries, as the decoder does (a failure inside the map comes first).
    if (maybeRepeated && repeats(base, keyTop)) {
      throw new FormatException(Reason.BAD_LENGTH, "map repeats a key");
    }
    keyTop = base;
  }

  private void value(int depth) throws FormatException {
    count();
    int type = readByte();
    switch (type) {
      case ValueType.NULL, ValueType.FALSE, ValueType.TRUE -> out.writeByte(type);
      case ValueType.LONG -> {
        // zigzag is a bijection: the decoder's long re-encodes to the same unsigned varlong.
        long u = varLong();
        out.writeByte(ValueType.LONG);
        out.writeVarLong(u, true);
      }
      case ValueType.DOUBLE -> {
        if (limit - pos < 8) {
          throw truncated();
        }
        long bits = 0;
        for (int i = 7; i >= 0; i--) {
          bits = (bits << 8) | (in[pos + i] & 0xFFL);
        }
        pos += 8;
        EventEncoder.writeDouble(out, Double.longBitsToDouble(bits));
      }
      case ValueType.DECIMAL -> {
        long v = varLong();
        long zz = v >>> 3;
        long m = (zz >>> 1) ^ -(zz & 1);
        int k = (int) (v & 7);
        if (writerKeeps(m, k)) {
          out.writeByte(ValueType.DECIMAL);
          out.writeVarLong(v, true);
        } else {
          EventEncoder.writeDouble(out, m / ValueType.POW10[k]);
        }
      }
      case ValueType.STRING -> {
        out.writeByte(ValueType.STRING);
        string(false);
      }
      case ValueType.BYTES -> {
        int n = length("byte array length");
        if (n > limit - pos) {
          throw new FormatException(Reason.BAD_LENGTH, "byte array of " + n + " bytes, " + (limit - pos) + " left");
        }
        out.writeByte(ValueType.BYTES);
        out.writeVarInt(n, true);
        out.writeBytes(in, pos, n);
        pos += n;
      }
      case ValueType.LIST -> {
        if (depth + 1 > EventEncoder.MAX_DEPTH) {
          throw new FormatException(Reason.TOO_DEEP, "containers nested deeper than " + EventEncoder.MAX_DEPTH);
        }
        int n = length("list size");
        if (n > limit - pos) {
          throw new FormatException(Reason.BAD_LENGTH, "list of " + n + " items in " + (limit - pos) + " bytes");
        }
        out.writeByte(ValueType.LIST);
        out.writeVarInt(n, true);
        for (int i = 0; i < n; i++) {
          value(depth + 1);
        }
      }
      case ValueType.MAP -> map(depth + 1);
      default -> throw new FormatException(Reason.BAD_TYPE, "unknown value type " + type);
    }
  }

  /**
   * Whether the writer ({@link EventEncoder#writeDouble}) writes {@code m / 10^k} as DECIMAL(m, k)
   * again, so the value can be copied without its search over scales. True when {@code 0 < |m| <
   * 2^51} and no smaller scale can hold the value ({@code k == 0} or {@code m} not a multiple of 10),
   * or for 0 at scale 0: two different decimals m/10^k and m'/10^k' (k' < k) differ by at least
   * 10^-k, more than one ulp of a double under 2^51 / 10^k, so no smaller scale rounds to the same
   * double; at scale k, d * 10^k is within 2^-51 |m| < 0.5 of m, so it rounds back to m.
   */
  static boolean writerKeeps(long m, int k) {
    if (m == 0) {
      return k == 0;
    }
    return m > -(1L << 51) && m < (1L << 51) && (k == 0 || m % 10 != 0);
  }

  /**
   * Copies one string item (a literal; references are not allowed in this input) as a literal or,
   * when the table already holds its bytes, as a back-reference. Returns the string's identity for
   * repeated-key checks: its table index ({@code -1} for values without de-duplication).
   */
  private int string(boolean key) throws FormatException {
    int h = length("string header");
    int n = h >>> 1;
    if ((h & 1) != 0) {
      throw new FormatException(Reason.BAD_REFERENCE, "string references are not allowed here");
    }
    if (n > limit - pos) {
      throw new FormatException(Reason.BAD_LENGTH, "string of " + n + " bytes, " + (limit - pos) + " left");
    }
    byte[] src = in;
    int off = pos;
    int len = n;
    pos += n;
    long ha = ByteStrings.hashAndAscii(src, off, len);
    if (!ByteStrings.isAscii(ha) && !ByteStrings.isWellFormedUtf8(src, off, len)) {
      // The decoder's string holds U+FFFD for each malformed sequence; its encoding is what goes out.
      src = new String(src, off, len, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8);
      off = 0;
      len = src.length;
      ha = ByteStrings.hashAndAscii(src, 0, len);
    }
    int hash = (int) ha;
    StringTable t = table != null ? table : key ? keys : null;
    if (t == null) {
      out.writeLiteral(src, off, len);
      return -1;
    }
    int e = t.find(src, off, len, hash, out.getBuffer());
    if (e >= 0 && table != null) {
      out.writeVarInt((e << 1) | 1, true);
      return e;
    }
    out.writeLiteral(src, off, len);
    if (e < 0) {
      e = t.size();
      t.add(out.position() - len, len, hash);
    }
    return e;
  }

  /** Whether two of {@code keyStack[from, to)} are equal. */
  private boolean repeats(int from, int to) {
    int n = to - from;
    if (n <= 32) {
      for (int i = from; i < to; i++) {
        for (int j = i + 1; j < to; j++) {
          if (keyStack[i] == keyStack[j]) {
            return true;
          }
        }
      }
      return false;
    }
    if (sortScratch.length < n) {
      sortScratch = new int[n];
    }
    System.arraycopy(keyStack, from, sortScratch, 0, n);
    Arrays.sort(sortScratch, 0, n);
    for (int i = 1; i < n; i++) {
      if (sortScratch[i] == sortScratch[i - 1]) {
        return true;
      }
    }
    return false;
  }

  private int readByte() throws FormatException {
    if (pos >= limit) {
      throw truncated();
    }
    return in[pos++] & 0xFF;
  }

  /** Kryo's {@code readVarInt(true)}: at most 5 bytes, the 5th always last. */
  private int varInt() throws FormatException {
    int b = readByte();
    int r = b & 0x7F;
    if ((b & 0x80) != 0) {
      b = readByte();
      r |= (b & 0x7F) << 7;
      if ((b & 0x80) != 0) {
        b = readByte();
        r |= (b & 0x7F) << 14;
        if ((b & 0x80) != 0) {
          b = readByte();
          r |= (b & 0x7F) << 21;
          if ((b & 0x80) != 0) {
            b = readByte();
            r |= (b & 0x7F) << 28;
          }
        }
      }
    }
    return r;
  }

  /** Kryo's {@code readVarLong(true)}: 7 bits in each of bytes 1-8, all 8 bits of a 9th. */
  private long varLong() throws FormatException {
    long r = 0;
    for (int shift = 0; shift < 56; shift += 7) {
      int b = readByte();
      r |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return r;
      }
    }
    return r | (long) readByte() << 56;
  }

  private int length(String what) throws FormatException {
    int n = varInt();
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

  private FormatException truncated() {
    return new FormatException(Reason.TRUNCATED, "input ends early at byte " + pos);
  }
}
