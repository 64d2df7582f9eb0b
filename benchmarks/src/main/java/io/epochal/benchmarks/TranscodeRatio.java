package io.epochal.benchmarks;

import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobBatch;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.SealedBlob;
import io.epochal.format.codec.DatagramStrings;
import io.epochal.format.datagram.DatagramReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@link TranscodeBenchmark}'s two paths on one thread, alternating op by op, in thread CPU time
 * per event: on a machine shared with other work both paths see the same contention, so their
 * ratio is meaningful even when the JMH scores of separate forks are not.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.TranscodeRatio [rounds] [zstd level]
 * </pre>
 *
 * <p>Each round runs one op of each path (one second of the reference mix, {@value
 * BenchmarkData#MIX_EVENTS} events, to sealed blobs); the first quarter of the rounds is warm-up.
 * Prints CPU ns per event of each path and their ratio, with compression and without.
 */
public final class TranscodeRatio {
  private TranscodeRatio() {}

  public static void main(String[] args) throws FormatException {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 400;
    int level = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    List<byte[]> datagrams = TranscodeBenchmark.datagrams(8192);
    for (boolean compress : new boolean[] {true, false}) {
      long[] cpu = run(datagrams, rounds, level, compress);
      double events = (rounds - rounds / 4) * (double) BenchmarkData.MIX_EVENTS;
      System.out.printf(Locale.ROOT,
          "zstd %s: decode+encode %.0f ns/event, transcode %.0f ns/event, ratio %.2f%n",
          compress ? "level " + level : "off", cpu[0] / events, cpu[1] / events, (double) cpu[0] / cpu[1]);
    }
  }

  private static long[] run(List<byte[]> datagrams, int rounds, int level, boolean compress) throws FormatException {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long[] cpu = new long[2];
    long bytes = 0;
    long[] pathBytes = new long[2];
    try (BlobEncoder a = BenchmarkData.encoder(true, compress, level);
        BlobEncoder b = BenchmarkData.encoder(true, compress, level)) {
      DatagramReader reader = new DatagramReader();
      for (int round = 0; round < rounds; round++) {
        for (int path = 0; path < 2; path++) {
          long start = threads.getCurrentThreadCpuTime();
          Map<Tags, BlobBatch> batches = new HashMap<>();
          if (path == 0) {
            DatagramReader.Sink sink = new DatagramReader.Sink() {
              @Override
              public void event(Tags tags, Map<String, Object> event) {
                batches.computeIfAbsent(tags, a::newBatch).add(event);
              }

              @Override
              public void invalidEvent(FormatException e) {
                throw new IllegalStateException(e);
              }
            };
            for (byte[] d : datagrams) {
              reader.read(d, 0, d.length, sink);
            }
          } else {
            DatagramReader.RecordSink sink = new DatagramReader.RecordSink() {
              @Override
              public void record(Tags tags, byte[] buf, int off, int len, DatagramStrings strings) throws FormatException {
                batches.computeIfAbsent(tags, b::newBatch).addEncoded(buf, off, len, strings);
              }

              @Override
              public void invalidEvent(FormatException e) {
                throw new IllegalStateException(e);
              }
            };
            for (byte[] d : datagrams) {
              reader.readRecords(d, 0, d.length, sink);
            }
          }
          for (BlobBatch batch : batches.values()) {
            for (SealedBlob s : batch.seal()) {
              bytes += s.bytes().length;
              pathBytes[path] += s.bytes().length;
            }
          }
          if (round >= rounds / 4) {
            cpu[path] += threads.getCurrentThreadCpuTime() - start;
          }
        }
      }
    }
    if (bytes == 0) {
      throw new IllegalStateException("no blobs");
    }
    System.out.printf(Locale.ROOT, "bytes/event: decode+encode %.2f, transcode %.2f%n",
        pathBytes[0] / (rounds * (double) BenchmarkData.MIX_EVENTS), pathBytes[1] / (rounds * (double) BenchmarkData.MIX_EVENTS));
    return cpu;
  }
}
