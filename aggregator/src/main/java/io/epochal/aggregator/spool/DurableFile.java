package io.epochal.aggregator.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The {@code durable} file: the writer's durable position, published for a {@link SpoolTail} in
 * another process. 16 bytes, little-endian: magic "EPSD", u64 position, CRC32C of the first 12 bytes
 * (the {@link AckFile} layout).
 *
 * <p>The writer overwrites it in place with one positional write after every fsync that advanced the
 * durable position, and once at open after recovery. It is never fsynced: it is written only after
 * the data it names was fsynced, so whatever a crash leaves in it (an older value, or bytes that fail
 * the CRC) never names data that is not on disk; a stale value only delays readers, and the next
 * writer rewrites it after its own recovery. A reader that catches the 16 bytes mid-write sees a CRC
 * mismatch and keeps the value it had.
 */
final class DurableFile {
  static final String NAME = "durable";
  static final int MAGIC = 0x44535045; // "EPSD" read as a little-endian u32

  private DurableFile() {}

  /** The writer's handle. Not thread-safe: {@link FileSpool} writes under its sync lock. */
  static final class Writer implements AutoCloseable {
    private final Path path;
    private FileChannel channel;

    Writer(Path dir) {
      this.path = dir.resolve(NAME);
    }

    /** Overwrites the file with {@code position}; on failure the channel is reopened by the next call. */
    void write(long position) throws IOException {
      ByteBuffer b = AckFile.encode(MAGIC, position);
      try {
        if (channel == null) {
          channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        }
        long at = 0;
        while (b.hasRemaining()) {
          at += channel.write(b, at);
        }
      } catch (IOException e) {
        close();
        throw e;
      }
    }

    @Override
    public void close() {
      FileChannel ch = channel;
      channel = null;
      if (ch != null) {
        try {
          ch.close();
        } catch (IOException ignored) {
          // Nothing was buffered: the positional writes went straight to the file.
        }
      }
    }
  }

  /** The reader's handle: one open channel and a 16-byte buffer. Not thread-safe. */
  static final class Reader implements AutoCloseable {
    private final Path path;
    private final ByteBuffer buf = ByteBuffer.allocate(AckFile.BYTES + 1);
    private FileChannel channel;

    Reader(Path dir) {
      this.path = dir.resolve(NAME);
    }

    /** Reads the file; {@code present() == false} when it is missing or fails its checks. */
    AckFile.Read read() throws IOException {
      try {
        if (channel == null) {
          try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
          } catch (NoSuchFileException e) {
            return new AckFile.Read(-1, false, null);
          }
        }
        buf.clear();
        int n = RecordFormat.readFully(channel, buf, 0);
        return AckFile.decode(buf.array(), n, MAGIC);
      } catch (IOException e) {
        close();
        throw e;
      }
    }

    @Override
    public void close() {
      FileChannel ch = channel;
      channel = null;
      if (ch != null) {
        try {
          ch.close();
        } catch (IOException ignored) {
          // Read-only: nothing to lose.
        }
      }
    }
  }
}
