package io.epochal.aggregator.spool;

import static io.epochal.aggregator.spool.SpoolTesting.blob;
import static io.epochal.aggregator.spool.SpoolTesting.config;
import static io.epochal.aggregator.spool.SpoolTesting.key;
import static io.epochal.aggregator.spool.SpoolTesting.lastSegment;
import static io.epochal.aggregator.spool.SpoolTesting.openManual;
import static io.epochal.aggregator.spool.SpoolTesting.readAll;
import static io.epochal.aggregator.spool.SpoolTesting.segmentFiles;
import static io.epochal.aggregator.spool.SpoolTesting.totalSegmentBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reader side ({@link SpoolTail}) and a writer ({@link FileSpool}) as separate objects on one
 * directory: they share nothing but the files, as two processes do.
 */
class SpoolTailTest {
  @TempDir
  Path dir;

  private static List<Long> append(FileSpool spool, int first, int n, int size) throws Exception {
    List<Long> ends = new ArrayList<>();
    for (int i = first; i < first + n; i++) {
      ends.add(spool.append(key(i), blob(i, size)));
    }
    return ends;
  }

  private static void assertSame(List<SpoolRecord> actual, List<SpoolRecord> expected) {
    assertThat(actual).hasSameSizeAs(expected);
    for (int i = 0; i < expected.size(); i++) {
      assertThat(actual.get(i).position()).isEqualTo(expected.get(i).position());
      assertThat(actual.get(i).nextPosition()).isEqualTo(expected.get(i).nextPosition());
      assertThat(actual.get(i).key()).isEqualTo(expected.get(i).key());
      assertThat(actual.get(i).blob()).isEqualTo(expected.get(i).blob());
    }
  }

  private long publishedDurable() throws IOException {
    byte[] bytes = Files.readAllBytes(dir.resolve(DurableFile.NAME));
    AckFile.Read r = AckFile.decode(bytes, bytes.length, DurableFile.MAGIC);
    assertThat(r.present()).as("durable file valid: %s", r.problem()).isTrue();
    return r.position();
  }

  @Test
  void readsOnlyWhatTheWriterPublishedAsDurable() throws Exception {
    try (FileSpool writer = openManual(config(dir).build()); SpoolTail tail = FileSpool.openReader(config(dir).build())) {
      assertThat(publishedDurable()).isZero();
      List<Long> ends = append(writer, 0, 40, 300); // several segments of 4 KiB
      try (SpoolReader reader = tail.reader(0)) {
        assertThat(reader.next()).as("appended, not yet fsynced").isNull();
        assertThat(tail.awaitDurable(ends.get(0), Duration.ofMillis(30))).isFalse();
        writer.sync();
        assertThat(publishedDurable()).isEqualTo(ends.get(39));
        assertThat(tail.awaitDurable(ends.get(39), Duration.ofSeconds(5))).isTrue();
        for (int i = 0; i < 40; i++) {
          SpoolRecord r = reader.next();
          assertThat(r.key()).isEqualTo(key(i));
          assertThat(r.blob()).isEqualTo(blob(i, 300));
          assertThat(r.nextPosition()).isEqualTo(ends.get(i));
        }
        assertThat(reader.next()).isNull();
        // More, in the active segment and in new ones, as the writer goes on.
        List<Long> more = append(writer, 40, 30, 300);
        writer.sync();
        assertThat(tail.awaitDurable(more.get(29), Duration.ofSeconds(5))).isTrue();
        for (int i = 40; i < 70; i++) {
          assertThat(reader.next().key()).isEqualTo(key(i));
        }
        assertThat(reader.next()).isNull();
        assertThat(reader.position()).isEqualTo(more.get(29)).isEqualTo(tail.durablePosition());
      }
      assertThat(tail.segmentCount()).isEqualTo(segmentFiles(dir).size()).isGreaterThan(4);
      assertThatThrownBy(() -> tail.reader(writer.endPosition() + 1)).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> tail.reader(1)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("not a record boundary");
    }
  }

