package io.epochal.format.blob;

import io.epochal.format.FormatException;
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
}
