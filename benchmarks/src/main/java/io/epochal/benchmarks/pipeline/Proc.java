package io.epochal.benchmarks.pipeline;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * CPU time of processes and their threads from /proc (utime + stime), and the machine's busy time
 * from /proc/stat. Snapshots; callers subtract two. Stateless and thread-safe.
 */
final class Proc {
  private Proc() {}

  /** Clock ticks per second: 100 on every Linux this runs on ({@code getconf CLK_TCK}). */
  static final long CLK_TCK = 100;

  /** utime + stime of a process, dead threads included, in nanoseconds. */
  static long cpuNanos(long pid) throws IOException {
    return statCpuNanos(Files.readString(Path.of("/proc/" + pid + "/stat")));
  }

  /** CPU nanoseconds per live thread name of a process, digits folded to {@code #}. */
  static Map<String, Long> threadCpuNanos(long pid) throws IOException {
    Map<String, Long> m = new HashMap<>();
    try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/" + pid + "/task"))) {
      for (Path t : tasks) {
        String stat;
        try {
          stat = Files.readString(t.resolve("stat"));
        } catch (IOException e) {
          continue; // the thread ended meanwhile
        }
        String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        m.merge(comm.replaceAll("[0-9]+", "#"), statCpuNanos(stat), Long::sum);
      }
    }
    return m;
  }

  /** Machine busy time (all but idle and iowait) in nanoseconds, from /proc/stat. */
  static long machineBusyNanos() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
      if (line.startsWith("cpu ")) {
        String[] f = line.trim().split("\\s+");
        long busy = 0;
        for (int i = 1; i < f.length && i <= 8; i++) {
          if (i != 4 && i != 5) {
            busy += Long.parseLong(f[i]);
          }
        }
        return busy * (1_000_000_000L / CLK_TCK);
      }
    }
    throw new IOException("/proc/stat has no cpu line");
  }

  private static long statCpuNanos(String stat) {
    // after the command name (which may hold spaces): state [0], utime [11], stime [12]
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * (1_000_000_000L / CLK_TCK);
  }
}
