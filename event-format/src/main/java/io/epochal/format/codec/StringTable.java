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
  /** Per slot: the entry's hash in the high 32 bits, its index + 1 in the low ones; 0 is empty. */
  private long[] slots = new long[1024];
  /** Per entry: its payload offset in the high 32 bits, its length in the low ones. */
  private long[] ranges = new long[256];
  private int[] slotOf = new int[256];
  private int size;
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
    while (true) {
      long slot = slots[i];
      if (slot == 0) {
        freeSlot = i;
        return -1;
      }
      if ((int) (slot >>> 32) == hash) {
        int e = (int) slot - 1;
        long range = ranges[e];
        int at = (int) (range >>> 32);
        if ((int) range == len && ByteStrings.equal(store, at, key, off, len)) {
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
    }
    int e = size++;
    ranges[e] = (long) offset << 32 | len;
    slotOf[e] = freeSlot;
    slots[freeSlot] = (long) hash << 32 | (e + 1);
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
    }
  }

  void clear() {
    truncate(0);
  }

  private void grow() {
    long[] old = slots;
    slots = new long[old.length * 2];
    int mask = slots.length - 1;
    // In index order, so that truncate() can still remove the newest entries by their slots.
    for (int e = 0; e < size; e++) {
      long slot = old[slotOf[e]];
      int i = (int) (slot >>> 32) & mask;
      while (slots[i] != 0) {
        i = (i + 1) & mask;
      }
      slots[i] = slot;
      slotOf[e] = i;
    }
  }
}
