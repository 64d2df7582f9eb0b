package io.epochal.store.engine;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToLongFunction;

/**
 * One data file ({@code <16 hex digits>.data}) and what the engine knows of it: size, dead bytes,
 * and the newest record time per bucket, from which whole-file expiry is decided.
 *
 * <p>Positional reads are thread-safe; appends happen only under the engine's write lock.
 */
final class DataFile {
  final long id;
  final Path path;
  final FileChannel channel;
  private volatile long size;
  private final AtomicLong deadBytes = new AtomicLong();
  /** Newest record timestamp per bucket; guarded by itself. */
  private final Map<String, Long> newestByBucket = new HashMap<>();

  private DataFile(long id, Path path, FileChannel channel, long size) {
    this.id = id;
    this.path = path;
    this.channel = channel;
    this.size = size;
  }

  static String dataName(long id) {
    return String.format(Locale.ROOT, "%016x.data", id);
  }

  static String hintName(long id) {
    return String.format(Locale.ROOT, "%016x.hint", id);
  }

  /** Parses a data file name, or returns -1. */
  static long parseId(String name) {
    if (name.length() != 21 || !name.endsWith(".data")) {
      return -1;
    }
    try {
      return Long.parseUnsignedLong(name.substring(0, 16), 16);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  static DataFile create(Path dir, long id) throws IOException {
    Path p = dir.resolve(dataName(id));
    FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    return new DataFile(id, p, ch, 0);
  }

  static DataFile open(Path dir, long id) throws IOException {
    Path p = dir.resolve(dataName(id));
    FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
    return new DataFile(id, p, ch, ch.size());
  }

  long size() {
    return size;
  }

  /** Appends at the end (the channel's position); caller holds the engine's write lock. */
  void append(ByteBuffer[] buffers, long bytes) throws IOException {
    long written = 0;
    while (written < bytes) {
      written += channel.write(buffers);
    }
    size += bytes;
  }

  /**
   * Reads {@code length} bytes at {@code offset} into {@code dst}'s writable bytes.
   *
   * @throws ClosedChannelException when the file was closed (merged or expired away), so the
   *     caller can look the key up again
   */
  void read(ByteBuf dst, long offset, int length) throws IOException {
    int done = 0;
    while (done < length) {
      int n = dst.writeBytes(channel, offset + done, length - done);
      if (n < 0) {
        if (!channel.isOpen()) {
          // Netty's writeBytes(FileChannel, ...) swallows ClosedChannelException and returns -1.
          throw new ClosedChannelException();
        }
        throw new IOException(path + ": unexpected end of file at " + (offset + done));
      }
      done += n;
    }
  }

  void truncate(long newSize) throws IOException {
    channel.truncate(newSize);
    channel.position(newSize);
    channel.force(true);
    size = newSize;
  }

  long deadBytes() {
    return deadBytes.get();
  }

  void addDead(long bytes) {
    deadBytes.addAndGet(bytes);
  }

  /** Percentage of dead bytes, 0..100. */
  int fragmentation() {
    long s = size;
    return s == 0 ? 0 : (int) Math.min(100, deadBytes.get() * 100 / s);
  }

  void noteRecord(String bucket, long timestamp) {
    synchronized (newestByBucket) {
      newestByBucket.merge(bucket, timestamp, Math::max);
    }
  }

  /**
   * Whether every record of the file has expired at {@code nowMillis}: for each bucket present,
   * its newest record plus the bucket's TTL ({@code ttlMillis}, 0 = never) lies in the past. An
   * empty file is not expired (it may be the one being written).
   */
  boolean expired(long nowMillis, ToLongFunction<String> ttlMillis) {
    synchronized (newestByBucket) {
      if (newestByBucket.isEmpty()) {
        return false;
      }
      for (Map.Entry<String, Long> e : newestByBucket.entrySet()) {
        long ttl = ttlMillis.applyAsLong(e.getKey());
        if (ttl <= 0 || e.getValue() + ttl > nowMillis) {
          return false;
        }
      }
      return true;
    }
  }

  void close() {
    try {
      channel.close();
    } catch (IOException ignored) {
      // closing a file we only read: nothing is lost
    }
  }

  @Override
  public String toString() {
    return path.getFileName().toString();
  }
}
