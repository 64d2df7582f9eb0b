package io.epochal.format.codec;

import java.util.Arrays;

/**
 * The writer's string table: string to index, open addressing, no boxing. Indexes are assigned in
 * insertion order from 0, as the reader assigns them.
 */
final class StringTable {
  private String[] keys = new String[1024];
  private int[] values = new int[1024];
  private int size;

  int size() {
    return size;
  }

  /** The index of {@code s}, or -1 after adding it with index {@link #size()} (before the call). */
  int indexOrAdd(String s) {
    int mask = keys.length - 1;
    int i = mix(s.hashCode()) & mask;
    while (true) {
      String k = keys[i];
      if (k == null) {
        keys[i] = s;
        values[i] = size++;
        if (size * 2 > keys.length) {
          grow();
        }
        return -1;
      }
      if (k.equals(s)) {
        return values[i];
      }
      i = (i + 1) & mask;
    }
  }

  /** Forgets every entry with index {@code >= newSize} (undoing a failed event). */
  void truncate(int newSize) {
    if (newSize >= size) {
      return;
    }
    String[] oldKeys = keys;
    int[] oldValues = values;
    keys = new String[oldKeys.length];
    values = new int[oldValues.length];
    size = 0;
    String[] ordered = new String[newSize];
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != null && oldValues[i] < newSize) {
        ordered[oldValues[i]] = oldKeys[i];
      }
    }
    for (String k : ordered) {
      indexOrAdd(k);
    }
  }

  void clear() {
    if (size > 0) {
      Arrays.fill(keys, null);
      size = 0;
    }
  }

  private void grow() {
    String[] oldKeys = keys;
    int[] oldValues = values;
    keys = new String[oldKeys.length * 2];
    values = new int[oldKeys.length * 2];
    int mask = keys.length - 1;
    for (int j = 0; j < oldKeys.length; j++) {
      String k = oldKeys[j];
      if (k != null) {
        int i = mix(k.hashCode()) & mask;
        while (keys[i] != null) {
          i = (i + 1) & mask;
        }
        keys[i] = k;
        values[i] = oldValues[j];
      }
    }
  }

  private static int mix(int h) {
    h *= 0x9E3779B9;
    return h ^ (h >>> 16);
  }
}
