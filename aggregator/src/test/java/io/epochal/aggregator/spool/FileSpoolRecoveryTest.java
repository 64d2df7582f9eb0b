package io.epochal.aggregator.spool;

import static io.epochal.aggregator.spool.SpoolTesting.blob;
import static io.epochal.aggregator.spool.SpoolTesting.key;
import static io.epochal.aggregator.spool.SpoolTesting.lastSegment;
import static io.epochal.aggregator.spool.SpoolTesting.openManual;
import static io.epochal.aggregator.spool.SpoolTesting.readAll;
import static io.epochal.aggregator.spool.SpoolTesting.segmentFiles;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import io.epochal.aggregator.spool.SpoolTesting.LogCapture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@link FileSpool#open} does with damaged files: cut, log, keep everything intact before. */
class FileSpoolRecoveryTest {
  @TempDir
  Path dir;

  private SpoolConfig config() {
    return SpoolTesting.config(dir).build();
  }

  /** Three records in one segment; returns them. */
  private List<SpoolRecord> threeRecords() throws Exception {
    try (FileSpool spool = openManual(config())) {
      spool.append(key(0), blob(0, 30));
      spool.append(key(1), blob(1, 0));
      spool.append("k2", blob(2, 40));
      spool.sync();
      return readAll(spool, 0);
    }
  }

  private static void assertIntact(List<SpoolRecord> actual, List<SpoolRecord> expected) {
    assertThat(actual).usingRecursiveFieldByFieldElementComparator().isEqualTo(expected);
  }

  @Test
  void tornTailIsCutAtEveryByteOffsetOfTheLastRecord() throws Exception {
    List<SpoolRecord> records = threeRecords();
    SpoolRecord last = records.get(2);
    Path segment = lastSegment(dir);
    byte[] full = Files.readAllBytes(segment);
    assertThat(full).hasSize((int) last.nextPosition());

    for (int cut = 0; cut < last.nextPosition() - last.position(); cut++) {
      Files.write(segment, Arrays.copyOf(full, (int) last.position() + cut));
      try (LogCapture logs = new LogCapture(); FileSpool spool = openManual(config())) {
        assertThat(spool.endPosition()).as("cut %d", cut).isEqualTo(last.position());
        assertThat(spool.durablePosition()).isEqualTo(last.position());
        assertIntact(readAll(spool, 0), records.subList(0, 2));
        assertThat(spool.recovery().tornTailBytes()).isEqualTo(cut);
        assertThat(spool.recovery().corruptBytes()).isZero();
        if (cut == 0) {
          assertThat(logs.lines(Level.WARN)).isEmpty();
        } else {
          assertThat(logs.lines(Level.WARN)).singleElement().asString()
              .contains("torn tail", segment.toString(), "offset " + last.position(), "cut " + cut + " bytes")
              .containsAnyOf("truncated header", "extends past the end");
        }
        assertThat(logs.lines(Level.ERROR)).isEmpty();
        assertThat(Files.size(segment)).isEqualTo(last.position());
        // The position of the lost record is reused by the next append: it was never durable.
        assertThat(spool.append("k2", blob(2, 40))).isEqualTo(last.nextPosition());
        spool.sync();
        assertIntact(readAll(spool, 0), records);
      }
    }
  }

  @Test
  void garbageAfterTheLastRecordIsCut() throws Exception {
    List<SpoolRecord> records = threeRecords();
    Path segment = lastSegment(dir);
    long end = records.get(2).nextPosition();
    SplittableRandom random = new SplittableRandom(42);
    for (int round = 0; round < 20; round++) {
      byte[] garbage = new byte[1 + random.nextInt(3000)];
      if (round % 2 == 0) {
        random.nextBytes(garbage);
      } // odd rounds: zeros, as a file system may show after a crash
      Files.write(segment, garbage, StandardOpenOption.APPEND);
      try (LogCapture logs = new LogCapture(); FileSpool spool = openManual(config())) {
        assertThat(spool.endPosition()).isEqualTo(end);
        assertIntact(readAll(spool, 0), records);
        assertThat(spool.recovery().tornTailBytes()).isEqualTo(garbage.length);
        assertThat(logs.lines(Level.WARN)).singleElement().asString().contains("torn tail", "offset " + end)
            .containsAnyOf("bad magic", "zero-filled", "truncated header");
      }
    }
  }

