package io.epochal.format.codec;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/** Hashing and UTF-8 checks on byte ranges, for the byte-keyed {@link StringTable}. */
final class ByteStrings {
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle INTS = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long HIGH_BITS = 0x8080_8080_8080_8080L;
  private static final long M = 0x9E37_79B9_7F4A_7C15L;

  private ByteStrings() {}

  /**
   * A well-mixed 32-bit hash of {@code b[off, off+len)} (read in words, the last one overlapping) in the low 32 bits
   * of the result, and in bit 32 whether the range is pure ASCII (so the caller can skip UTF-8
   * checks). {@code (int) result} is the hash, {@link #isAscii(long)} the flag.
   */
  static long hashAndAscii(byte[] b, int off, int len) {
    long h = len * M;
    long or;
    if (len >= 8) {
      or = 0;
      int last = off + len - 8;
      for (int i = off; i < last; i += 8) {
        long v = (long) LONGS.get(b, i);
        or |= v;
        h = Long.rotateLeft((h ^ v) * M, 29);
      }
      // The last 8 bytes, overlapping the loop's last word when len is not a multiple of 8.
      long v = (long) LONGS.get(b, last);
      or |= v;
      h = (h ^ v) * M;
    } else if (len >= 4) {
      long v = ((int) INTS.get(b, off) & 0xFFFF_FFFFL) | ((long) (int) INTS.get(b, off + len - 4) << 32);
      or = v;
      h = (h ^ v) * M;
    } else if (len > 0) {
      long v = (b[off] & 0xFFL) | (b[off + (len >> 1)] & 0xFFL) << 8 | (b[off + len - 1] & 0xFFL) << 16;
      or = v;
      h = (h ^ v) * M;
    } else {
      or = 0;
    }
    h ^= h >>> 29;
    h *= M;
    int x = (int) (h ^ (h >>> 32));
    return (x & 0xFFFF_FFFFL) | ((or & HIGH_BITS) == 0 ? 1L << 32 : 0);
  }

  /** Whether {@code a[aOff, aOff+len)} and {@code b[bOff, bOff+len)} hold the same bytes. */
  static boolean equal(byte[] a, int aOff, byte[] b, int bOff, int len) {
    if (len >= 8 && len <= 16) {
      // First and last word (overlapping when len < 16) cover every byte.
      return (long) LONGS.get(a, aOff) == (long) LONGS.get(b, bOff)
          && (long) LONGS.get(a, aOff + len - 8) == (long) LONGS.get(b, bOff + len - 8);
    }
    if (len >= 4 && len < 8) {
      return (int) INTS.get(a, aOff) == (int) INTS.get(b, bOff)
          && (int) INTS.get(a, aOff + len - 4) == (int) INTS.get(b, bOff + len - 4);
    }
    if (len < 4) {
      for (int i = 0; i < len; i++) {
        if (a[aOff + i] != b[bOff + i]) {
          return false;
        }
      }
      return true;
    }
    return Arrays.equals(a, aOff, aOff + len, b, bOff, bOff + len);
  }

  /** Whether {@code b[off, off+len)} is pure ASCII (no byte with its high bit set). */
  static boolean isAscii(byte[] b, int off, int len) {
    int i = off;
    int end = off + len;
    long or = 0;
    for (; i + 8 <= end; i += 8) {
      or |= (long) LONGS.get(b, i);
    }
    if (i < end && len >= 8) {
      // The last 8 bytes, overlapping the loop's last word.
      or |= (long) LONGS.get(b, end - 8);
    } else {
      for (; i < end; i++) {
        or |= b[i];
      }
    }
    return (or & HIGH_BITS) == 0;
  }

  /** Whether a {@link #hashAndAscii} result says the range was pure ASCII. */
  static boolean isAscii(long hashAndAscii) {
    return (hashAndAscii >>> 32) != 0;
  }

  /**
   * Whether {@code b[off, off+len)} is well-formed UTF-8 (Unicode 3.9, table 3-7: shortest forms,
   * no surrogates, at most U+10FFFF), which Java's UTF-8 decoder turns into a string that encodes
   * back to the very same bytes. May be stricter than Java, never more lenient.
   */
  static boolean isWellFormedUtf8(byte[] b, int off, int len) {
    int i = off;
    int end = off + len;
    while (i < end) {
      int b0 = b[i] & 0xFF;
      if (b0 < 0x80) {
        i++;
        continue;
      }
      if (b0 < 0xC2 || b0 > 0xF4) {
        return false;
      }
      if (b0 < 0xE0) {
        if (i + 1 >= end || !continuation(b[i + 1])) {
          return false;
        }
        i += 2;
      } else if (b0 < 0xF0) {
        if (i + 2 >= end) {
          return false;
        }
        int b1 = b[i + 1] & 0xFF;
        int lo = b0 == 0xE0 ? 0xA0 : 0x80;
        int hi = b0 == 0xED ? 0x9F : 0xBF;
        if (b1 < lo || b1 > hi || !continuation(b[i + 2])) {
          return false;
        }
        i += 3;
      } else {
        if (i + 3 >= end) {
          return false;
        }
        int b1 = b[i + 1] & 0xFF;
        int lo = b0 == 0xF0 ? 0x90 : 0x80;
        int hi = b0 == 0xF4 ? 0x8F : 0xBF;
        if (b1 < lo || b1 > hi || !continuation(b[i + 2]) || !continuation(b[i + 3])) {
          return false;
        }
        i += 4;
      }
    }
    return true;
  }

  private static boolean continuation(byte b) {
    return (b & 0xC0) == 0x80;
  }
}
