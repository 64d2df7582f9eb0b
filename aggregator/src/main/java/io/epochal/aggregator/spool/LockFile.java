package io.epochal.aggregator.spool;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An exclusive OS lock on an empty file in the spool directory, held until {@link #close()}. It keeps
 * out other processes and other holders in this JVM; the OS drops it when the process dies, so a
 * killed holder never leaves it behind.
 *
 * <p>Holders in this JVM are also tracked in memory, and a second one is refused without opening the
 * file: on POSIX, closing <em>any</em> descriptor of a file drops every lock this process holds on it,
 * so merely probing a held lock with a second channel would silently release the first holder's lock.
 */
final class LockFile implements AutoCloseable {
  private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;

  private LockFile(Path file, FileChannel channel, FileLock lock) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  /** The lock on {@code dir/name} ({@code dir} must exist), or null if someone else holds it. */
  static LockFile tryAcquire(Path dir, String name) throws IOException {
    Path file = dir.toRealPath().resolve(name);
    if (!HELD.add(file)) {
      return null;
    }
    FileChannel ch = null;
    try {
      ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null; // held through a channel that bypassed this class
      }
      if (lock != null) {
        return new LockFile(file, ch, lock);
      }
    } catch (IOException | RuntimeException e) {
      HELD.remove(file);
      if (ch != null) {
        ch.close();
      }
      throw e;
    }
    // Another process holds it: our descriptor holds no lock of ours, so closing it releases nothing.
    ch.close();
    HELD.remove(file);
    return null;
  }

  @Override
  public void close() throws IOException {
    try {
      lock.release();
    } finally {
      try {
        channel.close();
      } finally {
        HELD.remove(file);
      }
    }
  }
}
