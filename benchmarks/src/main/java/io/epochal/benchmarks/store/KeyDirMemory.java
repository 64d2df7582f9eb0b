package io.epochal.benchmarks.store;

import io.epochal.store.engine.EngineConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Heap bytes per key of one {@code Bitcask} engine's keydir: heap used after full GCs, before and
 * after putting {@code --keys} keys shaped like the {@code events} bucket's blob keys ({@code
 * 1413813813:1:WEB:app:a7.<n>}) with 8-byte values and {@code SyncMode.NONE}; then the live-object
 * class histogram ({@code jcmd <pid> GC.class_histogram}) of the classes the keydir is made of.
 *
 * <pre>
 * java -Xms2g -Xmx2g -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.store.KeyDirMemory --keys 1000000
 * </pre>
 */
public final class KeyDirMemory {
  private KeyDirMemory() {}

  public static void main(String[] argv) throws Exception {
    int keys = 1_000_000;
    for (int i = 0; i < argv.length; i++) {
      if (argv[i].equals("--keys")) {
        keys = Integer.parseInt(argv[++i].replace("_", ""));
      } else {
        throw new IllegalArgumentException("usage: KeyDirMemory [--keys N]");
      }
    }
    Path dir = Engines.tempDir("keydir");
    Engines.Value value = new Engines.Value(8, 1);
    // Warm everything the load touches once (classes, the allocator, the hint writer) on a throwaway
    // engine, so the "before" heap already holds it.
    Engines.BitcaskEngine warm = new Engines.BitcaskEngine(Engines.tempDir("keydir-warm"),
        EngineConfig.defaults().withSync(EngineConfig.SyncMode.NONE));
    for (int i = 0; i < 10_000; i++) {
      warm.put(Engines.key(i), value);
    }
    warm.closeAndDelete();
    Engines.BitcaskEngine engine = new Engines.BitcaskEngine(dir,
        EngineConfig.defaults().withSync(EngineConfig.SyncMode.NONE));
    long before = usedAfterGc();
    long keyBytes = 0;
    for (int i = 0; i < keys; i++) {
      byte[] k = Engines.key(i);
      keyBytes += 1 + Engines.BUCKET.length() + k.length;
      engine.put(k, value);
    }
    long after = usedAfterGc();
    if (engine.db.keyCount() != keys) {
      throw new IllegalStateException("keydir holds " + engine.db.keyCount() + " keys, expected " + keys);
    }
    double perKey = (after - before) / (double) keys;
    double meanKey = keyBytes / (double) keys;
    System.out.printf(Locale.ROOT, "keys                 %,d%n", keys);
    System.out.printf(Locale.ROOT, "mean engine key      %.2f bytes (1 + bucket + key)%n", meanKey);
    System.out.printf(Locale.ROOT, "heap before / after  %,d / %,d bytes%n", before, after);
    System.out.printf(Locale.ROOT, "heap per key         %.1f bytes%n", perKey);
    System.out.printf(Locale.ROOT, "Javadoc estimate     %.1f bytes (126 + engine key length)%n", 126 + meanKey);
    System.out.println();
    System.out.println("live-object histogram (jcmd GC.class_histogram), keydir classes:");
    histogram(List.of("KeyDir$Key", "KeyDir$Entry", "ConcurrentHashMap$Node ", "ConcurrentHashMap$Node;",
        " [B "), keys);
    Reference.reachabilityFence(engine);
    engine.closeAndDelete();
    value.release();
  }

  private static long usedAfterGc() throws InterruptedException {
    MemoryMXBean m = ManagementFactory.getMemoryMXBean();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      System.gc();
      Thread.sleep(100);
      used = Math.min(used, m.getHeapMemoryUsage().getUsed());
    }
    return used;
  }

  private static void histogram(List<String> names, int keys) throws Exception {
    String pid = Long.toString(ProcessHandle.current().pid());
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p = new ProcessBuilder(jcmd.toString(), pid, "GC.class_histogram").redirectErrorStream(true).start();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        String padded = line + " ";
        for (String n : names) {
          if (padded.contains(n)) {
            String[] f = line.trim().split("\\s+");
            long count = Long.parseLong(f[1]);
            long bytes = Long.parseLong(f[2]);
            System.out.printf(Locale.ROOT, "  %-60s %,12d objects %,14d bytes  %6.1f bytes/key%n", f[3], count, bytes,
                bytes / (double) keys);
          }
        }
      }
    }
    p.waitFor();
  }
}
