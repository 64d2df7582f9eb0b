package io.epochal.benchmarks;

import io.epochal.format.FormatException;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.BlobReader;
import io.epochal.format.blob.EventCursor;
import io.epochal.format.blob.SealedBlob;
import io.epochal.format.codec.EventVisitor;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 * Blob read throughput on one thread, in events per second: every op reads the whole batch (the
 * {@value BenchmarkData#BATCH_EVENTS} {@code WEB/app} events of {@link
 * BenchmarkData#webAppBatch()}), and {@link OperationsPerInvocation} turns the score into events/s.
 *
 * <ul>
 *   <li>{@link #epochalBlob}: for each blob of the batch (built in setup by a warmed-up encoder with
 *       de-duplication {@code dedupe} and zstd {@code level}; one blob in steady state), {@link
 *       BlobReader#open} (CRC32C check, header), {@code cursor()} (zstd decompression) and decoding
 *       every event into a {@code Map}; the reader (its zstd context) is reused, as a consumer
 *       would;
 *   <li>{@link #baselineJsonGzip} (the baseline): gunzip the JSON-lines stream and parse every line
 *       into a {@code Map} with Jackson ({@link JsonGzipBaseline#decode}).
 * </ul>
 *
 * <p>Every decoded map goes to a {@link Blackhole}. Only {@link #epochalBlob} is parameterised.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Threads(1)
public class BlobReadBenchmark {

  /** The batch as Epochal blobs, and a reused reader. */
  @State(Scope.Thread)
  public static class Epochal {
    /** zstd level the blobs were written with (affects the ratio far more than read speed). */
    @Param({"3"})
    int level;

    /** Whether the blobs use string back-references. */
    @Param({"true", "false"})
    boolean dedupe;

    List<byte[]> blobs;
    BlobReader reader;

    @Setup(Level.Trial)
    public void setUp() {
      try (BlobEncoder encoder = BenchmarkData.encoder(dedupe, true, level)) {
        blobs =
            BenchmarkData.steadyStateBlobs(encoder, BenchmarkData.WEB_APP, BenchmarkData.webAppBatch()).stream()
                .map(SealedBlob::bytes)
                .toList();
      }
      reader = new BlobReader();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      reader.close();
    }
  }

  /** The batch as gzipped JSON lines. */
  @State(Scope.Thread)
  public static class Baseline {
    final JsonGzipBaseline codec = new JsonGzipBaseline();
    byte[] gzipped;

    @Setup(Level.Trial)
    public void setUp() {
      gzipped = codec.encode(BenchmarkData.webAppBatch());
    }
  }

  /** Verify, decompress and decode every event of the batch's blobs. */
  @Benchmark
  @OperationsPerInvocation(BenchmarkData.BATCH_EVENTS)
  public void epochalBlob(Epochal epochal, Blackhole bh) throws FormatException {
    int n = 0;
    for (byte[] bytes : epochal.blobs) {
      EventCursor cursor = epochal.reader.open(bytes).cursor();
      while (cursor.hasNext()) {
        bh.consume(cursor.next());
        n++;
      }
    }
    checkCount(n);
  }

  /**
   * Verify, decompress and hand every key and value of every event to an {@link EventVisitor}
   * (no map per event); the visitor folds every value into a checksum, so none is dead code.
   */
  @Benchmark
  @OperationsPerInvocation(BenchmarkData.BATCH_EVENTS)
  public long epochalVisit(Epochal epochal) throws FormatException {
    int n = 0;
    ChecksumVisitor v = new ChecksumVisitor();
    for (byte[] bytes : epochal.blobs) {
      EventCursor cursor = epochal.reader.open(bytes).cursor();
      while (cursor.hasNext()) {
        cursor.visitNext(v);
        n++;
      }
    }
    checkCount(n);
    return v.sum;
  }

  /** Verify and decompress only: the floor under both decoding benchmarks. */
  @Benchmark
  @OperationsPerInvocation(BenchmarkData.BATCH_EVENTS)
  public int epochalDecompressOnly(Epochal epochal) throws FormatException {
    int n = 0;
    for (byte[] bytes : epochal.blobs) {
      epochal.reader.open(bytes).cursor();
      n += epochal.reader.open(bytes).eventCount();
    }
    return n;
  }

  /** Folds every key and value into {@link #sum}: what a consumer that looks at every field does at least. */
  public static final class ChecksumVisitor implements EventVisitor {
    public long sum;

    @Override
    public void beginMap(int size) {
      sum += size;
    }

    @Override
    public void key(String key) {
      sum = sum * 31 + key.length();
    }

    @Override
    public void beginList(int size) {
      sum += size;
    }

    @Override
    public void nullValue() {
      sum++;
    }

    @Override
    public void booleanValue(boolean value) {
      sum += value ? 3 : 5;
    }

    @Override
    public void longValue(long value) {
      sum += value;
    }

    @Override
    public void doubleValue(double value) {
      sum += Double.doubleToRawLongBits(value);
    }

    @Override
    public void stringValue(String value) {
      sum = sum * 31 + value.length();
    }

    @Override
    public void bytesValue(byte[] bytes, int off, int len) {
      sum += len;
    }
  }

  /** Baseline: gunzip and parse every JSON line of the batch. */
  @Benchmark
  @OperationsPerInvocation(BenchmarkData.BATCH_EVENTS)
  public void baselineJsonGzip(Baseline baseline, Blackhole bh) {
    checkCount(baseline.codec.decode(baseline.gzipped, bh::consume));
  }

  /** Guards against measuring a short read: the score assumes a full batch per op. */
  private static void checkCount(int n) {
    if (n != BenchmarkData.BATCH_EVENTS) {
      throw new IllegalStateException("read " + n + " events, expected " + BenchmarkData.BATCH_EVENTS);
    }
  }
}
