package io.epochal.cli;

import io.epochal.consumer.read.EpochBlob;
import io.epochal.consumer.read.EpochReader;
import io.epochal.consumer.stream.StreamingConsumer;
import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/** {@code epochal tail}: the streaming consumer, printing events or per-second summaries. */
@Command(
    name = "tail",
    description = {
      "Follow the present: print each second's events (jsonl) or a summary line per second, as they arrive.",
      "Runs until SIGINT/SIGTERM. With --checkpoint it resumes where it stopped."
    },
    mixinStandardHelpOptions = true)
final class TailCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @picocli.CommandLine.Mixin ReaderOptions select;

  @Option(names = "--format", defaultValue = "jsonl", description = "jsonl or summary (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(names = "--lag", defaultValue = "3", paramLabel = "SECONDS",
      description = "Read a second this long after it ends (default: ${DEFAULT-VALUE}).")
  double lagSeconds;

  @Option(names = "--from", description = "First second to deliver (default: the newest one already due).")
  String from;

  @Option(names = "--checkpoint", description = "Checkpoint file: resume from it, record progress in it.")
  Path checkpoint;

  @Override
  public Integer call() throws Exception {
    if (!List.of("jsonl", "summary").contains(format)) {
      throw new UserException(ExitCodes.USAGE, "--format " + format + ": use jsonl or summary");
    }
    if (lagSeconds < 0 || lagSeconds > 3600) {
      throw new UserException(ExitCodes.USAGE, "--lag " + java.math.BigDecimal.valueOf(lagSeconds).stripTrailingZeros()
          .toPlainString() + " is outside 0..3600 seconds");
    }
    Clock clock = Clock.systemUTC();
    EpochReader.Builder rb = select.readerBuilder();
    if (checkpoint != null && checkpoint.toAbsolutePath().getParent() != null
        && !Files.isDirectory(checkpoint.toAbsolutePath().getParent())) {
      throw new UserException(ExitCodes.USAGE, "--checkpoint " + checkpoint + ": directory "
          + checkpoint.toAbsolutePath().getParent() + " does not exist");
    }
    Path file = checkpoint;
    boolean temporary = file == null;
    if (temporary) {
      file = Files.createTempFile("epochal-tail", ".checkpoint");
      Files.delete(file); // the consumer creates it; no file means "start at the present"
    }
    OutputStream out = new BufferedOutputStream(System.out, 1 << 16);
    JsonLines lines = new JsonLines(out, true);
    PrintWriter text = new PrintWriter(out);
    CountDownLatch stop = new CountDownLatch(1);
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    try (EpochReader reader = rb.build()) {
      StreamingConsumer.Builder cb = StreamingConsumer.builder().reader(reader).checkpoint(file).clock(clock)
          .lag(Duration.ofMillis((long) (lagSeconds * 1000)))
          .handler(batch -> {
            if (format.equals("summary")) {
              long lagMs = clock.millis() - (batch.epoch() + 1) * 1000;
              text.printf("%d%s %,9d events %4d blobs %,11d bytes  delivered %,d ms after the second ended%n",
                  batch.epoch(), batch.late() ? " late" : "", batch.eventCount(), batch.blobs().size(),
                  batch.sizeBytes(), lagMs);
              text.flush();
            } else {
              for (EpochBlob blob : batch.blobs()) {
                lines.write(blob);
              }
              lines.flush();
            }
            out.flush();
          });
      if (from != null) {
        cb.startEpoch(TimeArg.parse("--from", from, clock));
      }
      try (StreamingConsumer consumer = cb.build()) {
        consumer.start();
        stop.await();
      }
    } finally {
      lines.flush();
      out.flush();
      if (temporary) {
        Files.deleteIfExists(file);
      }
    }
    return ExitCodes.OK;
  }
}
