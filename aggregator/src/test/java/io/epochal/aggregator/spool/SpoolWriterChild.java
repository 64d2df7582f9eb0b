package io.epochal.aggregator.spool;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The writer process {@link SpoolTailCrashTest} kills: opens (recovering) the spool in {@code
 * args[0]} as an aggregator would, and appends blobs of generation {@code args[1]} as fast as it can,
 * forever. It never reads or acknowledges: the test's {@link SpoolTail} does, from the parent JVM.
 *
 * <p>Prints {@code READY} after opening; {@code DURABLE <position> <generation> <records>} only after
 * the spool reported that position durable (and so had already published it to the durable file);
 * {@code FULL <segments> <bytes>} when an append is first refused for the cap, and {@code RESUMED
 * <segments> <bytes>} when appends succeed again (the spool's own accounting at that moment). Record {@code n} of generation {@code g} has key {@link #key} and content {@link #blob}.
 */
public final class SpoolWriterChild {
  static final int SEGMENT_BYTES = 1 << 20;
  static final long MAX_BYTES = 8L << 20;
  static final Duration SYNC_INTERVAL = Duration.ofMillis(5);

  private SpoolWriterChild() {}

  static SpoolConfig config(Path dir) {
    return SpoolConfig.builder(dir).segmentBytes(SEGMENT_BYTES).maxBytes(MAX_BYTES).syncInterval(SYNC_INTERVAL).build();
  }

  static String key(long generation, long seq) {
    return "tail:" + generation + ":" + seq;
  }

  static long generationOf(String key) {
    return Long.parseLong(key.split(":")[1]);
  }

  static long seqOf(String key) {
    return Long.parseLong(key.split(":")[2]);
  }

  static byte[] blob(long generation, long seq) {
    return SpoolTesting.blob(generation * 1_000_003L + seq, SpoolCrashChild.size(seq));
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    long generation = Long.parseLong(args[1]);
    ConcurrentLinkedDeque<long[]> pending = new ConcurrentLinkedDeque<>(); // (nextPosition, records so far)
    try (FileSpool spool = FileSpool.open(config(dir), position -> {
      long[] last = null;
      for (long[] head; (head = pending.peekFirst()) != null && head[0] <= position; ) {
        last = pending.pollFirst();
      }
      if (last != null) {
        System.out.println("DURABLE " + last[0] + " " + generation + " " + last[1]);
        System.out.flush();
      }
    })) {
      System.out.println("READY");
      System.out.flush();
      boolean full = false;
      for (long seq = 0; ; ) {
        try {
          long end = spool.append(key(generation, seq), blob(generation, seq));
          pending.addLast(new long[] {end, seq + 1});
          seq++;
          if (full) {
            full = false;
            System.out.println("RESUMED " + spool.segmentCount() + " " + spool.sizeBytes());
            System.out.flush();
          }
        } catch (SpoolFullException e) {
          if (!full) {
            full = true;
            System.out.println("FULL " + spool.segmentCount() + " " + spool.sizeBytes());
            System.out.flush();
          }
          // A load generator backing off, as the aggregator drops and moves on: retry shortly.
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
      }
    }
  }
}
