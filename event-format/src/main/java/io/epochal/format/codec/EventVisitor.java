package io.epochal.format.codec;

/**
 * Receives one decoded event as a stream of calls, in the order its values were written, without a
 * {@code Map} per event: {@link EventDecoder#visitEvent} walks the encoded bytes and calls the
 * visitor for every key and value. This is the fast way to read events: nothing is allocated per
 * event except the strings a blob holds for the first time (every later occurrence of a string in
 * a blob with de-duplicated strings is the same {@code String} instance).
 *
 * <p>The calls for one event: {@link #beginMap} with the event's number of fields, then per field
 * {@link #key} and one value, then {@link #endMap}. A value is one of the scalar calls, or a nested
 * {@code beginMap … endMap} or {@code beginList … endList} (a list's items are values without
 * keys). Integers arrive as {@code long}; DOUBLE and DECIMAL values as {@code double}, with the bits
 * that were written (see docs/wire-format.md).
 *
 * <p>Every method has an empty default, so a visitor implements only what it needs; the event is
 * checked in full all the same. If the event turns out to be malformed ({@link
 * io.epochal.format.FormatException}), the visitor has seen the part before the fault. Example, a
 * count of HTTP statuses over the top-level field {@code status}:
 *
 * <pre>{@code
 * final class StatusCount implements EventVisitor {
 *   final long[] byStatus = new long[600];
 *   private int depth;
 *   private boolean atStatus;
 *
 *   public void beginMap(int size) { depth++; }
 *   public void endMap() { depth--; }
 *   public void key(String key) { atStatus = depth == 1 && key.equals("status"); }
 *   public void longValue(long v) { if (atStatus && v >= 0 && v < 600) byStatus[(int) v]++; }
 * }
 * }</pre>
 */
public interface EventVisitor {
  /** A map of {@code size} entries begins: the event itself, or a map value inside it. */
  default void beginMap(int size) {}

  /** The key of the next entry of the innermost map; its value follows. */
  default void key(String key) {}

  /** The innermost map ends (after its {@code size} entries). */
  default void endMap() {}

  /** A list of {@code size} items begins. */
  default void beginList(int size) {}

  /** The innermost list ends (after its {@code size} items). */
  default void endList() {}

  default void nullValue() {}

  default void booleanValue(boolean value) {}

  /** A LONG value (any integer the producer emitted). */
  default void longValue(long value) {}

  /** A DOUBLE or DECIMAL value. */
  default void doubleValue(double value) {}

  default void stringValue(String value) {}

  /**
   * A BYTES value: {@code bytes[off, off+len)}, valid only during this call (it is the decoder's
   * input); copy what must be kept.
   */
  default void bytesValue(byte[] bytes, int off, int len) {}
}