  @Test
  void acknowledgementsMakeTheWriterDeleteSegmentsAndLiftTheCap() throws Exception {
    SpoolConfig config = config(dir).maxBytes(2 * 4096).build();
    try (FileSpool writer = openManual(config); SpoolTail tail = FileSpool.openReader(config)) {
      int n = 0;
      long end = 0;
      while (true) {
        try {
          end = writer.append(key(n), blob(n, 500));
          n++;
        } catch (SpoolFullException e) {
          break;
        }
      }
      assertThat(writer.full()).isTrue();
      writer.sync();
      List<SpoolRecord> records = readAll(tail, 0);
      assertThat(records).hasSize(n);
      int segmentsBefore = segmentFiles(dir).size();
      tail.acknowledge(end);
      assertThat(tail.acknowledgedPosition()).isEqualTo(end);
      assertThat(AckFile.read(dir).position()).isEqualTo(end);
      assertThat(segmentFiles(dir)).as("the reader side never deletes").hasSize(segmentsBefore);
      // The writer picks the acknowledgement up before refusing the next append, deletes, and appends.
      long next = writer.append(key(n), blob(n, 500));
      assertThat(next).isGreaterThan(end);
      assertThat(writer.acknowledgedPosition()).isEqualTo(end);
      assertThat(segmentFiles(dir)).hasSizeLessThan(segmentsBefore);
      assertThat(writer.sizeBytes()).isEqualTo(totalSegmentBytes(dir));
      assertThat(writer.full()).isFalse();
      // Acknowledging is idempotent, and lower positions are ignored.
      tail.acknowledge(end);
      tail.acknowledge(records.get(0).nextPosition());
      assertThat(tail.acknowledgedPosition()).isEqualTo(end);
    }
  }

  @Test
  void theWriterPicksUpAcknowledgementsAtItsSyncs() throws Exception {
    try (FileSpool writer = openManual(config(dir).build()); SpoolTail tail = FileSpool.openReader(config(dir).build())) {
      List<Long> ends = append(writer, 0, 40, 300);
      writer.sync();
      readAll(tail, 0);
      int before = segmentFiles(dir).size();
      tail.acknowledge(ends.get(30));
      writer.sync(); // nothing new to sync; still looks at the ack file
      assertThat(writer.acknowledgedPosition()).isEqualTo(ends.get(30));
      assertThat(segmentFiles(dir)).hasSizeLessThan(before);
      assertThat(writer.sizeBytes()).isEqualTo(totalSegmentBytes(dir));
      assertThat(writer.backlogBytes()).isEqualTo(ends.get(39) - ends.get(30));
    }
  }

  @Test
  void oneReaderPerSpool() throws Exception {
    try (FileSpool writer = openManual(config(dir).build())) {
      try (SpoolTail tail = FileSpool.openReader(config(dir).build())) {
        assertThatThrownBy(() -> FileSpool.openReader(config(dir).build())).isInstanceOf(IOException.class)
            .hasMessageContaining("already being read");
        assertThatThrownBy(() -> writer.reader(0)).isInstanceOf(IOException.class)
            .hasMessageContaining("already being read");
        assertThatThrownBy(() -> writer.acknowledge(0)).isInstanceOf(IOException.class)
            .hasMessageContaining("already being read");
        assertThat(tail.reader(0).next()).isNull();
      }
      // The writer's process may read once no reader side is open, and then holds reader.lock itself.
      assertThat(readAll(writer, 0)).isEmpty();
      assertThatThrownBy(() -> FileSpool.openReader(config(dir).build())).isInstanceOf(IOException.class)
          .hasMessageContaining("already being read");
    }
    try (SpoolTail tail = FileSpool.openReader(config(dir).build())) {
      assertThat(tail.acknowledgedPosition()).isZero();
    }
  }

