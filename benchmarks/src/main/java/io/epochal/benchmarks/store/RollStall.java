package io.epochal.benchmarks.store;

import io.epochal.store.engine.Bitcask;
import io.epochal.store.engine.EngineConfig;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Latency of single PUTs into one partition engine while its data files roll: one writer thread
 * puts {@code --puts} values of {@code --value-bytes} random bytes (new keys) into a Bitcask with
 * {@code --file-mib} data files and sync INTERVAL, a background thread calling {@code sync()} every
 * second as the store node does. Prints the PUT latency distribution and the slowest PUTs, which
 * are the ones that met a roll. Run it against two builds to compare (a roll used to fsync the
 * closed file under the write lock).
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.store.RollStall [--puts 4000] [--value-bytes 409600] [--file-mib 64] [--dir DIR]
 * </pre>
 */
public final class RollStall {
  private RollStall() {}

  public static void main(String[] argv) throws Exception {
    int puts = 4000;
    int valueBytes = 409_600;
    long fileMib = 64;
    Path base = null;
    for (int i = 0; i + 1 < argv.length; i += 2) {
      switch (argv[i]) {
        case "--puts" -> puts = Integer.parseInt(argv[i + 1]);
        case "--value-bytes" -> valueBytes = Integer.parseInt(argv[i + 1]);
        case "--file-mib" -> fileMib = Long.parseLong(argv[i + 1]);
        case "--dir" -> base = Path.of(argv[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + argv[i]);
      }
    }
    Path dir = base == null ? Files.createTempDirectory("roll-stall") : Files.createTempDirectory(base, "roll-stall");
    EngineConfig config = EngineConfig.defaults().withMaxFileBytes(fileMib << 20).withSync(EngineConfig.SyncMode.INTERVAL);
    byte[] value = new byte[valueBytes];
    new Random(1).nextBytes(value);
    ByteBuf buf = Unpooled.directBuffer(valueBytes).writeBytes(value);
    long[] nanos = new long[puts];
    ScheduledExecutorService syncer = Executors.newSingleThreadScheduledExecutor();
    try (Bitcask engine = Bitcask.open(dir, config, Clock.systemUTC(), b -> 0, null)) {
      syncer.scheduleWithFixedDelay(engine::sync, 1, 1, TimeUnit.SECONDS);
      for (int i = 0; i < puts; i++) {
        byte[] key = String.format(Locale.ROOT, "1796190000-1-WEB-app-a1-%08d", i).getBytes(StandardCharsets.US_ASCII);
        long t0 = System.nanoTime();
        engine.put("events", key, buf.duplicate());
        nanos[i] = System.nanoTime() - t0;
      }
      syncer.shutdown();
      syncer.awaitTermination(10, TimeUnit.SECONDS);
      System.out.printf(Locale.ROOT, "%d PUTs of %d bytes into %d MiB files (%d files)%n", puts, valueBytes, fileMib,
          engine.fileCount());
    } finally {
      buf.release();
      try (var s = Files.walk(dir)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    System.out.printf(Locale.ROOT, "PUT latency µs: p50 %.0f, p99 %.0f, p99.9 %.0f, max %.0f; PUTs over 10 ms: %d%n",
        sorted[puts / 2] / 1e3, sorted[(int) (puts * 0.99)] / 1e3, sorted[(int) (puts * 0.999)] / 1e3,
        sorted[puts - 1] / 1e3, Arrays.stream(nanos).filter(n -> n > 10_000_000).count());
  }
}
