package io.epochal.format.codec;

import com.esotericsoftware.kryo.io.Output;
import java.util.Arrays;

/**
 * The writer's side of a v2 datagram's string section: every distinct string the datagram's
 * records use, in first-use order, each written once as a literal string item; records name them
 * by index ({@link EventEncoder#EventEncoder(int, int, DatagramStringsBuilder)}). Strings are found
 * again by {@link String#equals} (hash codes of literal keys are cached by the JVM, so a repeated
 * key costs a probe and a comparison, not an encoding).
 *
 * <p>Open addressing with linear probing, rehashed in index order when it grows, so that removing
 * the newest strings ({@link #truncate}, undoing a record that did not fit) leaves exactly the table
 * their absence would have given. Not thread-safe.
 */
public final class DatagramStringsBuilder {
  /** Per slot: index + 1 of the string there; 0 is empty. */
  private int[] slots = new int[256];
  private String[] strings = new String[128];
  private int[] hashes = new int[128];
  private int[] slotOf = new int[128];
  /** Per string: where its item ends in {@link #body}. */
  private int[] ends = new int[128];
  /** The section's items; never more than a datagram holds (a longer string is the encoder's EventTooLargeException). */
  private final EventOutput body = new EventOutput(1024, MAX_SECTION_BYTES);
  /** {@code DatagramFormat.MAX_DATAGRAM_BYTES}. */
  private static final int MAX_SECTION_BYTES = 65_507;
  private int size;

  /** The index of {@code s}, added (its literal item appended to the section) if new. */
  int indexOf(String s) {
    int h = s.hashCode();
    h ^= h >>> 16;
    int mask = slots.length - 1;
    int i = h & mask;
    while (true) {
      int slot = slots[i];
      if (slot == 0) {
        break;
      }
      int e = slot - 1;
      if (hashes[e] == h && strings[e].equals(s)) {
        return e;
      }
      i = (i + 1) & mask;
    }
    int at = body.position();
    try {
      body.writeLiteral(s);
    } catch (RuntimeException full) {
      // Over a datagram's worth (Kryo's buffer limit): nothing of the string stays behind.
      body.setPosition(at);
      throw full;
    }
    if (size == strings.length) {
      int n = size * 2;
      strings = Arrays.copyOf(strings, n);
      hashes = Arrays.copyOf(hashes, n);
      slotOf = Arrays.copyOf(slotOf, n);
      ends = Arrays.copyOf(ends, n);
    }
    int e = size++;
    strings[e] = s;
    hashes[e] = h;
    slotOf[e] = i;
    ends[e] = body.position();
    slots[i] = e + 1;
    if (size * 2 > slots.length) {
      grow();
    }
    return e;
  }

  /** Number of strings. */
  public int size() {
    return size;
  }

  /** Bytes the section takes in the datagram: the count varint and the items. */
  public int sectionBytes() {
    return Output.varIntLength(size, true) + body.position();
  }

  /** Forgets the strings with index {@code >= newSize} (those a record that was undone added). */
  public void truncate(int newSize) {
    for (int e = size - 1; e >= newSize; e--) {
      slots[slotOf[e]] = 0;
      strings[e] = null;
    }
    if (newSize < size) {
      size = newSize;
      body.setPosition(size == 0 ? 0 : ends[size - 1]);
    }
  }

  public void clear() {
    truncate(0);
  }

  /** Writes the section (count, items) at {@code dst[at]}; returns the position after it. */
  public int writeTo(byte[] dst, int at) {
    int v = size;
    while ((v & ~0x7F) != 0) {
      dst[at++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    dst[at++] = (byte) v;
    System.arraycopy(body.getBuffer(), 0, dst, at, body.position());
    return at + body.position();
  }

  private void grow() {
    slots = new int[slots.length * 2];
    int mask = slots.length - 1;
    for (int e = 0; e < size; e++) {
      int i = hashes[e] & mask;
      while (slots[i] != 0) {
        i = (i + 1) & mask;
      }
      slots[i] = e + 1;
      slotOf[e] = i;
    }
  }
}
