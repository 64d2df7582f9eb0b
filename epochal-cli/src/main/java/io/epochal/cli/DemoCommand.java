package io.epochal.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.epochal.emitter.EmitterStats;
import io.epochal.emitter.EventEmitter;
import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobBatch;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.BlobReader;
import io.epochal.format.blob.EventCursor;
import io.epochal.format.blob.SealedBlob;
import io.epochal.format.datagram.DatagramReader;
import io.epochal.format.reference.ReferenceEvents;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.GZIPOutputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code epochal demo}: runs what exists of the pipeline on this machine. Today that is the emitter
 * and the event format: the reference event mix is emitted over real UDP on loopback, received and
 * decoded, grouped per (epoch, dc, type, subtype) into blobs, and the blobs are read back and
 * checked, with a live per-second view and a closing summary that compares blob bytes with JSON +
 * gzip. The aggregator, store and consumer join the demo as their issues land.
 */
@Command(
    name = "demo",
    description = "Run the pipeline on this machine with a built-in load of the reference event mix.",
    mixinStandardHelpOptions = true)
final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--seconds", defaultValue = "5", description = "How long to emit (default: ${DEFAULT-VALUE}).")
  int seconds;

  @Option(names = "--rate", defaultValue = "50000", description = "Events per second to emit (default: ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--dc", defaultValue = "1", description = "Data center tag (default: ${DEFAULT-VALUE}).")
  String dc;

  @Override
  public Integer call() throws Exception {
    if (seconds < 1 || seconds > 3600) {
      throw new UserException(ExitCodes.USAGE, "--seconds " + seconds + " is outside 1..3600");
    }
    if (rate < 1 || rate > 2_000_000) {
      throw new UserException(ExitCodes.USAGE, "--rate " + rate + " is outside 1..2000000");
    }
    PrintWriter out = spec.commandLine().getOut();
    out.printf("epochal demo: emitter -> UDP (loopback) -> datagram decode -> per-second blobs -> read back%n");
    out.printf("(aggregator, store and consumers join this demo as they land; see README)%n%n");
    try (Receiver receiver = new Receiver(dc)) {
      Thread receiving = new Thread(receiver, "demo-receiver");
      receiving.start();
      EmitterStats stats;
      try (EventEmitter emitter =
          EventEmitter.builder().aggregator(receiver.address()).dc(dc).type("WEB").build()) {
        emit(emitter, receiver, out);
        emitter.flush();
        stats = awaitDelivery(emitter, receiver);
      }
      stats = receiver.finish(stats, receiving);
      return summarize(stats, receiver, out);
    }
  }

  private void emit(EventEmitter emitter, Receiver receiver, PrintWriter out) {
    ReferenceEvents gen = new ReferenceEvents(42);
    out.printf("%-8s %12s %12s %12s %10s%n", "second", "emitted/s", "received/s", "datagrams/s", "dropped");
    long start = System.nanoTime();
    long total = (long) seconds * rate;
    long emitted = 0;
    long lastEmitted = 0;
    long lastReceived = 0;
    long lastDatagrams = 0;
    int second = 1;
    while (emitted < total) {
      long now = System.nanoTime();
      long due = Math.min(total, (now - start) * rate / 1_000_000_000L + 1);
      while (emitted < due) {
        ReferenceEvents.Event e = gen.next();
        emitter.emit(e.type(), e.subtype(), e.fields());
        emitted++;
      }
      if (now - start >= second * 1_000_000_000L) {
        EmitterStats s = emitter.stats();
        long received = receiver.events.get();
        long datagrams = receiver.datagrams.get();
        out.printf("%-8d %12d %12d %12d %10d%n", second, emitted - lastEmitted, received - lastReceived,
            datagrams - lastDatagrams, s.droppedTotal());
        out.flush();
        lastEmitted = emitted;
        lastReceived = received;
        lastDatagrams = datagrams;
        second++;
      }
      if (emitted >= due) {
        LockSupport.parkNanos(200_000); // pacing, not synchronisation
      }
    }
  }

  /** Waits until everything the emitter sent has been received, or 10 s pass without progress. */
  private static EmitterStats awaitDelivery(EventEmitter emitter, Receiver receiver) {
    long lastProgress = System.nanoTime();
    long lastCount = -1;
    while (true) {
      EmitterStats s = emitter.stats();
      long got = receiver.events.get() + receiver.invalid.get();
      if (s.sent() + s.droppedTotal() >= s.emitted() && got >= s.sent()) {
        return s;
      }
      if (got != lastCount) {
        lastCount = got;
        lastProgress = System.nanoTime();
      } else if (System.nanoTime() - lastProgress > Duration.ofSeconds(10).toNanos()) {
        return s;
      }
      LockSupport.parkNanos(1_000_000);
    }
  }

  private int summarize(EmitterStats s, Receiver r, PrintWriter out) throws FormatException, IOException {
    long readBack = 0;
    long jsonBytes = 0;
    long blobBytes = 0;
    int maxBlob = 0;
    // The naive alternative for comparison: each (epoch, dc, type, subtype) as gzipped JSON lines.
    ObjectMapper json = new ObjectMapper();
    Map<Tags, GzipCounter> baseline = new HashMap<>();
    try (BlobReader reader = new BlobReader()) {
      for (SealedBlob b : r.blobs) {
        BlobReader.Blob blob = reader.open(b.bytes());
        GZIPOutputStream gzip = baseline.computeIfAbsent(blob.tags(), t -> new GzipCounter()).gzip;
        EventCursor c = blob.cursor();
        while (c.hasNext()) {
          byte[] line = json.writeValueAsBytes(c.next());
          jsonBytes += line.length + 1;
          gzip.write(line);
          gzip.write('\n');
          readBack++;
        }
        blobBytes += b.bytes().length;
        maxBlob = Math.max(maxBlob, b.bytes().length);
      }
    }
    long gzipBytes = 0;
    for (GzipCounter g : baseline.values()) {
      g.gzip.close();
      gzipBytes += g.count[0];
    }
    long received = r.events.get();
    out.printf("%nsummary%n");
    out.printf("  emitted            %,d events (%,d datagrams, %,d bytes on the wire)%n", s.emitted(), s.datagrams(), s.bytes());
    out.printf("  dropped (emitter)  %,d %s%n", s.droppedTotal(), s.droppedTotal() == 0 ? "" : s.dropped());
    out.printf("  received           %,d events, %,d invalid, %,d malformed datagrams, %,d datagrams over the queue limit, %,d events lost in transit%n",
        received, r.invalid.get(), r.malformed.get(), r.queueFull.get(), s.sent() - received - r.invalid.get());
    out.printf("  blobs              %,d (largest %,d bytes), %,d events read back after checksum%n", r.blobs.size(), maxBlob, readBack);
    if (received > 0) {
      out.printf("  bytes per event    %.1f in blobs vs %.1f as JSON+gzip (%.2fx); wire %.1f%n",
          (double) blobBytes / received, (double) gzipBytes / received,
          (double) blobBytes / Math.max(1, gzipBytes), (double) s.bytes() / Math.max(1, s.sent()));
      out.printf("  compression        %.1fx against JSON lines (%.1f bytes per event); de-duplicated payload %.1f bytes per event%n",
          (double) jsonBytes / Math.max(1, blobBytes), (double) jsonBytes / received, (double) r.uncompressed / received);
    }
    boolean ok = readBack == received && received + r.invalid.get() == s.sent() && received > 0;
    out.printf("  check              %s%n", ok ? "OK: every received event was read back from its blob"
        : "FAILED: emitted, received and read-back counts differ");
    out.flush();
    return ok ? ExitCodes.OK : ExitCodes.CHECK_FAILED;
  }

  /** Receives datagrams, decodes them and groups events per tags into blob batches. */
  private static final class Receiver implements Runnable, AutoCloseable, DatagramReader.Sink {
    final AtomicLong events = new AtomicLong();
    final AtomicLong datagrams = new AtomicLong();
    final AtomicLong invalid = new AtomicLong();
    final AtomicLong malformed = new AtomicLong();
    final List<SealedBlob> blobs = new ArrayList<>();
    long uncompressed;
    final AtomicLong queueFull = new AtomicLong();
    volatile Exception failure;
    private final ArrayBlockingQueue<byte[]> pending = new ArrayBlockingQueue<>(16_384);
    private final DatagramChannel channel;
    private final DatagramReader reader = new DatagramReader();
    private final BlobEncoder encoder;
    private final Map<Tags, BlobBatch> batches = new HashMap<>();

    Receiver(String dc) throws IOException {
      channel = DatagramChannel.open();
      channel.setOption(StandardSocketOptions.SO_RCVBUF, 8 << 20);
      channel.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      encoder = BlobEncoder.builder().producerId("demo").build();
    }

    InetSocketAddress address() throws IOException {
      return (InetSocketAddress) channel.getLocalAddress();
    }

    /**
     * The receive loop only copies datagrams into a bounded queue, so decoding and blob building
     * (and their JIT warm-up) never keep it from draining the socket.
     */
    @Override
    public void run() {
      ByteBuffer buf = ByteBuffer.allocate(65_536);
      Thread processor = new Thread(this::process, "demo-processor");
      processor.start();
      try {
        while (true) {
          buf.clear();
          channel.receive(buf);
          datagrams.incrementAndGet();
          if (!pending.offer(Arrays.copyOf(buf.array(), buf.position()))) {
            queueFull.incrementAndGet();
          }
        }
      } catch (ClosedChannelException e) {
        // finish() closed the channel: done
      } catch (IOException | RuntimeException e) {
        failure = e;
      } finally {
        try {
          pending.put(new byte[0]);
          processor.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    private void process() {
      try {
        while (true) {
          byte[] d = pending.take();
          if (d.length == 0) {
            return;
          }
          try {
            reader.read(d, 0, d.length, this);
          } catch (FormatException e) {
            malformed.incrementAndGet();
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        failure = e;
      }
    }

    @Override
    public void event(Tags tags, Map<String, Object> event) {
      batches.computeIfAbsent(tags, encoder::newBatch).add(event);
      events.incrementAndGet();
    }

    @Override
    public void invalidEvent(FormatException e) {
      invalid.incrementAndGet();
    }

    EmitterStats finish(EmitterStats s, Thread receiving) throws IOException, InterruptedException {
      channel.close();
      receiving.join();
      if (failure != null) {
        throw new IllegalStateException("the demo receiver failed: " + failure, failure);
      }
      for (BlobBatch b : batches.values()) {
        for (SealedBlob blob : b.seal()) {
          blobs.add(blob);
          uncompressed += blob.uncompressedBytes();
        }
      }
      return s;
    }


    @Override
    public void close() throws IOException {
      channel.close();
      encoder.close();
    }
  }

  /** JSON lines + gzip of one group, counting compressed bytes only: the naive baseline. */
  private static final class GzipCounter {
    final long[] count = new long[1];
    final GZIPOutputStream gzip;

    GzipCounter() {
      try {
        gzip = new GZIPOutputStream(new OutputStream() {
          @Override
          public void write(int b) {
            count[0]++;
          }

          @Override
          public void write(byte[] b, int off, int len) {
            count[0] += len;
          }
        });
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
