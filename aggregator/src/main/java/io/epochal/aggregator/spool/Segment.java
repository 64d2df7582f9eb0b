package io.epochal.aggregator.spool;

import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** One segment file: records from {@code base} (a position) to {@code base + size}. */
final class Segment {
  static final String SUFFIX = ".spool";

  final long base;
  final Path path;
  /**
   * Bytes of valid records; in a {@link FileSpool}, grows only for the active segment, under its write
   * lock; in a {@link SpoolTail}, the file's size when last looked at.
   */
  volatile long size;
  /** Write channel, open while the segment is active or holds unsynced data; guarded by the spool. */
  FileChannel channel;

  Segment(long base, Path path, long size) {
    this.base = base;
    this.path = path;
    this.size = size;
  }

  long end() {
    return base + size;
  }

  static String fileName(long base) {
    return String.format("%020d%s", base, SUFFIX);
  }

  /** The base position a segment file name stands for, or -1 if the name is not a segment's. */
  static long parseBase(String fileName) {
    if (fileName.length() != 20 + SUFFIX.length() || !fileName.endsWith(SUFFIX)) {
      return -1;
    }
    long base = 0;
    for (int i = 0; i < 20; i++) {
      char c = fileName.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      base = base * 10 + (c - '0');
      if (base < 0) {
        return -1;
      }
    }
    return base;
  }

  @Override
  public String toString() {
    return path.getFileName() + "[" + base + ", " + end() + ")";
  }

  /**
   * Checks that {@code position} (inside this segment, or its end) is a record boundary: the end
   * of the segment's data, or where a record's magic starts.
   *
   * @throws IllegalArgumentException if it is not
   * @throws java.nio.file.NoSuchFileException if the segment file is gone
   */
  void checkRecordBoundary(long position) throws java.io.IOException {
    if (position > end()) {
      throw new IllegalArgumentException("position " + position + " is not a record boundary (no segment holds it)");
    }
    if (position == end()) {
      return;
    }
    java.nio.ByteBuffer magic = java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    try (FileChannel ch = FileChannel.open(path, java.nio.file.StandardOpenOption.READ)) {
      if (RecordFormat.readFully(ch, magic, position - base) < 4 || magic.getInt(0) != RecordFormat.MAGIC) {
        throw new IllegalArgumentException("position " + position + " is not a record boundary");
      }
    }
  }
}
