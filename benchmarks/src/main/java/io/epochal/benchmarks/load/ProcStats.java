package io.epochal.benchmarks.load;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Linux counters the load harness reads from /proc: the kernel's UDP counters, per-socket drops,
 * process and per-thread CPU time, and the machine's CPU time. Every method returns a snapshot;
 * callers subtract two of them. Stateless and thread-safe.
 */
public final class ProcStats {
  private ProcStats() {}

  /** Clock ticks per second ({@code getconf CLK_TCK}), 100 if that cannot be run. */
  static final long CLK_TCK = clockTicks();

  private static long clockTicks() {
    try {
      Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      if (p.waitFor() == 0) {
        return Long.parseLong(out);
      }
    } catch (IOException | NumberFormatException e) {
      // fall through to the usual value
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 100;
  }

  /** The {@code Udp:} counters of /proc/net/snmp by name (InErrors, RcvbufErrors, ...). */
  static Map<String, Long> udpSnmp() throws IOException {
    List<String> lines = Files.readAllLines(Path.of("/proc/net/snmp"));
    Map<String, Long> m = new HashMap<>();
    for (int i = 0; i + 1 < lines.size(); i++) {
      if (lines.get(i).startsWith("Udp:") && lines.get(i + 1).startsWith("Udp:")) {
        String[] names = lines.get(i).trim().split("\\s+");
        String[] values = lines.get(i + 1).trim().split("\\s+");
        for (int k = 1; k < names.length && k < values.length; k++) {
          m.put(names[k], Long.parseLong(values[k]));
        }
        break;
      }
    }
    return m;
  }

  /** Drops and current receive-queue bytes of the UDP sockets bound to {@code port}. */
  record SocketStats(int sockets, long drops, long rxQueueBytes) {}

  /** Sums /proc/net/udp and /proc/net/udp6 over every socket whose local port is {@code port}. */
  static SocketStats udpSockets(int port) throws IOException {
    String hexPort = String.format(":%04X", port);
    int sockets = 0;
    long drops = 0;
    long rx = 0;
    for (String file : List.of("/proc/net/udp", "/proc/net/udp6")) {
      Path p = Path.of(file);
      if (!Files.exists(p)) {
        continue;
      }
      for (String line : Files.readAllLines(p)) {
        String[] f = line.trim().split("\\s+");
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
        if (f.length < 13 || !f[1].endsWith(hexPort)) {
          continue;
        }
        sockets++;
        drops += Long.parseLong(f[f.length - 1]);
        String[] txrx = f[4].split(":");
        rx += Long.parseLong(txrx[1], 16);
      }
    }
    return new SocketStats(sockets, drops, rx);
  }

  /** utime + stime of a process (all its threads, dead ones included), in nanoseconds. */
  public static long processCpuNanos(long pid) throws IOException {
    return statCpuNanos(Files.readString(Path.of("/proc/" + pid + "/stat")));
  }

  /**
   * CPU nanoseconds per live thread group of a process: thread names with digits replaced by
   * {@code #} (so {@code GC Thread#0} and {@code GC Thread#1} add up). Threads that ended are not
   * listed (their time is still in {@link #processCpuNanos}).
   */
  public static Map<String, Long> threadCpuNanos(long pid) throws IOException {
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

  private static long statCpuNanos(String stat) {
    // Fields after the command name, which may hold spaces: state is [0], utime [11], stime [12].
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
    return ticks * 1_000_000_000L / CLK_TCK;
  }

  /** Machine-wide CPU time from /proc/stat: {busy, total} in nanoseconds (busy excludes idle and iowait). */
  public static long[] machineCpuNanos() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
      if (line.startsWith("cpu ")) {
        String[] f = line.trim().split("\\s+");
        long total = 0;
        for (int i = 1; i < f.length && i <= 8; i++) { // user nice system idle iowait irq softirq steal
          total += Long.parseLong(f[i]);
        }
        long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
        long scale = 1_000_000_000L / CLK_TCK;
        return new long[] {(total - idle) * scale, total * scale};
      }
    }
    throw new IOException("/proc/stat has no cpu line");
  }
}
