package io.epochal.store.node;

import io.epochal.common.lifecycle.AbstractLifecycleComponent;
import io.epochal.store.StoreErrorCode;
import io.epochal.store.StoreException;
import io.epochal.store.engine.Bitcask;
import io.epochal.store.engine.EngineConfig;
import io.epochal.store.engine.EngineStats;
import io.epochal.store.engine.StoredValue;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A storage node: one {@link Bitcask} engine per ring partition, all owned by this node, and the
 * coordinator that runs Riak's request semantics over them — preference lists of n_val
 * partitions, r/w/dw/pr/pw quorums, notfound_ok and basic_quorum, read repair, and the
 * set-union merge of buckets that ask for it.
 *
 * <pre>{@code
 * StoreNode node = new StoreNode(NodeConfig.defaults(dir), "store@127.0.0.1", Clock.systemUTC(), metrics);
 * node.start();
 * node.put("events", key, write, WriteOptions.DEFAULT).join();
 * RiakObject.Stored o = node.get("events", key, ReadOptions.DEFAULT).join();   // null: not found
 * o.release();
 * node.stop();
 * }</pre>
 *
 * <p>Every operation runs on the node's worker threads and returns a future; the caller's thread
 * (a Netty event loop) never blocks. Futures fail with {@link StoreException} (inside a {@link
 * java.util.concurrent.CompletionException}). Thread-safe.
 */
public final class StoreNode extends AbstractLifecycleComponent {
  private static final Logger log = LoggerFactory.getLogger(StoreNode.class);
  static final String RING_FILE = "ring";
  static final String LOCK_FILE = "store.lock";

  /** Read parameters; null fields take the bucket's setting. */
  public record ReadOptions(Quorum r, Quorum pr, Boolean notfoundOk, Boolean basicQuorum, Duration timeout) {
    public static final ReadOptions DEFAULT = new ReadOptions(Quorum.DEFAULT, Quorum.DEFAULT, null, null, null);
  }

  /** Write and delete parameters. */
  public record WriteOptions(Quorum w, Quorum dw, Quorum pw, boolean returnBody, Duration timeout) {
    public static final WriteOptions DEFAULT = new WriteOptions(Quorum.DEFAULT, Quorum.DEFAULT, Quorum.DEFAULT,
        false, null);
  }

  /**
   * What a client writes: metadata (content type, encoding, links, user metadata), the vclock it
   * sent (or null), and the data, which the caller keeps owning.
   */
  public record ObjectWrite(List<RiakObject.Meta> meta, String vclock, ByteBuf data) {}

  private final NodeConfig config;
  private final String nodeName;
  private final Clock clock;
  private final StoreMetrics metrics;
  private final Ring ring;
  private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
  private BucketRegistry buckets;
  private java.nio.channels.FileChannel lockChannel;
  private java.nio.channels.FileLock lock;
  private Bitcask[] engines;
  private ThreadPoolExecutor workers;
  private ThreadPoolExecutor syncPool;
  private ScheduledExecutorService scheduler;
  private final Set<Bitcask> syncQueued = ConcurrentHashMap.newKeySet();
  private final java.util.concurrent.ScheduledThreadPoolExecutor timeouts = timeoutScheduler();

  private static java.util.concurrent.ScheduledThreadPoolExecutor timeoutScheduler() {
    var s = new java.util.concurrent.ScheduledThreadPoolExecutor(1, daemon("store-timeouts"));
    s.setRemoveOnCancelPolicy(true); // a request that completes drops its timer at once
    return s;
  }

  public StoreNode(NodeConfig config, String nodeName, Clock clock, StoreMetrics metrics) {
    super("store-node");
    this.config = config;
    this.nodeName = nodeName;
    this.clock = clock;
    this.metrics = metrics;
    this.ring = new Ring(config.partitions());
  }

