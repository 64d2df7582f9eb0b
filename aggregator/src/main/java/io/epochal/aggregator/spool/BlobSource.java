package io.epochal.aggregator.spool;

import java.io.IOException;
import java.time.Duration;

/**
 * The relocator's side of the hand-off: reads durable records in append order and acknowledges
 * them once they are safely elsewhere. Implemented by {@link FileSpool}.
 *
 * <p>Delivery is at-least-once: after a restart, reading resumes at {@link #acknowledgedPosition()},
 * so records read but not yet acknowledged are read again, at the same positions and with the same
 * bytes. A position never names two different records. Thread-safe; each {@link SpoolReader} is used
 * by one thread at a time.
 */
public interface BlobSource extends AutoCloseable {

  /**
   * Opens a reader whose first record is the one at {@code position}.
   *
   * @param position a record boundary (a {@link SpoolRecord#position()} or {@link
   *     SpoolRecord#nextPosition()} seen earlier, or {@link #acknowledgedPosition()}) between the
   *     acknowledged and the durable position, both inclusive
   * @throws IllegalArgumentException if the position is outside that range or not a record boundary
   */
  SpoolReader reader(long position) throws IOException;

  /**
   * Records that every record before {@code position} has been delivered: persists the position
   * durably, then frees storage that lies wholly before it. Positions at or below the current
   * acknowledged position are ignored, so acknowledging is idempotent. Each call that advances the
   * position costs a durable write; acknowledge per batch, not per record.
   *
   * @param position a record boundary at or below {@link #durablePosition()}
   * @throws IllegalArgumentException if the position is beyond the durable position or not a record
   *     boundary
   */
  void acknowledge(long position) throws IOException;

  /** Everything before this position has been acknowledged; reading resumes here after a restart. */
  long acknowledgedPosition();

  /** Readers see every record ending at or before this position, and nothing after it. */
  long durablePosition();

  /**
   * Waits until {@link #durablePosition()} is at least {@code position}, without polling. A reader
   * that has caught up at position {@code p} waits for more with {@code awaitDurable(p + 1, timeout)}.
   *
   * @return true if it is, false if the timeout passed first (or the hand-off was closed first)
   */
  boolean awaitDurable(long position, Duration timeout) throws InterruptedException;

  /** Closes the hand-off (both sides when one object implements both); idempotent. */
  @Override
  void close() throws IOException;
}