  @Test
  void aFlippedByteInTheLastRecordIsDetected() throws Exception {
    List<SpoolRecord> records = threeRecords();
    SpoolRecord last = records.get(2);
    Path segment = lastSegment(dir);
    byte[] good = Files.readAllBytes(segment);
    for (long i = last.position(); i < last.nextPosition(); i++) {
      for (int bit : new int[] {0x01, 0x80}) {
        byte[] bad = good.clone();
        bad[(int) i] ^= (byte) bit;
        Files.write(segment, bad);
        try (LogCapture logs = new LogCapture(); FileSpool spool = openManual(config())) {
          assertThat(spool.endPosition()).as("byte %d bit %x", i, bit).isEqualTo(last.position());
          assertIntact(readAll(spool, 0), records.subList(0, 2));
          assertThat(logs.lines(Level.WARN)).singleElement().asString().contains("offset " + last.position());
        }
        Files.write(segment, good);
      }
    }
  }

  @Test
  void corruptionInAnOlderSegmentCutsTheRestOfThatSegmentOnly() throws Exception {
    List<SpoolRecord> records;
    try (FileSpool spool = openManual(config())) {
      for (int i = 0; i < 30; i++) {
        spool.append(key(i), blob(i, 700));
      }
      spool.sync();
      records = readAll(spool, 0);
    }
    List<Path> files = segmentFiles(dir);
    assertThat(files).hasSizeGreaterThan(3);
    Path second = files.get(1);
    long base = Segment.parseBase(second.getFileName().toString());
    long secondEnd = base + Files.size(second);
    List<SpoolRecord> inSecond = records.stream().filter(r -> r.position() >= base && r.position() < secondEnd).toList();
    assertThat(inSecond).hasSizeGreaterThan(2);
    SpoolRecord victim = inSecond.get(1);
    flipByte(second, victim.position() - base + 100);

    try (LogCapture logs = new LogCapture(); FileSpool spool = openManual(config())) {
      assertThat(logs.lines(Level.ERROR)).singleElement().asString()
          .contains("corrupt record", second.toString(), "offset " + (victim.position() - base), "CRC32C mismatch",
              (secondEnd - victim.position()) + " bytes");
      assertThat(spool.recovery().corruptBytes()).isEqualTo(secondEnd - victim.position());
      assertThat(spool.recovery().tornTailBytes()).isZero();
      // Every other record is still there, at its old position; the reader steps over the gap.
      List<SpoolRecord> expected = records.stream()
          .filter(r -> r.position() < victim.position() || r.position() >= secondEnd).toList();
      assertIntact(readAll(spool, 0), expected);
      long end = spool.endPosition();
      assertThat(end).isEqualTo(records.get(29).nextPosition());
      // The gap's far edge and near edge are both boundaries.
      assertIntact(readAll(spool, victim.position()), expected.subList(expected.indexOf(
          expected.stream().filter(r -> r.position() == secondEnd).findFirst().orElseThrow()), expected.size()));
      spool.acknowledge(victim.position());
      assertThat(spool.acknowledgedPosition()).isEqualTo(secondEnd);
      assertThat(segmentFiles(dir)).doesNotContain(files.get(0), second);
    }
    // Opening again logs nothing new at ERROR: the cut is permanent.
    try (LogCapture logs = new LogCapture(); FileSpool spool = openManual(config())) {
      assertThat(logs.lines(Level.ERROR)).isEmpty();
      assertThat(spool.acknowledgedPosition()).isEqualTo(secondEnd);
      assertThat(readAll(spool, spool.acknowledgedPosition()).get(0).position()).isEqualTo(secondEnd);
    }
  }

  @Test
  void corruptionInTheMiddleOfTheLastSegmentIsAnErrorNotATornTail() throws Exception {
    List<SpoolRecord> records = threeRecords();
    flipByte(lastSegment(dir), records.get(1).position() + 16);
    try (LogCapture logs = new LogCapture(); FileSpool spool = openManual(config())) {
      assertThat(logs.lines(Level.WARN)).isEmpty();
      assertThat(logs.lines(Level.ERROR)).singleElement().asString().contains("corrupt record",
          "offset " + records.get(1).position());
      assertThat(spool.recovery().corruptBytes()).isEqualTo(records.get(2).nextPosition() - records.get(1).position());
      assertIntact(readAll(spool, 0), records.subList(0, 1));
    }
  }