  @Test
  void worksWithNoWriterAndResumesAtTheAcknowledgedPosition() throws Exception {
    List<Long> ends;
    try (FileSpool writer = FileSpool.open(config(dir).build())) {
      ends = append(writer, 0, 20, 700);
    } // close syncs and publishes
    long ack;
    try (SpoolTail tail = FileSpool.openReader(config(dir).build())) {
      assertThat(tail.ranRecovery()).isFalse();
      assertThat(tail.durablePosition()).isEqualTo(ends.get(19));
      List<SpoolRecord> records = readAll(tail, 0);
      assertThat(records).hasSize(20);
      ack = records.get(11).nextPosition();
      tail.acknowledge(ack);
    }
    try (SpoolTail tail = FileSpool.openReader(config(dir).build())) {
      assertThat(tail.acknowledgedPosition()).isEqualTo(ack);
      List<SpoolRecord> rest = readAll(tail, tail.acknowledgedPosition());
      assertThat(rest).extracting(SpoolRecord::key).containsExactly(
          IntStream.range(12, 20).mapToObj(SpoolTesting::key).toArray(String[]::new));
      assertThatThrownBy(() -> tail.reader(0)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("already acknowledged");
    }
    // The writer deletes what the reader side acknowledged while it was not running.
    try (FileSpool writer = openManual(config(dir).build())) {
      assertThat(writer.acknowledgedPosition()).isEqualTo(ack);
      assertThat(segmentFiles(dir).get(0).getFileName().toString())
          .isEqualTo(Segment.fileName(writer.segmentAtOrAfter(ack).base));
    }
  }

  @Test
  void anOldSpoolWithoutADurableFileIsRecoveredWhenNoWriterRuns() throws Exception {
    List<Long> ends;
    try (FileSpool writer = openManual(config(dir).build())) {
      ends = append(writer, 0, 3, 200);
      writer.sync();
    }
    Files.delete(dir.resolve(DurableFile.NAME));
    // An append torn by a crash: must be cut, never read.
    Path last = lastSegment(dir);
    long sizeBefore = Files.size(last);
    try (FileChannel ch = FileChannel.open(last, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
      ch.write(ByteBuffer.wrap(new byte[] {0x45, 0x50, 0x53, 0x52, 1, 2, 3, 4, 100, 0, 0, 0, 5}));
    }
    try (SpoolTail tail = FileSpool.openReader(config(dir).build())) {
      assertThat(tail.ranRecovery()).isTrue();
      assertThat(Files.size(last)).isEqualTo(sizeBefore);
      assertThat(tail.durablePosition()).isEqualTo(ends.get(2)).isEqualTo(publishedDurable());
      assertThat(readAll(tail, 0)).extracting(SpoolRecord::key).containsExactly(key(0), key(1), key(2));
    }
  }

  @Test
  void aTornOrMissingDurableFileNeverMovesTheReaderBackOrPastTheData() throws Exception {
    try (FileSpool writer = openManual(config(dir).build()); SpoolTail tail = FileSpool.openReader(config(dir).build())) {
      List<Long> ends = append(writer, 0, 5, 200);
      writer.sync();
      assertThat(tail.awaitDurable(ends.get(4), Duration.ofSeconds(5))).isTrue();
      // What a reader catching the writer's overwrite half-way might see: fails its CRC, is ignored.
      byte[] torn = AckFile.encode(DurableFile.MAGIC, ends.get(4) + 1_000_000).array();
      torn[5] ^= 0x7f;
      Files.write(dir.resolve(DurableFile.NAME), torn, StandardOpenOption.WRITE);
      assertThat(tail.awaitDurable(ends.get(4) + 1, Duration.ofMillis(30))).isFalse();
      assertThat(tail.durablePosition()).isEqualTo(ends.get(4));
      // A valid but older value (what a crash could leave) does not move it back either.
      Files.write(dir.resolve(DurableFile.NAME), AckFile.encode(DurableFile.MAGIC, ends.get(1)).array(),
          StandardOpenOption.WRITE);
      assertThat(tail.durablePosition()).isEqualTo(ends.get(4));
      // The writer's next sync rewrites it.
      List<Long> more = append(writer, 5, 2, 200);
      writer.sync();
      assertThat(tail.awaitDurable(more.get(1), Duration.ofSeconds(5))).isTrue();
      assertThat(readAll(tail, 0)).hasSize(7);
    }
  }

  @Test
  void readsWhatTheWritersOwnReaderReadsAcrossAGapLeftByRecovery() throws Exception {
    try (FileSpool writer = openManual(config(dir).build())) {
      append(writer, 0, 30, 700);
      writer.sync();
    }
    Path second = segmentFiles(dir).get(1);
    byte[] bytes = Files.readAllBytes(second);
    bytes[800] ^= 0x10; // inside the second record of the second segment
    Files.write(second, bytes);
    List<SpoolRecord> expected;
    try (FileSpool writer = openManual(config(dir).build())) {
      assertThat(writer.recovery().corruptBytes()).isPositive();
      expected = readAll(writer, 0);
    } // releases reader.lock
    try (FileSpool writer = openManual(config(dir).build()); SpoolTail tail = FileSpool.openReader(config(dir).build())) {
      assertSame(readAll(tail, 0), expected);
      int i = 0;
      while (expected.get(i).nextPosition() == expected.get(i + 1).position()) {
        i++;
      }
      long gapStart = expected.get(i).nextPosition();
      long farEdge = expected.get(i + 1).position();
      assertThat(farEdge).isGreaterThan(gapStart);
      // Acknowledging the near edge of the gap acknowledges the gap too, as the writer does.
      tail.acknowledge(gapStart);
      assertThat(tail.acknowledgedPosition()).isEqualTo(farEdge);
      writer.sync();
      assertThat(writer.acknowledgedPosition()).isEqualTo(farEdge);
    }
  }

  @Test
  void closeWakesAWaiter() throws Exception {
    try (FileSpool writer = openManual(config(dir).build())) {
      SpoolTail tail = FileSpool.openReader(config(dir).build());
      CompletableFuture<Boolean> waited = CompletableFuture.supplyAsync(() -> {
        try {
          return tail.awaitDurable(1, Duration.ofSeconds(30));
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      });
      long started = System.nanoTime();
      tail.close();
      assertThat(waited.get(10, TimeUnit.SECONDS)).isFalse();
      assertThat(System.nanoTime() - started).isLessThan(TimeUnit.SECONDS.toNanos(10));
      tail.close(); // idempotent
      assertThatThrownBy(() -> tail.reader(0)).isInstanceOf(IllegalStateException.class);
      assertThat(writer.durablePosition()).isZero();
    }
  }
}
