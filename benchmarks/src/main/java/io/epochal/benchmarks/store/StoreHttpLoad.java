package io.epochal.benchmarks.store;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * PUT and GET MB/s of 400 KiB values against a real event-store node on loopback, with the disk's
 * own speed for the same bytes measured in the same run by {@code dd}.
 *
 * <pre>
 * ./mvnw -q -pl benchmarks -am package -DskipTests
 * java -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.store.StoreHttpLoad \
 *     --connections 4 --puts 2500 --rounds 3 --seconds 30 --dir /tmp/sb
 * </pre>
 *
 * <p>The node runs in a child JVM ({@link StoreChild}, {@code -Xms2g -Xmx2g} unless {@code --heap},
 * defaults except {@code data-dir} and {@code http-port=0}; {@code --set key=value} adds settings)
 * with a fresh data directory under {@code --dir}. The harness sets bucket {@code bench} to {@code
 * n_val 1} through {@code PUT /buckets/bench/props}, warms up, then runs, each phase after a
 * {@code sync} so it starts with no dirty pages:
 *
 * <ol>
 *   <li>{@code PUT ?dw=0} of {@code --puts} new keys (acknowledged before any fsync; the node's
 *       interval sync runs in the background) over {@code --connections} keep-alive connections,
 *       then {@code dd bs=400k count=<puts done>} into the same directory: the page-cache write
 *       rate of the same bytes;
 *   <li>{@code PUT ?dw=1} of {@code --puts} more keys (each acknowledged after its partition's
 *       fsync, group-committed), then the same {@code dd} with {@code conv=fdatasync};
 * </ol>
 *
 * <p>Both repeat {@code --rounds} times (the disk is shared: the same-round ratio is the figure),
 * then {@code GET} of random keys of round 1's {@code dw=0} phase (in the page cache) runs for
 * {@code --get-seconds} (default {@code --seconds}; 0 skips it). {@code --jfr FILE} records the
 * node with JFR's {@code profile} settings.
 *
 * <p>Every phase is bounded by both its count and {@code --seconds}. The client is a minimal
 * blocking HTTP/1.1 client (one thread per connection, one request in flight per connection, the
 * response body drained into a reused direct buffer), so the client costs little CPU beside the
 * node on a small machine; both processes' CPU seconds are reported per phase.
 */
public final class StoreHttpLoad {
  private static final String BUCKET = "bench";

  private StoreHttpLoad() {}

