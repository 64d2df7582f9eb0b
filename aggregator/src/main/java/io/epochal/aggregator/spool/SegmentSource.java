package io.epochal.aggregator.spool;

import java.io.IOException;
import java.nio.file.Path;

/**
 * What a {@link FileSpoolReader} reads from: the writer's own view ({@link FileSpool}, exact and in
 * memory) or a {@link SpoolTail} in another process, which learns the durable position and the
 * segment sizes from the files and so can be behind them.
 */
interface SegmentSource {

  /** The durable position; a source in another process first re-reads it if {@code position} has reached it. */
  long durableFor(long position) throws IOException;

  long acknowledgedPosition();

  /** The segment holding {@code position}, the next one when it lies in a gap, or null. */
  Segment segmentAtOrAfter(long position) throws IOException;

  /**
   * Re-reads the segment list and sizes from the directory; false if this source's view is exact and
   * there is nothing to re-read.
   */
  boolean refreshSegments() throws IOException;

  /** @throws IllegalStateException if the source was closed */
  void checkOpen();

  Path directory();
}
