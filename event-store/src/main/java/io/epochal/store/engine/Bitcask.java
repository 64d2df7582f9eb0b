package io.epochal.store.engine;

import io.epochal.store.StoreErrorCode;
import io.epochal.store.StoreException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Bitcask-style log-structured engine for one ring partition (docs/store-format.md): append-only
 * data files of CRC-checked records, an in-memory {@link KeyDir} pointing at each key's newest
 * record, hint files for fast opening, background merge and whole-file expiry.
 *
 * <pre>{@code
 * Bitcask engine = Bitcask.open(dir, EngineConfig.defaults(), Clock.systemUTC(), bucket -> 0, null);
 * long position = engine.put("events", key, value);      // value: a ByteBuf the caller still owns
 * engine.durable(position).join();                        // returns once the record is fsynced
 * StoredValue v = engine.get("events", key);              // one positional read; null if absent
 * v.release();
 * }</pre>
 *
 * <p>Thread-safety: every method may be called from any thread. Reads take no lock; writes are
 * serialised on the engine; {@link #merge} and {@link #expire} run one at a time and hold the
 * write lock only for short batches. Never interrupt a thread that is inside a call: an interrupt
 * during file I/O closes the file channel for every thread (Java NIO's rule).
 */
public final class Bitcask implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(Bitcask.class);
  /** Active data files take ids that are multiples of this; merge outputs use the ids in between. */
  static final long ID_GAP = 1L << 32;
  private static final int MERGE_BATCH = 256;

  /** What a merge did. */
  public record MergeResult(int inputFiles, int outputFiles, long copiedBytes, long reclaimedBytes) {
    static final MergeResult NONE = new MergeResult(0, 0, 0, 0);
  }

  private final Path dir;
  private final String name;
  private final EngineConfig config;
  private final Clock clock;
  private final ToLongFunction<String> ttlMillis;
  private final Runnable onSyncNeeded;
  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
  private final KeyDir keydir = new KeyDir();
  /** Every readable data file by id, the active one included. */
  private final ConcurrentSkipListMap<Long, DataFile> files = new ConcurrentSkipListMap<>();
  private final EngineStats stats = new EngineStats();
  private final ReentrantLock maintenance = new ReentrantLock();
  /** Set by close() so a running merge stops at the next record instead of delaying shutdown. */
  private volatile boolean closing;
  /** The highest id a merge output has had (maintenance lock). */
  private long highestMergeId = -1;

  /** Unwinds a merge that close() interrupted; its outputs are completed, its inputs kept. */
  private static final class MergeAborted extends IOException {
    private static final long serialVersionUID = 1L;

    MergeAborted() {
      super("merge stopped by close");
    }
  }

  private final Object writeLock = new Object();
  /**
   * Files rolled but not yet fsynced, with their hints (guarded by writeLock). A roll only queues
   * them (except with sync ALWAYS, where every record is fsynced already): {@link #sync} fsyncs
   * them, writes their hints and syncs the directory off the writer's thread, so a roll of a large
   * file no longer stalls every write of the partition behind an fsync.
   */
  private final List<Rolled> rolled = new ArrayList<>();
  /**
   * Held while rolled files are being fsynced ({@link #finishRolled}), so that merge, expiry and
   * close, which take it first, never see a rolled file half done. Order: maintenance, then this,
   * then writeLock.
   */
  private final ReentrantLock rollSync = new ReentrantLock();

  /** A closed data file of {@code size} bytes waiting for its fsync and its hint. */
  private record Rolled(DataFile file, HintFile.Writer hint, long size) {}
  private DataFile active;
  private HintFile.Writer activeHint;
  private long lastTimestamp;
  private volatile boolean closed;
  private final ByteBuffer header = ByteBuffer.allocate(RecordFormat.HEADER);

  private final Object syncLock = new Object();
  /** Bytes appended over the engine's life (this open); the durability positions. */
  private volatile long appended;
  private volatile long durable;
  private volatile IOException failure;
  private final PriorityQueue<Waiter> waiters = new PriorityQueue<>();

  private record Waiter(long position, CompletableFuture<Void> future) implements Comparable<Waiter> {
    @Override
    public int compareTo(Waiter o) {
      return Long.compare(position, o.position);
    }
  }

  private Bitcask(Path dir, String name, EngineConfig config, Clock clock, ToLongFunction<String> ttlMillis,
      Runnable onSyncNeeded) {
    this.dir = dir;
    this.name = name;
    this.config = config;
    this.clock = clock;
    this.ttlMillis = ttlMillis;
    this.onSyncNeeded = onSyncNeeded == null ? () -> {} : onSyncNeeded;
  }

  /**
   * Opens (creating if needed) the engine in {@code dir}: loads each data file's hint, or scans
   * the data file where the hint is missing or invalid (cutting a torn tail, skipping and
   * counting corrupt records, then writing a fresh hint), and starts a new active file.
   *
   * @param ttlMillis a bucket's time to live in ms, 0 for none; consulted on every read, so a
   *     changed TTL applies at once
   * @param onSyncNeeded called (on the writer's thread) when a caller waits for durability and
   *     someone should call {@link #sync()} soon; null when the caller syncs itself
   */
  public static Bitcask open(Path dir, EngineConfig config, Clock clock, ToLongFunction<String> ttlMillis,
      Runnable onSyncNeeded) throws IOException {
    Files.createDirectories(dir);
    Bitcask b = new Bitcask(dir, dir.getFileName().toString(), config, clock, ttlMillis, onSyncNeeded);
    b.load();
    return b;
  }

  private void load() throws IOException {
    List<Long> ids = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String n = p.getFileName().toString();
        if (n.endsWith(".tmp")) {
          Files.delete(p); // an unfinished hint: its data file is scanned instead
          continue;
        }
        long id = DataFile.parseId(n);
        if (id >= 0) {
          ids.add(id);
        }
      }
    }
    ids.sort(null);
    Set<Long> idSet = new HashSet<>(ids);
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.hint")) {
      for (Path p : ds) {
        String n = p.getFileName().toString();
        long id = DataFile.parseId(n.substring(0, n.length() - 5) + ".data");
        if (id < 0 || !idSet.contains(id)) {
          Files.delete(p); // its data file was deleted (merge or expiry) before the hint
        }
      }
    }
    for (long id : ids) {
      DataFile f = DataFile.open(dir, id);
      if (f.size() == 0) {
        f.close();
        Files.deleteIfExists(dir.resolve(DataFile.hintName(id)));
        Files.delete(f.path);
        continue;
      }
      files.put(id, f);
      HintFile.Visitor apply = (key, offset, size, ts, tomb) -> index(f, key, offset, size, ts, tomb);
      if (HintFile.load(dir.resolve(DataFile.hintName(id)), f.size(), apply)) {
        stats.hintLoads.increment();
        continue;
      }
      stats.scans.increment();
      try (HintFile.Writer hint = new HintFile.Writer(dir, id)) {
        RecordScanner.Result r = new RecordScanner(f.channel, f.size(), Long.MAX_VALUE).scan(
            (offset, size, ts, tomb, key, record) -> {
              index(f, key, offset, size, ts, tomb);
              hint.add(key, offset, size, ts, tomb);
            });
        if (r.corruptRecords() > 0) {
          stats.corruptRecords.add(r.corruptRecords());
          log.error("{}/{}: skipped {} corrupt record(s), {} bytes (first at offset {}); on this replica their keys "
              + "show an older version or none until read repair rewrites them", name, f, r.corruptRecords(),
              r.corruptBytes(), r.firstCorruptOffset());
        }
        if (r.validEnd() < f.size()) {
          stats.tornTails.increment();
          log.warn("{}/{}: cut a torn tail of {} bytes at offset {} (an interrupted write)", name, f,
              f.size() - r.validEnd(), r.validEnd());
          f.truncate(r.validEnd());
        }
        hint.finish(f.size());
      }
    }
    long maxId = ids.isEmpty() ? -1 : ids.get(ids.size() - 1);
    synchronized (writeLock) {
      startActive(((maxId < 0 ? 0 : (maxId / ID_GAP) + 1)) * ID_GAP);
    }
    syncDirectory();
    log.debug("{}: opened {} files, {} keys", name, files.size(), keydir.size());
  }

  /** Applies one record found at open: newest wins (files in id order, records in file order). */
  private void index(DataFile f, byte[] key, long offset, int size, long ts, boolean tombstone) {
    KeyDir.Entry old = keydir.put(new KeyDir.Key(key), new KeyDir.Entry(f.id, offset, size, ts, tombstone));
    if (old != null) {
      DataFile of = files.get(old.fileId());
      if (of != null) {
        of.addDead(old.size());
      }
    }
    f.noteRecord(RecordFormat.bucketOf(key), ts);
    lastTimestamp = Math.max(lastTimestamp, ts);
  }

  private void startActive(long id) throws IOException {
    active = DataFile.create(dir, id);
    files.put(id, active);
    activeHint = new HintFile.Writer(dir, id);
  }

  // ------------------------------------------------------------------------------------ reads

  /**
   * The newest live value of {@code key} in {@code bucket}, or null when it is absent, deleted or
   * expired. One positional read of the whole record into an off-heap buffer; the CRC is checked.
   *
   * @throws StoreException {@link StoreErrorCode#CORRUPT_RECORD} when the record fails its CRC
   *     (counted), {@link StoreErrorCode#IO_ERROR} when the read fails
   */
  public StoredValue get(String bucket, byte[] key) throws StoreException {
    byte[] k = RecordFormat.engineKey(bucket, key);
    KeyDir.Key dk = new KeyDir.Key(k);
    if (closed) {
      throw new StoreException(StoreErrorCode.UNAVAILABLE, name + " is closed");
    }
    for (int attempt = 0; ; attempt++) {
      KeyDir.Entry e = keydir.get(dk);
      if (e == null || e.tombstone() || expired(e, bucket)) {
        return null;
      }
      DataFile f = files.get(e.fileId());
      if (f == null) {
        if (attempt < 3) {
          continue; // merged or expired away between the two lookups
        }
        return null;
      }
      ByteBuf buf = alloc.directBuffer(e.size(), e.size());
      try {
        f.read(buf, e.offset(), e.size());
      } catch (ClosedChannelException closedByMerge) {
        buf.release();
        if (attempt < 3) {
          continue;
        }
        throw new StoreException(StoreErrorCode.UNAVAILABLE, name + ": " + f + " closed");
      } catch (IOException io) {
        buf.release();
        throw new StoreException(StoreErrorCode.IO_ERROR, name + ": reading " + f + ": " + io.getMessage(), io);
      }
      if (!verify(buf, k)) {
        buf.release();
        stats.corruptRecords.increment();
        throw new StoreException(StoreErrorCode.CORRUPT_RECORD,
            name + ": record at " + f + ":" + e.offset() + " failed its checksum");
      }
      int valueOffset = RecordFormat.HEADER + k.length;
      ByteBuf value = buf.retainedSlice(valueOffset, e.size() - valueOffset);
      buf.release();
      return new StoredValue(value, e.timestamp());
    }
  }

  private static boolean verify(ByteBuf record, byte[] key) {
    CRC32C crc = new CRC32C();
    ByteBuffer nio = record.nioBuffer(4, record.readableBytes() - 4);
    crc.update(nio);
    if ((int) crc.getValue() != record.getInt(0)) {
      return false;
    }
    if ((record.getShort(13) & 0xFFFF) != key.length) {
      return false;
    }
    for (int i = 0; i < key.length; i++) {
      if (record.getByte(RecordFormat.HEADER + i) != key[i]) {
        return false;
      }
    }
    return true;
  }

  private boolean expired(KeyDir.Entry e, String bucket) {
    long ttl = ttlMillis.applyAsLong(bucket);
    return ttl > 0 && e.timestamp() + ttl <= clock.millis();
  }

  /**
   * The write time of {@code key}'s newest record, live or tombstone, from the keydir alone (no
   * I/O); -1 when the engine has no record of it. Expired records count as absent.
   */
  public long timestampOf(String bucket, byte[] key) {
    KeyDir.Entry e = keydir.get(new KeyDir.Key(RecordFormat.engineKey(bucket, key)));
    return e == null || expired(e, bucket) ? -1 : e.timestamp();
  }

  /** Whether {@code key} has a live value (no read of the data file). */
  public boolean contains(String bucket, byte[] key) {
    KeyDir.Entry e = keydir.get(new KeyDir.Key(RecordFormat.engineKey(bucket, key)));
    return e != null && !e.tombstone() && !expired(e, bucket);
  }

  // ----------------------------------------------------------------------------------- writes

  /**
   * Appends {@code value} (its readable bytes; the caller keeps ownership) as the new value of
   * {@code key}. Returns the durability position to pass to {@link #durable}.
   */
  public long put(String bucket, byte[] key, ByteBuf value) throws StoreException {
    byte[] k = RecordFormat.engineKey(bucket, key);
    synchronized (writeLock) {
      return append(bucket, k, value, false, -1);
    }
  }

  /**
   * Writes {@code value} with the given original write time, but only if this engine has no
   * record of {@code key} at least as new: read repair and (later) hand-off copy a version between
   * replicas without making it look newer than it is. {@code replaceEqual} also replaces a record
   * of the same time (a copy that failed its CRC). Returns the durability position, or -1 when
   * nothing was written.
   */
  public long putIfNewer(String bucket, byte[] key, ByteBuf value, long timestamp, boolean replaceEqual)
      throws StoreException {
    byte[] k = RecordFormat.engineKey(bucket, key);
    synchronized (writeLock) {
      KeyDir.Entry e = keydir.get(new KeyDir.Key(k));
      if (e != null && (e.timestamp() > timestamp || (e.timestamp() == timestamp && !replaceEqual))) {
        return -1;
      }
      return append(bucket, k, value, false, timestamp);
    }
  }

  /**
   * Replaces the value of {@code key} with {@code update.apply(current)} while holding the write
   * lock, so concurrent updates of one key never lose each other (the set-union merge of the
   * {@code epochs} bucket). {@code current} is null when the key is absent; the function must not
   * keep or release it, and returns a buffer that this method releases after appending it, or
   * null to write nothing (then -1 is returned).
   */
  public long update(String bucket, byte[] key, Function<StoredValue, ByteBuf> update) throws StoreException {
    byte[] k = RecordFormat.engineKey(bucket, key);
    synchronized (writeLock) {
      StoredValue current = get(bucket, key);
      ByteBuf next;
      try {
        next = update.apply(current);
      } finally {
        if (current != null) {
          current.release();
        }
      }
      if (next == null) {
        return -1;
      }
      try {
        return append(bucket, k, next, false, -1);
      } finally {
        next.release();
      }
    }
  }

  /**
   * Deletes {@code key} by appending a tombstone. Returns the durability position, or -1 when the
   * key had no live value (nothing is written).
   */
  public long delete(String bucket, byte[] key) throws StoreException {
    byte[] k = RecordFormat.engineKey(bucket, key);
    synchronized (writeLock) {
      KeyDir.Entry e = keydir.get(new KeyDir.Key(k));
      if (e == null || e.tombstone() || expired(e, bucket)) {
        return -1;
      }
      return append(bucket, k, io.netty.buffer.Unpooled.EMPTY_BUFFER, true, -1);
    }
  }

  /** Appends a record; {@code timestamp} -1 means now (never earlier than the last record). */
  private long append(String bucket, byte[] k, ByteBuf value, boolean tombstone, long timestamp)
      throws StoreException {
    if (closed) {
      throw new StoreException(StoreErrorCode.UNAVAILABLE, name + " is closed");
    }
    if (failure != null) {
      throw new StoreException(StoreErrorCode.UNAVAILABLE, name + " failed: " + failure.getMessage(), failure);
    }
    int valueLength = value.readableBytes();
    long size = (long) RecordFormat.HEADER + k.length + valueLength;
    if (size > config.maxFileBytes()) {
      throw new StoreException(StoreErrorCode.VALUE_TOO_LARGE,
          "record of " + size + " bytes does not fit a data file of " + config.maxFileBytes());
    }
    try {
      if (active.size() > 0 && active.size() + size > config.maxFileBytes()) {
        roll();
      }
      long ts;
      if (timestamp < 0) {
        ts = Math.max(clock.millis(), lastTimestamp);
        lastTimestamp = ts;
      } else {
        ts = timestamp;
        lastTimestamp = Math.max(lastTimestamp, ts); // later local writes must not look older than a copy
      }
      RecordFormat.header(header, ts, tombstone, k.length, valueLength);
      ByteBuffer[] valueBuffers = valueLength == 0 ? new ByteBuffer[0] : value.nioBuffers(value.readerIndex(),
          valueLength);
      header.putInt(0, RecordFormat.crc(header, k, valueBuffers));
      ByteBuffer[] all = new ByteBuffer[2 + valueBuffers.length];
      all[0] = header.duplicate().clear();
      all[1] = ByteBuffer.wrap(k);
      System.arraycopy(valueBuffers, 0, all, 2, valueBuffers.length);
      long offset = active.size();
      active.append(all, size);
      activeHint.add(k, offset, (int) size, ts, tombstone);
      active.noteRecord(bucket, ts);
      KeyDir.Entry old = keydir.put(new KeyDir.Key(k), new KeyDir.Entry(active.id, offset, (int) size, ts,
          tombstone));
      if (old != null) {
        DataFile of = files.get(old.fileId());
        if (of != null) {
          of.addDead(old.size());
        }
      }
      appended += size;
      if (config.sync() == EngineConfig.SyncMode.ALWAYS) {
        active.channel.force(false);
        stats.syncs.increment();
        markDurable(appended);
      }
      return appended;
    } catch (IOException e) {
      fail(e);
      throw new StoreException(StoreErrorCode.IO_ERROR, name + ": write failed: " + e.getMessage(), e);
    }
  }

  /**
   * Closes the active file and starts the next. Under the write lock. With sync ALWAYS the closed
   * file is already fsynced: its hint is written and the directory synced at once. Otherwise the
   * closed file waits in {@link #rolled} for the next {@link #sync}, which is requested now: no
   * record in it or in the new file is reported durable before that sync has fsynced it, written
   * its hint and synced the directory (the new file's entry).
   */
  private void roll() throws IOException {
    long next = ((active.id / ID_GAP) + 1) * ID_GAP;
    if (config.sync() == EngineConfig.SyncMode.ALWAYS) {
      active.channel.force(false);
      stats.syncs.increment();
      activeHint.finish(active.size());
      markDurable(appended);
      startActive(next);
      syncDirectory();
      return;
    }
    rolled.add(new Rolled(active, activeHint, active.size()));
    startActive(next);
    onSyncNeeded.run();
  }

  /** Takes the rolled files waiting for their fsync (caller holds writeLock). */
  private List<Rolled> takeRolled() {
    if (rolled.isEmpty()) {
      return List.of();
    }
    List<Rolled> taken = new ArrayList<>(rolled);
    rolled.clear();
    return taken;
  }

  /** Fsyncs rolled files, writes their hints, then syncs the directory. Caller holds {@link #rollSync}. */
  private void finishRolled(List<Rolled> files) throws IOException {
    if (files.isEmpty()) {
      return;
    }
    for (Rolled r : files) {
      r.file().channel.force(false);
      stats.syncs.increment();
      r.hint().finish(r.size());
    }
    syncDirectory();
  }

  /** Finishes every file rolled so far; merge and expiry call it before they choose closed files. */
  private void syncRolled() throws IOException {
    rollSync.lock();
    try {
      List<Rolled> taken;
      synchronized (writeLock) {
        taken = takeRolled();
      }
      try {
        finishRolled(taken);
      } catch (IOException e) {
        fail(e);
        throw e;
      }
    } finally {
      rollSync.unlock();
    }
  }

  // ------------------------------------------------------------------------------- durability

  /**
   * Completes when every record up to {@code position} (from {@link #put}) is fsynced; at once if
   * it already is. Fails when an fsync fails (the engine then refuses further writes).
   */
  public CompletableFuture<Void> durable(long position) {
    if (position <= durable) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    synchronized (syncLock) {
      if (failure != null) {
        return CompletableFuture.failedFuture(failure);
      }
      if (position <= durable) {
        return CompletableFuture.completedFuture(null);
      }
      waiters.add(new Waiter(position, f));
    }
    onSyncNeeded.run();
    return f;
  }

  /** Whether some appended bytes are not yet fsynced. */
  public boolean dirty() {
    return appended > durable && failure == null;
  }

  /** Whether a caller waits in {@link #durable}. */
  public boolean hasWaiters() {
    synchronized (syncLock) {
      return !waiters.isEmpty();
    }
  }

  /**
   * Fsyncs what has been appended (files rolled since the last sync first, with their hints and
   * the directory) and completes the waiters it covers.
   */
  public void sync() {
    rollSync.lock();
    try {
      long target;
      DataFile f;
      List<Rolled> taken;
      synchronized (writeLock) {
        target = appended;
        f = active;
        taken = failure == null ? takeRolled() : List.of();
      }
      if (failure != null) {
        return;
      }
      try {
        finishRolled(taken);
        if (target > durable) {
          f.channel.force(false);
          stats.syncs.increment();
          markDurable(target);
        }
      } catch (ClosedChannelException e) {
        // closed by close(), which syncs and completes waiters itself
      } catch (IOException e) {
        fail(e);
      }
    } finally {
      rollSync.unlock();
    }
  }

  private void markDurable(long position) {
    List<CompletableFuture<Void>> done = new ArrayList<>();
    synchronized (syncLock) {
      if (position > durable) {
        durable = position;
      }
      while (!waiters.isEmpty() && waiters.peek().position() <= durable) {
        done.add(waiters.poll().future());
      }
    }
    done.forEach(w -> w.complete(null));
  }

  private void fail(IOException e) {
    List<CompletableFuture<Void>> failed = new ArrayList<>();
    synchronized (syncLock) {
      if (failure == null) {
        failure = e;
        log.error("{}: I/O failure; the engine refuses further writes until it is reopened", name, e);
      }
      while (!waiters.isEmpty()) {
        failed.add(waiters.poll().future());
      }
    }
    failed.forEach(w -> w.completeExceptionally(e));
  }

  /** The I/O failure that stopped this engine, or null. */
  public IOException failure() {
    return failure;
  }

  // ------------------------------------------------------------------------------ maintenance

  /** Whether some closed file passes a merge trigger. */
  public boolean needsMerge() {
    long activeId = activeId();
    for (DataFile f : files.values()) {
      if (f.id != activeId && (f.fragmentation() >= config.mergeFragmentationTrigger()
          || (config.mergeDeadBytesTrigger() > 0 && f.deadBytes() >= config.mergeDeadBytesTrigger()))) {
        return true;
      }
    }
    return false;
  }

  private long activeId() {
    synchronized (writeLock) {
      return active.id;
    }
  }

  /**
   * Merges the closed files that pass a merge threshold (all closed files when {@code all}):
   * copies their live records into new files, points the keydir at the copies, then deletes the
   * inputs. Reads and writes go on meanwhile; the write lock is held only to swap batches of
   * entries. Expired records and, when every closed file is merged, tombstones are dropped.
   */
  public MergeResult merge(boolean all) throws IOException {
    maintenance.lock();
    try {
      long activeId = activeId();
      // Every file below activeId was rolled before it was read: finished here, none is merged half synced.
      syncRolled();
      List<DataFile> closedFiles = new ArrayList<>(files.headMap(activeId, false).values());
      List<DataFile> inputs = new ArrayList<>();
      for (DataFile f : closedFiles) {
        if (all || f.fragmentation() >= config.mergeFragmentationThreshold()
            || (config.mergeDeadBytesThreshold() > 0 && f.deadBytes() >= config.mergeDeadBytesThreshold())) {
          inputs.add(f);
        }
      }
      if (inputs.isEmpty()) {
        return MergeResult.NONE;
      }
      boolean dropTombstones = inputs.size() == closedFiles.size();
      // Never reuse the id of a file deleted meanwhile: a reader holding an old entry would read the
      // new file at the old offset and report a false corruption.
      long firstId = Math.max(closedFiles.get(closedFiles.size() - 1).id, highestMergeId) + 1;
      Merger m = new Merger(firstId, activeId, dropTombstones);
      try {
        for (DataFile in : inputs) {
          m.copyLive(in);
        }
      } catch (MergeAborted stopped) {
        // Copies made so far are complete records that the keydir may already point at: finish them.
        // The inputs stay; the next merge (or open) sorts out the duplicates, newest file first.
        m.finish();
        log.info("{}: merge stopped by close after copying {} bytes", name, m.copied);
        return new MergeResult(0, m.outputs.size(), m.copied, 0);
      }
      m.finish();
      if (m.skippedCorrupt) {
        Set<Long> gone = new HashSet<>();
        inputs.forEach(f -> gone.add(f.id));
        for (Map.Entry<KeyDir.Key, KeyDir.Entry> e : keydir.entries()) {
          if (gone.contains(e.getValue().fileId())) {
            keydir.remove(e.getKey(), e.getValue());
          }
        }
      }
      long reclaimed = 0;
      for (DataFile in : inputs) {
        reclaimed += in.size();
        removeFile(in);
      }
      syncDirectory();
      stats.merges.increment();
      stats.mergeCopiedBytes.add(m.copied);
      stats.mergeReclaimedBytes.add(reclaimed);
      log.info("{}: merged {} file(s) of {} bytes into {} file(s) of {} bytes", name, inputs.size(), reclaimed,
          m.outputs.size(), m.copied);
      return new MergeResult(inputs.size(), m.outputs.size(), m.copied, reclaimed);
    } finally {
      maintenance.unlock();
    }
  }

  /** Copies live records of merge inputs into output files. One per merge; merge thread only. */
  private final class Merger {
    private final long limitId;
    private final boolean dropTombstones;
    private long nextId;
    private DataFile out;
    private HintFile.Writer outHint;
    final List<DataFile> outputs = new ArrayList<>();
    private final List<Object[]> pending = new ArrayList<>();
    long copied;
    private long throttleStart = System.nanoTime();
    private long throttleBytes;

    Merger(long firstId, long limitId, boolean dropTombstones) {
      this.nextId = firstId;
      this.limitId = limitId;
      this.dropTombstones = dropTombstones;
    }

    boolean skippedCorrupt;

    void copyLive(DataFile in) throws IOException {
      RecordScanner.Result r = new RecordScanner(in.channel, in.size(), Long.MAX_VALUE).scan(
          (offset, size, ts, tomb, key, record) -> {
        if (closing) {
          throw new MergeAborted();
        }
        throttle(size);
        KeyDir.Key k = new KeyDir.Key(key);
        KeyDir.Entry cur = keydir.get(k);
        if (cur == null || cur.fileId() != in.id || cur.offset() != offset) {
          return; // superseded: dead
        }
        String bucket = RecordFormat.bucketOf(key);
        if (expired(cur, bucket) || (tomb && dropTombstones)) {
          keydir.remove(k, cur);
          return;
        }
        if (out == null || out.size() + size > config.maxFileBytes()) {
          nextOutput();
        }
        long at = out.size();
        out.append(new ByteBuffer[] {record}, size);
        outHint.add(key, at, size, ts, tomb);
        out.noteRecord(bucket, ts);
        copied += size;
        pending.add(new Object[] {k, cur, new KeyDir.Entry(out.id, at, size, ts, tomb), out});
        if (pending.size() >= MERGE_BATCH) {
          swap();
        }
      });
      if (r.corruptRecords() > 0 || r.validEnd() < in.size()) {
        stats.corruptRecords.add(r.corruptRecords());
        log.error("{}/{}: merge skipped {} corrupt record(s); their keys read as missing here until repaired", name,
            in, r.corruptRecords());
        skippedCorrupt = true;
      }
    }

    private void nextOutput() throws IOException {
      closeOutput();
      if (nextId >= limitId) {
        throw new IOException("no merge file id left below the active file " + limitId);
      }
      highestMergeId = Math.max(highestMergeId, nextId);
      out = DataFile.create(dir, nextId++);
      outHint = new HintFile.Writer(dir, out.id);
      files.put(out.id, out);
      outputs.add(out);
    }

    private void closeOutput() throws IOException {
      if (out != null) {
        swap();
        out.channel.force(false);
        outHint.finish(out.size());
        outHint = null;
      }
    }

    /** Points the keydir at the copies whose originals are still current. */
    private void swap() {
      synchronized (writeLock) {
        for (Object[] p : pending) {
          KeyDir.Entry update = (KeyDir.Entry) p[2];
          if (!keydir.replace((KeyDir.Key) p[0], (KeyDir.Entry) p[1], update)) {
            ((DataFile) p[3]).addDead(update.size()); // overwritten meanwhile: the copy is dead
          }
        }
      }
      pending.clear();
    }

    void finish() throws IOException {
      closeOutput();
      syncDirectory();
    }

    private void throttle(int bytes) {
      long rate = config.mergeBytesPerSecond();
      if (rate <= 0) {
        return;
      }
      throttleBytes += bytes;
      long due = throttleStart + throttleBytes * 1_000_000_000L / rate;
      long wait = due - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      if (throttleBytes > rate) { // restart the window every second's worth, so pauses are not repaid
        throttleStart = System.nanoTime();
        throttleBytes = 0;
      }
    }
  }

  /**
   * Deletes, whole and without copying, every closed data file whose records have all expired.
   * Returns how many files were deleted.
   */
  public int expire() throws IOException {
    maintenance.lock();
    try {
      long now = clock.millis();
      synchronized (writeLock) {
        if (!closed && active.size() > 0 && active.expired(now, ttlMillis)) {
          roll(); // a quiet partition's active file would otherwise keep expired data indefinitely
        }
      }
      long activeId = activeId();
      syncRolled();
      List<DataFile> expired = new ArrayList<>();
      for (DataFile f : files.headMap(activeId, false).values()) {
        if (f.expired(now, ttlMillis)) {
          expired.add(f);
        }
      }
      if (expired.isEmpty()) {
        return 0;
      }
      Set<Long> ids = new HashSet<>();
      expired.forEach(f -> ids.add(f.id));
      for (Map.Entry<KeyDir.Key, KeyDir.Entry> e : keydir.entries()) {
        if (ids.contains(e.getValue().fileId())) {
          keydir.remove(e.getKey(), e.getValue());
        }
      }
      for (DataFile f : expired) {
        stats.expiredBytes.add(f.size());
        removeFile(f);
      }
      syncDirectory();
      stats.expiredFiles.add(expired.size());
      log.info("{}: deleted {} expired data file(s)", name, expired.size());
      return expired.size();
    } finally {
      maintenance.unlock();
    }
  }

  private void removeFile(DataFile f) throws IOException {
    files.remove(f.id);
    f.close();
    Files.deleteIfExists(dir.resolve(DataFile.hintName(f.id)));
    Files.deleteIfExists(f.path);
  }

  private void syncDirectory() throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }

  // ----------------------------------------------------------------------------------- status

  public EngineStats stats() {
    return stats;
  }

  /** Keys in the keydir, tombstones included. */
  public int keyCount() {
    return keydir.size();
  }

  /** Bytes of all data files. */
  public long dataBytes() {
    long sum = 0;
    for (DataFile f : files.values()) {
      sum += f.size();
    }
    return sum;
  }

  /** Bytes of superseded records in all data files. */
  public long deadBytes() {
    long sum = 0;
    for (DataFile f : files.values()) {
      sum += f.deadBytes();
    }
    return sum;
  }

  public int fileCount() {
    return files.size();
  }

  /** The ids of the data files, oldest first (for tests and tools). */
  List<Long> fileIds() {
    return new ArrayList<>(files.keySet());
  }

  /** Rolls the active file now if it holds anything (for tests and tools). */
  void rollNow() throws IOException {
    synchronized (writeLock) {
      if (active.size() > 0) {
        roll();
      }
    }
  }

  /**
   * Fsyncs and closes: the active file's hint is completed, so the next open reads hints only.
   * Waiters for durability are completed. Idempotent.
   */
  @Override
  public void close() {
    closing = true;
    maintenance.lock();
    rollSync.lock();
    try {
      synchronized (writeLock) {
        if (closed) {
          return;
        }
        closed = true;
        List<Rolled> taken = takeRolled();
        try {
          if (failure == null) {
            finishRolled(taken);
          }
        } catch (IOException e) {
          fail(e);
        } finally {
          for (Rolled r : taken) {
            try {
              r.hint().close(); // abandons a hint that was not finished
            } catch (IOException e) {
              log.warn("{}: removing an unfinished hint failed", name, e);
            }
          }
        }
        try {
          if (failure == null && active.size() == 0) {
            activeHint.close();
            files.remove(active.id);
            active.close();
            Files.deleteIfExists(active.path);
          } else if (failure == null) {
            active.channel.force(false);
            markDurable(appended);
            activeHint.finish(active.size());
          }
        } catch (IOException e) {
          fail(e);
        } finally {
          try {
            activeHint.close();
          } catch (IOException e) {
            log.warn("{}: removing an unfinished hint failed", name, e);
          }
        }
        files.values().forEach(DataFile::close);
      }
    } finally {
      rollSync.unlock();
      maintenance.unlock();
    }
  }

  @Override
  public String toString() {
    return "Bitcask[" + name + "]";
  }
}
