package io.epochal.aggregator.spool;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@link SpoolCrashChild} in a child JVM, kills it with SIGKILL at a random moment, reopens the
 * spool and checks that every record the child had reported durable is there, byte for byte, at the
 * position it was reported at, with no duplicates and no gaps; then lets the next child go on
 * appending from what survived. Five kill/restart cycles.
 */
class SpoolCrashTest {
  private static final int CYCLES = 5;
  private static final long CYCLE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);
  private static final String EOF = "\u0000EOF";

  @TempDir
  Path dir;

  @Test
  void everyRecordReportedDurableSurvivesSigkill() throws Exception {
    long seed = System.nanoTime();
    System.out.println("SpoolCrashTest seed " + seed);
    Random random = new Random(seed);
    TreeMap<Long, Long> knownPositions = new TreeMap<>(); // nextPosition -> seq, from earlier cycles
    long expectedNextSeq = 0;
    for (int cycle = 0; cycle < CYCLES; cycle++) {
      int killAfter = 3 + random.nextInt(25);
      ChildRun run = runAndKill(killAfter, expectedNextSeq);
      System.out.printf("cycle %d: killed after %d durable reports (last %s), %d acks%n", cycle,
          run.durable.size(), run.durable.isEmpty() ? "-" : run.durable.lastEntry(), run.acks.size());
      assertThat(run.readySeq).as("child resumed after the last surviving record").isEqualTo(expectedNextSeq);
      assertThat(run.durable).as("durable reports before the kill").hasSizeGreaterThanOrEqualTo(killAfter);
      expectedNextSeq = verify(run, knownPositions, seed);
    }
  }

  private record ChildRun(long readySeq, TreeMap<Long, Long> durable, List<Long> acks) {}

  private ChildRun runAndKill(int killAfter, long expectedNextSeq) throws Exception {
    Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), SpoolCrashChild.class.getName(), dir.toString())
        .redirectErrorStream(true)
        .start();
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
    }, "crash-child-stdout");
    pump.setDaemon(true);
    pump.start();
    long readySeq = -1;
    TreeMap<Long, Long> durable = new TreeMap<>();
    List<Long> acks = new ArrayList<>();
    ArrayDeque<String> tail = new ArrayDeque<>(); // the child's last lines, for failure messages
    long deadline = System.nanoTime() + CYCLE_TIMEOUT_NANOS;
    try {
      boolean killed = false;
      while (true) {
        String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        assertThat(line).as("child output before the deadline (alive: %s, %d durable reports), last lines:%n%s",
            child.isAlive(), durable.size(), String.join("\n", tail)).isNotNull();
        if (line.equals(EOF)) {
          if (!killed) {
            boolean exited = child.waitFor(10, TimeUnit.SECONDS);
            assertThat(killed).as("child exited by itself (%s), last lines:%n%s",
                exited ? "exit code " + child.exitValue() : "still alive", String.join("\n", tail)).isTrue();
          }
          break;
        }
        tail.addLast(line);
        if (tail.size() > 30) {
          tail.removeFirst();
        }
        String[] f = line.split(" ");
        switch (f[0]) {
          case "READY" -> readySeq = Long.parseLong(f[1]);
          case "DURABLE" -> durable.put(Long.parseLong(f[1]), Long.parseLong(f[2]));
          case "ACK" -> acks.add(Long.parseLong(f[1]));
          default -> System.out.println("child: " + line); // its log lines
        }
        if (!killed && durable.size() >= killAfter) {
          // SIGKILL. Through the handle: Process.destroyForcibly() would also close our end of the
          // pipe and lose the lines the child wrote before it died.
          child.toHandle().destroyForcibly();
          killed = true;
        }
      }
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(child.exitValue()).isEqualTo(137); // 128 + SIGKILL
    } finally {
      child.destroyForcibly();
    }
    return new ChildRun(readySeq, durable, acks);
  }

  /** Reopens the spool and checks it against what the child reported; returns the next sequence number. */
  private long verify(ChildRun run, TreeMap<Long, Long> knownPositions, long seed) throws Exception {
    try (FileSpool spool = FileSpool.open(SpoolCrashChild.config(dir))) {
      SpoolRecovery recovery = spool.recovery();
      System.out.printf("  reopened: %s, acknowledged %d, durable %d%n", recovery, spool.acknowledgedPosition(),
          spool.durablePosition());
      assertThat(recovery.corruptBytes()).as("seed %d", seed).isZero();
      long acked = spool.acknowledgedPosition();
      if (!run.acks.isEmpty()) {
        assertThat(acked).as("every acknowledge the child saw return is persisted")
            .isGreaterThanOrEqualTo(run.acks.get(run.acks.size() - 1));
      }
      TreeMap<Long, Long> seqByNext = new TreeMap<>();
      long previousSeq = -1;
      long expectedPosition = acked;
      try (SpoolReader reader = spool.reader(acked)) {
        for (SpoolRecord r; (r = reader.next()) != null; ) {
          long seq = SpoolCrashChild.seqOf(r.key());
          if (previousSeq >= 0) {
            assertThat(seq).as("no duplicates, no gaps (seed %d)", seed).isEqualTo(previousSeq + 1);
          }
          assertThat(r.position()).isEqualTo(expectedPosition);
          assertThat(r.blob()).as("blob %d", seq).isEqualTo(SpoolCrashChild.blob(seq));
          seqByNext.put(r.nextPosition(), seq);
          previousSeq = seq;
          expectedPosition = r.nextPosition();
        }
      }
      assertThat(seqByNext).as("records remain after the acknowledged position").isNotEmpty();
      // Every durable report names the position just after record count - 1, and that record survived.
      for (var report : run.durable.entrySet()) {
        long position = report.getKey();
        long count = report.getValue();
        if (position > acked) {
          assertThat(seqByNext.get(position)).as("record before durable position %d (seed %d)", position, seed)
              .isEqualTo(count - 1);
        }
      }
      long lastReported = run.durable.isEmpty() ? acked : run.durable.lastKey();
      assertThat(spool.endPosition()).isGreaterThanOrEqualTo(lastReported);
      // Positions are stable across restarts: what an earlier cycle saw is unchanged.
      for (var known : knownPositions.tailMap(acked, false).entrySet()) {
        if (seqByNext.containsKey(known.getKey()) || known.getKey() <= spool.endPosition()) {
          assertThat(seqByNext.get(known.getKey())).as("position %d keeps its record", known.getKey())
              .isEqualTo(known.getValue());
        }
      }
      knownPositions.putAll(seqByNext);
      return previousSeq + 1;
    }
  }
}
