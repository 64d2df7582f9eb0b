package io.epochal.store.engine;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import io.epochal.common.time.ManualClock;
import io.epochal.store.StoreException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;
import org.slf4j.LoggerFactory;

/**
 * Random sequences of put, get, delete, update, merge, roll, clock advance, expiry, sync and
 * close-and-reopen (with some or all hint files deleted, forcing scans), run against a real engine
 * in a fresh directory and checked after every step against an in-memory model: a value is visible
 * iff it was written, not deleted since, and (in the TTL bucket) written less than the TTL ago.
 * Every key of the small universe is compared after every step, so a deleted or expired value that
 * comes back, or a write that is lost, fails at the step that caused it.
 */
class BitcaskModelTest {
  static final long T0 = 1_700_000_000_000L;
  static final long TTL = 5_000;
  static final String[] BUCKETS = {"ttl", "keep"};
  static final int KEYS = 6;
  static final int MAX_FILE = 4096;
  /** Updates append until a value would pass this, then start over (keeps records below MAX_FILE). */
  static final int UPDATE_LIMIT = 2000;

  static long ttlOf(String bucket) {
    return bucket.equals("ttl") ? TTL : 0;
  }

  /** Small files and merge thresholds low enough that merges copy and drop records; no throttle. */
  static EngineConfig config(EngineConfig.SyncMode sync) {
    return config(sync, 10);
  }

  /**
   * With a high fragmentation threshold (and no dead-bytes threshold) merge(false) takes only some
   * closed files, so it must keep the tombstones that shadow values in the files it leaves.
   */
  static EngineConfig config(EngineConfig.SyncMode sync, int fragThreshold) {
    return new EngineConfig(MAX_FILE, sync, Duration.ofSeconds(1), Math.max(25, fragThreshold), 2048, fragThreshold,
        fragThreshold <= 10 ? 1024 : 0, 0);
  }

  private static Level savedLevel;

