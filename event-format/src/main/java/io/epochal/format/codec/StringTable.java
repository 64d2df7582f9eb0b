package io.epochal.format.codec;

import java.util.Arrays;

/**
 * The writer's string table, keyed on UTF-8 bytes: each entry is a byte range of the payload being
 * written (the literal's bytes, which the payload holds once), found again by hash and byte
 * comparison. Indexes are assigned in insertion order from 0, as the reader assigns them, so an
 * entry's index is the back-reference that names it.
 *
 * <p>Open addressing with linear probing; entries are rehashed in index order when the table grows,
 * so removing the newest entries by clearing their slots ({@link #truncate}) leaves exactly the table
 * their absence would have given: no other entry's probe sequence runs through a newer entry's slot.
 * This makes undoing a rejected event cost only what the event added.
 *
 * <p>The table does not hold the payload; callers pass it ({@code store}) to {@link #find}, since
 * the payload buffer may be reallocated as it grows. Not thread-safe.
 */
final class StringTable {
  /**
   * Per slot: the top {@value #TAG_BITS} bits of the entry's hash, then its index + 1 in the low
   * {@value #INDEX_BITS} bits; 0 is empty. Ints, not longs, keep the array that every lookup
   * touches at a random place half as large (it is the table's main source of cache misses).
   * Entries fit: a payload holds at most 16 MiB and every entry but {@code ""} at least 2 bytes.
   */
  private int[] slots = new int[1024];
  private static final int INDEX_BITS = 24;
  private static final int TAG_BITS = 32 - INDEX_BITS;
  private static final int INDEX_MASK = (1 << INDEX_BITS) - 1;
  /** Per entry: its payload offset in the high 32 bits, its length in the low ones. */
  private long[] ranges = new long[256];
  private int[] slotOf = new int[256];
  /** Per entry: its full hash, to place it again when the table grows. */
  private int[] hashes = new int[256];
  private int size;
  /** Incremented whenever entries are removed: memos of entry indexes are valid within one generation. */
  private long generation;
  /** The empty slot where the last unsuccessful {@link #find} ended. */
  private int freeSlot = -1;

  int size() {
    return size;
  }

  /**
   * The index of the entry holding the bytes {@code key[off, off+len)} (whose {@link
   * ByteStrings#hashAndAscii} hash is {@code hash}), or -1. Entries are compared with {@code store},
   * the payload the entries' offsets point into.
   */
  int find(byte[] key, int off, int len, int hash, byte[] store) {
    int mask = slots.length - 1;
    int i = hash & mask;
    int tag = hash & ~INDEX_MASK;
    while (true) {
      int slot = slots[i];
      if (slot == 0) {
        freeSlot = i;
        return -1;
      }
      if ((slot & ~INDEX_MASK) == tag) {
        int e = (slot & INDEX_MASK) - 1;
        long range = ranges[e];
        if ((int) range == len && ByteStrings.equal(store, (int) (range >>> 32), key, off, len)) {
          return e;
        }
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * Whether entry {@code e} (any int; false if there is no such entry) holds exactly the bytes
   * {@code key[off, off+len)}: a check of a guessed entry that costs no hashing or probing.
   */
  boolean holds(int e, byte[] key, int off, int len, byte[] store) {
    if (e < 0 || e >= size) {
      return false;
    }
    long range = ranges[e];
    return (int) range == len && ByteStrings.equal(store, (int) (range >>> 32), key, off, len);
  }

  /**
   * Adds an entry for {@code len} bytes at {@code offset} of the payload, with index {@link
   * #size()} (before the call). Must directly follow a {@link #find} of the same bytes that
   * returned -1.
   */
  void add(int offset, int len, int hash) {
    if (size == ranges.length) {
      ranges = Arrays.copyOf(ranges, size * 2);
      slotOf = Arrays.copyOf(slotOf, size * 2);
      hashes = Arrays.copyOf(hashes, size * 2);
    }
    if (size == INDEX_MASK) {
      throw new IllegalStateException("string table full"); // unreachable within 16 MiB payloads
    }
    int e = size++;
    ranges[e] = (long) offset << 32 | len;
    hashes[e] = hash;
    slotOf[e] = freeSlot;
    slots[freeSlot] = (hash & ~INDEX_MASK) | (e + 1);
    freeSlot = -1;
    if (size * 2 > slots.length) {
      grow();
    }
  }

  /** Forgets every entry with index {@code >= newSize} (undoing a failed event). */
  void truncate(int newSize) {
    for (int e = size - 1; e >= newSize; e--) {
      slots[slotOf[e]] = 0;
    }
    if (newSize < size) {
      size = newSize;
      generation++;
    }
  }

  /** Changes whenever entries are removed ({@link #truncate}, {@link #clear}); never otherwise. */
  long generation() {
    return generation;
  }

  void clear() {
    truncate(0);
  }

  private void grow() {
    int[] old = slots;
    slots = new int[old.length * 2];
    int mask = slots.length - 1;
    // In index order, so that truncate() can still remove the newest entries by their slots.
    for (int e = 0; e < size; e++) {
      int i = hashes[e] & mask;
      while (slots[i] != 0) {
        i = (i + 1) & mask;
      }
      slots[i] = old[slotOf[e]];
      slotOf[e] = i;
    }
  }
}
