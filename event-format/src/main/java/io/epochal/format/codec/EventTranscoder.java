package io.epochal.format.codec;

import io.epochal.format.FormatException;
import io.epochal.format.FormatException.Reason;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Copies one encoded event (a datagram record's event, from an untrusted sender; its strings are
 * literals, or in a v2 datagram references to the datagram's {@link DatagramStrings}) into an
 * {@link EventEncoder}'s output, producing exactly the bytes {@code writeEvent} of the decoded map
 * would, without building the map or its strings.
 *
 * <p>The walk checks what {@link EventDecoder} checks, in the same order, and fails with the same
 * {@link Reason}. What the decode/encode round trip changes is re-encoded the same way here:
 * varints and varlongs in their shortest form, doubles re-chosen between DECIMAL and DOUBLE (NaN
 * canonical), malformed UTF-8 replaced by U+FFFD, and strings de-duplicated through the encoder's
 * byte-keyed {@link StringTable}. Everything else is copied as bytes.
 *
 * <p>It leaves rolling back a failed event to its {@link EventEncoder}. Not thread-safe.
 */
final class EventTranscoder extends EncodedWalk {
  private final EventOutput out;
  /** The encoder's string table, or null without de-duplication. */
  private final StringTable table;
  /** Without de-duplication: the distinct keys of the current event, to detect repeated keys. */
  private final StringTable keys;
  /*
   * Guesses of the next string's table entry (entry + 1; 0: none), from what followed last time.
   * Events of one kind repeat their keys in the same order, and many keys their values, so most
   * strings are found by one comparison with the guessed entry instead of hashing and probing. A
   * guess is only ever checked, never trusted: the table holds each byte string once, so an entry
   * with the same bytes is the entry the lookup would have found.
   */
  /** By parent key entry + 1 (0: the event map): the first key of the map under that key. */
  private int[] firstKey = new int[256];
  /** By key entry + 1: the key that followed it in its map. */
  private int[] nextKey = new int[256];
  /** By key entry: the entry of its STRING value. */
  private int[] valueOf = new int[256];

  /*
   * The current datagram's string section (v2 records), or null. memoEntry[i] is the table entry of
   * section string i when memoStamp[i] == memoGen: each section string is looked up once per
   * datagram, and every later reference to it is an array read. memoGen changes with the section
   * (another datagram) and with the table's generation (entries removed), which is all that can
   * make a memo wrong: entries are never renumbered otherwise.
   */
  private DatagramStrings shared;
  private DatagramStrings memoOwner;
  private long memoOwnerStamp;
  private long memoTableGen = -1;
  private long memoGen;
  private int[] memoEntry = new int[0];
  private long[] memoStamp = new long[0];

  private static final byte[] EMPTY = new byte[0];

  EventTranscoder(EventOutput out, StringTable table) {
    this.out = out;
    this.table = table;
    this.keys = table == null ? new StringTable() : null;
  }

  /**
   * Transcodes {@code buf[off, off+len)}, which must hold exactly one MAP value whose string items
   * may reference {@code strings} (null: no references allowed).
   */
  void event(byte[] buf, int off, int len, DatagramStrings strings) throws FormatException {
    shared = strings;
    if (strings != null && table != null) {
      if (strings != memoOwner || strings.stamp != memoOwnerStamp || table.generation() != memoTableGen) {
        memoGen++;
        memoOwner = strings;
        memoOwnerStamp = strings.stamp;
        memoTableGen = table.generation();
      }
      if (memoEntry.length < strings.size) {
        int n = Math.max(strings.size, memoEntry.length * 2);
        memoEntry = Arrays.copyOf(memoEntry, n);
        memoStamp = Arrays.copyOf(memoStamp, n);
      }
    }
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
      map(1, -1);
      if (pos != limit) {
        throw new FormatException(Reason.TRAILING_BYTES, (limit - pos) + " bytes left after the event");
      }
    } finally {
      in = EMPTY;
      shared = null;
    }
  }

  /** A map at {@code depth}, the value of the key with entry {@code parentKey} (-1: none known). */
  private void map(int depth, int parentKey) throws FormatException {
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
    reserveKeys(n);
    // A cheap filter: only a map whose key identities collide modulo 64 needs the exact check.
    long seen = 0;
    boolean maybeRepeated = false;
    int prev = -1;
    for (int i = 0; i < n; i++) {
      count();
      int id;
      if (table == null) {
        id = string(true, -1);
      } else if (i == 0) {
        int[] guesses = firstKey = room(firstKey, parentKey + 1);
        id = string(true, guesses[parentKey + 1] - 1);
        guesses[parentKey + 1] = id + 1;
      } else {
        int[] guesses = nextKey = room(nextKey, prev + 1);
        id = string(true, guesses[prev + 1] - 1);
        guesses[prev + 1] = id + 1;
      }
      prev = id;
      keyStack[keyTop++] = id;
      long bit = 1L << id;
      maybeRepeated |= (seen & bit) != 0;
      seen |= bit;
      value(depth, id);
    }
    // Checked after the entries, as the decoder does (a failure inside the map comes first).
    if (maybeRepeated && repeats(base, keyTop)) {
      throw new FormatException(Reason.BAD_LENGTH, "map repeats a key");
    }
    keyTop = base;
  }

  /** A value at {@code depth}; {@code key} is its key's entry when it is a map entry's value, else -1. */
  private void value(int depth, int key) throws FormatException {
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
        EventEncoder.writeDouble(out, f64());
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
        if (table != null && key >= 0) {
          int[] guesses = valueOf = room(valueOf, key);
          guesses[key] = string(false, guesses[key] - 1) + 1;
        } else {
          string(false, -1);
        }
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
          value(depth + 1, -1);
        }
      }
      case ValueType.MAP -> map(depth + 1, key);
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
   * Copies one string item (a literal, or a reference to the datagram's string section when there
   * is one) as a literal or, when the table already holds its bytes, as a back-reference. Returns
   * the string's identity for repeated-key checks: its table index ({@code -1} for values without
   * de-duplication). {@code guess} is the entry it probably is (checked first), or -1.
   */
  private int string(boolean key, int guess) throws FormatException {
    int h = length("string header");
    int n = h >>> 1;
    if ((h & 1) != 0) {
      return sharedString(n, key, guess);
    }
    if (n > limit - pos) {
      throw new FormatException(Reason.BAD_LENGTH, "string of " + n + " bytes, " + (limit - pos) + " left");
    }
    byte[] src = in;
    int off = pos;
    int len = n;
    pos += n;
    if (guess >= 0 && table.holds(guess, src, off, len, out.getBuffer())) {
      // Equal bytes: the input is well-formed UTF-8 like every entry, nothing to normalise.
      out.writeVarInt((guess << 1) | 1, true);
      return guess;
    }
    long ha = ByteStrings.hashAndAscii(src, off, len);
    if (!ByteStrings.isAscii(ha) && !ByteStrings.isWellFormedUtf8(src, off, len)) {
      // The decoder's string holds U+FFFD for each malformed sequence; its encoding is what goes out.
      src = new String(src, off, len, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8);
      off = 0;
      len = src.length;
      ha = ByteStrings.hashAndAscii(src, 0, len);
    }
    return put(key, src, off, len, (int) ha);
  }

  /**
   * A reference to string {@code i} of the datagram's section: written as the table entry memoised
   * for it in this datagram, or looked up (guess first) like a literal and memoised.
   */
  private int sharedString(int i, boolean key, int guess) throws FormatException {
    DatagramStrings s = shared;
    if (s == null) {
      throw new FormatException(Reason.BAD_REFERENCE, "string references are not allowed here");
    }
    if (i >= s.size) {
      throw new FormatException(Reason.BAD_REFERENCE, "reference to string " + i + " of " + s.size);
    }
    if (table == null) {
      return put(key, s.data, s.offsets[i], s.lengths[i], s.hashes[i]);
    }
    if (memoStamp[i] == memoGen) {
      int e = memoEntry[i];
      out.writeVarInt((e << 1) | 1, true);
      return e;
    }
    byte[] src = s.data;
    int off = s.offsets[i];
    int len = s.lengths[i];
    int e;
    if (guess >= 0 && table.holds(guess, src, off, len, out.getBuffer())) {
      out.writeVarInt((guess << 1) | 1, true);
      e = guess;
    } else {
      e = put(key, src, off, len, s.hashes[i]);
    }
    memoEntry[i] = e;
    memoStamp[i] = memoGen;
    return e;
  }

  /**
   * Writes the well-formed UTF-8 string {@code src[off, off+len)} (hash {@code hash}) as a
   * back-reference when the table holds it, else as a literal (added to the table). Returns its
   * identity for repeated-key checks: its table index ({@code -1} for values without de-duplication).
   */
  private int put(boolean key, byte[] src, int off, int len, int hash) {
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

  /** {@code a}, or a larger copy of it, with room for index {@code i}. */
  private static int[] room(int[] a, int i) {
    return i < a.length ? a : Arrays.copyOf(a, Math.max(i + 1, a.length * 2));
  }
}
