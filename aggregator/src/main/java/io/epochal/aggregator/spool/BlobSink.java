package io.epochal.aggregator.spool;

import java.io.IOException;
import java.time.Duration;

/**
 * The aggregator's side of the hand-off: where sealed blobs go, each under its store key. Implemented
 * by {@link FileSpool} (a local, durable spool); a Kafka-backed hand-off can implement it later.
 *
 * <p>Positions are opaque, strictly increasing {@code long}s: {@link #append} returns the position
 * just after the new record, and a record is durable once {@link #durablePosition()} has reached that
 * value. Implementations are thread-safe; appends from several threads are serialized.
 *
 * <p>{@link #close()} syncs and closes the whole hand-off, including its {@link BlobSource} side when
 * one object implements both: the component that opened it closes it.
 */
public interface BlobSink extends AutoCloseable {

  /**
   * Appends one blob under its key and returns the position just after it. Does not wait for the
   * record to become durable (unless the implementation is configured to sync on every append).
   * The caller keeps ownership of {@code blob}; it is copied before this method returns.
   *
   * @throws SpoolFullException if the record would take the hand-off past its size cap; nothing was
   *     written, later appends succeed again once acknowledged data is freed
   * @throws IOException if writing failed; the record was not appended
   * @throws IllegalArgumentException if the key is empty, too long or not encodable, or the record is
   *     larger than the implementation accepts
   * @throws IllegalStateException after {@link #close()}
   */
  long append(String key, byte[] blob) throws SpoolFullException, IOException;

  /** Every record ending at or before this position is durable (fsynced) and visible to readers. */
  long durablePosition();

  /**
   * Waits until {@link #durablePosition()} is at least {@code position}, without polling.
   *
   * @return true if it is, false if the timeout passed first (or the hand-off was closed first)
   */
  boolean awaitDurable(long position, Duration timeout) throws InterruptedException;

  /**
   * Makes everything appended so far durable now, without waiting for the next group commit (used at
   * shutdown). After {@link #close()} it returns the final durable position.
   *
   * @return the durable position
   */
  long sync() throws IOException;

  /** Bytes this hand-off holds locally; the size cap applies to this figure (0 if it holds nothing). */
  long sizeBytes();

  /** Syncs what was appended and releases every resource; idempotent. */
  @Override
  void close() throws IOException;
}
