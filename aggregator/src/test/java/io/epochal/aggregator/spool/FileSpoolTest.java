package io.epochal.aggregator.spool;

import static io.epochal.aggregator.spool.SpoolTesting.blob;
import static io.epochal.aggregator.spool.SpoolTesting.config;
import static io.epochal.aggregator.spool.SpoolTesting.key;
import static io.epochal.aggregator.spool.SpoolTesting.openManual;
import static io.epochal.aggregator.spool.SpoolTesting.readAll;
import static io.epochal.aggregator.spool.SpoolTesting.segmentFiles;
import static io.epochal.aggregator.spool.SpoolTesting.totalSegmentBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileSpoolTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir
  Path dir;

  /** Appends {@code n} blobs numbered from {@code first} with sizes cycling below 1,500 bytes. */
  private static List<Long> appendMany(BlobSink sink, int first, int n) throws Exception {
    List<Long> ends = new ArrayList<>();
    for (int i = first; i < first + n; i++) {
      ends.add(sink.append(key(i), blob(i, size(i))));
    }
    return ends;
  }

  private static int size(int i) {
    return (i * 337) % 1500;
  }

  private static void assertRecords(List<SpoolRecord> records, int firstSeq) {
    for (int j = 0; j < records.size(); j++) {
      int seq = firstSeq + j;
      SpoolRecord r = records.get(j);
      assertThat(r.key()).isEqualTo(key(seq));
      assertThat(r.blob()).isEqualTo(blob(seq, size(seq)));
      assertThat(r.nextPosition() - r.position()).isEqualTo(14 + key(seq).length() + size(seq));
      if (j > 0) {
        assertThat(r.position()).isEqualTo(records.get(j - 1).nextPosition());
      }
    }
  }

  @Test
  void roundTripAcrossSegmentRolls() throws Exception {
    try (FileSpool spool = openManual(config(dir).build())) {
      List<Long> ends = appendMany(spool, 0, 60);
      assertThat(spool.sync()).isEqualTo(ends.get(59)).isEqualTo(spool.durablePosition()).isEqualTo(spool.endPosition());

      List<SpoolRecord> records = readAll(spool, 0);
      assertThat(records).hasSize(60);
      assertThat(records.get(0).position()).isZero();
      assertRecords(records, 0);
      assertThat(records).extracting(SpoolRecord::nextPosition).containsExactlyElementsOf(ends);

      List<Path> files = segmentFiles(dir);
      assertThat(files).hasSizeGreaterThan(5).hasSize(spool.segmentCount());
      assertThat(spool.sizeBytes()).isEqualTo(totalSegmentBytes(dir)).isEqualTo(ends.get(59));
      for (Path f : files) {
        long base = Segment.parseBase(f.getFileName().toString());
        assertThat(Files.size(f)).isLessThanOrEqualTo(4096);
        // Every segment starts with a record: its name is the position of its first record.
        assertThat(records).anyMatch(r -> r.position() == base);
      }
    }
  }

  @Test
  void readersSeeOnlyDurableRecords() throws Exception {
    try (FileSpool spool = openManual(config(dir).build())) {
      long end = appendMany(spool, 0, 3).get(2);
      assertThat(spool.durablePosition()).isZero();
      try (SpoolReader reader = spool.reader(0)) {
        assertThat(reader.next()).isNull();
        assertThat(spool.awaitDurable(end, Duration.ofMillis(20))).isFalse();
        spool.sync();
        assertThat(spool.awaitDurable(end, Duration.ofMillis(20))).isTrue();
        assertThat(reader.next().key()).isEqualTo(key(0));
        assertThat(reader.next().key()).isEqualTo(key(1));
        assertThat(reader.next().nextPosition()).isEqualTo(end);
        assertThat(reader.next()).isNull();
        assertThat(reader.position()).isEqualTo(end);
      }
    }
  }

  @Test
  void positionsAreStableAcrossReopen() throws Exception {
    SpoolConfig config = config(dir).build();
    List<SpoolRecord> before;
    try (FileSpool spool = openManual(config)) {
      appendMany(spool, 0, 20);
      spool.sync();
      before = readAll(spool, 0);
    }
    long end = before.get(19).nextPosition();
    try (FileSpool spool = openManual(config)) {
      assertThat(spool.endPosition()).isEqualTo(end);
      assertThat(spool.durablePosition()).isEqualTo(end);
      assertThat(spool.recovery().records()).isEqualTo(20);
      assertThat(spool.recovery().tornTailBytes()).isZero();
      assertThat(readAll(spool, 0)).usingRecursiveFieldByFieldElementComparator().isEqualTo(before);
      List<Long> ends = appendMany(spool, 20, 10);
      assertThat(ends.get(0)).isEqualTo(end + 14 + key(20).length() + size(20));
    } // close syncs
    try (FileSpool spool = openManual(config)) {
      List<SpoolRecord> all = readAll(spool, 0);
      assertThat(all).hasSize(30);
      assertThat(all.subList(0, 20)).usingRecursiveFieldByFieldElementComparator().isEqualTo(before);
      assertRecords(all, 0);
    }
  }

  @Test
  void acknowledgeDeletesWholeSegmentsOnlyAndPersists() throws Exception {
    SpoolConfig config = config(dir).build();
    List<SpoolRecord> records;
    long ack;
    try (FileSpool spool = openManual(config)) {
      appendMany(spool, 0, 40);
      spool.sync();
      records = readAll(spool, 0);
      int segmentsBefore = spool.segmentCount();
      // Acknowledge up to the middle of the third segment.
      List<Long> bases = segmentFiles(dir).stream().map(p -> Segment.parseBase(p.getFileName().toString())).toList();
      SpoolRecord mid = records.stream().filter(r -> r.position() > bases.get(2)).skip(1).findFirst().orElseThrow();
      ack = mid.position();
      assertThat(ack).isBetween(bases.get(2) + 1, bases.get(3) - 1);

      spool.acknowledge(ack);
      assertThat(spool.acknowledgedPosition()).isEqualTo(ack);
      List<Long> left = segmentFiles(dir).stream().map(p -> Segment.parseBase(p.getFileName().toString())).toList();
      assertThat(left).first().isEqualTo(bases.get(2));
      assertThat(spool.segmentCount()).isEqualTo(segmentsBefore - 2).isEqualTo(left.size());
      assertThat(spool.sizeBytes()).isEqualTo(totalSegmentBytes(dir));
      assertThat(spool.backlogBytes()).isEqualTo(spool.durablePosition() - ack);

      // Acknowledging is idempotent and never goes back.
      spool.acknowledge(ack);
      spool.acknowledge(0);
      assertThat(spool.acknowledgedPosition()).isEqualTo(ack);
      assertThatThrownBy(() -> spool.reader(0)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("already acknowledged");
    }
    try (FileSpool spool = openManual(config)) {
      assertThat(spool.acknowledgedPosition()).isEqualTo(ack);
      List<SpoolRecord> rest = readAll(spool, spool.acknowledgedPosition());
      assertThat(rest).usingRecursiveFieldByFieldElementComparator()
          .isEqualTo(records.stream().filter(r -> r.position() >= ack).toList());

      // Acknowledging everything leaves only the active segment.
      spool.acknowledge(spool.durablePosition());
      assertThat(spool.segmentCount()).isEqualTo(1);
      assertThat(segmentFiles(dir)).hasSize(1);
      assertThat(spool.backlogBytes()).isZero();
      assertThat(readAll(spool, spool.acknowledgedPosition())).isEmpty();
    }
  }

  @Test
  void readerStartsAtAnyRecordBoundary() throws Exception {
    try (FileSpool spool = openManual(config(dir).build())) {
      appendMany(spool, 0, 30);
      spool.sync();
      List<SpoolRecord> all = readAll(spool, 0);
      for (int k : new int[] {1, 7, 15, 29}) {
        List<SpoolRecord> tail = readAll(spool, all.get(k).position());
        assertThat(tail).usingRecursiveFieldByFieldElementComparator().isEqualTo(all.subList(k, 30));
      }
      assertThat(readAll(spool, spool.durablePosition())).isEmpty();

      long inside = all.get(3).position() + 1;
      assertThatThrownBy(() -> spool.reader(inside)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("not a record boundary");
      assertThatThrownBy(() -> spool.acknowledge(inside)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("not a record boundary");
      assertThatThrownBy(() -> spool.reader(spool.durablePosition() + 1)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("beyond the durable position");
      long notDurable = spool.append(key(99), blob(99, 10));
      assertThatThrownBy(() -> spool.acknowledge(notDurable)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("beyond the durable position");
    }
  }

  @Test
  void capRefusesAppendsAndRecoversAfterAcknowledge() throws Exception {
    SpoolConfig config = config(dir).maxBytes(2 * 4096).build();
    try (FileSpool spool = openManual(config)) {
      int seq = 0;
      SpoolFullException full = null;
      while (full == null) {
        try {
          spool.append(key(seq), blob(seq, 1000));
          seq++;
        } catch (SpoolFullException e) {
          full = e;
        }
      }
      assertThat(seq).isGreaterThan(4);
      long end = spool.endPosition();
      assertThat(spool.sizeBytes()).isEqualTo(end).isLessThanOrEqualTo(config.maxBytes());
      assertThat(full.maxBytes()).isEqualTo(config.maxBytes());
      assertThat(full.sizeBytes() + full.recordBytes()).isGreaterThan(config.maxBytes());
      assertThat(full.getMessage()).contains("spool full", "spool.max-bytes = 8192");
      assertThat(full.getStackTrace()).isEmpty();
      assertThat(spool.full()).isTrue();
      // Refusals write nothing and stay refusals.
      for (int i = 0; i < 3; i++) {
        int s = seq;
        assertThatThrownBy(() -> spool.append(key(s), blob(s, 1000))).isInstanceOf(SpoolFullException.class);
      }
      assertThat(spool.endPosition()).isEqualTo(end);
      assertThat(totalSegmentBytes(dir)).isEqualTo(spool.sizeBytes());

      spool.sync();
      List<SpoolRecord> records = readAll(spool, 0);
      assertThat(records).hasSize(seq);
      spool.acknowledge(spool.durablePosition());

      // Space is back; appends succeed by themselves.
      assertThat(spool.full()).isFalse();
      assertThat(spool.sizeBytes()).isLessThanOrEqualTo(4096);
      for (int i = 0; i < 20; i++) {
        try {
          spool.append(key(seq + i), blob(seq + i, 1000));
        } catch (SpoolFullException e) {
          spool.sync();
          spool.acknowledge(spool.durablePosition());
          spool.append(key(seq + i), blob(seq + i, 1000));
        }
      }
      spool.sync();
      List<SpoolRecord> after = readAll(spool, spool.acknowledgedPosition());
      assertThat(after).isNotEmpty();
      assertThat(after.get(after.size() - 1).key()).isEqualTo(key(seq + 19));
    }
  }

  @Test
  void capIsExact() throws Exception {
    try (FileSpool spool = openManual(config(dir).maxBytes(3 * 4096).build())) {
      byte[] fill = new byte[4096 - 14 - 1];
      spool.append("a", fill);
      spool.append("b", fill);
      spool.append("c", Arrays.copyOf(fill, fill.length - 15));
      assertThat(spool.sizeBytes()).isEqualTo(3 * 4096 - 15);
      spool.append("d", new byte[0]); // 15 bytes: exactly at the cap
      assertThat(spool.sizeBytes()).isEqualTo(3 * 4096);
      assertThat(spool.segmentCount()).isEqualTo(3);
      assertThatThrownBy(() -> spool.append("e", new byte[0])).isInstanceOf(SpoolFullException.class);
      assertThat(spool.sizeBytes()).isEqualTo(3 * 4096);
    }
  }

  @Test
  void groupCommitMakesAppendsDurableWithoutExplicitSync() throws Exception {
    ConcurrentLinkedQueue<Long> reported = new ConcurrentLinkedQueue<>();
    SpoolConfig config = config(dir).syncInterval(Duration.ofMillis(5)).build();
    try (FileSpool spool = FileSpool.open(config, reported::add)) {
      long end = 0;
      for (int i = 0; i < 50; i++) {
        end = spool.append(key(i), blob(i, 500));
      }
      assertThat(spool.awaitDurable(end, WAIT)).isTrue();
      assertThat(spool.durablePosition()).isEqualTo(end);
      long last = end;
      // The listener is told after durablePosition moves: wait for it to hear of the end too.
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (!reported.contains(end) && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      assertThat(reported).contains(end);
      assertThat(new ArrayList<>(reported)).isNotEmpty().isSorted().doesNotHaveDuplicates().allMatch(p -> p <= last);
      assertThat(readAll(spool, 0)).hasSize(50);
    }
  }

  @Test
  void syncIntervalZeroMakesEveryAppendDurable() throws Exception {
    List<Long> reported = new ArrayList<>();
    try (FileSpool spool = FileSpool.open(config(dir).syncInterval(Duration.ZERO).build(), reported::add)) {
      for (int i = 0; i < 5; i++) {
        long end = spool.append(key(i), blob(i, 100));
        assertThat(spool.durablePosition()).isEqualTo(end);
        assertThat(reported).last().isEqualTo(end);
      }
    }
  }

  @Test
  void appendValidatesKeysAndSizes() throws Exception {
    try (FileSpool spool = openManual(config(dir).build())) {
      assertThatThrownBy(() -> spool.append("", new byte[1])).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> spool.append("a\uD800b", new byte[1])).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("unpaired surrogate");
      assertThatThrownBy(() -> spool.append("k".repeat(1025), new byte[1])).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> spool.append("\u00e9".repeat(513), new byte[1]))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> spool.append("k", new byte[4096 - 14])).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("spool.segment-bytes = 4096");
      assertThat(spool.endPosition()).isZero();

      String unicode = "1413813813:\u00e9:WEB:\u0437\u0430\u043f\u0438\u0441\u044c:\uD83D\uDE00";
      long end = spool.append(unicode, new byte[0]);
      spool.append("k".repeat(1024), new byte[4096 - 14 - 1024]); // exactly one segment
      spool.sync();
      List<SpoolRecord> records = readAll(spool, 0);
      assertThat(records.get(0).key()).isEqualTo(unicode);
      assertThat(records.get(0).blob()).isEmpty();
      assertThat(records.get(0).nextPosition()).isEqualTo(end);
      assertThat(records.get(1).nextPosition() - records.get(1).position()).isEqualTo(4096);
    }
  }

  @Test
  void closeIsIdempotentSyncsAndStopsUse() throws Exception {
    FileSpool spool = FileSpool.open(config(dir).syncInterval(Duration.ofSeconds(10)).build());
    long end = spool.append(key(1), blob(1, 100));
    SpoolReader reader = spool.reader(0);
    spool.close();
    spool.close();
    assertThat(spool.durablePosition()).isEqualTo(end);
    assertThat(spool.sync()).isEqualTo(end);
    assertThatThrownBy(() -> spool.append(key(2), blob(2, 1))).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(reader::next).isInstanceOf(IllegalStateException.class);
    reader.close();
    assertThat(spool.awaitDurable(end + 1, WAIT)).isFalse();
    try (FileSpool reopened = openManual(config(dir).build())) {
      assertThat(readAll(reopened, 0)).hasSize(1);
    }
  }

  @Test
  void oneSpoolPerDirectory() throws Exception {
    try (FileSpool spool = openManual(config(dir).build())) {
      assertThatThrownBy(() -> FileSpool.open(config(dir).build())).isInstanceOf(IOException.class)
          .hasMessageContaining("in use");
      assertThat(spool.durablePosition()).isZero();
    }
    try (FileSpool again = FileSpool.open(config(dir).build())) {
      assertThat(again.segmentCount()).isEqualTo(1);
    }
  }

  @Test
  void concurrentAppendersAndAReader() throws Exception {
    int threads = 4;
    int perThread = 150;
    SpoolConfig config = config(dir).segmentBytes(64 << 10).syncInterval(Duration.ofMillis(2)).build();
    ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
    try (FileSpool spool = FileSpool.open(config)) {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<?>> writers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        writers.add(pool.submit(() -> {
          start.await();
          for (int i = 0; i < perThread; i++) {
            int seq = thread * perThread + i;
            spool.append(key(seq), blob(seq, seq % 3000));
          }
          return null;
        }));
      }
      Future<List<SpoolRecord>> reader = pool.submit(() -> {
        List<SpoolRecord> got = new ArrayList<>();
        try (SpoolReader r = spool.reader(0)) {
          long deadline = System.nanoTime() + WAIT.toNanos();
          while (got.size() < threads * perThread && System.nanoTime() < deadline) {
            SpoolRecord rec = r.next();
            if (rec == null) {
              spool.awaitDurable(r.position() + 1, Duration.ofMillis(100));
            } else {
              got.add(rec);
            }
          }
        }
        return got;
      });
      start.countDown();
      for (Future<?> w : writers) {
        w.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      }
      List<SpoolRecord> got = reader.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertThat(got).hasSize(threads * perThread);
      Set<String> keys = new HashSet<>();
      for (SpoolRecord r : got) {
        int seq = Integer.parseInt(r.key().substring(r.key().lastIndexOf('t') + 1));
        assertThat(r.blob()).isEqualTo(blob(seq, seq % 3000));
        assertThat(keys.add(r.key())).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