  public static void main(String[] argv) throws Exception {
    int valueBytes = 409_600;
    int connections = 4;
    int puts = 5000;
    int seconds = 30;
    String heap = "2g";
    Path base = Path.of(System.getProperty("java.io.tmpdir"));
    List<String> settings = new ArrayList<>();
    String jfr = null;
    int rounds = 1;
    int getSeconds = -1;
    for (int i = 0; i < argv.length; i++) {
      switch (argv[i]) {
        case "--value-bytes" -> valueBytes = Integer.parseInt(argv[++i]);
        case "--connections" -> connections = Integer.parseInt(argv[++i]);
        case "--puts" -> puts = Integer.parseInt(argv[++i]);
        case "--seconds" -> seconds = Integer.parseInt(argv[++i]);
        case "--heap" -> heap = argv[++i];
        case "--dir" -> base = Path.of(argv[++i]);
        case "--set" -> settings.add(argv[++i]);
        case "--jfr" -> jfr = argv[++i];
        case "--rounds" -> rounds = Integer.parseInt(argv[++i]);
        case "--get-seconds" -> getSeconds = Integer.parseInt(argv[++i]);
        default -> throw new IllegalArgumentException("unknown option " + argv[i] + " (known: --value-bytes, "
            + "--connections, --puts, --rounds, --seconds, --get-seconds, --heap, --dir, --set key=value, --jfr FILE)");
      }
    }
    final int vb = valueBytes;
    Files.createDirectories(base);
    Path work = Files.createTempDirectory(base, "epochal-http-");
    Path data = work.resolve("data");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xms" + heap, "-Xmx" + heap));
    if (jfr != null) {
      cmd.add("-XX:StartFlightRecording=filename=" + jfr + ",settings=profile");
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), StoreChild.class.getName(),
        "data-dir=" + data, "http-port=0"));
    cmd.addAll(settings);
    Process child = new ProcessBuilder(cmd).redirectError(work.resolve("node.err").toFile()).start();
    Thread killer = new Thread(child::destroyForcibly, "kill-node");
    Runtime.getRuntime().addShutdownHook(killer);
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII));
      String line = out.readLine();
      while (line != null && !line.startsWith("port ")) { // JFR's start-up notice, for one
        line = out.readLine();
      }
      if (line == null || !line.startsWith("port ")) {
        throw new IllegalStateException("node did not start (" + line + "); see " + work.resolve("node.err"));
      }
      int port = Integer.parseInt(line.substring(5).trim());
      InetSocketAddress addr = new InetSocketAddress("127.0.0.1", port);
      System.out.printf(Locale.ROOT, "node pid %d on port %d, data %s; %d connections, %,d-byte values, "
          + "nproc %d%n", child.pid(), port, data, connections, valueBytes, Runtime.getRuntime().availableProcessors());
      System.out.println("node settings: " + cmd.subList(cmd.indexOf(StoreChild.class.getName()) + 1, cmd.size()));

      try (Conn c = new Conn(addr)) {
        byte[] props = "{\"props\":{\"n_val\":1}}".getBytes(StandardCharsets.UTF_8);
        int st = c.request(("PUT /buckets/" + BUCKET + "/props HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            + "application/json\r\nContent-Length: " + props.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII),
            ByteBuffer.wrap(props));
        if (st != 204 && st != 200) {
          throw new IllegalStateException("PUT props: HTTP " + st);
        }
      }
      ByteBuffer value = ByteBuffer.allocateDirect(valueBytes);
      SplittableRandom r = new SplittableRandom(42);
      while (value.hasRemaining()) {
        value.put((byte) r.nextInt(256));
      }
      value.flip();

      Proc node = new Proc(child.pid());
      System.out.println();
      System.out.println("| phase | requests | errors | MB | seconds | MB/s | p50 ms | p99 ms | node CPU s | harness CPU s |");
      System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
      // warm-up: JIT of both sides, not reported
      run("warm-up PUT", addr, connections, 400, 10, valueBytes, node, false, i -> put("w", i, 0, vb), value);
      run("warm-up GET", addr, connections, 2000, 10, valueBytes, node, false, i -> get("w", i % 400), null);

      long keys = 0;
      List<double[]> ratios = new ArrayList<>();
      for (int round = 1; round <= rounds; round++) {
        String a = "a" + round;
        String b = "b" + round;
        sync();
        Result p0 = run("PUT dw=0 (round " + round + ")", addr, connections, puts, seconds, vb, node, true,
            i -> put(a, i, 0, vb), value);
        sync();
        double d0 = dd(work, p0.requests, false);
        sync();
        Result p1 = run("PUT dw=1 (round " + round + ")", addr, connections, puts, seconds, vb, node, true,
            i -> put(b, i, 1, vb), value);
        sync();
        double d1 = dd(work, p1.requests, true);
        ratios.add(new double[] {p0.mbPerSecond() / d0, p1.mbPerSecond() / d1});
        if (round == 1) {
          keys = p0.requests;
        }
      }
      System.out.println();
      for (int i = 0; i < ratios.size(); i++) {
        System.out.printf(Locale.ROOT, "round %d: PUT dw=0 / dd = %.2f, PUT dw=1 / dd conv=fdatasync = %.2f%n", i + 1,
            ratios.get(i)[0], ratios.get(i)[1]);
      }
      System.out.println();
      int n = connections;
      SplittableRandom gr = new SplittableRandom(7);
      long[] order = new long[1 << 16];
      for (int i = 0; i < order.length; i++) {
        order[i] = gr.nextLong(keys);
      }
      if (getSeconds != 0) {
        System.out.println("| phase | requests | errors | MB | seconds | MB/s | p50 ms | p99 ms | node CPU s | harness CPU s |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        run("GET", addr, n, Long.MAX_VALUE, getSeconds < 0 ? seconds : getSeconds, valueBytes, node, true,
            i -> get("a1", order[(int) (i & (order.length - 1))]), null);
      }
    } finally {
      child.getOutputStream().close(); // the node closes itself (fsync every partition)
      if (!child.waitFor(60, TimeUnit.SECONDS)) {
        child.destroyForcibly();
      }
      Runtime.getRuntime().removeShutdownHook(killer);
      Engines.deleteTree(work.resolve("data"));
      System.out.println();
      System.out.println("node log: " + work.resolve("node.err"));
    }
  }

  private static String key(String phase, long i) {
    return "1413813813:1:WEB:app:a7." + phase + "." + i;
  }

  private static byte[] put(String phase, long i, int dw, int valueBytes) {
    return ("PUT /buckets/" + BUCKET + "/keys/" + key(phase, i) + "?dw=" + dw + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "Content-Type: application/x-epochal-blob\r\nContent-Length: " + valueBytes + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] get(String phase, long i) {
    return ("GET /buckets/" + BUCKET + "/keys/" + key(phase, i) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  interface RequestMaker {
    byte[] make(long i);
  }

  record Result(long requests, long errors, long bytes, double seconds) {
    double mbPerSecond() {
      return bytes / 1e6 / seconds;
    }
  }

  private static Result run(String name, InetSocketAddress addr, int connections, long count, int seconds,
      int valueBytes, Proc node, boolean print, RequestMaker maker, ByteBuffer body) throws Exception {
    AtomicLong next = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    AtomicLong bytes = new AtomicLong();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    long[][] lat = new long[connections][];
    int[] latN = new int[connections];
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    Thread[] threads = new Thread[connections];
    long nodeCpu0 = node.cpuTicks();
    long selfCpu0 = Proc.self().cpuTicks();
    long t0 = System.nanoTime();
    for (int t = 0; t < connections; t++) {
      int ti = t;
      lat[t] = new long[1 << 16];
      threads[t] = new Thread(() -> {
        try (Conn c = new Conn(addr)) {
          long i;
          while ((i = next.getAndIncrement()) < count && System.nanoTime() < deadline) {
            byte[] head = maker.make(i);
            long s = System.nanoTime();
            int st = c.request(head, body == null ? null : body.duplicate());
            long d = System.nanoTime() - s;
            if (latN[ti] == lat[ti].length) {
              lat[ti] = Arrays.copyOf(lat[ti], lat[ti].length * 2);
            }
            lat[ti][latN[ti]++] = d;
            if (st / 100 != 2 || (body == null && c.bodyLength != valueBytes)) {
              if (errors.incrementAndGet() <= 3) {
                System.err.println(name + ": HTTP " + st + " body " + c.bodyLength + " for request " + i);
              }
            } else {
              bytes.addAndGet(valueBytes);
            }
          }
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      }, "client-" + t);
      threads[t].start();
    }
    for (Thread t : threads) {
      t.join();
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    double nodeCpu = (node.cpuTicks() - nodeCpu0) / 100.0;
    double selfCpu = (Proc.self().cpuTicks() - selfCpu0) / 100.0;
    if (failure.get() != null) {
      throw new IllegalStateException(name + " failed", failure.get());
    }
    int total = Arrays.stream(latN).sum();
    long[] all = new long[total];
    int at = 0;
    for (int t = 0; t < connections; t++) {
      System.arraycopy(lat[t], 0, all, at, latN[t]);
      at += latN[t];
    }
    Arrays.sort(all);
    Result res = new Result(total, errors.get(), bytes.get(), secs);
    if (print) {
      System.out.printf(Locale.ROOT, "| %s | %,d | %d | %,.0f | %.2f | **%,.0f** | %.1f | %.1f | %.1f | %.1f |%n", name,
          total, errors.get(), bytes.get() / 1e6, secs, bytes.get() / 1e6 / secs, pct(all, 0.5), pct(all, 0.99),
          nodeCpu, selfCpu);
    }
    return res;
  }

  private static double pct(long[] sorted, double p) {
    return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) (p * sorted.length))] / 1e6;
  }

  private static void sync() throws Exception {
    new ProcessBuilder("sync").inheritIO().start().waitFor();
  }

  /** Returns MB/s. */
  private static double dd(Path dir, long count, boolean fdatasync) throws Exception {
    Path f = dir.resolve("dd.bin");
    List<String> cmd = new ArrayList<>(List.of("dd", "if=/dev/zero", "of=" + f, "bs=400k", "count=" + count));
    if (fdatasync) {
      cmd.add("conv=fdatasync");
    }
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    p.waitFor();
    double secs = (System.nanoTime() - t0) / 1e9;
    long bytes = count * 409_600L;
    System.out.printf(Locale.ROOT, "| `%s` | %,d blocks | | %,.0f | %.2f | **%,.0f** | | | | |%n",
        String.join(" ", cmd).replace(dir.toString(), "<dir>"), count, bytes / 1e6, secs, bytes / 1e6 / secs);
    String[] lines = out.split("\n");
    System.err.println("dd: " + lines[lines.length - 1]);
    Files.deleteIfExists(f);
    return bytes / 1e6 / secs;
  }

  /** utime + stime of a process, in clock ticks (USER_HZ = 100 on Linux). */
  record Proc(long pid) {
    static Proc self() {
      return new Proc(ProcessHandle.current().pid());
    }

    long cpuTicks() throws IOException {
      String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }
  }

  /** One keep-alive HTTP/1.1 connection, one request at a time. Not thread-safe. */
  static final class Conn implements AutoCloseable {
    private final SocketChannel ch;
    private final ByteBuffer in = ByteBuffer.allocateDirect(1 << 20);
    private final byte[] headBytes = new byte[16 << 10];
    long bodyLength;

    Conn(InetSocketAddress addr) throws IOException {
      ch = SocketChannel.open(addr);
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
    }

    /** Sends the request (head, then body if any); reads the whole response; returns its status. */
    int request(byte[] head, ByteBuffer body) throws IOException {
      ByteBuffer[] out = body == null ? new ByteBuffer[] {ByteBuffer.wrap(head)}
          : new ByteBuffer[] {ByteBuffer.wrap(head), body};
      while (out[out.length - 1].hasRemaining()) {
        ch.write(out);
      }
      in.clear();
      int headEnd = -1;
      int scanned = 0;
      while (headEnd < 0) {
        if (ch.read(in) < 0) {
          throw new IOException("connection closed by the node");
        }
        int end = Math.min(in.position(), headBytes.length);
        for (int i = Math.max(3, scanned); i < end; i++) {
          if (in.get(i) == '\n' && in.get(i - 1) == '\r' && in.get(i - 2) == '\n' && in.get(i - 3) == '\r') {
            headEnd = i + 1;
            break;
          }
        }
        scanned = end;
        if (headEnd < 0 && end == headBytes.length) {
          throw new IOException("response head longer than " + headBytes.length);
        }
      }
      in.get(0, headBytes, 0, headEnd);
      String h = new String(headBytes, 0, headEnd, StandardCharsets.ISO_8859_1);
      int status = Integer.parseInt(h.substring(9, 12));
      long length = 0;
      String lower = h.toLowerCase(Locale.ROOT);
      int cl = lower.indexOf("\r\ncontent-length:");
      if (cl >= 0) {
        int eol = lower.indexOf("\r\n", cl + 2);
        length = Long.parseLong(lower.substring(cl + 17, eol).trim());
      }
      if (lower.contains("\r\nconnection: close")) {
        throw new IOException("node closed the connection: " + h.substring(0, h.indexOf('\r')));
      }
      long have = in.position() - headEnd;
      while (have < length) {
        in.clear();
        int n = ch.read(in);
        if (n < 0) {
          throw new IOException("connection closed mid-body");
        }
        have += n;
      }
      bodyLength = length;
      return status;
    }

    @Override
    public void close() throws IOException {
      ch.close();
    }
  }
}