  @Override
  protected void doStart() throws Exception {
    Path dir = config.dataDir();
    Files.createDirectories(dir);
    lockChannel = java.nio.channels.FileChannel.open(dir.resolve(LOCK_FILE), java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.WRITE);
    lock = lockChannel.tryLock();
    if (lock == null) {
      throw new IOException(dir + " is in use by another store process (" + LOCK_FILE + " is locked)");
    }
    checkRing(dir);
    buckets = new BucketRegistry(dir, config.defaultNVal(), Math.min(BucketProps.MAX_N_VAL, config.partitions()));
    syncPool = new ThreadPoolExecutor(config.syncThreads(), config.syncThreads(), 0, TimeUnit.SECONDS,
        new java.util.concurrent.LinkedBlockingQueue<>(), daemon("store-sync"));
    engines = new Bitcask[config.partitions()];
    long t0 = System.nanoTime();
    for (int p = 0; p < engines.length; p++) {
      engines[p] = openEngine(dir, p);
    }
    log.info("opened {} partitions in {} ms: {} keys, {} bytes", engines.length,
        (System.nanoTime() - t0) / 1_000_000, keyCount(), dataBytes());
    workers = new ThreadPoolExecutor(config.workerThreads(), config.workerThreads(), 0, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(config.maxQueued()), daemon("store-worker"));
    scheduler = Executors.newSingleThreadScheduledExecutor(daemon("store-maintenance"));
    long every = config.maintenanceInterval().toMillis();
    scheduler.scheduleWithFixedDelay(this::maintain, every, every, TimeUnit.MILLISECONDS);
    if (config.engine().sync() == EngineConfig.SyncMode.INTERVAL) {
      long s = config.engine().syncInterval().toMillis();
      scheduler.scheduleWithFixedDelay(this::syncDirty, s, s, TimeUnit.MILLISECONDS);
    }
    registerGauges();
  }

  private Bitcask openEngine(Path dir, int partition) throws IOException {
    Bitcask[] self = new Bitcask[1];
    Bitcask b = Bitcask.open(dir.resolve("partitions").resolve(Integer.toString(partition)), config.engine(), clock,
        bucket -> buckets.get(bucket).ttlMillis(), () -> requestSync(self[0]));
    self[0] = b;
    return b;
  }

