package io.epochal.benchmarks.store;

import io.epochal.store.engine.Bitcask;
import io.epochal.store.engine.EngineConfig;
import io.epochal.store.engine.StoredValue;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.rocksdb.CompressionType;
import org.rocksdb.FlushOptions;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteOptions;

/**
 * The two engines of {@link StoreEngineBenchmark} behind one small interface: Epochal's {@link
 * Bitcask} and RocksDB (the baseline, default options except compression off: the values are
 * random, and Epochal's blobs are already zstd-compressed). Not thread-safe; one thread per engine.
 */
final class Engines {
  /** The bucket every key is written in. */
  static final String BUCKET = "events";
  /** Bytes of values loaded before a GET trial: fits the page cache many times over. */
  static final long GET_DATA_BYTES = 256L << 20;
  private static final byte[] BUCKET_BYTES = BUCKET.getBytes(StandardCharsets.UTF_8);

  private Engines() {}

  /** A key shaped like the events bucket's blob keys. */
  static byte[] key(long n) {
    return ("1413813813:1:WEB:app:a7." + n).getBytes(StandardCharsets.US_ASCII);
  }

  /** Random bytes in a direct buffer, readable from both engines without a copy. */
  static final class Value {
    final ByteBuf buf;
    final ByteBuffer nio;

    Value(int bytes, long seed) {
      byte[] b = new byte[bytes];
      SplittableRandom r = new SplittableRandom(seed);
      for (int i = 0; i < bytes; i++) {
        b[i] = (byte) r.nextInt(256);
      }
      buf = Unpooled.directBuffer(bytes, bytes).writeBytes(b);
      nio = buf.nioBuffer();
    }

    void release() {
      buf.release();
    }
  }

  interface Engine {
    long put(byte[] key, Value value) throws Exception;

    /** After loading: RocksDB flushes its memtable and compacts, so reads go to its files. */
    void settle() throws Exception;

    Reader reader(int maxValueBytes);

    void closeAndDelete() throws Exception;
  }

  interface Reader extends AutoCloseable {
    /** Reads the value of {@code key}; returns its length (fails when absent). */
    int get(byte[] key) throws Exception;

    @Override
    void close();
  }

  static Path tempDir(String prefix) throws IOException {
    Path base = Path.of(System.getProperty("store.bench.dir", System.getProperty("java.io.tmpdir")));
    Files.createDirectories(base);
    return Files.createTempDirectory(base, "epochal-" + prefix + "-");
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }

  static Engine open(String name, Path dir, boolean sync) throws Exception {
    return switch (name) {
      case "bitcask" -> new BitcaskEngine(dir, sync);
      case "rocksdb" -> new RocksEngine(dir, sync);
      default -> throw new IllegalArgumentException("engine " + name);
    };
  }

  static final class BitcaskEngine implements Engine {
    final Path dir;
    final Bitcask db;

    BitcaskEngine(Path dir, boolean sync) throws IOException {
      this(dir, EngineConfig.defaults().withSync(sync ? EngineConfig.SyncMode.ALWAYS : EngineConfig.SyncMode.NONE));
    }

    BitcaskEngine(Path dir, EngineConfig config) throws IOException {
      this.dir = dir;
      this.db = Bitcask.open(dir, config, Clock.systemUTC(), bucket -> 0, null);
    }

    @Override
    public long put(byte[] key, Value value) throws Exception {
      return db.put(BUCKET, key, value.buf);
    }

    @Override
    public void settle() {}

    @Override
    public Reader reader(int maxValueBytes) {
      return new Reader() {
        @Override
        public int get(byte[] key) throws Exception {
          StoredValue v = db.get(BUCKET, key);
          if (v == null) {
            throw new IllegalStateException("missing key " + new String(key, StandardCharsets.US_ASCII));
          }
          try {
            return v.bytes().readableBytes() + v.bytes().getByte(v.bytes().readerIndex());
          } finally {
            v.release();
          }
        }

        @Override
        public void close() {}
      };
    }

    @Override
    public void closeAndDelete() throws IOException {
      db.close();
      deleteTree(dir);
    }
  }

  static final class RocksEngine implements Engine {
    static {
      RocksDB.loadLibrary();
    }

    final Path dir;
    final Options options;
    final WriteOptions writeOptions;
    final RocksDB db;
    final ByteBuffer keyBuf = ByteBuffer.allocateDirect(1024);

    RocksEngine(Path dir, boolean sync) throws RocksDBException {
      this.dir = dir;
      this.options = new Options().setCreateIfMissing(true).setCompressionType(CompressionType.NO_COMPRESSION);
      this.writeOptions = new WriteOptions().setSync(sync).setDisableWAL(false);
      this.db = RocksDB.open(options, dir.toString());
    }

    /** The same bytes as Bitcask's engine key: bucket length, bucket, key. */
    private ByteBuffer engineKey(ByteBuffer dst, byte[] key) {
      dst.clear();
      dst.put((byte) BUCKET_BYTES.length).put(BUCKET_BYTES).put(key);
      return dst.flip();
    }

    @Override
    public long put(byte[] key, Value value) throws Exception {
      db.put(writeOptions, engineKey(keyBuf, key), value.nio.duplicate());
      return 0;
    }

    @Override
    public void settle() throws RocksDBException {
      try (FlushOptions f = new FlushOptions().setWaitForFlush(true)) {
        db.flush(f);
      }
      db.compactRange();
    }

    @Override
    public Reader reader(int maxValueBytes) {
      ReadOptions ro = new ReadOptions();
      ByteBuffer out = ByteBuffer.allocateDirect(maxValueBytes);
      ByteBuffer k = ByteBuffer.allocateDirect(1024);
      return new Reader() {
        @Override
        public int get(byte[] key) throws Exception {
          out.clear();
          int n = db.get(ro, engineKey(k, key), out);
          if (n < 0) {
            throw new IllegalStateException("missing key " + new String(key, StandardCharsets.US_ASCII));
          }
          return n + out.get(0);
        }

        @Override
        public void close() {
          ro.close();
        }
      };
    }

    @Override
    public void closeAndDelete() throws Exception {
      db.close();
      writeOptions.close();
      options.close();
      deleteTree(dir);
    }
  }
}
