package io.epochal.aggregator.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;

/**
 * Random sequences of append, sync, clean reopen, crash (with a torn or garbage tail), acknowledge
 * and read, checked after every step against an in-memory model of records and segments.
 */
class FileSpoolModelTest {
  private static final int SEGMENT_BYTES = 4096;

  sealed interface Op permits Append, Sync, Reopen, Crash, Ack, Read {}

  record Append(int keyLength, int blobLength, long seed) implements Op {}

  record Sync() implements Op {}

  record Reopen() implements Op {}

  /** Kill, then cut the last segment somewhere after the durable position and maybe add junk. */
  record Crash(double cut, int junk) implements Op {}

  record Ack(double at) implements Op {}

  record Read(double from) implements Op {}

  @Property(tries = 200)
  void behavesLikeTheModel(@ForAll("ops") List<Op> ops, @ForAll @IntRange(min = 2, max = 6) int capSegments)
      throws Exception {
    Path dir = Files.createTempDirectory("spool-model");
    SpoolConfig config = SpoolTesting.config(dir).segmentBytes(SEGMENT_BYTES).maxBytes((long) capSegments * SEGMENT_BYTES)
        .build();
    Model model = new Model(config.maxBytes());
    FileSpool spool = SpoolTesting.openManual(config);
    try {
      for (Op op : ops) {
        spool = apply(op, spool, model, config);
        check(spool, model, dir);
      }
    } finally {
      spool.close();
      deleteRecursively(dir);
    }
  }

