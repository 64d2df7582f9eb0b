package io.epochal.aggregator.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reader side of a spool that another process writes: the relocator daemon's view of the
 * aggregator daemon's spool on the same host. Opened with {@link FileSpool#openReader}; it works
 * through the files alone and never takes {@code spool.lock}, so it runs beside a {@link FileSpool}
 * in another process (or beside none).
 *
 * <pre>{@code
 * try (SpoolTail spool = FileSpool.openReader(SpoolConfig.builder(dir).build())) {
 *   try (SpoolReader reader = spool.reader(spool.acknowledgedPosition())) {
 *     while (running) {
 *       SpoolRecord r = reader.next();
 *       if (r == null) {
 *         spool.awaitDurable(reader.position() + 1, Duration.ofSeconds(1));
 *         continue;
 *       }
 *       store(r.key(), r.blob());
 *       spool.acknowledge(r.nextPosition());                       // better: once per batch
 *     }
 *   }
 * }
 * }</pre>
 *
 * <p><b>What it reads.</b> Records up to the position the writer published in the {@code durable}
 * file, which the writer rewrites after each group-commit fsync and at open after its recovery. So it
 * reads only fsynced records, never a torn tail that the writer's recovery cuts, and a position it
 * reads never names another record later. New segments are found by listing the directory when the
 * reader reaches the end of the ones it knows. {@link #awaitDurable} re-reads the file every {@value
 * #POLL_MILLIS} ms (a timed wait, not a spin): records reach this side at most that much later than a
 * reader in the writer's process, on top of the writer's {@code spool.sync-interval}.
 *
 * <p><b>Acknowledging</b> writes the {@code ack} file (temp file, fsync, rename, directory fsync)
 * and nothing else: the writer picks the position up within its sync interval and deletes the
 * segments it frees, which is what lowers its size and lifts its cap. With no writer running,
 * acknowledged segments stay until the writer next opens.
 *
 * <p><b>Exclusion and recovery.</b> It holds {@code reader.lock}: one reader per spool, whether this
 * class or a {@link FileSpool} read in the writer's process. If the {@code durable} file is missing
 * (a spool written before it existed) or unreadable, or the acknowledged position is not a record
 * boundary, and no writer holds {@code spool.lock}, opening runs the writer's recovery ({@link
 * FileSpool#open} then close), which cuts torn tails, repairs the ack file and publishes the durable
 * position; an aggregator starting in that moment fails with "in use". If a writer holds the lock
 * but has not published yet (it is still recovering), nothing is readable until it does.
 *
 * <p><b>Threads.</b> Thread-safe; each {@link SpoolReader} is used by one thread at a time. The
 * segment-size and cap settings of the config are not used.
 */
public final class SpoolTail implements BlobSource {
  private static final Logger log = LoggerFactory.getLogger(SpoolTail.class);

  static final String LOCK_FILE = "reader.lock";
  static final long POLL_MILLIS = 5;
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS);

  private final Path dir;
  private final LockFile lock;
  private final View view = new View();
  private final boolean recovered;

  // The writer's segments as last listed; sizes are refreshed from the files. Updated under segmentsLock.
  private final ConcurrentSkipListMap<Long, Segment> segments = new ConcurrentSkipListMap<>();
  private final Object segmentsLock = new Object();

  private final Object durableLock = new Object();
  private final DurableFile.Reader durableFile; // guarded by durableLock
  private volatile long durable;
  private volatile long durableReadNanos = System.nanoTime() - 2 * POLL_NANOS; // last look at the file
  private volatile boolean durableSeen; // a valid durable file was read at least once
  private boolean durableReadFailed; // guarded by durableLock

  private final Object ackLock = new Object();
  private volatile long acked;

  private final Object closeMonitor = new Object();
  private volatile boolean closed;

  static SpoolTail open(SpoolConfig config) throws IOException {
    Objects.requireNonNull(config, "config");
    Path dir = config.directory();
    Files.createDirectories(dir);
    LockFile lock = LockFile.tryAcquire(dir, LOCK_FILE);
    if (lock == null) {
      throw new IOException("spool directory " + dir + " is already being read (" + LOCK_FILE
          + " is held by another reader); one reader per spool");
    }
    try {
      return new SpoolTail(config, lock);
    } catch (IOException | RuntimeException e) {
      try {
        lock.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  private SpoolTail(SpoolConfig config, LockFile lock) throws IOException {
    this.dir = config.directory();
    this.lock = lock;
    this.durableFile = new DurableFile.Reader(dir);
    Files.deleteIfExists(dir.resolve(AckFile.READER_TEMP_NAME)); // ours, left by a crash mid-acknowledge
    AckFile.Read published = durableFile.read();
    boolean ran = false;
    if (!published.present()) {
      ran = recoverIfNoWriter(config, published.problem() == null ? "no " + DurableFile.NAME + " file"
          : DurableFile.NAME + " file unreadable (" + published.problem() + ")");
    }
    load();
    if (!ran && !isBoundary(acked)) {
      ran = recoverIfNoWriter(config, "acknowledged position " + acked + " is not a record boundary");
      if (ran) {
        load();
      }
    }
    recovered = ran;
    log.info("spool {} opened for reading: acknowledged {}, durable {} ({}), {} segments", dir, acked, durable,
        durableSeen ? "published by the writer" : "not published yet", segments.size());
  }

  /** Reads the ack file, the durable file and the segment list. */
  private void load() throws IOException {
    refreshSegments();
    AckFile.Read ackRead = AckFile.read(dir);
    long first = segments.isEmpty() ? 0 : segments.firstKey();
    if (ackRead.problem() != null) {
      log.error("spool {}: {} file is unreadable ({}); reading again from the first segment, {} (re-delivered blobs "
          + "are rewritten with the same bytes)", dir, AckFile.NAME, ackRead.problem(), first);
    }
    acked = ackRead.present() ? ackRead.position() : first;
    durable = 0;
    durableSeen = false;
    refreshDurable();
    if (!durableSeen) {
      log.warn("spool {}: the writer holding {} has not published a durable position yet (still recovering, or "
          + "a version without the {} file); nothing is readable until it does", dir, FileSpool.LOCK_FILE,
          DurableFile.NAME);
    }
    // Everything acknowledged was durable when it was acknowledged.
    durable = Math.max(durable, acked);
  }

  /** Runs the writer's recovery if no writer holds spool.lock; true if it ran. */
  private boolean recoverIfNoWriter(SpoolConfig config, String why) throws IOException {
    FileSpool spool = FileSpool.openIfFree(config);
    if (spool == null) {
      return false;
    }
    log.info("spool {}: {}; no writer holds {}, so its recovery ran here", dir, why, FileSpool.LOCK_FILE);
    spool.close();
    return true;
  }

  // ---------------------------------------------------------------- durable position

  /** Re-reads the durable file; keeps the highest valid value seen (a torn read fails its CRC and is ignored). */
  private long refreshDurable() {
    synchronized (durableLock) {
      if (closed) {
        return durable;
      }
      durableReadNanos = System.nanoTime();
      try {
        AckFile.Read r = durableFile.read();
        if (durableReadFailed) {
          log.info("spool {}: reading the {} file works again", dir, DurableFile.NAME);
          durableReadFailed = false;
        }
        if (r.present()) {
          durableSeen = true;
          if (r.position() > durable) {
            durable = r.position();
          }
        } else if (r.problem() != null) {
          // Caught mid-overwrite (or left bad by a crash; the writer's next sync rewrites it).
          log.debug("spool {}: {} file: {}; keeping durable position {}", dir, DurableFile.NAME, r.problem(), durable);
        }
      } catch (IOException e) {
        if (!durableReadFailed) {
          log.warn("spool {}: reading the {} file failed; retrying", dir, DurableFile.NAME, e);
          durableReadFailed = true;
        }
      }
      return durable;
    }
  }

  /** The durable position the writer last published, re-read if the last look is older than the poll interval. */
  @Override
  public long durablePosition() {
    if (System.nanoTime() - durableReadNanos > POLL_NANOS) {
      return refreshDurable();
    }
    return durable;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Re-reads the {@code durable} file every {@value #POLL_MILLIS} ms until it names {@code
   * position} (timed waits; {@link #close()} wakes it).
   */
  @Override
  public boolean awaitDurable(long position, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (durable >= position || refreshDurable() >= position) {
        return true;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0 || closed) {
        return false;
      }
      synchronized (closeMonitor) {
        if (closed) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(closeMonitor, Math.min(left, POLL_NANOS));
      }
    }
  }

  // ---------------------------------------------------------------- segments

  /** Lists the segment files, then stats each (after listing: a segment listed with a successor is sealed). */
  private boolean refreshSegments() throws IOException {
    synchronized (segmentsLock) {
      Map<Long, Path> listed = new ConcurrentSkipListMap<>();
      try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
        for (Path p : files) {
          long base = Segment.parseBase(p.getFileName().toString());
          if (base >= 0) {
            listed.put(base, p);
          }
        }
      }
      Set<Long> gone = new HashSet<>(segments.keySet());
      gone.removeAll(listed.keySet());
      segments.keySet().removeAll(gone); // acknowledged and deleted by the writer
      for (Map.Entry<Long, Path> e : listed.entrySet()) {
        long size;
        try {
          size = Files.size(e.getValue());
        } catch (NoSuchFileException deleted) {
          segments.remove(e.getKey());
          continue;
        }
        Segment s = segments.get(e.getKey());
        if (s == null) {
          segments.put(e.getKey(), new Segment(e.getKey(), e.getValue(), size));
        } else {
          s.size = size;
        }
      }
      return true;
    }
  }

  private Segment lookup(long position) {
    Map.Entry<Long, Segment> e = segments.floorEntry(position);
    if (e != null && position < e.getValue().end()) {
      return e.getValue();
    }
    Map.Entry<Long, Segment> next = segments.higherEntry(position);
    return next == null ? null : next.getValue();
  }

  private Segment segmentAtOrAfter(long position) throws IOException {
    Segment s = lookup(position);
    if (s != null && s.base <= position) {
      return s;
    }
    if (s == null) {
      // Most often: the active segment grew since its size was read. One stat, no listing.
      Map.Entry<Long, Segment> last = segments.lastEntry();
      if (last != null && last.getKey() <= position) {
        Segment l = last.getValue();
        try {
          synchronized (segmentsLock) {
            l.size = Files.size(l.path);
          }
          if (position < l.end()) {
            return l;
          }
        } catch (NoSuchFileException deleted) {
          // fall through to a full listing
        }
      }
    }
    // A new segment, or a gap: list again so that the sizes of sealed segments are final.
    refreshSegments();
    return lookup(position);
  }

  /** Accepts a record start or a segment's end, up to the durable position. */
  private void checkBoundary(long position) throws IOException {
    long d = view.durableFor(position);
    if (position > d) {
      throw new IllegalArgumentException("position " + position + " is beyond the durable position " + d);
    }
    if (position == d) {
      return;
    }
    Map.Entry<Long, Segment> e = segments.floorEntry(position);
    if (e == null || position > e.getValue().end()) {
      refreshSegments();
      e = segments.floorEntry(position);
    }
    Segment s = e == null ? null : e.getValue();
    if (s == null) {
      throw new IllegalArgumentException("position " + position + " is not a record boundary (no segment holds it)");
    }
    try {
      s.checkRecordBoundary(position);
    } catch (NoSuchFileException gone) {
      throw new IOException("spool " + dir + ": segment " + s.path.getFileName() + " holding position " + position
          + " was acknowledged and deleted", gone);
    }
  }

  private boolean isBoundary(long position) throws IOException {
    try {
      checkBoundary(position);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  // ---------------------------------------------------------------- reading and acknowledging

  @Override
  public SpoolReader reader(long position) throws IOException {
    checkOpen();
    long ack = acked;
    if (position < ack) {
      throw new IllegalArgumentException("position " + position + " was already acknowledged (acknowledged "
          + "position " + ack + ")");
    }
    checkBoundary(position);
    return new FileSpoolReader(view, position);
  }

  /**
   * {@inheritDoc}
   *
   * <p>Writes the {@code ack} file only; the writer process deletes the freed segments within its sync
   * interval (or at its next open, if it is not running).
   */
  @Override
  public void acknowledge(long position) throws IOException {
    synchronized (ackLock) {
      checkOpen();
      if (position <= acked) {
        return;
      }
      checkBoundary(position);
      long ack = acrossGap(position);
      AckFile.write(dir, ack, AckFile.READER_TEMP_NAME);
      acked = ack;
    }
  }

  /** As in {@link FileSpool}: the end of a segment followed by a gap acknowledges the gap too. */
  private long acrossGap(long position) {
    Map.Entry<Long, Segment> floor = segments.floorEntry(position);
    Map.Entry<Long, Segment> next = segments.higherEntry(position);
    if (floor != null && next != null && position == floor.getValue().end() && next.getKey() <= durable) {
      return next.getKey();
    }
    return position;
  }

  @Override
  public long acknowledgedPosition() {
    return acked;
  }

  // ---------------------------------------------------------------- state

  /** Bytes of segment files in the directory, listed now (for a gauge; the writer enforces the cap). */
  public long sizeBytes() {
    try {
      refreshSegments();
    } catch (IOException e) {
      log.debug("spool {}: listing segments failed", dir, e);
    }
    long total = 0;
    for (Segment s : segments.values()) {
      total += s.size;
    }
    return total;
  }

  /** Durable bytes not yet acknowledged. */
  public long backlogBytes() {
    return Math.max(0, durablePosition() - acked);
  }

  /** Segment files as last listed. */
  public int segmentCount() {
    return segments.size();
  }

  /** Whether opening ran the writer's recovery (no writer was running and the files needed it). */
  public boolean ranRecovery() {
    return recovered;
  }

  Path directory() {
    return dir;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("spool reader side " + dir + " is closed");
    }
  }

  /** Releases {@code reader.lock} and wakes {@link #awaitDurable} waiters; idempotent. Open readers fail after it. */
  @Override
  public void close() throws IOException {
    synchronized (ackLock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    synchronized (closeMonitor) {
      closeMonitor.notifyAll();
    }
    synchronized (durableLock) {
      durableFile.close();
    }
    lock.close();
  }

  @Override
  public String toString() {
    return "SpoolTail[" + dir + ", acknowledged " + acked + ", durable " + durable + ", " + segments.size()
        + " segments]";
  }

  /** What {@link FileSpoolReader} sees: the files, re-read when the reader gets ahead of this view. */
  private final class View implements SegmentSource {
    @Override
    public long durableFor(long position) {
      long d = durable;
      return position < d ? d : refreshDurable();
    }

    @Override
    public long acknowledgedPosition() {
      return acked;
    }

    @Override
    public Segment segmentAtOrAfter(long position) throws IOException {
      return SpoolTail.this.segmentAtOrAfter(position);
    }

    @Override
    public boolean refreshSegments() throws IOException {
      return SpoolTail.this.refreshSegments();
    }

    @Override
    public void checkOpen() {
      SpoolTail.this.checkOpen();
    }

    @Override
    public Path directory() {
      return dir;
    }
  }
}
