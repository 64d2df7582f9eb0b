package io.epochal.format.blob;

import io.epochal.format.FormatException;
import io.epochal.format.codec.EventVisitor;
import java.util.Map;

/**
 * Decodes a blob's events one at a time, in the order they were written, so a consumer can stop or
 * filter without materialising every event. Not thread-safe.
 */
public interface EventCursor {
  boolean hasNext();

  /**
   * The next event.
   *
   * @throws FormatException the payload does not decode (the blob's checksum held, so the writer
   *     was faulty)
   * @throws java.util.NoSuchElementException no events are left
   */
  Map<String, Object> next() throws FormatException;

  /**
   * Decodes the next event into {@code visitor}'s calls instead of a map: the same checks, at about
   * half the CPU (see {@link EventVisitor}).
   *
   * @throws FormatException as {@link #next()}; the visitor has seen the event's values before the
   *     fault
   * @throws java.util.NoSuchElementException no events are left
   */
  void visitNext(EventVisitor visitor) throws FormatException;
}