  private FileSpool apply(Op op, FileSpool spool, Model model, SpoolConfig config) throws Exception {
    if (op instanceof Append a) {
      String key = key(a);
      byte[] blob = SpoolTesting.blob(a.seed(), a.blobLength());
      long bytes = RecordFormat.recordBytes(key.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, blob.length);
      if (model.size() + bytes > model.maxBytes) {
        assertThatThrownBy(() -> spool.append(key, blob)).isInstanceOf(SpoolFullException.class);
      } else {
        assertThat(spool.append(key, blob)).isEqualTo(model.append(key, blob, bytes));
      }
    } else if (op instanceof Sync) {
      assertThat(spool.sync()).isEqualTo(model.end);
      model.durable = model.end;
    } else if (op instanceof Reopen) {
      spool.close();
      model.durable = model.end;
      return SpoolTesting.openManual(config);
    } else if (op instanceof Crash c) {
      spool.crash();
      Map.Entry<Long, Long> last = model.segments.lastEntry();
      long low = Math.max(0, model.durable - last.getKey());
      long cut = low + (long) (c.cut() * (last.getValue() - low));
      Path file = config.directory().resolve(Segment.fileName(last.getKey()));
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
        ch.truncate(cut);
      }
      if (c.junk() > 0) {
        byte[] junk = new byte[1 + (int) (c.cut() * 700)];
        if (c.junk() == 1) {
          new SplittableRandom(cut).nextBytes(junk);
        }
        Files.write(file, junk, StandardOpenOption.APPEND);
      }
      model.crash(last.getKey() + cut);
      return SpoolTesting.openManual(config);
    } else if (op instanceof Ack a) {
      long at = model.boundary(a.at(), model.acked);
      spool.acknowledge(at);
      model.acknowledge(at);
    } else if (op instanceof Read r) {
      long from = model.boundary(r.from(), model.acked);
      List<SpoolRecord> got = SpoolTesting.readAll(spool, from);
      List<Rec> expected = model.records.stream().filter(x -> x.position >= from && x.next <= model.durable).toList();
      assertThat(got).hasSameSizeAs(expected);
      for (int i = 0; i < got.size(); i++) {
        SpoolRecord g = got.get(i);
        Rec e = expected.get(i);
        assertThat(g.position()).isEqualTo(e.position);
        assertThat(g.nextPosition()).isEqualTo(e.next);
        assertThat(g.key()).isEqualTo(e.key);
        assertThat(g.blob()).isEqualTo(e.blob);
      }
    }
    return spool;
  }

  private static void check(FileSpool spool, Model model, Path dir) throws IOException {
    assertThat(spool.endPosition()).as("end").isEqualTo(model.end);
    assertThat(spool.durablePosition()).as("durable").isEqualTo(model.durable);
    assertThat(spool.acknowledgedPosition()).as("acknowledged").isEqualTo(model.acked);
    assertThat(spool.backlogBytes()).isEqualTo(model.durable - model.acked);
    assertThat(spool.sizeBytes()).as("size").isEqualTo(model.size());
    assertThat(spool.segmentCount()).isEqualTo(model.segments.size());
    List<Long> bases = SpoolTesting.segmentFiles(dir).stream()
        .map(p -> Segment.parseBase(p.getFileName().toString())).toList();
    assertThat(bases).as("segment files").containsExactlyElementsOf(model.segments.keySet());
    assertThat(SpoolTesting.totalSegmentBytes(dir)).isEqualTo(model.size());
  }

  private static String key(Append a) {
    StringBuilder sb = new StringBuilder();
    SplittableRandom random = new SplittableRandom(a.seed());
    for (int i = 0; i < a.keyLength(); i++) {
      sb.append(random.nextInt(10) == 0 ? '\u00e9' : (char) ('a' + random.nextInt(26)));
    }
    return sb.toString();
  }

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Op> append = Combinators.combine(Arbitraries.integers().between(1, 40),
        Arbitraries.integers().between(0, 3000), Arbitraries.longs()).as(Append::new);
    Arbitrary<Op> crash = Combinators.combine(Arbitraries.doubles().between(0, 1), Arbitraries.integers().between(0, 2))
        .as(Crash::new);
    Arbitrary<Op> ack = Arbitraries.doubles().between(0, 1).map(Ack::new);
    Arbitrary<Op> read = Arbitraries.doubles().between(0, 1).map(Read::new);
    Arbitrary<Op> op = Arbitraries.frequencyOf(
        Tuple.of(12, append),
        Tuple.of(3, Arbitraries.just(new Sync())),
        Tuple.of(1, Arbitraries.just(new Reopen())),
        Tuple.of(2, crash),
        Tuple.of(3, ack),
        Tuple.of(3, read));
    return op.list().ofMinSize(1).ofMaxSize(50);
  }

  private record Rec(long position, long next, String key, byte[] blob) {}

  /** Records and segment sizes as the spool's rules say they must be. */
  private static final class Model {
    final long maxBytes;
    final List<Rec> records = new ArrayList<>();
    final TreeMap<Long, Long> segments = new TreeMap<>(Map.of(0L, 0L));
    long end;
    long durable;
    long acked;

    Model(long maxBytes) {
      this.maxBytes = maxBytes;
    }

    long size() {
      return segments.values().stream().mapToLong(Long::longValue).sum();
    }

    long append(String key, byte[] blob, long bytes) {
      Map.Entry<Long, Long> last = segments.lastEntry();
      if (last.getValue() > 0 && last.getValue() + bytes > SEGMENT_BYTES) {
        if (end <= acked) {
          segments.remove(last.getKey()); // sealed and wholly acknowledged
        }
        segments.put(end, 0L);
        last = segments.lastEntry();
      }
      segments.put(last.getKey(), last.getValue() + bytes);
      records.add(new Rec(end, end + bytes, key, blob));
      end += bytes;
      return end;
    }

    /** A crash that kept the last segment's bytes below {@code cutAt}: whole records survive. */
    void crash(long cutAt) {
      long lastBase = segments.lastKey();
      records.removeIf(r -> r.position >= lastBase && r.next > cutAt);
      end = records.stream().mapToLong(Rec::next).filter(n -> n >= lastBase).max().orElse(lastBase);
      segments.put(lastBase, end - lastBase);
      durable = end;
    }

    /** A record boundary in [from, durable], picked by {@code fraction}. */
    long boundary(double fraction, long from) {
      List<Long> candidates = new ArrayList<>();
      for (Rec r : records) {
        if (r.position >= from && r.position <= durable) {
          candidates.add(r.position);
        }
      }
      candidates.add(durable);
      return candidates.get((int) Math.min(candidates.size() - 1, fraction * candidates.size()));
    }

    void acknowledge(long position) {
      if (position <= acked) {
        return;
      }
      acked = position;
      long lastBase = segments.lastKey();
      segments.entrySet().removeIf(e -> e.getKey() != lastBase && e.getKey() + e.getValue() <= position);
      records.removeIf(r -> r.next <= segments.firstKey());
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
