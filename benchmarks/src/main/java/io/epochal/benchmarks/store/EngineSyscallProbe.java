package io.epochal.benchmarks.store;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A short, fixed workload on one {@code Bitcask} engine for counting its system calls with {@code
 * strace -c -f}: {@code --keys} PUTs of {@code --value-bytes}, then {@code --gets} GETs of random
 * keys. Run it twice with different {@code --gets} and subtract the counts: the difference is what
 * the GETs cost (JVM start-up and class loading cancel out).
 *
 * <pre>
 * for g in 0 10000; do
 *   strace -f -c -e trace=pread64,read,preadv,readv,mmap -o /tmp/gets-$g.txt \
 *     java -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.store.EngineSyscallProbe --gets $g
 * done
 * </pre>
 */
public final class EngineSyscallProbe {
  private EngineSyscallProbe() {}

  public static void main(String[] argv) throws Exception {
    int valueBytes = 409_600;
    int keys = 500;
    int gets = 10_000;
    for (int i = 0; i < argv.length; i++) {
      switch (argv[i]) {
        case "--value-bytes" -> valueBytes = Integer.parseInt(argv[++i]);
        case "--keys" -> keys = Integer.parseInt(argv[++i]);
        case "--gets" -> gets = Integer.parseInt(argv[++i]);
        default -> throw new IllegalArgumentException("known: --value-bytes, --keys, --gets");
      }
    }
    Engines.Engine db = Engines.open("bitcask", Engines.tempDir("probe"), false);
    Engines.Value v = new Engines.Value(valueBytes, 3);
    for (int i = 0; i < keys; i++) {
      db.put(Engines.key(i), v);
    }
    long sum = 0;
    try (Engines.Reader r = db.reader(valueBytes)) {
      SplittableRandom rnd = new SplittableRandom(5);
      for (int i = 0; i < gets; i++) {
        sum += r.get(Engines.key(rnd.nextInt(keys)));
      }
    }
    db.closeAndDelete();
    v.release();
    System.out.printf(Locale.ROOT, "%d puts, %d gets of %d bytes (checksum %d)%n", keys, gets, valueBytes, sum);
  }
}
