package io.epochal.cli;

import io.epochal.consumer.read.EpochBatch;
import io.epochal.consumer.read.EpochBlob;
import io.epochal.consumer.read.EpochIterator;
import io.epochal.consumer.read.EpochReader;
import io.epochal.consumer.read.ReadException;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code epochal fetch}: historical epochs from the store, as JSON lines, counts or raw blobs. */
@Command(
    name = "fetch",
    description = {
      "Fetch the events of a range of seconds from the store, in epoch order.",
      "jsonl: one line per event, {\"epoch\":..,\"dc\":..,\"type\":..,\"subtype\":..,\"event\":{..}};",
      "count: events, blobs and bytes per epoch and in total; raw: each blob into --output DIR as a file named by its key."
    },
    mixinStandardHelpOptions = true)
final class FetchCommand implements Callable<Integer> {
  private static final int MAX_SECONDS = 31 * 86_400;

  @Spec CommandSpec spec;

  @picocli.CommandLine.Mixin ReaderOptions select;

  @Option(names = "--from", required = true, description = "First second: Unix seconds, ISO-8601, now, or -5m.")
  String from;

  @Option(names = "--to", defaultValue = "now", description = "Last second, included (default: ${DEFAULT-VALUE}).")
  String to;

  @Option(names = "--format", defaultValue = "jsonl", description = "jsonl, count or raw (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(names = "--output", description = "Write to this file (jsonl, count) or directory (raw) instead of stdout.")
  Path output;

  @Option(names = "--deadline", defaultValue = "30", paramLabel = "SECONDS",
      description = "Give up when no node answers for this long (default: ${DEFAULT-VALUE} s).")
  int deadlineSeconds;

  @Override
  public Integer call() throws Exception {
    Clock clock = Clock.systemUTC();
    long first = TimeArg.parse("--from", from, clock);
    long last = TimeArg.parse("--to", to, clock);
    if (last < first) {
      throw new UserException(ExitCodes.USAGE, "--to " + to + " (" + last + ") is before --from " + from + " (" + first
          + ")");
    }
    if (last - first >= MAX_SECONDS) {
      throw new UserException(ExitCodes.USAGE, "the range is " + (last - first + 1) + " seconds; at most " + MAX_SECONDS
          + " (31 days) per fetch");
    }
    if (!List.of("jsonl", "count", "raw").contains(format)) {
      throw new UserException(ExitCodes.USAGE, "--format " + format + ": use jsonl, count or raw");
    }
    if (format.equals("raw") && output == null) {
      throw new UserException(ExitCodes.USAGE, "--format raw needs --output DIR");
    }
    if (deadlineSeconds < 1) {
      throw new UserException(ExitCodes.USAGE, "--deadline must be at least 1 second");
    }
    EpochReader.Builder b = select.readerBuilder().deadline(Duration.ofSeconds(deadlineSeconds));
    PrintWriter err = spec.commandLine().getErr();
    Progress progress = new Progress(err, first, last, Terminal.isStderr());
    try (EpochReader reader = b.build(); EpochIterator epochs = reader.read(first, last)) {
      switch (format) {
        case "raw" -> raw(epochs, progress);
        case "count" -> count(epochs, progress);
        default -> jsonl(epochs, progress);
      }
    } catch (ReadException e) {
      progress.done();
      int code = e.code() == ReadException.Code.UNAVAILABLE ? ExitCodes.UNAVAILABLE : ExitCodes.PARTIAL;
      throw new UserException(code, e.getMessage(), e);
    }
    progress.done();
    return ExitCodes.OK;
  }

  private OutputStream open() throws IOException {
    if (output == null) {
      return new BufferedOutputStream(System.out, 1 << 16) {
        @Override
        public void close() throws IOException {
          flush(); // never close stdout
        }
      };
    }
    return new BufferedOutputStream(Files.newOutputStream(output), 1 << 16);
  }

  private void jsonl(EpochIterator epochs, Progress progress) throws IOException, ReadException {
    try (OutputStream out = open()) {
      JsonLines lines = new JsonLines(out, true);
      while (epochs.hasNext()) {
        EpochBatch batch = epochs.next();
        for (EpochBlob blob : batch.blobs()) {
          lines.write(blob);
        }
        progress.epoch(batch);
      }
      lines.flush();
    }
  }

  private void count(EpochIterator epochs, Progress progress) throws IOException, ReadException {
    long events = 0;
    long blobs = 0;
    long bytes = 0;
    try (OutputStream o = open(); PrintWriter out = new PrintWriter(o)) {
      while (epochs.hasNext()) {
        EpochBatch batch = epochs.next();
        if (!batch.isEmpty()) {
          out.printf("%d %d events %d blobs %d bytes%n", batch.epoch(), batch.eventCount(), batch.blobs().size(),
              batch.sizeBytes());
        }
        events += batch.eventCount();
        blobs += batch.blobs().size();
        bytes += batch.sizeBytes();
        progress.epoch(batch);
      }
      out.printf("total %d events %d blobs %d bytes%n", events, blobs, bytes);
    }
  }

  private void raw(EpochIterator epochs, Progress progress) throws IOException, ReadException {
    Files.createDirectories(output);
    while (epochs.hasNext()) {
      EpochBatch batch = epochs.next();
      for (EpochBlob blob : batch.blobs()) {
        Files.write(output.resolve(blob.key().format() + ".blob"), blob.bytes());
      }
      progress.epoch(batch);
    }
  }

  /** A one-line progress bar on stderr, redrawn at most 5 times a second, only on a terminal. */
  private static final class Progress {
    private final PrintWriter err;
    private final long first;
    private final long total;
    private final boolean on;
    private long epochs;
    private long events;
    private long bytes;
    private long lastDraw;

    Progress(PrintWriter err, long first, long last, boolean on) {
      this.err = err;
      this.first = first;
      this.total = last - first + 1;
      this.on = on;
    }

    void epoch(EpochBatch b) {
      epochs = b.epoch() - first + 1;
      events += b.eventCount();
      bytes += b.sizeBytes();
      long now = System.nanoTime();
      if (on && now - lastDraw > 200_000_000L) {
        lastDraw = now;
        int width = 30;
        int filled = (int) (width * epochs / total);
        err.printf("\r[%s%s] %d/%d s, %,d events, %.1f MB", "#".repeat(filled), " ".repeat(width - filled), epochs,
            total, events, bytes / 1e6);
        err.flush();
      }
    }

    void done() {
      if (on && lastDraw != 0) {
        lastDraw = 0;
        int width = 30;
        int filled = (int) (width * Math.min(epochs, total) / total);
        err.printf("\r[%s%s] %d/%d s, %,d events, %.1f MB", "#".repeat(filled), " ".repeat(width - filled), epochs,
            total, events, bytes / 1e6);
        err.println();
        err.flush();
      }
    }
  }
}
