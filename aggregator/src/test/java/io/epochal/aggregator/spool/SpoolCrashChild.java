package io.epochal.aggregator.spool;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * The process {@link SpoolCrashTest} kills: opens (recovering) the spool in {@code args[0]}, then
 * appends numbered blobs as fast as it can, forever. It prints, on stdout, one line per new durable
 * position: {@code DURABLE <position> <records up to it>}, only after the spool reported it durable,
 * and {@code ACK <position>} after each acknowledge returned. Blob {@code n} has key {@link #key(long)}
 * and content {@link #blob(long)}, so the parent can check every byte.
 */
public final class SpoolCrashChild {
  static final int SEGMENT_BYTES = 1 << 20;
  static final long MAX_BYTES = 64L << 20;
  static final Duration SYNC_INTERVAL = Duration.ofMillis(5);

  private SpoolCrashChild() {}

  static SpoolConfig config(Path dir) {
    return SpoolConfig.builder(dir).segmentBytes(SEGMENT_BYTES).maxBytes(MAX_BYTES).syncInterval(SYNC_INTERVAL).build();
  }

  static String key(long seq) {
    return "crash:" + seq;
  }

  /** Mostly small blobs, every eighth up to 300 KB (written in several chunks: a kill can tear it). */
  static int size(long seq) {
    return (int) (seq % 8 == 0 ? (seq * 104_729) % 300_000 : (seq * 7_919) % 30_000);
  }

  static byte[] blob(long seq) {
    return SpoolTesting.blob(seq, size(seq));
  }

  static long seqOf(String key) {
    return Long.parseLong(key.substring("crash:".length()));
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    // (nextPosition, records so far) of appended records not yet reported durable.
    ConcurrentLinkedDeque<long[]> pending = new ConcurrentLinkedDeque<>();
    try (FileSpool spool = FileSpool.open(config(dir), position -> {
      long[] last = null;
      for (long[] head; (head = pending.peekFirst()) != null && head[0] <= position; ) {
        last = pending.pollFirst();
      }
      if (last != null) {
        System.out.println("DURABLE " + last[0] + " " + last[1]);
        System.out.flush();
      }
    })) {
      ArrayDeque<Long> ends = new ArrayDeque<>(); // ends of records not yet acknowledged, oldest first
      long seq = 0;
      try (SpoolReader reader = spool.reader(spool.acknowledgedPosition())) {
        for (SpoolRecord r; (r = reader.next()) != null; ) {
          seq = seqOf(r.key()) + 1;
          ends.addLast(r.nextPosition());
        }
      }
      System.out.println("READY " + seq);
      System.out.flush();
      int sinceAck = 0;
      while (true) {
        boolean full = false;
        try {
          long end = spool.append(key(seq), blob(seq));
          pending.addLast(new long[] {end, seq + 1});
          ends.addLast(end);
          seq++;
        } catch (SpoolFullException e) {
          full = true;
          spool.awaitDurable(spool.endPosition(), Duration.ofSeconds(1));
        }
        if (++sinceAck >= 64 || full) {
          sinceAck = 0;
          acknowledge(spool, ends, full ? 1 : 32);
        }
      }
    }
  }

  /**
   * Acknowledges the end of a durable record, leaving {@code keep} durable records after it: a
   * restarted child finds its next sequence number in them.
   */
  private static void acknowledge(FileSpool spool, Deque<Long> ends, int keep) throws Exception {
    long durable = spool.durablePosition();
    int durableCount = 0;
    for (long end : ends) {
      if (end > durable) {
        break;
      }
      durableCount++;
    }
    if (durableCount <= keep) {
      return;
    }
    long target = 0;
    for (int i = durableCount - keep; i > 0; i--) {
      target = ends.removeFirst();
    }
    spool.acknowledge(target);
    System.out.println("ACK " + target);
    System.out.flush();
  }
}
