package io.epochal.aggregator.spool;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

/** Shared helpers for the spool tests. */
final class SpoolTesting {
  private SpoolTesting() {}

  /** A deterministic blob: its content depends only on {@code seq} and {@code size}. */
  static byte[] blob(long seq, int size) {
    byte[] b = new byte[size];
    new SplittableRandom(seq * 0x9E3779B97F4A7C15L + size).nextBytes(b);
    return b;
  }

  static String key(long seq) {
    return "1413813813:1:WEB:app:t" + seq;
  }

  /** A config with small segments, a large cap and background sync turned off unless asked for. */
  static SpoolConfig.Builder config(Path dir) {
    return SpoolConfig.builder(dir).segmentBytes(4096).maxBytes(1L << 30).syncInterval(Duration.ofMillis(5));
  }

  /** Opens with syncing left to explicit sync() calls, so tests decide what is durable. */
  static FileSpool openManual(SpoolConfig config) throws IOException {
    return FileSpool.open(config, null, false);
  }

  static List<SpoolRecord> readAll(BlobSource source, long from) throws IOException {
    List<SpoolRecord> out = new ArrayList<>();
    try (SpoolReader reader = source.reader(from)) {
      for (SpoolRecord r; (r = reader.next()) != null; ) {
        out.add(r);
      }
    }
    return out;
  }

  static List<Path> segmentFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> Segment.parseBase(p.getFileName().toString()) >= 0).sorted().toList();
    }
  }

  static Path lastSegment(Path dir) throws IOException {
    List<Path> files = segmentFiles(dir);
    return files.get(files.size() - 1);
  }

  static long totalSegmentBytes(Path dir) throws IOException {
    long total = 0;
    for (Path p : segmentFiles(dir)) {
      total += Files.size(p);
    }
    return total;
  }

  /** Captures what {@link FileSpool} logs until closed. */
  static final class LogCapture implements AutoCloseable {
    private final Logger logger = (Logger) LoggerFactory.getLogger(FileSpool.class);
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    LogCapture() {
      appender.start();
      logger.addAppender(appender);
    }

    List<String> lines(Level level) {
      synchronized (appender.list) {
        return appender.list.stream().filter(e -> e.getLevel() == level).map(ILoggingEvent::getFormattedMessage)
            .toList();
      }
    }

    @Override
    public void close() {
      logger.detachAppender(appender);
    }
  }
}
