package io.epochal.format.codec;

import io.epochal.format.FormatException;
import io.epochal.format.FormatException.Reason;
import java.util.Arrays;

/**
 * What {@link EventDecoder} and {@link EventTranscoder} share when they walk encoded values from
 * untrusted bytes: the input range, its primitives with Kryo's exact rules (docs/wire-format.md),
 * the per-event value count and the repeated-key check over key identities. Keeping them in one
 * place keeps the two walks accepting exactly the same inputs with the same reasons.
 */
abstract class EncodedWalk {
  byte[] in = new byte[0];
  int pos;
  int limit;
  /** Values (keys included) of the event being walked. */
  int values;
  /** Key identities of the maps being walked, innermost last. */
  int[] keyStack = new int[64];
  int keyTop;
  private int[] sortScratch = new int[0];

  final int readByte() throws FormatException {
    if (pos >= limit) {
      throw truncated();
    }
    return in[pos++] & 0xFF;
  }

  /** Kryo's {@code readVarInt(true)}: at most 5 bytes, the 5th always last. */
  final int varInt() throws FormatException {
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
  final long varLong() throws FormatException {
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

  /** An f64: 8 bytes little-endian. */
  final double f64() throws FormatException {
    if (limit - pos < 8) {
      throw truncated();
    }
    long bits = 0;
    for (int i = 7; i >= 0; i--) {
      bits = (bits << 8) | (in[pos + i] & 0xFFL);
    }
    pos += 8;
    return Double.longBitsToDouble(bits);
  }

  /** A varint used as a length or count: over 31 bits is {@code bad_length}. */
  final int length(String what) throws FormatException {
    int n = varInt();
    if (n < 0) {
      throw new FormatException(Reason.BAD_LENGTH, what + " out of range: " + (n & 0xFFFFFFFFL));
    }
    return n;
  }

  /** Counts one value of the event; more than {@link EventEncoder#MAX_VALUES_PER_EVENT} is {@code too_large}. */
  final void count() throws FormatException {
    if (++values > EventEncoder.MAX_VALUES_PER_EVENT) {
      throw new FormatException(
          Reason.TOO_LARGE, "event holds more than " + EventEncoder.MAX_VALUES_PER_EVENT + " values");
    }
  }

  /** Makes room on the key stack for a map of {@code n} entries. */
  final void reserveKeys(int n) {
    if (keyStack.length < keyTop + n) {
      keyStack = Arrays.copyOf(keyStack, Math.max(keyTop + n, keyStack.length * 2));
    }
  }

  /** Whether two of {@code keyStack[from, to)} are equal. */
  final boolean repeats(int from, int to) {
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

  final FormatException truncated() {
    return new FormatException(Reason.TRUNCATED, "input ends early at byte " + pos);
  }
}
