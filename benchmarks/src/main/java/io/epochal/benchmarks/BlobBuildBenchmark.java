package io.epochal.benchmarks;

import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.SealedBlob;
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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Blob build throughput: how fast one batch (the {@value BenchmarkData#BATCH_EVENTS} {@code
 * WEB/app} events of one second, {@link BenchmarkData#webAppBatch()}) becomes stored bytes.
 *
 * <ul>
 *   <li>{@link #epochalBlob}: {@link BlobEncoder#encode} with string de-duplication on or off and
 *       zstd at {@code level} (blobs cut at 500 KB, CRC32C included), the encoder reused across
 *       batches as the aggregator reuses it (in steady state one blob per batch);
 *   <li>{@link #baselineJsonGzip} (the baseline): Jackson {@code writeValueAsBytes} of each event as
 *       a JSON line, all lines through one {@code GZIPOutputStream} at its default level ({@link
 *       JsonGzipBaseline#encode}).
 * </ul>
 *
 * <p>Primary score: batches per second (one op builds the whole batch). The secondary {@code
 * events} counter gives events per second. Only {@link #epochalBlob} is parameterised, so the
 * baseline runs once per run, side by side with every configuration. Compare sizes with {@link
 * BlobSizeReport}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class BlobBuildBenchmark {

  /** The batch, generated once per trial. */
  @State(Scope.Thread)
  public static class Batch {
    List<Map<String, Object>> events;

    @Setup(Level.Trial)
    public void setUp() {
      events = BenchmarkData.webAppBatch();
    }
  }

  /** A reused blob encoder with the configuration under test. */
  @State(Scope.Thread)
  public static class Epochal {
    /** zstd compression level. */
    @Param({"1", "3", "6", "9"})
    int level;

    /** Whether repeated strings become back-references. */
    @Param({"true", "false"})
    boolean dedupe;

    BlobEncoder encoder;

    @Setup(Level.Trial)
    public void setUp() {
      encoder = BenchmarkData.encoder(dedupe, true, level);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      encoder.close();
    }
  }

  /** The JSON + gzip baseline codec. */
  @State(Scope.Thread)
  public static class Baseline {
    final JsonGzipBaseline codec = new JsonGzipBaseline();
  }

  /** Events built, reported as a rate (events/s) next to the batches/s score. */
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  @State(Scope.Thread)
  public static class Counters {
    public long events;

    @Setup(Level.Iteration)
    public void reset() {
      events = 0;
    }
  }

  /** One batch as Epochal blobs; returns the blobs so that the work cannot be eliminated. */
  @Benchmark
  public List<SealedBlob> epochalBlob(Batch batch, Epochal epochal, Counters counters) {
    List<SealedBlob> blobs = epochal.encoder.encode(BenchmarkData.WEB_APP, batch.events);
    for (SealedBlob b : blobs) {
      counters.events += b.eventCount();
    }
    return blobs;
  }

  /** Baseline: one batch as JSON lines in one gzip stream. */
  @Benchmark
  public byte[] baselineJsonGzip(Batch batch, Baseline baseline, Counters counters) {
    byte[] gz = baseline.codec.encode(batch.events);
    counters.events += batch.events.size();
    return gz;
  }
}
