package io.epochal.aggregator.spool;

import java.io.IOException;

/**
 * Reads durable records in order from a {@link BlobSource}. Used by one thread at a time; holds an
 * open file, so close it. Do not interrupt a thread while it reads: the JDK closes a file channel
 * whose reading thread is interrupted, and the reader then fails.
 */
public interface SpoolReader extends AutoCloseable {

  /**
   * Returns the next durable record, or null if the reader has caught up with the source's durable
   * position. Never blocks waiting for records (see {@link BlobSource#awaitDurable}).
   *
   * @throws SpoolCorruptException if a durable record fails its checks (the storage was damaged after
   *     it was written); the reader stays at that record
   * @throws IOException if reading failed, or the records at the reader's position were acknowledged
   *     and deleted meanwhile
   * @throws IllegalStateException if the reader or its source was closed
   */
  SpoolRecord next() throws IOException;

  /** The position of the record the next call to {@link #next()} returns. */
  long position();

  /** Releases the open file; idempotent. */
  @Override
  void close() throws IOException;
}
