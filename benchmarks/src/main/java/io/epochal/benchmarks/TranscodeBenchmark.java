package io.epochal.benchmarks;

import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobBatch;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.SealedBlob;
import io.epochal.format.codec.DatagramStrings;
import io.epochal.format.datagram.DatagramFormat;
import io.epochal.format.datagram.DatagramReader;
import io.epochal.format.datagram.DatagramWriter;
import io.epochal.format.reference.ReferenceEvents;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The aggregator's batching work in-process, datagram bytes to sealed blobs, in events per second on
 * one thread: one op takes the {@value BenchmarkData#MIX_EVENTS} events of one second of the
 * reference mix (seed {@value BenchmarkData#SEED}), packed as the emitter packs them into datagrams
 * of {@code datagramBytes}, through a {@link DatagramReader} into one {@link BlobBatch} per (type,
 * subtype), and seals every batch (zstd {@code level}, 500 KB blobs, the encoder reused across ops
 * as the aggregator reuses it).
 *
 * <ul>
 *   <li>{@link #decodeEncode} (the baseline, the aggregator's path until issue 3): {@link
 *       DatagramReader#read} decodes every event into a map, {@link BlobBatch#add} encodes it again;
 *   <li>{@link #transcode}: {@link DatagramReader#readRecords} hands each event on encoded and {@link
 *       BlobBatch#addEncoded} copies it into the blob payload without building a map.
 * </ul>
 *
 * <p>Both produce the same blob bytes (checked in setup). Sealed blobs go to a {@link Blackhole}.
 * Time spent outside the batcher (receive queue, spool, metrics) is not measured here. The
 * secondary results {@code cpuNanos} and {@code events} give the benchmark thread's CPU time per
 * event ({@link ThreadMXBean}), which depends much less than the score on what else runs on the
 * machine.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Threads(1)
@OperationsPerInvocation(BenchmarkData.MIX_EVENTS)
public class TranscodeBenchmark {

  /** CPU time of the benchmark thread, per event. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Cpu {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    /** CPU nanoseconds of the benchmark thread in the measured ops (JMH sums it over iterations). */
    public long cpuNanos;
    /** Events processed by those ops; {@code cpuNanos / events} is the CPU cost per event. */
    public long events;
    private long start;

    @Setup(Level.Iteration)
    public void reset() {
      cpuNanos = 0;
      events = 0;
    }

    @Setup(Level.Invocation)
    public void before() {
      start = THREADS.getCurrentThreadCpuTime();
    }

    @TearDown(Level.Invocation)
    public void after() {
      cpuNanos += THREADS.getCurrentThreadCpuTime() - start;
      events += BenchmarkData.MIX_EVENTS;
    }
  }

  /** One second of datagrams, and an encoder with the configuration under test. */
  @State(Scope.Thread)
  public static class Second {
    /** Emitter datagram size (the emitter's default is 8192). */
    @Param({"8192"})
    int datagramBytes;

    /** zstd level of the blobs. */
    @Param({"3"})
    int level;

    /** Whether the payload is compressed at all (false isolates the encoding work). */
    @Param({"true"})
    boolean compress;

    List<byte[]> datagrams;
    BlobEncoder encoder;
    final DatagramReader reader = new DatagramReader();
    final Map<Tags, BlobBatch> batches = new HashMap<>();

    @Setup(Level.Trial)
    public void setUp() throws FormatException {
      datagrams = datagrams(datagramBytes);
      encoder = BenchmarkData.encoder(true, compress, level);
      List<SealedBlob> a = new ArrayList<>();
      List<SealedBlob> b = new ArrayList<>();
      decodeEncode(this, a::add);
      transcode(this, b::add);
      if (a.size() != b.size()) {
        throw new IllegalStateException("the two paths cut " + a.size() + " and " + b.size() + " blobs");
      }
      for (int i = 0; i < a.size(); i++) {
        if (!Arrays.equals(a.get(i).bytes(), b.get(i).bytes())) {
          throw new IllegalStateException("blob " + i + " differs between the two paths");
        }
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      encoder.close();
    }

    BlobBatch batch(Tags tags) {
      return batches.computeIfAbsent(tags, encoder::newBatch);
    }

    void sealAll(java.util.function.Consumer<SealedBlob> out) {
      for (BlobBatch batch : batches.values()) {
        batch.seal().forEach(out);
      }
      batches.clear();
    }
  }

  /** The reference mix of one second as v1 datagrams of at most {@code datagramBytes}, as the emitter packs them. */
  static List<byte[]> datagrams(int datagramBytes) {
    return datagrams(datagramBytes, DatagramFormat.VERSION);
  }

  /** The reference mix of one second as datagrams of {@code version} and at most {@code datagramBytes}, as the emitter packs them. */
  static List<byte[]> datagrams(int datagramBytes, int version) {
    return datagrams(datagramBytes, version, BenchmarkData.MIX_EVENTS);
  }

  /** {@code events} events of the reference mix as datagrams of {@code version} and at most {@code datagramBytes}. */
  static List<byte[]> datagrams(int datagramBytes, int version, int events) {
    DatagramWriter w = new DatagramWriter(datagramBytes, version);
    List<byte[]> out = new ArrayList<>();
    for (ReferenceEvents.Event e : new ReferenceEvents(BenchmarkData.SEED).next(events)) {
      if (!w.tryAdd(BenchmarkData.EPOCH, BenchmarkData.DC, e.type(), e.subtype(), e.fields())) {
        out.add(Arrays.copyOf(w.buffer(), w.finish()));
        w.clear();
        if (!w.tryAdd(BenchmarkData.EPOCH, BenchmarkData.DC, e.type(), e.subtype(), e.fields())) {
          throw new IllegalStateException("a reference event does not fit in a datagram");
        }
      }
    }
    out.add(Arrays.copyOf(w.buffer(), w.finish()));
    return out;
  }

  private static void decodeEncode(Second s, java.util.function.Consumer<SealedBlob> out) throws FormatException {
    DatagramReader.Sink sink = new DatagramReader.Sink() {
      @Override
      public void event(Tags tags, Map<String, Object> event) {
        s.batch(tags).add(event);
      }

      @Override
      public void invalidEvent(FormatException e) {
        throw new IllegalStateException(e);
      }
    };
    for (byte[] d : s.datagrams) {
      s.reader.read(d, 0, d.length, sink);
    }
    s.sealAll(out);
  }

  private static void transcode(Second s, java.util.function.Consumer<SealedBlob> out) throws FormatException {
    DatagramReader.RecordSink sink = new DatagramReader.RecordSink() {
      @Override
      public void record(Tags tags, byte[] buf, int off, int len, DatagramStrings strings) throws FormatException {
        s.batch(tags).addEncoded(buf, off, len, strings);
      }

      @Override
      public void invalidEvent(FormatException e) {
        throw new IllegalStateException(e);
      }
    };
    for (byte[] d : s.datagrams) {
      s.reader.readRecords(d, 0, d.length, sink);
    }
    s.sealAll(out);
  }

  /** Baseline: decode every event into a map, encode the map into its blob batch. */
  @Benchmark
  public void decodeEncode(Second s, Cpu cpu, Blackhole bh) throws FormatException {
    decodeEncode(s, bh::consume);
  }

  /** Transcode every event from the datagram into its blob batch. */
  @Benchmark
  public void transcode(Second s, Cpu cpu, Blackhole bh) throws FormatException {
    transcode(s, bh::consume);
  }
}
