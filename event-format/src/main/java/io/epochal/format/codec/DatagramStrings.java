package io.epochal.format.codec;

import io.epochal.format.FormatException;
import io.epochal.format.FormatException.Reason;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The string section of a v2 datagram, as read (docs/wire-format.md, "Datagram format v2"): the
 * strings its records name by index instead of spelling them out. {@link #parse} checks the section
 * once per datagram; {@link EventDecoder#useStrings} and {@link EventEncoder#transcodeEvent(byte[],
 * int, int, DatagramStrings)} then resolve the records' references against it.
 *
 * <p>Each string is kept as a byte range (of the datagram, or of a normalised copy when a string
 * holds malformed UTF-8, which is replaced by U+FFFD as the decoder replaces it in a literal) with
 * its hash, and is decoded to a {@link String} at most once per datagram, when first asked for.
 * Reused for datagram after datagram by one reader; not thread-safe.
 */
public final class DatagramStrings extends EncodedWalk {
  /** The bytes the ranges point into: the datagram, or {@link #copy}. */
  byte[] data = new byte[0];
  int[] offsets = new int[64];
  int[] lengths = new int[64];
  /** {@link ByteStrings#hashAndAscii} hash of each string's (normalised) bytes. */
  int[] hashes = new int[64];
  private String[] decoded = new String[64];
  private boolean anyDecoded;
  private byte[] copy = new byte[0];
  int size;
  /** Changes with every {@link #parse}: what a transcoder's memo of this section is keyed on. */
  long stamp;

  /**
   * Reads the section at {@code buf[p, end)}: a varint count, then that many literal string items.
   *
   * @return the position after the section
   * @throws FormatException {@code truncated} if the bytes end inside it, {@code bad_length} for a
   *     count or length larger than the bytes left, {@code bad_reference} for an item that is a
   *     reference
   */
  public int parse(byte[] buf, int p, int end) throws FormatException {
    stamp++;
    in = buf;
    pos = p;
    limit = end;
    size = 0;
    if (anyDecoded) {
      Arrays.fill(decoded, null);
      anyDecoded = false;
    }
    int n = length("string count");
    // Each string takes at least one byte (its header).
    if (n > limit - pos) {
      throw new FormatException(Reason.BAD_LENGTH, "string section of " + n + " strings in " + (limit - pos) + " bytes");
    }
    if (offsets.length < n) {
      int size = Math.max(n, offsets.length * 2);
      offsets = new int[size];
      lengths = new int[size];
      hashes = new int[size];
      decoded = new String[size];
    }
    boolean malformed = false;
    for (int i = 0; i < n; i++) {
      int h = length("string header");
      if ((h & 1) != 0) {
        throw new FormatException(Reason.BAD_REFERENCE, "string " + i + " of the section is a reference");
      }
      int len = h >>> 1;
      if (len > limit - pos) {
        throw new FormatException(Reason.BAD_LENGTH, "string of " + len + " bytes, " + (limit - pos) + " left");
      }
      long ha = ByteStrings.hashAndAscii(buf, pos, len);
      if (!ByteStrings.isAscii(ha) && !ByteStrings.isWellFormedUtf8(buf, pos, len)) {
        malformed = true;
      }
      offsets[i] = pos;
      lengths[i] = len;
      hashes[i] = (int) ha;
      pos += len;
    }
    size = n;
    data = buf;
    if (malformed) {
      normalise();
    }
    int after = pos;
    in = EMPTY;
    return after;
  }

  /** Replaces every malformed string by the UTF-8 of its decoded form, in a copy of the section. */
  private void normalise() {
    byte[][] parts = new byte[size][];
    int total = 0;
    for (int i = 0; i < size; i++) {
      byte[] b = Arrays.copyOfRange(data, offsets[i], offsets[i] + lengths[i]);
      if (!ByteStrings.isWellFormedUtf8(b, 0, b.length)) {
        b = new String(b, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8);
      }
      parts[i] = b;
      total += b.length;
    }
    if (copy.length < total) {
      copy = new byte[total];
    }
    int at = 0;
    for (int i = 0; i < size; i++) {
      byte[] b = parts[i];
      System.arraycopy(b, 0, copy, at, b.length);
      offsets[i] = at;
      lengths[i] = b.length;
      hashes[i] = (int) ByteStrings.hashAndAscii(copy, at, b.length);
      at += b.length;
    }
    data = copy;
  }

  /** Number of strings in the section. */
  public int size() {
    return size;
  }

  /** String {@code i} (0 ≤ i < {@link #size()}), decoded once per datagram. */
  public String string(int i) {
    if (i < 0 || i >= size) {
      throw new IndexOutOfBoundsException("string " + i + " of " + size);
    }
    String s = decoded[i];
    if (s == null) {
      s = lengths[i] == 0 ? "" : new String(data, offsets[i], lengths[i], StandardCharsets.UTF_8);
      decoded[i] = s;
      anyDecoded = true;
    }
    return s;
  }

  private static final byte[] EMPTY = new byte[0];
}
