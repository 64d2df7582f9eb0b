package io.epochal.benchmarks.store;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * One partition engine alone, Bitcask against RocksDB (the baseline) side by side in one run: PUT
 * and GET operations per second on one thread for values of {@code valueBytes} random
 * (incompressible) bytes, keys shaped like the {@code events} bucket's blob keys.
 *
 * <ul>
 *   <li>{@link #put}: every op writes a new key. Each <em>iteration</em> starts on a fresh,
 *       empty engine in a fresh temp directory (deleted after it), so the disk use of a run stays
 *       bounded at one iteration's data; the engine's close (its final fsync) is outside the
 *       measured time. No fsync per write unless {@code sync=true}: Bitcask {@code SyncMode.NONE}
 *       vs RocksDB {@code WriteOptions.setSync(false)} with the WAL on; with {@code sync=true}
 *       Bitcask {@code SyncMode.ALWAYS} vs {@code setSync(true)}.
 *   <li>{@link #get}: a trial-level engine in a fresh temp directory is loaded with {@link
 *       Engines#GET_DATA_BYTES} of values ({@code GET_DATA_BYTES / valueBytes} keys, so the whole
 *       set stays in the page cache; RocksDB's memtable is flushed and compacted first so its reads
 *       go to its files too); every op reads a key of a fixed pseudo-random sequence.
 * </ul>
 *
 * <p>MB/s = ops/s × {@code valueBytes}. The value and key buffers are direct on both sides, so no
 * engine pays a heap-to-native copy the other does not.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:MaxDirectMemorySize=2g"})
@Threads(1)
public class StoreEngineBenchmark {

  /** An engine that every op of {@link #put} writes to; fresh per iteration. */
  @State(Scope.Thread)
  public static class PutState {
    @Param({"bitcask", "rocksdb"})
    String engine;

    @Param({"1024", "102400", "409600"})
    int valueBytes;

    /** Whether every write is fsynced before it returns. */
    @Param({"false"})
    boolean sync;

    Engines.Engine db;
    Engines.Value value;
    long next;

    @Setup(Level.Trial)
    public void values() {
      value = new Engines.Value(valueBytes, 42);
    }

    @Setup(Level.Iteration)
    public void open() throws Exception {
      db = Engines.open(engine, Engines.tempDir("put-" + engine), sync);
      next = 0;
    }

    @TearDown(Level.Iteration)
    public void close() throws Exception {
      db.closeAndDelete();
    }

    @TearDown(Level.Trial)
    public void release() {
      value.release();
    }
  }

  /** An engine loaded with keys that fit in the page cache. */
  @State(Scope.Thread)
  public static class GetState {
    @Param({"bitcask", "rocksdb"})
    String engine;

    @Param({"1024", "102400", "409600"})
    int valueBytes;

    Engines.Engine db;
    Engines.Reader reader;
    int keys;
    int[] order;
    int next;

    @Setup(Level.Trial)
    public void load() throws Exception {
      db = Engines.open(engine, Engines.tempDir("get-" + engine), false);
      keys = (int) (Engines.GET_DATA_BYTES / valueBytes);
      Engines.Value value = new Engines.Value(valueBytes, 7);
      try {
        for (int i = 0; i < keys; i++) {
          db.put(Engines.key(i), value);
        }
      } finally {
        value.release();
      }
      db.settle();
      reader = db.reader(valueBytes);
      order = new int[1 << 16];
      java.util.SplittableRandom r = new java.util.SplittableRandom(11);
      for (int i = 0; i < order.length; i++) {
        order[i] = r.nextInt(keys);
      }
      for (int i = 0; i < keys; i++) { // warm the page cache and both engines' read paths
        reader.get(Engines.key(i));
      }
    }

    @TearDown(Level.Trial)
    public void close() throws Exception {
      reader.close();
      db.closeAndDelete();
    }
  }

  @Benchmark
  public long put(PutState s) throws Exception {
    return s.db.put(Engines.key(s.next++), s.value);
  }

  @Benchmark
  public void get(GetState s, Blackhole bh) throws Exception {
    int i = s.order[s.next++ & (s.order.length - 1)];
    bh.consume(s.reader.get(Engines.key(i)));
  }
}
