package io.epochal.benchmarks;

import io.epochal.emitter.EmitterStats;
import io.epochal.emitter.EventEmitter;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of {@link EventEmitter#emit(Map)} on the caller's thread, in nanoseconds per event: {@link
 * Mode#SampleTime} gives the distribution (p50/p90/p99/p99.9), {@link Mode#AverageTime} the mean.
 * This is what an application pays per event; the emitter's sender thread and the network are off
 * that path (they still compete for the CPU, so keep the machine otherwise idle).
 *
 * <ul>
 *   <li>{@link #emit}: one caller thread, for each datagram {@code version}; {@link #emitTwoThreads}: two caller threads sharing one
 *       emitter (lock contention on the open datagram);
 *   <li>{@link #baselineJsonUdp} (the baseline): a naive JSON-over-UDP emitter on the caller thread,
 *       Jackson {@code writeValueAsBytes} of the event and one blocking {@code write} of a datagram
 *       per event, as simple statsd/GELF-style clients do.
 * </ul>
 *
 * <p>The receiver is a real {@link DatagramChannel} bound to 127.0.0.1 on an ephemeral port, drained
 * by a background thread so that the emitter is not dropping. Events cycle through {@value
 * #EVENTS} pre-generated {@code WEB/app} reference events. At the end of each trial the emitter's
 * counters (emitted, sent, dropped by reason) and the datagrams received are printed. Callers emit
 * back to back, far above any real per-process rate, so the emitter's sender thread and the drain
 * thread must keep up with them: they need about one core between them. With fewer spare cores the
 * emitter drops ({@code buffer_full}) part of the events and the trial partly measures the
 * (slightly cheaper) drop path, which the printed warning flags; the tail percentiles then also
 * include preemption by those threads. Run {@link #emitTwoThreads} on four cores or more.
 */
@BenchmarkMode({Mode.SampleTime, Mode.AverageTime})
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class EmitBenchmark {
  /** Pre-generated events cycled through (a power of two). */
  static final int EVENTS = 1024;

  /** The reference events, shared read-only by all caller threads. */
  private static final List<Map<String, Object>> REFERENCE = BenchmarkData.webEvents(BenchmarkData.SEED, EVENTS);

  /** Per-thread position in the event array. */
  @State(Scope.Thread)
  public static class Cursor {
    private int next;

    Map<String, Object> nextEvent() {
      Map<String, Object> e = REFERENCE.get(next);
      next = (next + 1) & (EVENTS - 1);
      return e;
    }
  }

  /** A receiver and an emitter pointed at it, shared by all caller threads of a trial. */
  @State(Scope.Benchmark)
  public static class Emitter {
    /** Datagram format the emitter writes: 2 (string section, the default) or 1 (every string spelled out). */
    @Param({"2", "1"})
    int version;

    UdpSink sink;
    EventEmitter emitter;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
      sink = new UdpSink();
      emitter =
          EventEmitter.builder()
              .aggregator("127.0.0.1", sink.port())
              .dc(BenchmarkData.DC)
              .type("WEB")
              .subtype("app")
              .datagramVersion(version)
              .build();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
      emitter.close(); // sends what is buffered
      sink.awaitQuiet();
      EmitterStats s = emitter.stats();
      System.out.printf(
          "%nemitter: emitted=%d sent=%d datagrams=%d bytes=%d dropped=%d %s; receiver: datagrams=%d bytes=%d%n",
          s.emitted(), s.sent(), s.datagrams(), s.bytes(), s.droppedTotal(), s.dropped(),
          sink.datagrams(), sink.bytes());
      if (s.droppedTotal() > 0) {
        System.out.printf(
            "WARNING: the emitter dropped %d of %d events (%.4f%%); this trial partly measured the drop path%n",
            s.droppedTotal(), s.emitted(), 100.0 * s.droppedTotal() / Math.max(1, s.emitted()));
      }
      sink.close();
    }
  }

  /** Baseline: a receiver and a connected blocking channel to it, plus Jackson. */
  @State(Scope.Benchmark)
  public static class NaiveJson {
    UdpSink sink;
    DatagramChannel channel;
    final JsonGzipBaseline json = new JsonGzipBaseline();
    long sent;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
      sink = new UdpSink();
      channel = DatagramChannel.open(StandardProtocolFamily.INET);
      channel.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
      channel.connect(new InetSocketAddress("127.0.0.1", sink.port()));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException, InterruptedException {
      channel.close();
      sink.awaitQuiet();
      System.out.printf(
          "%nnaive JSON/UDP: sent=%d; receiver: datagrams=%d bytes=%d%n", sent, sink.datagrams(), sink.bytes());
      sink.close();
    }
  }

  /** One event through the emitter, one caller thread. */
  @Benchmark
  @Threads(1)
  public void emit(Emitter state, Cursor cursor) {
    state.emitter.emit(cursor.nextEvent());
  }

  /** One event through the emitter, two caller threads sharing it. */
  @Benchmark
  @Threads(2)
  public void emitTwoThreads(Emitter state, Cursor cursor) {
    state.emitter.emit(cursor.nextEvent());
  }

  /** Baseline: serialize the event to JSON and send it as its own datagram, on the caller thread. */
  @Benchmark
  @Threads(1)
  public int baselineJsonUdp(NaiveJson state, Cursor cursor) throws IOException {
    int n = state.channel.write(ByteBuffer.wrap(state.json.json(cursor.nextEvent())));
    state.sent++;
    return n;
  }

  /**
   * The receiving end: a {@link DatagramChannel} bound to 127.0.0.1 on an ephemeral port with a
   * large receive buffer, drained (and counted, not decoded) by a daemon thread until closed.
   */
  static final class UdpSink {
    private final DatagramChannel channel;
    private final Thread drainer;
    private volatile long datagrams;
    private volatile long bytes;

    UdpSink() throws IOException {
      channel = DatagramChannel.open(StandardProtocolFamily.INET);
      // The kernel caps this at net.core.rmem_max; datagrams it cannot queue are lost (and not counted).
      channel.setOption(StandardSocketOptions.SO_RCVBUF, 8 << 20);
      channel.bind(new InetSocketAddress("127.0.0.1", 0));
      drainer = new Thread(this::drain, "udp-sink-drainer");
      drainer.setDaemon(true);
      drainer.start();
    }

    int port() {
      try {
        return ((InetSocketAddress) channel.getLocalAddress()).getPort();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }

    long datagrams() {
      return datagrams;
    }

    long bytes() {
      return bytes;
    }

    private void drain() {
      ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
      try {
        while (true) {
          buf.clear();
          channel.receive(buf);
          // Single writer: plain increments of volatile fields are safe here.
          datagrams = datagrams + 1;
          bytes = bytes + buf.position();
        }
      } catch (ClosedChannelException e) {
        // closed by close(): done
      } catch (IOException e) {
        System.err.println("udp sink failed: " + e);
      }
    }

    /** Waits until no datagram has arrived for 100 ms (at most 5 s), so the counts are final. */
    void awaitQuiet() throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      long seen = -1;
      while (datagrams != seen && System.nanoTime() < deadline) {
        seen = datagrams;
        Thread.sleep(100);
      }
    }

    /** Closes the channel, which ends the drain thread. */
    void close() throws InterruptedException {
      try {
        channel.close();
      } catch (IOException e) {
        System.err.println("closing udp sink failed: " + e);
      }
      drainer.join(1_000);
    }
  }
}