  @Test
  void aReaderDetectsDamageAfterOpen() throws Exception {
    try (FileSpool spool = openManual(config())) {
      spool.append(key(0), blob(0, 100));
      long second = spool.sync();
      spool.append(key(1), blob(1, 100));
      spool.sync();
      flipByte(lastSegment(dir), second + 50);
      try (SpoolReader reader = spool.reader(0)) {
        assertThat(reader.next().key()).isEqualTo(key(0));
        long at = second;
        assertThatThrownBy(reader::next).isInstanceOf(SpoolCorruptException.class)
            .hasMessageContaining("CRC32C mismatch").hasMessageContaining("position " + at)
            .satisfies(e -> assertThat(((SpoolCorruptException) e).position()).isEqualTo(at));
        assertThat(reader.position()).isEqualTo(second);
      }
    }
  }

  @Test
  void anUnreadableAckFileMeansDeliveringAgainFromTheFirstSegment() throws Exception {
    List<SpoolRecord> records = threeRecords();
    try (FileSpool spool = openManual(config())) {
      spool.acknowledge(records.get(1).position());
    }
    Files.write(dir.resolve(AckFile.NAME), new byte[] {1, 2, 3});
    Files.write(dir.resolve(AckFile.TEMP_NAME), new byte[] {4});
    try (LogCapture logs = new LogCapture(); FileSpool spool = openManual(config())) {
      assertThat(logs.lines(Level.ERROR)).singleElement().asString().contains("ack file is unreadable");
      assertThat(spool.acknowledgedPosition()).isZero();
      assertIntact(readAll(spool, 0), records);
      assertThat(Files.exists(dir.resolve(AckFile.TEMP_NAME))).isFalse();
    }
    assertThat(AckFile.read(dir).position()).isZero();
  }

  @Test
  void segmentsLeftBehindByAnInterruptedAcknowledgeAreDeletedOnOpen() throws Exception {
    List<SpoolRecord> records;
    try (FileSpool spool = openManual(config())) {
      for (int i = 0; i < 20; i++) {
        spool.append(key(i), blob(i, 900));
      }
      spool.sync();
      records = readAll(spool, 0);
    }
    List<Path> files = segmentFiles(dir);
    long thirdBase = Segment.parseBase(files.get(2).getFileName().toString());
    AckFile.write(dir, thirdBase); // persisted, then "crashed" before deleting
    try (FileSpool spool = openManual(config())) {
      assertThat(segmentFiles(dir)).isEqualTo(files.subList(2, files.size()));
      assertThat(spool.acknowledgedPosition()).isEqualTo(thirdBase);
      assertIntact(readAll(spool, thirdBase), records.stream().filter(r -> r.position() >= thirdBase).toList());
    }
  }

  @Test
  void anAcknowledgedPositionBeyondTheEndStartsANewSegmentThere() throws Exception {
    List<SpoolRecord> records = threeRecords();
    long end = records.get(2).nextPosition();
    AckFile.write(dir, end + 1000);
    try (LogCapture logs = new LogCapture(); FileSpool spool = openManual(config())) {
      assertThat(logs.lines(Level.ERROR)).singleElement().asString().contains("beyond the end");
      assertThat(spool.endPosition()).isEqualTo(end + 1000);
      assertThat(spool.append(key(9), blob(9, 10))).isEqualTo(end + 1000 + 14 + key(9).length() + 10);
      spool.sync();
      assertThat(readAll(spool, spool.acknowledgedPosition())).extracting(SpoolRecord::key).containsExactly(key(9));
    }
  }

  @Test
  void overlappingSegmentsAreRefused() throws Exception {
    threeRecords();
    Files.write(dir.resolve(Segment.fileName(10)), new byte[0]);
    assertThatThrownBy(() -> FileSpool.open(config())).isInstanceOf(IOException.class)
        .hasMessageContaining("overlap");
    // The failed open released the directory.
    Files.delete(dir.resolve(Segment.fileName(10)));
    try (FileSpool spool = openManual(config())) {
      assertThat(readAll(spool, 0)).hasSize(3);
    }
  }

  @Test
  void aFreshDirectoryGetsAnEmptySegmentAndAnAckFile() throws Exception {
    Path fresh = dir.resolve("a/b");
    try (FileSpool spool = FileSpool.open(SpoolTesting.config(fresh).build())) {
      assertThat(segmentFiles(fresh)).containsExactly(fresh.resolve("00000000000000000000.spool"));
      assertThat(AckFile.read(fresh).position()).isZero();
      assertThat(spool.durablePosition()).isZero();
      assertThat(spool.sizeBytes()).isZero();
      assertThat(spool.recovery()).isEqualTo(new SpoolRecovery(1, 0, 0, 0, spool.recovery().millis()));
    }
  }

  private static void flipByte(Path file, long offset) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    bytes[(int) offset] ^= 0x10;
    Files.write(file, bytes);
  }
}
