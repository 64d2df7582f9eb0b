package io.epochal.benchmarks;

import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobBatch;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.SealedBlob;
import io.epochal.format.codec.DatagramStrings;
import io.epochal.format.datagram.DatagramFormat;
import io.epochal.format.datagram.DatagramReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@link TranscodeBenchmark}'s paths on one thread, alternating op by op, in thread CPU time per
 * event: on a machine shared with other work all paths see the same contention, so their ratios
 * are meaningful even when the JMH scores of separate forks are not.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.TranscodeRatio [rounds] [zstd level] [datagram bytes] [events per op]
 * </pre>
 *
 * <p>Each round runs one op of each path (one second of the reference mix, {@value
 * BenchmarkData#MIX_EVENTS} events unless given, to sealed blobs; the aggregator's seconds at
 * 200,000 events/s fill blobs, and their string tables, 20 times fuller): decode + encode of v1 datagrams (the baseline
 * of issue 3), transcoding v1 datagrams, transcoding v2 datagrams (string section per datagram).
 * The first quarter of the rounds is warm-up. Prints the datagram bytes per event of each version,
 * then CPU ns per event of each path with compression and without; all paths must give the same
 * blob bytes.
 */
public final class TranscodeRatio {
  private TranscodeRatio() {}

  /** Events per op. */
  private static int events;

  private static final String[] PATHS = {"decode+encode v1", "transcode v1", "transcode v2"};

  public static void main(String[] args) throws FormatException {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 400;
    int level = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int datagramBytes = args.length > 2 ? Integer.parseInt(args[2]) : 8192;
    events = args.length > 3 ? Integer.parseInt(args[3]) : BenchmarkData.MIX_EVENTS;
    List<byte[]> v1 = TranscodeBenchmark.datagrams(datagramBytes, DatagramFormat.VERSION, events);
    List<byte[]> v2 = TranscodeBenchmark.datagrams(datagramBytes, DatagramFormat.VERSION_2, events);
    System.out.printf(Locale.ROOT, "datagrams of %d bytes: v1 %d datagrams, %.1f bytes/event; v2 %d datagrams, %.1f bytes/event%n",
        datagramBytes, v1.size(), bytes(v1) / (double) events,
        v2.size(), bytes(v2) / (double) events);
    for (boolean compress : new boolean[] {true, false}) {
      long[] cpu = run(v1, v2, rounds, level, compress);
      double n = (rounds - rounds / 4) * (double) events;
      StringBuilder line = new StringBuilder("zstd " + (compress ? "level " + level : "off") + ":");
      for (int p = 0; p < PATHS.length; p++) {
        line.append(String.format(Locale.ROOT, " %s %.0f ns/event%s", PATHS[p], cpu[p] / n, p < PATHS.length - 1 ? "," : ""));
      }
      line.append(String.format(Locale.ROOT, "; v2 vs transcode v1 %.2fx, vs decode+encode %.2fx",
          (double) cpu[1] / cpu[2], (double) cpu[0] / cpu[2]));
      System.out.println(line);
    }
  }

  private static long bytes(List<byte[]> datagrams) {
    return datagrams.stream().mapToLong(d -> d.length).sum();
  }

  private static long[] run(List<byte[]> v1, List<byte[]> v2, int rounds, int level, boolean compress)
      throws FormatException {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long[] cpu = new long[PATHS.length];
    long[] pathBytes = new long[PATHS.length];
    BlobEncoder[] encoders = new BlobEncoder[PATHS.length];
    try {
      for (int p = 0; p < PATHS.length; p++) {
        encoders[p] = BenchmarkData.encoder(true, compress, level);
      }
      DatagramReader reader = new DatagramReader();
      for (int round = 0; round < rounds; round++) {
        for (int path = 0; path < PATHS.length; path++) {
          BlobEncoder enc = encoders[path];
          long start = threads.getCurrentThreadCpuTime();
          Map<Tags, BlobBatch> batches = new HashMap<>();
          if (path == 0) {
            DatagramReader.Sink sink = new DatagramReader.Sink() {
              @Override
              public void event(Tags tags, Map<String, Object> event) {
                batches.computeIfAbsent(tags, enc::newBatch).add(event);
              }

              @Override
              public void invalidEvent(FormatException e) {
                throw new IllegalStateException(e);
              }
            };
            for (byte[] d : v1) {
              reader.read(d, 0, d.length, sink);
            }
          } else {
            DatagramReader.RecordSink sink = new DatagramReader.RecordSink() {
              @Override
              public void record(Tags tags, byte[] buf, int off, int len, DatagramStrings strings) throws FormatException {
                batches.computeIfAbsent(tags, enc::newBatch).addEncoded(buf, off, len, strings);
              }

              @Override
              public void invalidEvent(FormatException e) {
                throw new IllegalStateException(e);
              }
            };
            for (byte[] d : path == 1 ? v1 : v2) {
              reader.readRecords(d, 0, d.length, sink);
            }
          }
          for (BlobBatch batch : batches.values()) {
            for (SealedBlob s : batch.seal()) {
              pathBytes[path] += s.bytes().length;
            }
          }
          if (round >= rounds / 4) {
            cpu[path] += threads.getCurrentThreadCpuTime() - start;
          }
        }
      }
    } finally {
      for (BlobEncoder e : encoders) {
        if (e != null) {
          e.close();
        }
      }
    }
    if (pathBytes[0] == 0 || pathBytes[1] != pathBytes[0] || pathBytes[2] != pathBytes[0]) {
      throw new IllegalStateException("the paths gave different blob bytes: " + java.util.Arrays.toString(pathBytes));
    }
    System.out.printf(Locale.ROOT, "blob bytes/event (every path): %.2f%n", pathBytes[0] / (rounds * (double) events));
    return cpu;
  }
}
