package io.epochal.aggregator.spool;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two processes on one spool, as the aggregator and relocator daemons run: a writer child JVM ({@link
 * SpoolWriterChild}) appends under load while this JVM's {@link SpoolTail} reads and acknowledges.
 * The writer is killed with SIGKILL and restarted several times. Checks: every record is read once
 * and in order, at contiguous positions, intact (CRC and content); no position is ever read with two
 * different records, across writer restarts and a reader restart; every position the writer reported
 * durable is read with the record it named, even while no writer runs; acknowledgements make the
 * writer delete segments and lift a full cap; a restarted reader resumes at its acknowledged position.
 */
class SpoolTailCrashTest {
  private static final int CYCLES = 5;
  private static final int HOLD_ACKS_CYCLE = 1; // acknowledge nothing until the writer is full
  private static final int REOPEN_READER_CYCLE = 3;
  private static final long CYCLE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);
  private static final String EOF = "\u0000EOF";

  @TempDir
  Path dir;

  private SpoolTail tail;
  private SpoolReader reader;
  private long next; // position of the next record to read
  private final Map<Long, String> keyAt = new HashMap<>(); // every position read, ever -> its key
  private final Map<Long, Long> lastSeq = new HashMap<>(); // generation -> last seq read
  private long lastGeneration = -1;
  private long lastAck;
  private int redelivered;
  private int sinceAck;

  @Test
  void aReaderProcessSideReadsEveryDurableRecordOnceWhileTheWriterIsKilled() throws Exception {
    long seed = System.nanoTime();
    System.out.println("SpoolTailCrashTest seed " + seed);
    Random random = new Random(seed);
    tail = FileSpool.openReader(SpoolWriterChild.config(dir)); // empty directory, no writer yet
    reader = tail.reader(tail.acknowledgedPosition());
    next = tail.acknowledgedPosition();
    try {
      for (int gen = 0; gen < CYCLES; gen++) {
        runCycle(gen, 5 + random.nextInt(30), seed);
      }
      reader.close();
      tail.close();
      assertThat(redelivered).as("records re-read after the reader restart").isPositive();
      long recoveredEnd;
      try (FileSpool spool = FileSpool.open(SpoolWriterChild.config(dir))) {
        assertThat(spool.recovery().corruptBytes()).isZero();
        assertThat(spool.acknowledgedPosition()).isEqualTo(lastAck);
        // Intact records the last child wrote after its last sync survive its death and are kept.
        assertThat(spool.durablePosition()).isGreaterThanOrEqualTo(next);
        recoveredEnd = spool.durablePosition();
      }
      // A new reader side reads them once, in order, right after the ones read before.
      tail = FileSpool.openReader(SpoolWriterChild.config(dir));
      reader = tail.reader(tail.acknowledgedPosition());
      while (readSome(seed) > 0) {
        // drain
      }
      assertThat(next).isEqualTo(recoveredEnd);
    } finally {
      reader.close();
      tail.close();
    }
  }

  private void runCycle(int gen, int killAfter, long seed) throws Exception {
    Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), SpoolWriterChild.class.getName(), dir.toString(),
        Integer.toString(gen))
        .redirectErrorStream(true)
        .start();
    BlockingQueue<String> lines = pump(child);
    List<long[]> durable = new ArrayList<>(); // (position, generation, records)
    ArrayDeque<String> tail = new ArrayDeque<>();
    boolean holdAcks = gen == HOLD_ACKS_CYCLE;
    boolean full = false;
    boolean resumed = false;
    int segmentsWhenFull = -1;
    boolean killed = false;
    boolean reopened = false;
    long deadline = System.nanoTime() + CYCLE_TIMEOUT_NANOS;
    try {
      while (true) {
        assertThat(System.nanoTime()).as("cycle %d before the deadline (seed %d), last lines:%n%s", gen, seed,
            String.join("\n", tail)).isLessThan(deadline);
        boolean eof = false;
        for (String line; (line = lines.poll()) != null; ) {
          if (line.equals(EOF)) {
            assertThat(killed).as("child exited by itself; last lines:%n%s", String.join("\n", tail)).isTrue();
            eof = true;
            break;
          }
          tail.addLast(line);
          if (tail.size() > 30) {
            tail.removeFirst();
          }
          String[] f = line.split(" ");
          switch (f[0]) {
            case "READY" -> { }
            case "DURABLE" -> durable.add(new long[] {Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3])});
            case "FULL" -> {
              full = true;
              segmentsWhenFull = Integer.parseInt(f[1]);
              assertThat(Long.parseLong(f[2])).isLessThanOrEqualTo(SpoolWriterChild.MAX_BYTES);
            }
            case "RESUMED" -> {
              resumed = true;
              if (full) {
                assertThat(Integer.parseInt(f[1])).as("the writer deleted acknowledged segments")
                    .isLessThan(segmentsWhenFull);
              }
            }
            default -> System.out.println("child: " + line);
          }
        }
        if (eof) {
          break;
        }
        int read = readSome(seed);
        boolean acking = !holdAcks || full;
        if (acking && (sinceAck >= 16 || (read == 0 && sinceAck > 0))) {
          acknowledge();
        }
        if (gen == REOPEN_READER_CYCLE && !reopened && durable.size() >= killAfter / 2) {
          reopenReader(seed);
          reopened = true;
        }
        if (!killed && durable.size() >= killAfter && (!holdAcks || resumed)) {
          // SIGKILL through the handle: Process.destroyForcibly() would also close our end of the pipe.
          child.toHandle().destroyForcibly();
          killed = true;
        }
        if (read == 0) {
          this.tail.awaitDurable(next + 1, Duration.ofMillis(10));
        }
      }
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(child.exitValue()).isEqualTo(137); // 128 + SIGKILL
    } finally {
      child.destroyForcibly();
    }
    if (holdAcks) {
      assertThat(full).as("the writer filled its cap while nothing was acknowledged").isTrue();
      assertThat(resumed).as("acknowledgements lifted the cap").isTrue();
    }
    // No writer runs now: everything it reported durable is readable from the published position.
    while (readSome(seed) > 0) {
      // drain
    }
    acknowledge();
    assertThat(durable).as("durable reports before the kill").hasSizeGreaterThanOrEqualTo(killAfter);
    for (long[] d : durable) {
      assertThat(keyAt.get(d[0] - recordBytesBefore(d[0]))).as("record ending at durable position %d (seed %d)",
          d[0], seed).isEqualTo(SpoolWriterChild.key(d[1], d[2] - 1));
    }
    System.out.printf("cycle %d: %d durable reports, read up to %d, acknowledged %d, %d redelivered so far%n", gen,
        durable.size(), next, lastAck, redelivered);
  }

  private final Map<Long, Long> startByEnd = new HashMap<>(); // nextPosition -> position, for the checks above

  private long recordBytesBefore(long end) {
    Long start = startByEnd.get(end);
    assertThat(start).as("a record read ends at %d", end).isNotNull();
    return end - start;
  }

  /** Reads what is durable now, up to 64 records, checking each; returns how many. */
  private int readSome(long seed) throws IOException {
    int n = 0;
    for (SpoolRecord r; n < 64 && (r = reader.next()) != null; n++) {
      assertThat(r.position()).as("contiguous positions (seed %d)", seed).isEqualTo(next);
      long gen = SpoolWriterChild.generationOf(r.key());
      long seq = SpoolWriterChild.seqOf(r.key());
      assertThat(r.blob()).as("blob %s", r.key()).isEqualTo(SpoolWriterChild.blob(gen, seq));
      String before = keyAt.putIfAbsent(r.position(), r.key());
      if (before != null) {
        assertThat(r.key()).as("position %d names one record only", r.position()).isEqualTo(before);
        redelivered++;
      } else {
        assertThat(gen).as("generations in order").isGreaterThanOrEqualTo(lastGeneration);
        long expectedSeq = gen == lastGeneration ? lastSeq.get(gen) + 1 : 0;
        assertThat(seq).as("every record once, in order (seed %d)", seed).isEqualTo(expectedSeq);
        lastGeneration = gen;
        lastSeq.put(gen, seq);
      }
      startByEnd.put(r.nextPosition(), r.position());
      next = r.nextPosition();
      sinceAck++;
    }
    return n;
  }

  private void acknowledge() throws IOException {
    if (next > lastAck) {
      tail.acknowledge(next);
      lastAck = next;
    }
    assertThat(tail.acknowledgedPosition()).isEqualTo(lastAck);
    sinceAck = 0;
  }

  /** Closes and reopens the reader side: it resumes at the acknowledged position, re-reading the rest. */
  private void reopenReader(long seed) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (next == lastAck) { // leave records read but not acknowledged: they must come again
      assertThat(System.nanoTime()).as("records to read before the reader restart").isLessThan(deadline);
      tail.awaitDurable(next + 1, Duration.ofMillis(10));
      readSome(seed);
    }
    reader.close();
    tail.close();
    tail = FileSpool.openReader(SpoolWriterChild.config(dir));
    assertThat(tail.acknowledgedPosition()).as("resumes at the acknowledged position").isEqualTo(lastAck);
    reader = tail.reader(lastAck);
    next = lastAck;
  }

  private static BlockingQueue<String> pump(Process child) {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread pump = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          lines.add(line);
        }
      } catch (IOException e) {
        lines.add("pump failed: " + e);
      } finally {
        lines.add(EOF);
      }
    }, "tail-crash-child-stdout");
    pump.setDaemon(true);
    pump.start();
    return lines;
  }
}