  @BeforeContainer
  static void quietEngineLogs() {
    // Merges and expiries log at INFO; thousands of them would bury a failure report.
    ch.qos.logback.classic.Logger l = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Bitcask.class);
    savedLevel = l.getLevel();
    l.setLevel(Level.WARN);
  }

  @AfterContainer
  static void restoreEngineLogs() {
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Bitcask.class)).setLevel(savedLevel);
  }

  // ------------------------------------------------------------------------------------- ops

  sealed interface Op permits Put, Get, Delete, Update, Merge, Roll, Advance, Expire, Reopen, Sync {}

  record Put(int bucket, int key, int length) implements Op {
    @Override
    public String toString() {
      return "Put(" + BUCKETS[bucket] + "/k" + key + ", " + length + "B)";
    }
  }

  record Get(int bucket, int key) implements Op {
    @Override
    public String toString() {
      return "Get(" + BUCKETS[bucket] + "/k" + key + ")";
    }
  }

  record Delete(int bucket, int key) implements Op {
    @Override
    public String toString() {
      return "Delete(" + BUCKETS[bucket] + "/k" + key + ")";
    }
  }

  /** Appends {@code length} bytes to the current value (set-union style); 0 writes nothing. */
  record Update(int bucket, int key, int length) implements Op {
    @Override
    public String toString() {
      return "Update(" + BUCKETS[bucket] + "/k" + key + ", +" + length + "B)";
    }
  }

  record Merge(boolean all) implements Op {}

  record Roll() implements Op {}

  record Advance(long millis) implements Op {}

  record Expire() implements Op {}

  /**
   * Close and reopen; hints: 0 keep all, 1 delete some (chosen by seed), 2 delete all, 3 damage
   * some (a byte appended or the last byte dropped), which must be noticed and the file scanned.
   */
  record Reopen(int hints, long seed) implements Op {
    @Override
    public String toString() {
      return switch (hints) {
        case 0 -> "Reopen()";
        case 1 -> "Reopen(delete some hints, seed " + seed + ")";
        case 3 -> "Reopen(damage some hints, seed " + seed + ")";
        default -> "Reopen(delete all hints)";
      };
    }
  }

  record Sync() implements Op {}

  /**
   * Each try first picks how often the TTL bucket is written (half, most, or all of the time) and
   * how often merges run, so some tries fill whole files with TTL records that expire() deletes
   * before a merge has copied them away, and others mix buckets and merge a lot.
   */
  @Provide
  Arbitrary<Integer> fragThresholds() {
    return Arbitraries.of(10, 50, 80);
  }

  @Provide
  Arbitrary<List<Op>> ops() {
    return Combinators.combine(Arbitraries.of(50, 85, 100), Arbitraries.of(1, 5)).flatAs(this::ops);
  }

  Arbitrary<List<Op>> ops(int ttlPercent, int mergeWeight) {
    Arbitrary<Integer> bucket = ttlPercent == 100 ? Arbitraries.just(0)
        : Arbitraries.frequency(Tuple.of(ttlPercent, 0), Tuple.of(100 - ttlPercent, 1));
    Arbitrary<Integer> key = Arbitraries.integers().between(0, KEYS - 1);
    Arbitrary<Op> put = Combinators.combine(bucket, key, Arbitraries.integers().between(0, 600)).as(Put::new);
    Arbitrary<Op> get = Combinators.combine(bucket, key).as(Get::new);
    Arbitrary<Op> delete = Combinators.combine(bucket, key).as(Delete::new);
    Arbitrary<Op> update = Combinators.combine(bucket, key, Arbitraries.integers().between(0, 300)).as(Update::new);
    Arbitrary<Op> advance = Arbitraries.longs().between(0, 4000).withDistribution(RandomDistribution.uniform())
        .map(Advance::new);
    Arbitrary<Op> reopen = Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.longs().between(0, 99))
        .as(Reopen::new);
    Arbitrary<Op> op = Arbitraries.frequencyOf(
        Tuple.of(30, put),
        Tuple.of(4, get),
        Tuple.of(8, delete),
        Tuple.of(8, update),
        Tuple.of(mergeWeight, Arbitraries.just(new Merge(false))),
        Tuple.of(mergeWeight, Arbitraries.just(new Merge(true))),
        Tuple.of(4, Arbitraries.just(new Roll())),
        Tuple.of(10, advance),
        Tuple.of(5, Arbitraries.just(new Expire())),
        Tuple.of(4, reopen),
        Tuple.of(2, Arbitraries.just(new Sync())));
    return op.list().ofMinSize(20).ofMaxSize(150).withSizeDistribution(RandomDistribution.uniform());
  }

  // -------------------------------------------------------------------------------- property

  @Property(tries = 300)
  void behavesLikeTheModel(@ForAll("ops") List<Op> ops, @ForAll boolean syncAlways,
      @ForAll("fragThresholds") int fragThreshold) throws Exception {
    Path dir = Files.createTempDirectory("bitcask-model");
    Run run = new Run(dir, config(syncAlways ? EngineConfig.SyncMode.ALWAYS : EngineConfig.SyncMode.NONE,
        fragThreshold));
    try {
      run.check("initial");
      for (int i = 0; i < ops.size(); i++) {
        run.apply(i, ops.get(i));
        run.check("after step " + i + " " + ops.get(i));
      }
      long scansInSteps = run.scans;
      run.reopen(new Reopen(2, 0), ops.size());
      run.scans = scansInSteps;
      run.check("after a final reopen with every hint deleted");
    } finally {
      run.engine.close();
      deleteRecursively(dir);
    }
    Statistics.label("merge copied records").collect(run.mergeCopied > 0);
    Statistics.label("merge dropped records").collect(run.mergeReclaimed > run.mergeCopied);
    Statistics.label("expire deleted files").collect(run.expiredFiles > 0);
    Statistics.label("reopen scanned files").collect(run.scans > 0);
    Statistics.label("steps").collect(ops.size() < 50 ? "20..49" : ops.size() < 100 ? "50..99" : "100..150");
    Statistics.label("partial merge(false)").collect(run.partialMerges > 0);
    Statistics.label("partial merge(false)").coverage(c -> c.check(true).percentage(p -> p > 20));
    Statistics.label("merge copied records").coverage(c -> c.check(true).percentage(p -> p > 30));
    Statistics.label("merge dropped records").coverage(c -> c.check(true).percentage(p -> p > 30));
    Statistics.label("expire deleted files").coverage(c -> c.check(true).percentage(p -> p > 15));
    Statistics.label("reopen scanned files").coverage(c -> c.check(true).percentage(p -> p > 30));
  }

  record Val(byte[] bytes, long ts) {}

  /** One try: the engine under test, its clock, and the model. */
  static final class Run {
    final Path dir;
    final EngineConfig config;
    final ManualClock clock = new ManualClock(T0);
    /** bucket/key -> newest value written and not deleted (visible unless expired). */
    final Map<String, Val> model = new HashMap<>();
    Bitcask engine;
    long lastPosition;
    long mergeCopied;
    long mergeReclaimed;
    long expiredFiles;
    long scans;
    long partialMerges;

    Run(Path dir, EngineConfig config) throws IOException {
      this.dir = dir;
      this.config = config;
      this.engine = open();
    }

    Bitcask open() throws IOException {
      return Bitcask.open(dir, config, clock, BitcaskModelTest::ttlOf, null);
    }

    static String id(int bucket, int key) {
      return BUCKETS[bucket] + "/k" + key;
    }

    static byte[] key(int key) {
      return ("k" + key).getBytes(StandardCharsets.UTF_8);
    }

    /** The model's visible value, or null. */
    byte[] visible(int bucket, int key) {
      Val v = model.get(id(bucket, key));
      if (v == null) {
        return null;
      }
      long ttl = ttlOf(BUCKETS[bucket]);
      return ttl > 0 && v.ts + ttl <= clock.millis() ? null : v.bytes;
    }

    byte[] read(int bucket, int key) throws StoreException {
      StoredValue sv = engine.get(BUCKETS[bucket], key(key));
      if (sv == null) {
        return null;
      }
      try {
        return ByteBufUtil.getBytes(sv.bytes());
      } finally {
        sv.release();
      }
    }

    void apply(int step, Op op) throws Exception {
      if (op instanceof Put p) {
        byte[] value = content("put@" + step + " " + id(p.bucket, p.key) + " ", p.length);
        ByteBuf b = Unpooled.wrappedBuffer(value);
        lastPosition = engine.put(BUCKETS[p.bucket], key(p.key), b);
        assertThat(b.refCnt()).as("the caller keeps its buffer").isEqualTo(1);
        b.release();
        model.put(id(p.bucket, p.key), new Val(value, clock.millis()));
      } else if (op instanceof Get g) {
        byte[] expected = visible(g.bucket, g.key);
        assertThat(read(g.bucket, g.key)).isEqualTo(expected);
        assertThat(engine.contains(BUCKETS[g.bucket], key(g.key))).isEqualTo(expected != null);
      } else if (op instanceof Delete d) {
        boolean wasVisible = visible(d.bucket, d.key) != null;
        long pos = engine.delete(BUCKETS[d.bucket], key(d.key));
        if (wasVisible) {
          assertThat(pos).as("a tombstone is written for a live key").isPositive();
          lastPosition = pos;
        } else {
          assertThat(pos).as("nothing is written for an absent or expired key").isEqualTo(-1);
        }
        model.remove(id(d.bucket, d.key));
      } else if (op instanceof Update u) {
        byte[] current = visible(u.bucket, u.key);
        byte[] suffix = content("+upd@" + step + " ", u.length);
        byte[] next = u.length == 0 ? null : append(current, suffix);
        AtomicReference<byte[]> seen = new AtomicReference<>();
        long pos = engine.update(BUCKETS[u.bucket], key(u.key), cur -> {
          seen.set(cur == null ? null : ByteBufUtil.getBytes(cur.bytes()));
          return u.length == 0 ? null : Unpooled.wrappedBuffer(append(seen.get(), suffix));
        });
        assertThat(seen.get()).as("update sees the current value").isEqualTo(current);
        if (next == null) {
          assertThat(pos).isEqualTo(-1);
        } else {
          assertThat(pos).isPositive();
          lastPosition = pos;
          model.put(id(u.bucket, u.key), new Val(next, clock.millis()));
        }
      } else if (op instanceof Merge m) {
        int closedFiles = engine.fileCount() - 1;
        Bitcask.MergeResult r = engine.merge(m.all);
        if (r.inputFiles() > 0 && r.inputFiles() < closedFiles) {
          partialMerges++;
        }
        mergeCopied += r.copiedBytes();
        mergeReclaimed += r.reclaimedBytes();
        if (m.all) {
          checkFullyMerged();
        }
      } else if (op instanceof Roll) {
        engine.rollNow();
      } else if (op instanceof Advance a) {
        clock.advance(a.millis);
      } else if (op instanceof Expire) {
        int n = engine.expire();
        assertThat(n).isGreaterThanOrEqualTo(0);
        expiredFiles += n;
        checkNoWhollyExpiredClosedFile();
      } else if (op instanceof Reopen r) {
        reopen(r, step);
      } else if (op instanceof Sync) {
        engine.sync();
        assertThat(engine.dirty()).as("nothing left to sync").isFalse();
        if (lastPosition > 0) {
          assertThat(engine.durable(lastPosition)).as("the last write is durable").isCompleted();
        }
      }
    }

    void reopen(Reopen r, int step) throws IOException {
      engine.close();
      engine.close(); // idempotent
      List<Long> data = ids(".data");
      assertThat(list(".tmp")).as("no unfinished hint after a clean close").isEmpty();
      assertThat(ids(".hint")).as("a completed hint beside every data file").isEqualTo(data);
      SplittableRandom random = new SplittableRandom(r.seed * 1_000_003L + step);
      int deleted = 0;
      for (long id : data) {
        Path hint = dir.resolve(DataFile.hintName(id));
        if (r.hints == 2 || (r.hints == 1 && random.nextBoolean())) {
          Files.delete(hint);
          deleted++;
        } else if (r.hints == 3 && random.nextBoolean()) {
          byte[] bytes = Files.readAllBytes(hint);
          Files.write(hint, random.nextBoolean() ? java.util.Arrays.copyOf(bytes, bytes.length + 1)
              : java.util.Arrays.copyOf(bytes, bytes.length - 1));
          deleted++;
        }
      }
      engine = open();
      lastPosition = 0; // durability positions count from each open
      EngineStats s = engine.stats();
      assertThat(s.scans()).as("files scanned: those whose hint was deleted or damaged").isEqualTo(deleted);
      assertThat(s.hintLoads()).as("files loaded from their hint").isEqualTo(data.size() - deleted);
      assertThat(s.corruptRecords()).as("corrupt records after a clean close").isZero();
      assertThat(s.tornTails()).as("torn tails after a clean close").isZero();
      scans += deleted;
    }

    void check(String when) throws Exception {
      for (int b = 0; b < BUCKETS.length; b++) {
        for (int k = 0; k < KEYS; k++) {
          byte[] expected = visible(b, k);
          byte[] actual = read(b, k);
          if (expected == null) {
            assertThat(actual).as("%s: %s must be absent (never written, deleted or expired), but reads %s", when,
                id(b, k), actual == null ? null : describe(actual)).isNull();
          } else {
            assertThat(actual).as("%s: %s must read %s", when, id(b, k), describe(expected)).isNotNull();
            assertThat(actual).as("%s: %s reads %s instead of %s", when, id(b, k), describe(actual),
                describe(expected)).isEqualTo(expected);
          }
          assertThat(engine.contains(BUCKETS[b], key(k))).as("%s: contains %s", when, id(b, k))
              .isEqualTo(expected != null);
        }
      }
      assertThat(engine.stats().corruptRecords()).as("%s: corrupt records", when).isZero();
      assertThat(engine.fileIds()).as("%s: the engine's files are the files on disk", when).isEqualTo(ids(".data"));
      assertThat(engine.failure()).isNull();
    }

    /** After merge(true) the closed files hold only current, live, unexpired records: no tombstones. */
    void checkFullyMerged() throws IOException {
      List<Long> fileIds = engine.fileIds();
      long activeId = fileIds.get(fileIds.size() - 1);
      Set<String> seen = new HashSet<>();
      for (long id : fileIds) {
        if (id == activeId) {
          continue;
        }
        for (Rec rec : scan(id)) {
          assertThat(rec.tombstone).as("merge(true) drops tombstones: %s in %s", rec.key, DataFile.dataName(id))
              .isFalse();
          assertThat(seen.add(rec.key)).as("merge(true) leaves one record of %s", rec.key).isTrue();
        }
      }
    }

    /** After expire() no closed file has only expired records. */
    void checkNoWhollyExpiredClosedFile() throws IOException {
      List<Long> fileIds = engine.fileIds();
      long activeId = fileIds.get(fileIds.size() - 1);
      long now = clock.millis();
      for (long id : fileIds) {
        if (id == activeId) {
          continue;
        }
        List<Rec> recs = scan(id);
        boolean someLive = recs.stream().anyMatch(r -> ttlOf(r.bucket) == 0 || r.ts + ttlOf(r.bucket) > now);
        assertThat(someLive).as("expire() deletes %s, whose %d records have all expired", DataFile.dataName(id),
            recs.size()).isTrue();
      }
    }

    record Rec(String bucket, String key, long ts, boolean tombstone) {}

    List<Rec> scan(long id) throws IOException {
      List<Rec> out = new ArrayList<>();
      try (FileChannel ch = FileChannel.open(dir.resolve(DataFile.dataName(id)), StandardOpenOption.READ)) {
        RecordScanner.Result r = new RecordScanner(ch, ch.size(), MAX_FILE).scan(
            (offset, size, ts, tomb, key, record) -> out.add(new Rec(RecordFormat.bucketOf(key),
                RecordFormat.bucketOf(key) + "/" + new String(RecordFormat.keyOf(key), StandardCharsets.UTF_8), ts,
                tomb)));
        assertThat(r.corruptRecords()).isZero();
        assertThat(r.validEnd()).isEqualTo(ch.size());
      }
      return out;
    }

    List<Long> ids(String suffix) throws IOException {
      List<Long> out = new ArrayList<>();
      for (Path p : list(suffix)) {
        String n = p.getFileName().toString();
        out.add(Long.parseUnsignedLong(n.substring(0, 16), 16));
      }
      out.sort(null);
      return out;
    }

    List<Path> list(String suffix) throws IOException {
      try (Stream<Path> s = Files.list(dir)) {
        return s.filter(p -> p.getFileName().toString().endsWith(suffix)).toList();
      }
    }
  }

  /** {@code length} bytes starting with {@code tag}, then a recognisable repeating filler. */
  static byte[] content(String tag, int length) {
    byte[] out = new byte[length];
    byte[] t = tag.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < length; i++) {
      out[i] = i < t.length ? t[i] : (byte) ('a' + (i % 26));
    }
    return out;
  }

  static byte[] append(byte[] current, byte[] suffix) {
    if (current == null || current.length + suffix.length > UPDATE_LIMIT) {
      return suffix.clone();
    }
    byte[] out = new byte[current.length + suffix.length];
    System.arraycopy(current, 0, out, 0, current.length);
    System.arraycopy(suffix, 0, out, current.length, suffix.length);
    return out;
  }

  static String describe(byte[] value) {
    String s = new String(value, 0, Math.min(value.length, 40), StandardCharsets.UTF_8);
    return "[" + value.length + "B \"" + s + (value.length > 40 ? "...\"]" : "\"]");
  }

  static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  // ------------------------------------------------------------------- merge racing writers

  /**
   * One thread writes (puts, deletes, updates, with rolls so there is always something to merge)
   * while another runs merge(true) and expire() in a loop and a third reads: no write is lost, no
   * delete undone, no live key ever reads as absent, before or after a reopen.
   */
  @Example
  void writesRacingMergesAreNeverLost() throws Exception {
    Path dir = Files.createTempDirectory("bitcask-race");
    ManualClock clock = new ManualClock(T0);
    EngineConfig config = config(EngineConfig.SyncMode.NONE);
    Bitcask racing = Bitcask.open(dir, config, clock, BitcaskModelTest::ttlOf, null);
    Bitcask engine = racing;
    try {
      int keys = 40;
      // "keep/pinned<i>" are written once before the race and never touched again: they must read
      // present at every moment. "keep/k<i>" are overwritten, deleted and updated by the writer.
      for (int i = 0; i < keys; i++) {
        racing.put("keep", ("pinned" + i).getBytes(StandardCharsets.UTF_8),
            Unpooled.wrappedBuffer(content("pinned" + i + " ", 200)));
      }
      racing.rollNow(); // so there is always a closed file and the merger's loop ends
      Map<String, byte[]> model = new HashMap<>();
      AtomicBoolean done = new AtomicBoolean();
      AtomicReference<Throwable> failed = new AtomicReference<>();
      CompletableFuture<Integer> merger = CompletableFuture.supplyAsync(() -> {
        int merges = 0;
        try {
          while (!done.get() || merges < 3) {
            if (racing.merge(true).inputFiles() > 0) {
              merges++;
            }
            racing.expire();
          }
        } catch (Throwable t) {
          failed.compareAndSet(null, t);
        }
        return merges;
      });
      CompletableFuture<Long> reader = CompletableFuture.supplyAsync(() -> {
        long reads = 0;
        try {
          while (!done.get()) {
            for (int i = 0; i < keys; i++) {
              StoredValue sv = racing.get("keep", ("pinned" + i).getBytes(StandardCharsets.UTF_8));
              if (sv == null) {
                throw new AssertionError("keep/pinned" + i + " read as absent during a merge");
              }
              sv.release();
              reads++;
            }
          }
        } catch (Throwable t) {
          failed.compareAndSet(null, t);
        }
        return reads;
      });
      try {
        SplittableRandom random = new SplittableRandom(42);
        for (int step = 0; step < 6000 && failed.get() == null; step++) {
          int k = random.nextInt(keys);
          String id = "k" + k;
          byte[] key = id.getBytes(StandardCharsets.UTF_8);
          int what = random.nextInt(10);
          if (what < 6) {
            byte[] v = content("w" + step + " " + id + " ", random.nextInt(300));
            racing.put("keep", key, Unpooled.wrappedBuffer(v));
            model.put(id, v);
          } else if (what < 8) {
            long pos = racing.delete("keep", key);
            assertThat(pos > 0).as("delete of %s at step %d", id, step).isEqualTo(model.remove(id) != null);
          } else if (what < 9) {
            byte[] suffix = content("+u" + step + " ", 1 + random.nextInt(50));
            byte[] next = append(model.get(id), suffix);
            racing.update("keep", key, cur -> Unpooled.wrappedBuffer(
                append(cur == null ? null : ByteBufUtil.getBytes(cur.bytes()), suffix)));
            model.put(id, next);
          } else {
            racing.rollNow();
          }
        }
      } finally {
        done.set(true); // also when the writer fails, so the merger and reader stop
        CompletableFuture.allOf(merger, reader).exceptionally(t -> null).get(60, TimeUnit.SECONDS);
      }
      int merges = merger.get(60, TimeUnit.SECONDS);
      long reads = reader.get(60, TimeUnit.SECONDS);
      if (failed.get() != null) {
        throw new AssertionError("a concurrent merger or reader failed", failed.get());
      }
      assertThat(merges).as("merges that ran during the writes").isGreaterThanOrEqualTo(3);
      assertThat(reads).isPositive();
      assertThat(racing.stats().mergeCopiedBytes()).isPositive();
      checkRace(engine, model, keys, "after the race");
      engine.close();
      engine = Bitcask.open(dir, config, clock, BitcaskModelTest::ttlOf, null);
      checkRace(engine, model, keys, "after reopen");
      engine.merge(true);
      engine.close();
      for (Path hint : list(dir, ".hint")) {
        Files.delete(hint);
      }
      engine = Bitcask.open(dir, config, clock, BitcaskModelTest::ttlOf, null);
      checkRace(engine, model, keys, "after merge, reopen and scan");
      assertThat(engine.stats().corruptRecords()).isZero();
      assertThat(engine.stats().tornTails()).isZero();
    } finally {
      engine.close();
      deleteRecursively(dir);
    }
  }

  private static void checkRace(Bitcask engine, Map<String, byte[]> model, int keys, String when) throws Exception {
    for (int i = 0; i < keys; i++) {
      String id = "k" + i;
      StoredValue sv = engine.get("keep", id.getBytes(StandardCharsets.UTF_8));
      byte[] actual = sv == null ? null : ByteBufUtil.getBytes(sv.bytes());
      if (sv != null) {
        sv.release();
      }
      assertThat(actual).as("%s: keep/%s", when, id).isEqualTo(model.get(id));
      StoredValue pinned = engine.get("keep", ("pinned" + i).getBytes(StandardCharsets.UTF_8));
      assertThat(pinned).as("%s: keep/pinned%d", when, i).isNotNull();
      assertThat(ByteBufUtil.getBytes(pinned.bytes())).isEqualTo(content("pinned" + i + " ", 200));
      pinned.release();
    }
  }

  private static List<Path> list(Path dir, String suffix) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(suffix)).toList();
    }
  }
}