  private void checkRing(Path dir) throws IOException {
    Path f = dir.resolve(RING_FILE);
    if (Files.exists(f)) {
      String text = Files.readString(f, StandardCharsets.US_ASCII).trim();
      if (!text.equals(Integer.toString(config.partitions()))) {
        throw new IOException(dir + " holds a ring of " + text + " partitions; ring-partitions is "
            + config.partitions() + " (the ring size cannot change once data exists)");
      }
    } else {
      try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(f,
          java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap((config.partitions() + "\n").getBytes(StandardCharsets.US_ASCII)));
        ch.force(true);
      }
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  private void requestSync(Bitcask engine) {
    if (engine != null && syncQueued.add(engine)) {
      try {
        syncPool.execute(() -> {
          syncQueued.remove(engine);
          engine.sync();
        });
      } catch (RejectedExecutionException stopping) {
        syncQueued.remove(engine); // close() syncs every engine itself
      }
    }
  }

  private void syncDirty() {
    for (Bitcask e : engines) {
      if (e.dirty()) {
        requestSync(e);
      }
    }
  }

  /** Expires and merges every partition that needs it; on the maintenance thread. */
  public void maintain() {
    for (Bitcask e : engines) {
      try {
        e.expire();
        if (e.needsMerge()) {
          e.merge(false);
        }
      } catch (IOException | RuntimeException ex) {
        log.error("{}: maintenance failed; retried at the next interval", e, ex);
      }
    }
  }

  @Override
  protected void doStop() {
    if (workers != null) {
      workers.shutdown(); // never shutdownNow: interrupting file I/O closes channels
      await(workers);
    }
    if (scheduler != null) {
      scheduler.shutdown();
      await(scheduler);
    }
    if (engines != null) {
      for (Bitcask e : engines) {
        if (e != null) {
          e.close();
        }
      }
    }
    if (syncPool != null) {
      syncPool.shutdown();
      await(syncPool);
    }
    timeouts.shutdown();
    try {
      if (lock != null) {
        lock.release();
      }
      if (lockChannel != null) {
        lockChannel.close();
      }
    } catch (IOException e) {
      log.warn("releasing {} failed", LOCK_FILE, e);
    }
  }

  private static void await(java.util.concurrent.ExecutorService s) {
    try {
      if (!s.awaitTermination(30, TimeUnit.SECONDS)) {
        log.warn("{} did not finish within 30 s", s);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---------------------------------------------------------------------------------- requests

  /** The bucket registry (properties). */
  public BucketRegistry buckets() {
    return buckets;
  }

  public Ring ring() {
    return ring;
  }

  public String nodeName() {
    return nodeName;
  }

  /**
   * Runs {@code op} on a worker; the future answers TIMEOUT after {@code timeout} (the op goes on:
   * file I/O is never interrupted) and OVERLOADED at once when the queue is full. A result that
   * arrives after the timeout is handed to {@code onLate} (to release it); {@code onRejected} runs
   * when the op will never run.
   */
  private <T> CompletableFuture<T> submit(Duration timeout, Supplier<CompletableFuture<T>> op,
      java.util.function.Consumer<T> onLate, Runnable onRejected) {
    CompletableFuture<T> f = new CompletableFuture<>();
    try {
      workers.execute(() -> {
        CompletableFuture<T> inner;
        try {
          inner = op.get();
        } catch (Throwable t) {
          f.completeExceptionally(unwrap(t));
          return;
        }
        inner.whenComplete((v, e) -> {
          if (e != null) {
            f.completeExceptionally(unwrap(e));
          } else if (!f.complete(v) && v != null && onLate != null) {
            onLate.accept(v);
          }
        });
      });
    } catch (RejectedExecutionException e) {
      if (onRejected != null) {
        onRejected.run();
      }
      f.completeExceptionally(new StoreException(StoreErrorCode.OVERLOADED,
          "overloaded: " + config.maxQueued() + " requests are queued\n"));
      return f;
    }
    Duration t = timeout == null ? config.defaultTimeout() : timeout;
    java.util.concurrent.ScheduledFuture<?> timer = timeouts.schedule(() -> f.completeExceptionally(
        new StoreException(StoreErrorCode.TIMEOUT, "request timed out\n")), t.toMillis(), TimeUnit.MILLISECONDS);
    f.whenComplete((v, e) -> timer.cancel(false));
    return f;
  }

  private static Throwable unwrap(Throwable t) {
    if (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
      return t.getCause();
    }
    if (t instanceof Sneaky s) {
      return s.getCause();
    }
    return t;
  }

  /** Carries a checked StoreException out of a Supplier. */
  private static final class Sneaky extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Sneaky(StoreException e) {
      super(e);
    }
  }

  /**
   * Reads {@code key}: completes with the newest value among the replicas read (the caller
   * releases it), or null when not found.
   */
  public CompletableFuture<RiakObject.Stored> get(String bucket, byte[] key, ReadOptions o) {
    long start = System.nanoTime();
    metrics.getsLastMinute.increment(clock.millis());
    return submit(o.timeout(), () -> {
      try {
        return CompletableFuture.completedFuture(doGet(bucket, key, o));
      } catch (StoreException e) {
        throw new Sneaky(e);
      }
    }, RiakObject.Stored::release, null).whenComplete((v, e) -> {
      metrics.gets.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      if (e == null && v == null) {
        metrics.notFound.increment();
      }
    });
  }

  private RiakObject.Stored doGet(String bucket, byte[] key, ReadOptions o) throws StoreException {
    BucketProps props = buckets.get(bucket);
    int n = props.nVal();
    int r = Math.max(1, o.r().resolve(n, props.r()));
    int pr = o.pr().resolve(n, props.pr());
    if (r > n || pr > n) {
      throw nValViolation(n);
    }
    boolean notfoundOk = o.notfoundOk() != null ? o.notfoundOk() : props.notfoundOk();
    boolean basicQuorum = o.basicQuorum() != null ? o.basicQuorum() : props.basicQuorum();
    boolean union = props.merge() == BucketProps.Merge.SET_UNION;
    int[] prefs = ring.preferenceList(bucket, key, n);
    int ok = 0;
    int notFound = 0;
    int errors = 0;
    int answered = 0;
    StoredValue best = null;
    int bestAt = -1;
    long newestTombstone = -1;
    List<Set<String>> memberSets = new ArrayList<>();
    boolean[] stale = new boolean[prefs.length];
    boolean[] corrupt = new boolean[prefs.length];
    int read = 0;
    for (int i = 0; i < prefs.length; i++) {
      read = i + 1;
      memberSets.add(null);
      Bitcask e = engines[prefs[i]];
      try {
        StoredValue v = e.get(bucket, key);
        answered++;
        if (v == null) {
          notFound++;
          stale[i] = true;
          newestTombstone = Math.max(newestTombstone, e.timestampOf(bucket, key));
          if (notfoundOk) {
            ok++;
          }
        } else {
          if (union) {
            try {
              memberSets.set(i, membersOf(v));
            } catch (StoreException unreadable) {
              v.release(); // counted below as this replica's error
              answered--;
              throw unreadable;
            }
          }
          ok++;
          if (best == null || v.timestamp() > best.timestamp()) {
            if (best != null) {
              best.release();
              stale[bestAt] = true;
            }
            best = v;
            bestAt = i;
          } else {
            if (v.timestamp() < best.timestamp()) {
              stale[i] = true;
            }
            v.release();
          }
        }
      } catch (StoreException ex) {
        errors++;
        corrupt[i] = ex.code() == StoreErrorCode.CORRUPT_RECORD;
        log.warn("{} partition {}: {}", bucket, prefs[i], ex.getMessage());
      }
      if (!union && ok >= r && answered >= pr) {
        break;
      }
      if (!notfoundOk && basicQuorum && notFound >= n / 2 + 1) {
        break;
      }
    }
    if (answered < pr) {
      releaseQuietly(best);
      metrics.quorumFailed("get", "pr");
      throw new StoreException(StoreErrorCode.QUORUM_UNMET, "PR-value unsatisfied: " + answered + "/" + pr + "\n");
    }
    if (ok < r) {
      boolean allNotFound = best == null && errors == 0;
      releaseQuietly(best);
      if (allNotFound) {
        return null; // every replica said not found
      }
      metrics.quorumFailed("get", "r");
      throw new StoreException(StoreErrorCode.QUORUM_UNMET, "R-value unsatisfied: " + ok + "/" + r + "\n");
    }
    if (best == null || newestTombstone > best.timestamp()) {
      releaseQuietly(best);
      return null;
    }
    if (union) {
      Set<String> members = new TreeSet<>();
      memberSets.forEach(m -> {
        if (m != null) {
          members.addAll(m);
        }
      });
      for (int i = 0; i < read; i++) {
        stale[i] = memberSets.get(i) == null || !memberSets.get(i).equals(members);
      }
      StoredValue merged = withMembers(best, members);
      repairUnion(bucket, key, prefs, read, stale, corrupt, merged);
      return RiakObject.decode(merged.bytes(), merged.timestamp());
    }
    repair(bucket, key, prefs, read, stale, corrupt, best);
    return RiakObject.decode(best.bytes(), best.timestamp());
  }

  /** Rewrites the winning version on replicas that lack it; keydir checks only for unread ones. */
  private void repair(String bucket, byte[] key, int[] prefs, int read, boolean[] stale, boolean[] corrupt,
      StoredValue best) {
    for (int i = 0; i < prefs.length; i++) {
      Bitcask e = engines[prefs[i]];
      boolean needs = i < read ? (stale[i] || corrupt[i]) : e.timestampOf(bucket, key) < best.timestamp();
      if (!needs) {
        continue;
      }
      try {
        if (e.putIfNewer(bucket, key, best.bytes().duplicate(), best.timestamp(), corrupt[i]) >= 0) {
          metrics.readRepairs.increment();
        }
      } catch (StoreException ex) {
        log.warn("read repair of {} on partition {} failed: {}", bucket, prefs[i], ex.getMessage());
      }
    }
  }

  private void repairUnion(String bucket, byte[] key, int[] prefs, int read, boolean[] stale, boolean[] corrupt,
      StoredValue merged) {
    for (int i = 0; i < read; i++) {
      if (!stale[i] && !corrupt[i]) {
        continue;
      }
      try {
        engines[prefs[i]].update(bucket, key, cur -> unionValue(cur, merged.bytes().duplicate()));
        metrics.readRepairs.increment();
      } catch (StoreException ex) {
        log.warn("read repair of {} on partition {} failed: {}", bucket, prefs[i], ex.getMessage());
      }
    }
  }

  private static void releaseQuietly(StoredValue v) {
    if (v != null) {
      v.release();
    }
  }

  private static StoreException nValViolation(int n) {
    return new StoreException(StoreErrorCode.N_VAL_VIOLATION,
        "Specified w/dw/pw values invalid for bucket n value of " + n + "\n");
  }

  // ------------------------------------------------------------------------------------ writes

  /**
   * Writes {@code write} to the key's n_val replicas; completes when w replicas have it (and dw
   * of them have fsynced it), with the stored object when {@code returnBody} (caller releases),
   * else null. {@code write.data()} stays the caller's: it may be released once the future
   * completes.
   */
  public CompletableFuture<RiakObject.Stored> put(String bucket, byte[] key, ObjectWrite write, WriteOptions o) {
    long start = System.nanoTime();
    metrics.putsLastMinute.increment(clock.millis());
    ByteBuf data = write.data().retain(); // the op may outlive a timed-out request
    return submit(o.timeout(), () -> {
      try {
        return doPut(bucket, key, write, o);
      } catch (StoreException e) {
        throw new Sneaky(e);
      } finally {
        data.release();
      }
    }, RiakObject.Stored::release, data::release).whenComplete((v, e) ->
        metrics.puts.record(System.nanoTime() - start, TimeUnit.NANOSECONDS));
  }

  private CompletableFuture<RiakObject.Stored> doPut(String bucket, byte[] key, ObjectWrite write, WriteOptions o)
      throws StoreException {
    BucketProps props = buckets.get(bucket);
    int n = props.nVal();
    int w = Math.max(1, o.w().resolve(n, props.w()));
    int dw = o.dw().resolve(n, props.dw());
    int pw = o.pw().resolve(n, props.pw());
    if (w > n || dw > n || pw > n) {
      throw nValViolation(n);
    }
    boolean union = props.merge() == BucketProps.Merge.SET_UNION;
    Set<String> adding = union ? parseMembers(write.data()) : null;
    List<RiakObject.Meta> meta = new ArrayList<>(write.meta());
    meta.add(new RiakObject.Meta(RiakObject.VTAG, vtag()));
    meta.add(new RiakObject.Meta(RiakObject.VCLOCK, Vclock.increment(write.vclock(), nodeName)));
    int[] prefs = ring.preferenceList(bucket, key, n);
    List<CompletableFuture<Void>> durables = new ArrayList<>();
    int acks = 0;
    int firstAck = -1;
    StoreException lastError = null;
    ByteBuf value = RiakObject.encode(alloc, meta, write.data());
    try {
      for (int i = 0; i < prefs.length; i++) {
        Bitcask e = engines[prefs[i]];
        try {
          long pos = union ? e.update(bucket, key, cur -> unionWrite(cur, meta, adding)) : e.put(bucket, key, value);
          acks++;
          if (firstAck < 0) {
            firstAck = prefs[i];
          }
          durables.add(pos < 0 ? CompletableFuture.completedFuture(null) : e.durable(pos));
        } catch (StoreException ex) {
          lastError = ex;
          log.warn("{} partition {}: write failed: {}", bucket, prefs[i], ex.getMessage());
        }
      }
    } finally {
      value.release();
    }
    if (acks < w || acks < pw) {
      if (lastError != null && lastError.code() == StoreErrorCode.VALUE_TOO_LARGE) {
        throw lastError;
      }
      metrics.quorumFailed("put", acks < w ? "w" : "pw");
      throw new StoreException(StoreErrorCode.QUORUM_UNMET, acks < w ? "Too Many write failures to satisfy W/DW\n"
          : "PW-value unsatisfied: " + acks + "/" + pw + "\n");
    }
    int answer = firstAck;
    CompletableFuture<Void> durable = atLeast(durables, dw, "DW-value unsatisfied", "put");
    return durable.thenApply(x -> {
      if (!o.returnBody()) {
        return null;
      }
      try {
        StoredValue v = engines[answer].get(bucket, key);
        return v == null ? null : RiakObject.decode(v.bytes(), v.timestamp());
      } catch (StoreException ex) {
        throw new Sneaky(ex);
      }
    });
  }

  /** Completes when {@code k} of {@code futures} have; fails as soon as that cannot happen. */
  private CompletableFuture<Void> atLeast(List<CompletableFuture<Void>> futures, int k, String what, String op) {
    if (k <= 0) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> all = new CompletableFuture<>();
    AtomicInteger done = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    int total = futures.size();
    if (total < k) {
      metrics.quorumFailed(op, "dw");
      all.completeExceptionally(new StoreException(StoreErrorCode.QUORUM_UNMET, what + ": " + total + "/" + k + "\n"));
      return all;
    }
    for (CompletableFuture<Void> f : futures) {
      f.whenComplete((v, e) -> {
        if (e == null) {
          if (done.incrementAndGet() == k) {
            all.complete(null);
          }
        } else if (total - failed.incrementAndGet() < k) {
          metrics.quorumFailed(op, "dw");
          all.completeExceptionally(new StoreException(StoreErrorCode.QUORUM_UNMET,
              what + ": " + done.get() + "/" + k + "\n", e));
        }
      });
    }
    return all;
  }

  /**
   * Deletes {@code key} on its replicas; completes with whether any replica had it. Quorums as
   * for {@link #put}.
   */
  public CompletableFuture<Boolean> delete(String bucket, byte[] key, WriteOptions o) {
    long start = System.nanoTime();
    return submit(o.timeout(), () -> {
      try {
        return doDelete(bucket, key, o);
      } catch (StoreException e) {
        throw new Sneaky(e);
      }
    }, null, null).whenComplete((v, e) ->
        metrics.deletes.record(System.nanoTime() - start, TimeUnit.NANOSECONDS));
  }

  private CompletableFuture<Boolean> doDelete(String bucket, byte[] key, WriteOptions o) throws StoreException {
    BucketProps props = buckets.get(bucket);
    int n = props.nVal();
    int w = Math.max(1, o.w().resolve(n, props.w()));
    int dw = o.dw().resolve(n, props.dw());
    int pw = o.pw().resolve(n, props.pw());
    if (w > n || dw > n || pw > n) {
      throw nValViolation(n);
    }
    List<CompletableFuture<Void>> durables = new ArrayList<>();
    int acks = 0;
    boolean existed = false;
    for (int p : ring.preferenceList(bucket, key, n)) {
      try {
        long pos = engines[p].delete(bucket, key);
        acks++;
        existed |= pos >= 0;
        durables.add(pos < 0 ? CompletableFuture.completedFuture(null) : engines[p].durable(pos));
      } catch (StoreException ex) {
        log.warn("{} partition {}: delete failed: {}", bucket, p, ex.getMessage());
      }
    }
    if (acks < w || acks < pw) {
      metrics.quorumFailed("delete", acks < w ? "w" : "pw");
      throw new StoreException(StoreErrorCode.QUORUM_UNMET, "Too Many write failures to satisfy W/DW\n");
    }
    boolean result = existed;
    return atLeast(durables, dw, "DW-value unsatisfied", "delete").thenApply(x -> result);
  }

  // ------------------------------------------------------------------------------- set union

  /** Members of a set-union PUT body: {@code |}-separated, none empty. */
  static Set<String> parseMembers(ByteBuf data) throws StoreException {
    String s = data.toString(StandardCharsets.UTF_8);
    Set<String> out = new TreeSet<>();
    if (s.isEmpty()) {
      return out;
    }
    for (String m : s.split("\\|", -1)) {
      if (m.isEmpty()) {
        throw new StoreException(StoreErrorCode.BAD_REQUEST,
            "a set-union bucket takes |-separated members; an empty member is not allowed\n");
      }
      out.add(m);
    }
    return out;
  }

  private static Set<String> membersOf(StoredValue v) throws StoreException {
    RiakObject.Stored o = RiakObject.decode(v.bytes().retainedDuplicate(), v.timestamp());
    try {
      return parseMembers(o.data());
    } finally {
      o.release();
    }
  }

  private ByteBuf unionWrite(StoredValue current, List<RiakObject.Meta> meta, Set<String> adding) {
    Set<String> all = new TreeSet<>(adding);
    if (current != null) {
      try {
        all.addAll(membersOf(current));
      } catch (StoreException e) {
        log.warn("stored set is unreadable; rewriting it with the new members: {}", e.getMessage());
      }
    }
    ByteBuf data = Unpooled.copiedBuffer(String.join("|", all), StandardCharsets.UTF_8);
    try {
      return RiakObject.encode(alloc, meta, data);
    } finally {
      data.release();
    }
  }

  private ByteBuf unionValue(StoredValue current, ByteBuf mergedValue) {
    try {
      RiakObject.Stored m = RiakObject.decode(mergedValue.retainedDuplicate(), 0);
      Set<String> members;
      try {
        members = parseMembers(m.data());
      } finally {
        m.release();
      }
      return unionWrite(current, m.meta(), members);
    } catch (StoreException e) {
      throw new Sneaky(e);
    }
  }

  private StoredValue withMembers(StoredValue best, Set<String> members) throws StoreException {
    RiakObject.Stored o = RiakObject.decode(best.bytes(), best.timestamp());
    try {
      ByteBuf data = Unpooled.copiedBuffer(String.join("|", members), StandardCharsets.UTF_8);
      try {
        return new StoredValue(RiakObject.encode(alloc, o.meta(), data), best.timestamp());
      } finally {
        data.release();
      }
    } finally {
      o.release();
    }
  }

  private static String vtag() {
    String digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    ThreadLocalRandom r = ThreadLocalRandom.current();
    StringBuilder b = new StringBuilder(22);
    for (int i = 0; i < 22; i++) {
      b.append(digits.charAt(r.nextInt(62)));
    }
    return b.toString();
  }

  /** Opaque vclocks: base64 of (u8 1, u8 count, count × (u8 actor length, actor, i64 counter)). */
  static final class Vclock {
    private Vclock() {}

    static String increment(String given, String actor) {
      Map<String, Long> clock = new LinkedHashMap<>();
      if (given != null) {
        try {
          ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(given.trim()));
          if (b.get() == 1) {
            int count = b.get() & 0xFF;
            for (int i = 0; i < count; i++) {
              byte[] a = new byte[b.get() & 0xFF];
              b.get(a);
              clock.put(new String(a, StandardCharsets.UTF_8), b.getLong());
            }
          }
        } catch (RuntimeException notOurs) {
          clock.clear(); // a vclock from elsewhere: this store resolves by last write, so start afresh
        }
      }
      clock.merge(actor, 1L, Long::sum);
      while (clock.size() > 32) {
        clock.remove(clock.keySet().iterator().next());
      }
      ByteBuffer out = ByteBuffer.allocate(2 + clock.size() * (1 + 255 + 8));
      out.put((byte) 1).put((byte) clock.size());
      clock.forEach((a, c) -> {
        byte[] ab = a.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(ab.length, 255);
        out.put((byte) len).put(ab, 0, len).putLong(c);
      });
      return Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(out.array(), out.position()));
    }
  }

  // ------------------------------------------------------------------------------------ status

  public int partitions() {
    return engines.length;
  }

  /** The engine of one partition (tests and tools). */
  Bitcask engine(int partition) {
    return engines[partition];
  }

  public long keyCount() {
    return sum(e -> e.keyCount());
  }

  public long dataBytes() {
    return sum(Bitcask::dataBytes);
  }

  public long deadBytes() {
    return sum(Bitcask::deadBytes);
  }

  public long fileCount() {
    return sum(Bitcask::fileCount);
  }

  /** Sum of an engine counter over all partitions. */
  public long engineStat(java.util.function.ToLongFunction<EngineStats> stat) {
    long s = 0;
    for (Bitcask e : engines) {
      s += stat.applyAsLong(e.stats());
    }
    return s;
  }

  private long sum(java.util.function.ToLongFunction<Bitcask> f) {
    long s = 0;
    Bitcask[] es = engines;
    if (es == null) {
      return 0;
    }
    for (Bitcask e : es) {
      s += f.applyAsLong(e);
    }
    return s;
  }

  /** Partitions whose engine failed (an I/O error stopped its writes). */
  public List<Integer> failedPartitions() {
    List<Integer> out = new ArrayList<>();
    for (int p = 0; p < engines.length; p++) {
      if (engines[p].failure() != null) {
        out.add(p);
      }
    }
    return out;
  }

  public int queuedRequests() {
    return workers == null ? 0 : workers.getQueue().size();
  }

  public StoreMetrics metrics() {
    return metrics;
  }

  long getsLastMinute() {
    return metrics.getsLastMinute.sum(clock.millis());
  }

  long putsLastMinute() {
    return metrics.putsLastMinute.sum(clock.millis());
  }

  /** Riak's /stats figures this node can give. */
  public Map<String, Object> riakStats() {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("nodename", nodeName);
    s.put("node_gets", getsLastMinute());
    s.put("node_gets_total", metrics.gets.count());
    s.put("node_puts", putsLastMinute());
    s.put("node_puts_total", metrics.puts.count());
    fsm(s, "node_get_fsm_time", metrics.gets);
    fsm(s, "node_put_fsm_time", metrics.puts);
    s.put("read_repairs_total", (long) metrics.readRepairs.count());
    s.put("ring_num_partitions", config.partitions());
    s.put("ring_creation_size", config.partitions());
    s.put("ring_members", List.of(nodeName));
    s.put("connected_nodes", List.of());
    s.put("storage_backend", "epochal_bitcask");
    s.put("epochal_keys", keyCount());
    s.put("epochal_data_bytes", dataBytes());
    s.put("epochal_dead_bytes", deadBytes());
    s.put("epochal_data_files", fileCount());
    s.put("epochal_corrupt_records_total", engineStat(EngineStats::corruptRecords));
    s.put("epochal_merges_total", engineStat(EngineStats::merges));
    s.put("epochal_expired_files_total", engineStat(EngineStats::expiredFiles));
    s.put("epochal_queued_requests", queuedRequests());
    return s;
  }

  private static void fsm(Map<String, Object> s, String prefix, io.micrometer.core.instrument.Timer t) {
    io.micrometer.core.instrument.distribution.HistogramSnapshot snap = t.takeSnapshot();
    long mean = (long) snap.mean(TimeUnit.MICROSECONDS);
    long p50 = 0;
    long p95 = 0;
    long p99 = 0;
    for (io.micrometer.core.instrument.distribution.ValueAtPercentile v : snap.percentileValues()) {
      long us = (long) v.value(TimeUnit.MICROSECONDS);
      if (v.percentile() == 0.5) {
        p50 = us;
      } else if (v.percentile() == 0.95) {
        p95 = us;
      } else if (v.percentile() == 0.99) {
        p99 = us;
      }
    }
    s.put(prefix + "_mean", mean);
    s.put(prefix + "_median", p50);
    s.put(prefix + "_95", p95);
    s.put(prefix + "_99", p99);
    s.put(prefix + "_100", (long) snap.max(TimeUnit.MICROSECONDS));
  }

  private void registerGauges() {
    var r = metrics.registry;
    gauge(r, "epochal.store.keys", "Keys in the keydirs (tombstones included)", n -> n.keyCount());
    gauge(r, "epochal.store.data.bytes", "Bytes of data files", n -> n.dataBytes());
    gauge(r, "epochal.store.dead.bytes", "Bytes of superseded records, reclaimed by merge", n -> n.deadBytes());
    gauge(r, "epochal.store.data.files", "Data files", n -> n.fileCount());
    gauge(r, "epochal.store.queued.requests", "Requests waiting for a worker", n -> n.queuedRequests());
    gauge(r, "epochal.store.failed.partitions", "Partitions whose engine stopped on an I/O error",
        n -> n.failedPartitions().size());
    counter(r, "epochal.store.corrupt.records", "Records that failed their CRC (at open, merge or read)",
        EngineStats::corruptRecords);
    counter(r, "epochal.store.torn.tails", "Torn tails cut at open", EngineStats::tornTails);
    counter(r, "epochal.store.merges", "Merges completed", EngineStats::merges);
    counter(r, "epochal.store.merge.copied", "Bytes copied by merges", EngineStats::mergeCopiedBytes);
    counter(r, "epochal.store.merge.reclaimed", "Bytes of data files removed by merges",
        EngineStats::mergeReclaimedBytes);
    counter(r, "epochal.store.expired.files", "Data files deleted whole on expiry", EngineStats::expiredFiles);
    counter(r, "epochal.store.expired.bytes", "Bytes of data files deleted on expiry", EngineStats::expiredBytes);
    counter(r, "epochal.store.syncs", "fsyncs of data files", EngineStats::syncs);
    counter(r, "epochal.store.open.hint.loads", "Data files indexed from their hint file at open",
        EngineStats::hintLoads);
    counter(r, "epochal.store.open.scans", "Data files scanned at open (no valid hint)", EngineStats::scans);
  }

  private void gauge(io.micrometer.core.instrument.MeterRegistry r, String name, String d,
      ToDoubleFunction<StoreNode> f) {
    Gauge.builder(name, this, f).description(d).register(r);
  }

  private void counter(io.micrometer.core.instrument.MeterRegistry r, String name, String d,
      java.util.function.ToLongFunction<EngineStats> stat) {
    FunctionCounter.builder(name, this, n -> n.engineStat(stat)).description(d).register(r);
  }

  static boolean isTimeout(Throwable t) {
    return t instanceof TimeoutException;
  }
}
