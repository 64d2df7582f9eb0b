package io.epochal.aggregator.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The aggregator-to-relocator hand-off on local disk: a durable, size-capped log of (key, blob)
 * records in segment files, with CRC32C per record and group-commit fsync. Format and recovery rules:
 * docs/spool-format.md.
 *
 * <pre>{@code
 * try (FileSpool spool = FileSpool.open(SpoolConfig.builder(dir).build())) {
 *   long end = spool.append("1413813813:1:WEB:app:a7.0", blob);   // aggregator
 *   spool.awaitDurable(end, Duration.ofSeconds(1));               // or rely on group commit
 *   try (SpoolReader reader = spool.reader(spool.acknowledgedPosition())) {  // relocator
 *     for (SpoolRecord r; (r = reader.next()) != null; ) {
 *       store(r.key(), r.blob());
 *       spool.acknowledge(r.nextPosition());                     // better: once per batch
 *     }
 *   }
 * }
 * }</pre>
 *
 * <p><b>Positions</b> are byte offsets in one logical log that grows forever across segments and
 * restarts; segment files are named by the position of their first byte. A record keeps its position
 * for life, so a position never names two different records.
 *
 * <p><b>Durability.</b> {@link #append} writes to the segment file and returns; a background thread
 * fsyncs every {@code spool.sync-interval} while there is unsynced data and then advances {@link
 * #durablePosition()} (with an interval of 0, each append syncs before returning). Readers see only
 * durable records. After a crash at any moment, every record below the last durable position is
 * intact; {@link #open} cuts an interrupted record at the end with one WARN line.
 *
 * <p><b>Size cap.</b> An append that would take the segment files past {@code spool.max-bytes} is
 * refused with {@link SpoolFullException}; {@link #acknowledge} deletes segments that lie wholly
 * before the acknowledged position, after which appends succeed again.
 *
 * <p><b>Threads.</b> Thread-safe: appends are serialized by a lock, acknowledgements by another;
 * readers are independent, each used by one thread. Do not interrupt a thread inside {@link #append}
 * or {@link #sync()}: the JDK closes a file channel when its thread is interrupted, which fails the
 * spool until it is reopened. One process at a time may open a directory (a lock file enforces it).
 *
 * <p><b>Another process as the reader.</b> The aggregator and the relocator may run as two daemons on
 * one host: the writer process opens the spool with {@link #open}, the reader process with {@link
 * #openReader}, which reads and acknowledges through the files alone (see {@link SpoolTail}). For
 * that, this class also publishes its durable position to the {@code durable} file after each sync,
 * and picks up acknowledgements another process wrote to the {@code ack} file at least once per sync
 * interval (and before refusing an append for the cap), deleting segments exactly as {@link
 * #acknowledge} does. Reading or acknowledging through this object claims {@code reader.lock}, so a
 * spool is never consumed by both this process and a reader process.
 *
 * <p><b>Records.</b> A record takes {@code 14 + key bytes + blob bytes} on disk and must fit in one
 * segment ({@code spool.segment-bytes}); keys are 1 to 1024 bytes of UTF-8, blobs at most 32 MiB.
 *
 * <p><b>Failures.</b> A failed write is undone (the file is cut back) and reported to that append
 * only. A failed fsync is not retried (the kernel may have dropped the dirty pages): the spool is
 * then failed, every later append or sync throws, and the durable position stops advancing until the
 * spool is reopened, which rescans the files. With a sync interval of 0 an append whose own fsync
 * fails throws although its record was written; it may surface after a reopen.
 */
public final class FileSpool implements BlobSink, BlobSource {
  private static final Logger log = LoggerFactory.getLogger(FileSpool.class);

  static final String LOCK_FILE = "spool.lock";
  private static final int WRITE_BUFFER_BYTES = 256 << 10;
  private static final int SCAN_BUFFER_BYTES = 256 << 10;
  /** Re-read the ack file at least this often even if its attributes look unchanged (coarse mtime, inode reuse). */
  private static final long ACK_REREAD_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final SpoolConfig config;
  private final Path dir;
  private final LongConsumer onDurable;
  private final LockFile dirLock;
  private final View view = new View();
  private final ConcurrentSkipListMap<Long, Segment> segments = new ConcurrentSkipListMap<>();
  private final SpoolRecovery recovery;
  private final ScheduledExecutorService flusher;

  // Appending: guarded by writeLock.
  private final ReentrantLock writeLock = new ReentrantLock();
  private final List<Segment> unsynced = new ArrayList<>();
  private final ByteBuffer writeBuffer = ByteBuffer.allocateDirect(WRITE_BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
  private final CRC32C writeCrc = new CRC32C();
  private volatile Segment active;
  private boolean dirDirty;
  private volatile long end;
  private volatile long sizeBytes;
  private volatile boolean full;

  // Syncing: syncLock is taken before writeLock, never after it.
  private final ReentrantLock syncLock = new ReentrantLock();
  private final Object durableMonitor = new Object();
  private volatile long durable;
  private volatile boolean channelsClosed;
  private final DurableFile.Writer durableFile;
  private volatile long published = -1; // what durableFile holds (-2: last write failed); written under syncLock

  private final Object ackLock = new Object();
  private volatile long acked;
  // The reader side in this process (claimed on first reader() or acknowledge()); guarded by ackLock.
  private LockFile readerLock;
  private volatile boolean readerLockHeld;
  // Picking up acknowledgements another process wrote: tryLock, so a busy pick-up is skipped, not awaited.
  private final ReentrantLock pickUpLock = new ReentrantLock();
  private Object ackStamp;
  private long ackReadNanos;

  private volatile IOException failure;
  private volatile boolean closed;

  /** Opens (creating or recovering) the spool in {@code config.directory()}. */
  public static FileSpool open(SpoolConfig config) throws IOException {
    return open(config, null);
  }

  /**
   * Like {@link #open(SpoolConfig)}, and calls {@code onDurable} with each new durable position,
   * in increasing order, on the thread that synced (the flusher, or the appender when the sync
   * interval is 0). The callback must be quick and must not throw; it may call the spool.
   */
  public static FileSpool open(SpoolConfig config, LongConsumer onDurable) throws IOException {
    return new FileSpool(config, onDurable, !config.syncsEveryAppend());
  }

  /** For tests: {@code backgroundSync = false} leaves syncing to explicit {@link #sync()} calls. */
  static FileSpool open(SpoolConfig config, LongConsumer onDurable, boolean backgroundSync) throws IOException {
    return new FileSpool(config, onDurable, backgroundSync);
  }

  /**
   * Opens the reader side for a spool another process writes (or none does): reads and acknowledges
   * through the files, never appends, never takes {@code spool.lock}. See {@link SpoolTail}.
   *
   * @throws IOException if another reader holds the spool, or the directory cannot be read
   */
  public static SpoolTail openReader(SpoolConfig config) throws IOException {
    return SpoolTail.open(config);
  }

  /** Opens the spool like {@link #open}, or returns null if another spool holds {@code spool.lock}. */
  static FileSpool openIfFree(SpoolConfig config) throws IOException {
    try {
      return new FileSpool(config, null, false);
    } catch (InUseException e) {
      return null;
    }
  }

  private static final class InUseException extends IOException {
    private static final long serialVersionUID = 1L;

    InUseException(String message) {
      super(message);
    }
  }

  private FileSpool(SpoolConfig config, LongConsumer onDurable, boolean backgroundSync) throws IOException {
    this.config = Objects.requireNonNull(config, "config");
    this.dir = config.directory();
    this.onDurable = onDurable;
    Files.createDirectories(dir);
    LockFile lock = LockFile.tryAcquire(dir, LOCK_FILE);
    if (lock == null) {
      throw new InUseException("spool directory " + dir + " is in use (" + LOCK_FILE + " is locked by another spool)");
    }
    this.durableFile = new DurableFile.Writer(dir);
    try {
      this.recovery = recover();
      // Everything kept was fsynced by recovery: publish it for a reader in another process.
      durableFile.write(durable);
      published = durable;
    } catch (IOException | RuntimeException e) {
      closeAfterFailedOpen(lock, e);
      throw e;
    }
    this.dirLock = lock;
    if (backgroundSync && !config.syncsEveryAppend()) {
      flusher = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "epochal-spool-sync");
        t.setDaemon(true);
        return t;
      });
      long nanos = config.syncInterval().toNanos();
      flusher.scheduleWithFixedDelay(this::backgroundSync, nanos, nanos, TimeUnit.NANOSECONDS);
    } else {
      flusher = null;
    }
  }

  private void closeAfterFailedOpen(LockFile lock, Throwable e) {
    for (Segment s : segments.values()) {
      closeChannel(s, e);
    }
    durableFile.close();
    try {
      lock.close();
    } catch (IOException suppressed) {
      e.addSuppressed(suppressed);
    }
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Brings the directory to a consistent state: deletes segments wholly acknowledged, validates
   * every record of the rest, cuts each segment at its first bad record, fsyncs what it keeps (data
   * that reached the page cache before a crash becomes durable before anyone may read it), and
   * opens the last segment for appending.
   */
  private SpoolRecovery recover() throws IOException {
    long started = System.nanoTime();
    Files.deleteIfExists(dir.resolve(AckFile.TEMP_NAME));
    AckFile.Read ackRead = AckFile.read(dir);
    if (ackRead.problem() != null) {
      log.error("spool {}: {} file is unreadable ({}); delivering again from the first segment "
          + "(re-delivered blobs are rewritten with the same bytes)", dir, AckFile.NAME, ackRead.problem());
    }
    List<Segment> found = listSegments();
    long ack;
    boolean dirChanged = false;
    if (found.isEmpty()) {
      ack = ackRead.present() ? ackRead.position() : 0;
      found.add(createSegment(ack));
      dirChanged = true;
    } else {
      ack = ackRead.present() ? ackRead.position() : found.get(0).base;
      if (!ackRead.present() && ackRead.problem() == null && found.get(0).base != 0) {
        log.warn("spool {}: no {} file but the first segment starts at {}; delivering from there", dir,
            AckFile.NAME, found.get(0).base);
      }
      // Left by an acknowledge that persisted its position but crashed before deleting.
      while (found.size() > 1 && found.get(0).end() <= ack) {
        Segment s = found.remove(0);
        Files.deleteIfExists(s.path);
        dirChanged = true;
        log.info("spool {}: deleted {}, acknowledged before the last shutdown", dir, s.path.getFileName());
      }
      checkLayout(found);
      if (ack < found.get(0).base) {
        log.error("spool {}: acknowledged position {} lies before the first segment {}: positions [{}, {}) are "
            + "missing (segment files deleted by hand?)", dir, ack, found.get(0), ack, found.get(0).base);
        ack = found.get(0).base;
      }
    }

    long records = 0;
    long tornTail = 0;
    long corrupt = 0;
    long ackBoundary = -1;
    ByteBuffer tmp = ByteBuffer.allocateDirect(SCAN_BUFFER_BYTES);
    ByteBuffer header = RecordFormat.newHeaderBuffer();
    CRC32C crc = new CRC32C();
    for (int i = 0; i < found.size(); i++) {
      Segment s = found.get(i);
      boolean last = i == found.size() - 1;
      try (FileChannel ch = FileChannel.open(s.path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        long fileSize = ch.size();
        long offset = 0;
        String problem = null;
        while (offset < fileSize) {
          if (s.base + offset <= ack) {
            ackBoundary = s.base + offset;
          }
          problem = checkRecord(ch, offset, fileSize, header, tmp, crc);
          if (problem != null) {
            break;
          }
          offset += RecordFormat.recordBytes(header);
          records++;
        }
        if (s.base + offset <= ack) {
          ackBoundary = s.base + offset;
        }
        if (problem != null) {
          long cut = fileSize - offset;
          if (last && !intactRecordFollows(ch, offset, fileSize, header, tmp, crc)) {
            tornTail += cut;
            log.warn("spool: torn tail in {} at offset {} (position {}): {}; cut {} bytes", s.path, offset,
                s.base + offset, problem, cut);
          } else {
            corrupt += cut;
            log.error("spool: corrupt record in {} at offset {} (position {}): {}; the rest of the segment, "
                    + "{} bytes (positions [{}, {})), is lost; {} bytes before it are kept", s.path, offset,
                s.base + offset, problem, cut, s.base + offset, s.base + fileSize, offset);
          }
          ch.truncate(offset);
        }
        ch.force(false);
        s.size = offset;
      }
      segments.put(s.base, s);
    }

    Segment last = segments.lastEntry().getValue();
    if (ack > last.end()) {
      log.error("spool {}: acknowledged position {} lies beyond the end of the spool {} (acknowledged records "
          + "were lost); appending from {} on", dir, ack, last.end(), ack);
      if (last.size == 0) {
        segments.remove(last.base);
        Files.delete(last.path);
      }
      segments.put(ack, createSegment(ack));
      dirChanged = true;
    } else if (ackBoundary != ack) {
      // Only after damage: ack lies in a region cut above, or inside a record.
      Segment holder = segments.floorEntry(ack).getValue();
      long moved = ack > holder.end() ? segments.higherEntry(ack).getKey() : ackBoundary;
      log.error("spool {}: acknowledged position {} is not a record boundary; {} from {}", dir, ack,
          moved > ack ? "skipping the lost positions, reading on" : "delivering again", moved);
      ack = moved;
    }
    if (!ackRead.present() || ack != ackRead.position()) {
      AckFile.write(dir, ack);
    } else if (dirChanged) {
      fsyncDirectory(dir);
    }

    Segment tail = segments.lastEntry().getValue();
    tail.channel = FileChannel.open(tail.path, StandardOpenOption.WRITE);
    tail.channel.position(tail.size);
    active = tail;
    end = tail.end();
    durable = end;
    acked = ack;
    long size = 0;
    for (Segment s : segments.values()) {
      size += s.size;
    }
    sizeBytes = size;
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    log.info("spool {} opened: {} segments, {} bytes, positions acknowledged {} durable {}, {} records checked in {} ms",
        dir, segments.size(), size, ack, end, records, millis);
    return new SpoolRecovery(segments.size(), records, tornTail, corrupt, millis);
  }

  private List<Segment> listSegments() throws IOException {
    List<Segment> found = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path p : files) {
        long base = Segment.parseBase(p.getFileName().toString());
        if (base >= 0 && Files.isRegularFile(p)) {
          found.add(new Segment(base, p, Files.size(p)));
        }
      }
    }
    found.sort((a, b) -> Long.compare(a.base, b.base));
    return found;
  }

  /** Segments are created at the end of the previous one and only ever shrink: they cannot overlap. */
  private void checkLayout(List<Segment> found) throws IOException {
    for (int i = 1; i < found.size(); i++) {
      Segment prev = found.get(i - 1);
      Segment s = found.get(i);
      if (prev.end() > s.base) {
        throw new IOException("spool " + dir + ": segments overlap (" + prev + " and " + s
            + "); not a spool this code wrote, refusing to open");
      }
      if (prev.end() < s.base) {
        log.warn("spool {}: positions [{}, {}) between {} and {} hold no data (cut by an earlier recovery, "
            + "or a segment file is missing)", dir, prev.end(), s.base, prev.path.getFileName(), s.path.getFileName());
      }
    }
  }

  /** Null if the record at {@code offset} is intact (its header is then in {@code header}), else why not. */
  static String checkRecord(FileChannel ch, long offset, long limit, ByteBuffer header, ByteBuffer tmp, CRC32C crc)
      throws IOException {
    header.clear();
    int read = RecordFormat.readFully(ch, header, offset);
    String problem = RecordFormat.checkHeader(header, read, limit - offset);
    if (problem != null) {
      return problem;
    }
    RecordFormat.crcHeader(crc, header);
    long bodyBytes = RecordFormat.recordBytes(header) - RecordFormat.HEADER_BYTES;
    RecordFormat.crcRange(ch, offset + RecordFormat.HEADER_BYTES, bodyBytes, tmp, crc);
    int computed = (int) crc.getValue();
    int stored = RecordFormat.storedCrc(header);
    return computed == stored ? null : String.format("CRC32C mismatch (stored 0x%08x, computed 0x%08x)", stored,
        computed);
  }

  /**
   * Whether the bad record at {@code offset} has a plausible header and an intact record right after
   * it: then it is damage in the middle of the file, not an append cut short by a crash.
   */
  private static boolean intactRecordFollows(FileChannel ch, long offset, long fileSize, ByteBuffer header,
      ByteBuffer tmp, CRC32C crc) throws IOException {
    header.clear();
    int read = RecordFormat.readFully(ch, header, offset);
    if (RecordFormat.checkHeader(header, read, fileSize - offset) != null) {
      return false;
    }
    long next = offset + RecordFormat.recordBytes(header);
    return next < fileSize && checkRecord(ch, next, fileSize, header, tmp, crc) == null;
  }

  private Segment createSegment(long base) throws IOException {
    Path p = dir.resolve(Segment.fileName(base));
    FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
    return new Segment(base, p, 0);
  }

  // ---------------------------------------------------------------- appending

  /**
   * {@inheritDoc}
   *
   * <p>The record takes {@code 14 + key bytes + blob bytes} on disk and must fit in one segment.
   * Keys are 1 to 1024 bytes of UTF-8; blobs at most 32 MiB. With {@code spool.sync-interval} 0 the
   * record is durable when this returns.
   */
  @Override
  public long append(String key, byte[] blob) throws SpoolFullException, IOException {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(blob, "blob");
    byte[] keyBytes = RecordFormat.encodeKey(key);
    long recordBytes = RecordFormat.recordBytes(keyBytes.length, blob.length);
    if (blob.length > RecordFormat.MAX_BLOB_BYTES || recordBytes > config.segmentBytes()) {
      throw new IllegalArgumentException("a spool record of " + recordBytes + " bytes does not fit in a segment ("
          + SpoolConfig.SEGMENT_BYTES + " = " + config.segmentBytes() + ", blobs at most "
          + RecordFormat.MAX_BLOB_BYTES + " bytes)");
    }
    if (sizeBytes + recordBytes > config.maxBytes()) {
      // About to be refused: a reader in another process may have acknowledged since the last look.
      pickUpAcknowledgements(true);
    }
    long newEnd;
    writeLock.lock();
    try {
      ensureWritable();
      if (sizeBytes + recordBytes > config.maxBytes()) {
        full = true;
        throw new SpoolFullException(recordBytes, sizeBytes, config.maxBytes());
      }
      full = false;
      Segment s = active;
      if (s.size > 0 && s.size + recordBytes > config.segmentBytes()) {
        s = roll();
      }
      write(s, keyBytes, blob);
      s.size += recordBytes;
      sizeBytes += recordBytes;
      newEnd = end + recordBytes;
      end = newEnd;
    } finally {
      writeLock.unlock();
    }
    if (config.syncsEveryAppend()) {
      syncTo();
      pickUpAcknowledgements(false); // no background thread does it with a sync interval of 0
    }
    return newEnd;
  }

  private void ensureWritable() throws IOException {
    if (closed) {
      throw new IllegalStateException("spool " + dir + " is closed");
    }
    IOException f = failure;
    if (f != null) {
      throw new IOException("spool " + dir + " failed earlier and must be reopened: " + f.getMessage(), f);
    }
  }

  /** Seals the active segment (it stays in {@link #unsynced} until synced) and starts the next. */
  private Segment roll() throws IOException {
    Segment old = active;
    Path p = dir.resolve(Segment.fileName(end));
    Segment s = new Segment(end, p, 0);
    s.channel = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    segments.put(s.base, s);
    unsynced.add(old); // the next sync forces and closes its channel
    active = s;
    dirDirty = true;
    if (old.end() <= acked) {
      // Acknowledged while it was still active: nothing in it is needed any more.
      deleteSegment(old);
    }
    return s;
  }

  private void write(Segment s, byte[] key, byte[] blob) throws IOException {
    FileChannel ch = s.channel;
    int crc = RecordFormat.crc(writeCrc, key, blob);
    ByteBuffer b = writeBuffer;
    b.clear();
    RecordFormat.putHeader(b, crc, key.length, blob.length);
    b.put(key);
    try {
      int off = 0;
      while (off < blob.length) {
        int n = Math.min(b.remaining(), blob.length - off);
        b.put(blob, off, n);
        off += n;
        if (!b.hasRemaining()) {
          writeFully(ch, b);
        }
      }
      if (b.position() > 0) {
        writeFully(ch, b);
      }
    } catch (ClosedByInterruptException e) {
      failure = e;
      throw new IOException("spool " + dir + ": appending thread interrupted; the segment file was closed and the "
          + "spool must be reopened", e);
    } catch (IOException e) {
      // E.g. a full disk: cut the partial record so the spool stays usable for later appends.
      try {
        ch.truncate(s.size);
        ch.position(s.size);
      } catch (IOException undo) {
        e.addSuppressed(undo);
        failure = e;
        log.error("spool {}: could not cut a partial record from {}; the spool is failed until reopened", dir,
            s.path, e);
      }
      throw e;
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    b.flip();
    while (b.hasRemaining()) {
      ch.write(b);
    }
    b.clear();
  }

  // ---------------------------------------------------------------- durability

  @Override
  public long durablePosition() {
    return durable;
  }

  @Override
  public boolean awaitDurable(long position, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (durableMonitor) {
      while (durable < position) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || channelsClosed) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(durableMonitor, left);
      }
      return true;
    }
  }

  @Override
  public long sync() throws IOException {
    long d = syncTo();
    pickUpAcknowledgements(false);
    return d;
  }

  private void backgroundSync() {
    if (end != durable && failure == null) {
      try {
        syncTo();
      } catch (IOException | RuntimeException e) {
        // syncTo has recorded and logged an fsync failure; anything else is a bug worth seeing.
        if (failure == null) {
          log.error("spool {}: background sync failed", dir, e);
        }
      }
    }
    if (published != durable) { // unguarded peek; republish() checks again under the lock
      republish();
    }
    pickUpAcknowledgements(false);
  }

  /** Forces every unsynced segment (and the directory after a roll), then publishes the new durable position. */
  private long syncTo() throws IOException {
    syncLock.lock();
    try {
      if (channelsClosed) {
        return durable;
      }
      IOException f = failure;
      if (f != null) {
        throw new IOException("spool " + dir + " failed earlier and must be reopened: " + f.getMessage(), f);
      }
      long target;
      List<Segment> sealed;
      Segment current;
      boolean syncDir;
      writeLock.lock();
      try {
        target = end;
        sealed = List.copyOf(unsynced);
        current = active;
        syncDir = dirDirty;
        dirDirty = false;
      } finally {
        writeLock.unlock();
      }
      if (target == durable && !syncDir) {
        publishFile(durable);
        return target;
      }
      try {
        for (Segment s : sealed) {
          s.channel.force(false);
        }
        current.channel.force(false);
        if (syncDir) {
          fsyncDirectory(dir);
        }
      } catch (IOException e) {
        // Not retried: after a failed fsync the kernel may have dropped the dirty pages.
        failure = e;
        log.error("spool {}: fsync failed; the spool accepts no more appends until reopened", dir, e);
        throw e;
      }
      writeLock.lock();
      try {
        unsynced.removeAll(sealed);
        for (Segment s : sealed) {
          closeChannel(s, null);
        }
      } finally {
        writeLock.unlock();
      }
      publishDurable(target);
      return target;
    } finally {
      syncLock.unlock();
    }
  }

  /** Under syncLock: the in-memory durable position first (this process's waiters), then the file. */
  private void publishDurable(long position) {
    if (position <= durable) {
      return;
    }
    synchronized (durableMonitor) {
      durable = position;
      durableMonitor.notifyAll();
    }
    publishFile(position);
    if (onDurable != null) {
      try {
        onDurable.accept(position);
      } catch (RuntimeException e) {
        log.error("spool {}: durability listener failed", dir, e);
      }
    }
  }

  /**
   * Under syncLock: writes the durable file if it lags. Not fsynced (docs/spool-format.md): the data
   * it names is already on disk, so a crash can only leave it stale. A failed write is retried at the
   * next sync; readers in another process see no progress until then.
   */
  private void publishFile(long position) {
    if (position == published || channelsClosed) {
      return;
    }
    try {
      durableFile.write(position);
      if (published == -2) {
        log.info("spool {}: {} file written again", dir, DurableFile.NAME);
      }
      published = position;
    } catch (IOException e) {
      if (published != -2) {
        log.warn("spool {}: could not write the {} file; a reader in another process sees no new records "
            + "until a later write succeeds", dir, DurableFile.NAME, e);
      }
      published = -2;
    }
  }

  private void republish() {
    syncLock.lock();
    try {
      publishFile(durable);
    } finally {
      syncLock.unlock();
    }
  }

  /**
   * Adopts an acknowledgement another process (a {@link SpoolTail}) wrote to the ack file, and deletes
   * the segments it frees, like {@link #acknowledge}. Cheap when nothing changed: one stat of the
   * file, and a read only when its attributes changed, when {@code force}, or once a second. Skipped
   * when this process is the reader (it then holds {@code reader.lock}, so no one else writes acks).
   */
  private void pickUpAcknowledgements(boolean force) {
    if (readerLockHeld || closed) {
      return;
    }
    if (force) {
      pickUpLock.lock(); // an append is about to be refused: wait for a pick-up in progress, then look again
    } else if (!pickUpLock.tryLock()) {
      return;
    }
    try {
      Object stamp;
      try {
        BasicFileAttributes a = Files.readAttributes(dir.resolve(AckFile.NAME), BasicFileAttributes.class);
        stamp = Arrays.asList(a.fileKey(), a.lastModifiedTime(), a.size());
      } catch (NoSuchFileException e) {
        return;
      }
      long now = System.nanoTime();
      if (!force && stamp.equals(ackStamp) && now - ackReadNanos < ACK_REREAD_NANOS) {
        return;
      }
      ackStamp = stamp;
      ackReadNanos = now;
      AckFile.Read read = AckFile.read(dir);
      if (read.present() && read.position() > acked) {
        adoptAcknowledged(read.position());
      }
    } catch (IOException e) {
      log.warn("spool {}: could not read the {} file written by the reader; retrying at the next sync", dir,
          AckFile.NAME, e);
    } finally {
      pickUpLock.unlock();
    }
  }

  private void adoptAcknowledged(long position) {
    synchronized (ackLock) {
      if (closed || readerLockHeld || position <= acked) {
        return;
      }
      // A reader acknowledges only what this writer published as durable; min() only matters after damage.
      long ack = Math.min(position, durable);
      if (ack > acked) {
        acked = ack;
        deleteAcknowledged(ack);
      }
    }
  }

  static void fsyncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  // ---------------------------------------------------------------- reading and acknowledging

  @Override
  public SpoolReader reader(long position) throws IOException {
    checkOpen();
    claimReaderSide();
    long ack = acked;
    if (position < ack) {
      throw new IllegalArgumentException("position " + position + " was already acknowledged (acknowledged "
          + "position " + ack + ")");
    }
    checkBoundary(position);
    return new FileSpoolReader(view, position);
  }

  /** Takes {@code reader.lock} the first time this process reads or acknowledges: one consumer per spool. */
  private void claimReaderSide() throws IOException {
    if (readerLockHeld) {
      return;
    }
    synchronized (ackLock) {
      checkOpen();
      if (readerLockHeld) {
        return;
      }
      LockFile lock = LockFile.tryAcquire(dir, SpoolTail.LOCK_FILE);
      if (lock == null) {
        throw new IOException("spool directory " + dir + " is already being read (" + SpoolTail.LOCK_FILE
            + " is held, e.g. by a relocator process); one reader per spool");
      }
      readerLock = lock;
      readerLockHeld = true;
    }
  }

  @Override
  public void acknowledge(long position) throws IOException {
    claimReaderSide();
    synchronized (ackLock) {
      checkOpen();
      if (position <= acked) {
        return;
      }
      checkBoundary(position);
      long ack = acrossGap(position);
      AckFile.write(dir, ack);
      acked = ack;
      deleteAcknowledged(ack);
    }
  }

  /**
   * The end of a segment cut by recovery is followed by positions that hold nothing: acknowledging
   * it acknowledges them too, so the next open finds the acknowledged position in a segment.
   */
  private long acrossGap(long position) {
    Map.Entry<Long, Segment> floor = segments.floorEntry(position);
    Map.Entry<Long, Segment> next = segments.higherEntry(position);
    if (floor != null && next != null && position == floor.getValue().end() && next.getKey() <= durable) {
      return next.getKey();
    }
    return position;
  }

  /** Deletes sealed segments that lie wholly before {@code position}. */
  private void deleteAcknowledged(long position) {
    for (Segment s : segments.values()) {
      if (s == active || s.end() > position || !deleteSegment(s)) {
        return;
      }
    }
  }

  /**
   * Deletes a sealed segment's file, then forgets it; false if the file could not be deleted (it
   * stays counted, and the next acknowledge or open retries). Safe to race with itself.
   */
  private boolean deleteSegment(Segment s) {
    try {
      Files.deleteIfExists(s.path);
    } catch (IOException e) {
      log.warn("spool {}: could not delete acknowledged segment {}; retrying later", dir, s.path, e);
      return false;
    }
    writeLock.lock();
    try {
      if (segments.remove(s.base, s)) {
        sizeBytes -= s.size;
        full = false;
      }
    } finally {
      writeLock.unlock();
    }
    return true;
  }

  /** Accepts a position a reader may start at or acknowledge: a record start or a segment's end, up to durable. */
  private void checkBoundary(long position) throws IOException {
    long d = durable;
    if (position > d) {
      throw new IllegalArgumentException("position " + position + " is beyond the durable position " + d);
    }
    if (position == d) {
      return;
    }
    Map.Entry<Long, Segment> e = segments.floorEntry(position);
    Segment s = e == null ? null : e.getValue();
    if (s == null) {
      throw new IllegalArgumentException("position " + position + " is not a record boundary (no segment holds it)");
    }
    s.checkRecordBoundary(position);
  }

  @Override
  public long acknowledgedPosition() {
    return acked;
  }

  // ---------------------------------------------------------------- state

  @Override
  public long sizeBytes() {
    return sizeBytes;
  }

  /** The position just after the last appended record, durable or not. */
  public long endPosition() {
    return end;
  }

  /** Durable bytes not yet acknowledged: {@code durablePosition() - acknowledgedPosition()}. */
  public long backlogBytes() {
    return Math.max(0, durable - acked);
  }

  /**
   * Whether the last append was refused for the size cap and no space has been freed since (for a
   * health check: {@code sizeBytes()} alone rarely reaches the cap exactly).
   */
  public boolean full() {
    return full;
  }

  /** Segment files on disk, the active one included. */
  public int segmentCount() {
    return segments.size();
  }

  /** What {@link #open} found and repaired. */
  public SpoolRecovery recovery() {
    return recovery;
  }

  public SpoolConfig config() {
    return config;
  }

  /** Whether an fsync or an undo failed; the spool then refuses appends until reopened. */
  public boolean failed() {
    return failure != null;
  }

  Path directory() {
    return dir;
  }

  /** The segment holding {@code position}, the next one when it lies in a gap, or null. */
  Segment segmentAtOrAfter(long position) {
    Map.Entry<Long, Segment> e = segments.floorEntry(position);
    if (e != null && position < e.getValue().end()) {
      return e.getValue();
    }
    Map.Entry<Long, Segment> next = segments.higherEntry(position);
    return next == null ? null : next.getValue();
  }

  void checkOpen() {
    if (closed) {
      throw new IllegalStateException("spool " + dir + " is closed");
    }
  }

  /** What {@link FileSpoolReader} sees: this spool's exact, in-memory view. */
  private final class View implements SegmentSource {
    @Override
    public long durableFor(long position) {
      return durable;
    }

    @Override
    public long acknowledgedPosition() {
      return acked;
    }

    @Override
    public Segment segmentAtOrAfter(long position) {
      return FileSpool.this.segmentAtOrAfter(position);
    }

    @Override
    public boolean refreshSegments() {
      return false;
    }

    @Override
    public void checkOpen() {
      FileSpool.this.checkOpen();
    }

    @Override
    public Path directory() {
      return dir;
    }
  }

  // ---------------------------------------------------------------- closing

  /** Stops the background sync, syncs what was appended, and closes every file; idempotent. */
  @Override
  public void close() throws IOException {
    synchronized (ackLock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    IOException error = null;
    if (flusher != null) {
      flusher.shutdown();
      try {
        if (!flusher.awaitTermination(1, TimeUnit.MINUTES)) {
          error = new IOException("spool " + dir + ": background sync did not stop within a minute");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (failure == null) {
      try {
        syncTo();
      } catch (IOException e) {
        error = e;
      }
    }
    release(error);
    if (error != null) {
      throw error;
    }
  }

  /**
   * For tests: stops everything like a process killed at this instant, without syncing. Data already
   * written stays in the files (the page cache survives a process crash).
   */
  void crash() throws IOException {
    synchronized (ackLock) {
      closed = true;
    }
    if (flusher != null) {
      flusher.shutdown(); // not shutdownNow: an interrupt would close the channel under a running fsync
      try {
        flusher.awaitTermination(1, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    release(null);
  }

  private void release(IOException error) throws IOException {
    syncLock.lock();
    writeLock.lock();
    try {
      channelsClosed = true;
      durableFile.close();
      for (Segment s : segments.values()) {
        closeChannel(s, error);
      }
      for (Segment s : unsynced) { // sealed, and deleted because acknowledged, but not yet synced
        closeChannel(s, error);
      }
    } finally {
      writeLock.unlock();
      syncLock.unlock();
    }
    synchronized (durableMonitor) {
      durableMonitor.notifyAll();
    }
    LockFile reading;
    synchronized (ackLock) {
      reading = readerLock;
      readerLock = null;
    }
    try {
      if (reading != null) {
        reading.close();
      }
    } finally {
      dirLock.close();
    }
  }

  private void closeChannel(Segment s, Throwable addTo) {
    if (s.channel == null) {
      return;
    }
    try {
      s.channel.close();
    } catch (IOException e) {
      if (addTo != null) {
        addTo.addSuppressed(e);
      } else {
        log.warn("spool {}: closing {} failed", dir, s.path, e);
      }
    }
    s.channel = null;
  }

  @Override
  public String toString() {
    return "FileSpool[" + dir + ", acknowledged " + acked + ", durable " + durable + ", end " + end + ", "
        + sizeBytes + " bytes in " + segments.size() + " segments]";
  }
}
