package io.epochal.store.engine;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

/**
 * The in-memory index of one engine: every key's newest record, live or tombstone. Reads are
 * lock-free; the engine serialises updates under its write lock, and the merge replaces entries
 * only if they are unchanged ({@link #replace}).
 *
 * <p>Memory per key (64-bit JVM, compressed oops), measured by {@code KeyDirMemory} in benchmarks
 * at 1M keys of 37-byte engine keys: 168.8 bytes per key — the engine key's byte array (16 + key
 * length, padded to 8), the {@link Entry} (48), the hash-map node (32), the {@link Key} (24) and
 * about 8 bytes of table (docs/benchmarks.md).
 */
final class KeyDir {
  /** An engine key with its hash cached. Compared by content. */
  static final class Key {
    final byte[] bytes;
    private final int hash;

    Key(byte[] bytes) {
      this.bytes = bytes;
      this.hash = Arrays.hashCode(bytes);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && k.hash == hash && Arrays.equals(k.bytes, bytes);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  /**
   * Where a key's newest record is. Immutable; compared by identity, so {@link #replace} only
   * succeeds against the very entry the caller read.
   *
   * @param fileId the data file
   * @param offset the record's first byte in the file
   * @param size the record's size, header included
   * @param timestamp the record's write time (ms)
   * @param tombstone whether the record deletes the key
   */
  record Entry(long fileId, long offset, int size, long timestamp, boolean tombstone) {
    @Override
    public boolean equals(Object o) {
      return this == o;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(this);
    }
  }

  private final ConcurrentHashMap<Key, Entry> map = new ConcurrentHashMap<>(1024);

  Entry get(Key key) {
    return map.get(key);
  }

  /** Sets the entry; returns the one it replaced. */
  Entry put(Key key, Entry entry) {
    return map.put(key, entry);
  }

  boolean replace(Key key, Entry expected, Entry update) {
    return map.replace(key, expected, update);
  }

  boolean remove(Key key, Entry expected) {
    return map.remove(key, expected);
  }

  int size() {
    return map.size();
  }

  void forEach(BiConsumer<Key, Entry> action) {
    map.forEach(action);
  }

  Iterable<Map.Entry<Key, Entry>> entries() {
    return map.entrySet();
  }
}
