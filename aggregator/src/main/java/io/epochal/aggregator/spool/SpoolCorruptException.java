package io.epochal.aggregator.spool;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A record in the durable part of the spool failed its checks while being read: the storage was
 * damaged after the record was written and synced. The reader cannot skip it (record boundaries are
 * only known by reading); reopening the spool runs recovery, which cuts the segment at this record
 * and logs what was lost.
 */
public final class SpoolCorruptException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final long fileOffset;
  private final long position;

  public SpoolCorruptException(Path file, long fileOffset, long position, String reason) {
    super("corrupt spool record in " + file + " at offset " + fileOffset + " (position " + position + "): "
        + reason);
    this.file = file;
    this.fileOffset = fileOffset;
    this.position = position;
  }

  /** The segment file holding the bad record. */
  public Path file() {
    return file;
  }

  /** Offset of the bad record in {@link #file()}. */
  public long fileOffset() {
    return fileOffset;
  }

  /** Position of the bad record. */
  public long position() {
    return position;
  }
}
