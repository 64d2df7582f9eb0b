package io.epochal.store.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.common.time.ManualClock;
import io.epochal.store.StoreErrorCode;
import io.epochal.store.StoreException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BitcaskTest {
  static final long T0 = 1_700_000_000_000L;
  @TempDir Path dir;
  final ManualClock clock = new ManualClock(T0);
  Bitcask engine;

  @AfterEach
  void close() {
    if (engine != null) {
      engine.close();
    }
  }

  Bitcask open(EngineConfig config) throws IOException {
    if (engine != null) {
      engine.close();
    }
    engine = Bitcask.open(dir, config, clock, b -> b.equals("short") ? 10_000 : 0, null);
    return engine;
  }

  static byte[] k(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static ByteBuf v(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
  }

  String read(String bucket, String key) throws StoreException {
    StoredValue sv = engine.get(bucket, k(key));
    if (sv == null) {
      return null;
    }
    try {
      return sv.bytes().toString(StandardCharsets.UTF_8);
    } finally {
      sv.release();
    }
  }

  long put(String bucket, String key, String value) throws StoreException {
    ByteBuf b = v(value);
    try {
      return engine.put(bucket, k(key), b);
    } finally {
      b.release();
    }
  }

  @Test
  void putGetOverwriteDelete() throws Exception {
    open(EngineConfig.defaults());
    assertThat(read("b", "k")).isNull();
    put("b", "k", "one");
    put("b", "k", "two");
    put("other", "k", "elsewhere");
    assertThat(read("b", "k")).isEqualTo("two");
    assertThat(read("other", "k")).isEqualTo("elsewhere");
    assertThat(engine.delete("b", k("k"))).isPositive();
    assertThat(read("b", "k")).isNull();
    assertThat(engine.delete("b", k("k"))).as("deleting a missing key writes nothing").isEqualTo(-1);
    assertThat(read("other", "k")).isEqualTo("elsewhere");
  }

  @Test
  void valuesAreByteIdentical() throws Exception {
    open(EngineConfig.defaults());
    byte[] value = new byte[400_000];
    new java.util.Random(7).nextBytes(value);
    engine.put("events", k("big"), Unpooled.wrappedBuffer(value));
    StoredValue sv = engine.get("events", k("big"));
    assertThat(ByteBufUtil.getBytes(sv.bytes())).isEqualTo(value);
    assertThat(sv.timestamp()).isEqualTo(T0);
    assertThat(sv.bytes().isDirect()).as("read off-heap, not through the Java heap").isTrue();
    sv.release();
  }

  @Test
  void aRollLeavesTheFsyncAndTheHintToTheNextSync() throws Exception {
    open(EngineConfig.defaults().withMaxFileBytes(4096));
    long first = put("b", "key0", "value-0" + "-".repeat(50));
    long id = engine.fileIds().get(0);
    while (engine.fileCount() < 2) {
      put("b", "key" + engine.keyCount(), "value" + "-".repeat(50));
    }
    // The writer rolled without an fsync: the closed file has no hint and nothing is durable yet.
    Path hint = dir.resolve(DataFile.hintName(id));
    assertThat(hint).doesNotExist();
    CompletableFuture<Void> durable = engine.durable(first);
    assertThat(durable).isNotDone();
    engine.sync();
    assertThat(durable).isCompleted();
    assertThat(hint).exists();
    open(EngineConfig.defaults().withMaxFileBytes(4096));
    assertThat(engine.stats().scans()).isZero();
    assertThat(read("b", "key0")).isEqualTo("value-0" + "-".repeat(50));
  }

  @Test
  void withSyncAlwaysARollWritesTheHintAtOnce() throws Exception {
    open(EngineConfig.defaults().withMaxFileBytes(4096).withSync(EngineConfig.SyncMode.ALWAYS));
    long id = engine.fileIds().get(0);
    while (engine.fileCount() < 2) {
      put("b", "key" + engine.keyCount(), "value" + "-".repeat(50));
    }
    assertThat(dir.resolve(DataFile.hintName(id))).exists();
  }

  @Test
  void mergeAndExpiryFinishRolledFilesBeforeTheyTouchThem() throws Exception {
    open(EngineConfig.defaults().withMaxFileBytes(4096));
    for (int i = 0; i < 300; i++) {
      put("b", "key" + (i % 40), "value-" + i + "-".repeat(50)); // overwrites: dead bytes to merge
    }
    assertThat(engine.fileCount()).isGreaterThan(3);
    // No sync ran: every closed file is waiting for its fsync when the merge picks them.
    engine.merge(true);
    for (int i = 260; i < 300; i++) {
      assertThat(read("b", "key" + (i % 40))).isEqualTo("value-" + i + "-".repeat(50));
    }
    engine.rollNow();
    put("short", "gone", "soon");
    engine.rollNow(); // a file of expiring records only, waiting for its fsync when expiry looks
    clock.advance(30_000);
    assertThat(engine.expire()).isEqualTo(1);
    open(EngineConfig.defaults().withMaxFileBytes(4096));
    assertThat(engine.stats().scans()).as("every closed file got its hint").isZero();
    for (int i = 260; i < 300; i++) {
      assertThat(read("b", "key" + (i % 40))).isEqualTo("value-" + i + "-".repeat(50));
    }
    assertThat(read("short", "gone")).isNull();
  }

  @Test
  void reopenUsesHintsAndKeepsEverything() throws Exception {
    open(EngineConfig.defaults().withMaxFileBytes(4096));
    for (int i = 0; i < 200; i++) {
      put("b", "key" + i, "value-" + i + "-".repeat(50));
    }
    engine.delete("b", k("key7"));
    int files = engine.fileCount();
    assertThat(files).as("rolled at 4 KiB").isGreaterThan(3);
    open(EngineConfig.defaults().withMaxFileBytes(4096));
    assertThat(engine.stats().scans()).as("no data file scanned").isZero();
    assertThat(engine.stats().hintLoads()).isEqualTo(files);
    for (int i = 0; i < 200; i++) {
      assertThat(read("b", "key" + i)).isEqualTo(i == 7 ? null : "value-" + i + "-".repeat(50));
    }
  }

  @Test
  void scansWhenHintsAreMissingOrBad() throws Exception {
    open(EngineConfig.defaults().withMaxFileBytes(4096));
    for (int i = 0; i < 200; i++) {
      put("b", "key" + i, "value-" + i + "-".repeat(50));
    }
    engine.close();
    engine = null;
    List<Path> hints = list(".hint");
    Files.delete(hints.get(0));
    Files.write(hints.get(1), new byte[] {1, 2, 3}, StandardOpenOption.APPEND);
    open(EngineConfig.defaults().withMaxFileBytes(4096));
    assertThat(engine.stats().scans()).isEqualTo(2);
    for (int i = 0; i < 200; i++) {
      assertThat(read("b", "key" + i)).isEqualTo("value-" + i + "-".repeat(50));
    }
  }

  @Test
  void tornTailIsCutAtEveryLength() throws Exception {
    open(EngineConfig.defaults());
    put("b", "first", "1");
    put("b", "second", "22");
    engine.close();
    engine = null;
    Path data = list(".data").get(0);
    byte[] full = Files.readAllBytes(data);
    int secondStart = RecordFormat.HEADER + 1 + 1 + 5 + 1;
    for (int cut = secondStart; cut < full.length; cut++) {
      for (Path p : list(".hint")) {
        Files.delete(p);
      }
      Files.write(data, Arrays.copyOf(full, cut));
      open(EngineConfig.defaults());
      assertThat(read("b", "first")).isEqualTo("1");
      assertThat(read("b", "second")).as("cut at %d", cut).isNull();
      assertThat(engine.stats().tornTails()).isEqualTo(cut > secondStart ? 1 : 0);
      assertThat(Files.size(data)).isEqualTo(secondStart);
      engine.close();
      engine = null;
    }
  }

  @Test
  void corruptRecordInTheMiddleIsSkippedAndCounted() throws Exception {
    open(EngineConfig.defaults());
    for (int i = 0; i < 5; i++) {
      put("b", "k" + i, "value-" + i);
    }
    engine.close();
    engine = null;
    Path data = list(".data").get(0);
    for (Path p : list(".hint")) {
      Files.delete(p);
    }
    int recordSize = RecordFormat.HEADER + 1 + 1 + 2 + 7;
    flip(data, 2L * recordSize + recordSize - 1); // last byte of the third record's value
    open(EngineConfig.defaults());
    assertThat(engine.stats().corruptRecords()).isEqualTo(1);
    assertThat(engine.stats().tornTails()).isZero();
    assertThat(read("b", "k2")).isNull();
    for (int i : new int[] {0, 1, 3, 4}) {
      assertThat(read("b", "k" + i)).isEqualTo("value-" + i);
    }
  }

  @Test
  void corruptionFoundWhenReadingIsReportedNotReturned() throws Exception {
    open(EngineConfig.defaults());
    put("b", "k", "precious");
    flip(list(".data").get(0), RecordFormat.HEADER + 3);
    assertThatThrownBy(() -> engine.get("b", k("k"))).isInstanceOf(StoreException.class)
        .extracting(e -> ((StoreException) e).code()).isEqualTo(StoreErrorCode.CORRUPT_RECORD);
    assertThat(engine.stats().corruptRecords()).isEqualTo(1);
  }

  @Test
  void mergeReclaimsDeadBytesAndKeepsDeletesDeleted() throws Exception {
    EngineConfig config = EngineConfig.defaults().withMaxFileBytes(8192);
    open(config);
    for (int round = 0; round < 10; round++) {
      for (int i = 0; i < 20; i++) {
        put("b", "key" + i, "round-" + round + "-" + "x".repeat(100));
      }
    }
    for (int i = 0; i < 5; i++) {
      engine.delete("b", k("key" + i));
    }
    engine.rollNow();
    long before = engine.dataBytes();
    assertThat(engine.needsMerge()).isTrue();
    Bitcask.MergeResult r = engine.merge(false);
    assertThat(r.inputFiles()).isPositive();
    assertThat(engine.dataBytes()).isLessThan(before / 3);
    check(20);
    Bitcask.MergeResult all = engine.merge(true);
    assertThat(all.inputFiles()).isPositive();
    check(20);
    open(config);
    check(20);
    engine.merge(true);
    open(config);
    check(20);
  }

  private void check(int keys) throws StoreException {
    for (int i = 0; i < keys; i++) {
      assertThat(read("b", "key" + i)).isEqualTo(i < 5 ? null : "round-9-" + "x".repeat(100));
    }
  }

  @Test
  void writesDuringMergeWin() throws Exception {
    EngineConfig config = EngineConfig.defaults().withMaxFileBytes(4096);
    open(config);
    for (int i = 0; i < 50; i++) {
      put("b", "key" + i, "old");
      put("b", "key" + i, "older-" + "y".repeat(60));
    }
    engine.rollNow();
    // The merge copies "older-..." values; overwrite half of them concurrently.
    CompletableFuture<Bitcask.MergeResult> merge = CompletableFuture.supplyAsync(() -> {
      try {
        return engine.merge(true);
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });
    for (int i = 0; i < 50; i += 2) {
      put("b", "key" + i, "new");
    }
    merge.join();
    for (int i = 0; i < 50; i++) {
      assertThat(read("b", "key" + i)).isEqualTo(i % 2 == 0 ? "new" : "older-" + "y".repeat(60));
    }
    open(config);
    for (int i = 0; i < 50; i++) {
      assertThat(read("b", "key" + i)).isEqualTo(i % 2 == 0 ? "new" : "older-" + "y".repeat(60));
    }
  }

  @Test
  void expiredValuesVanishAtOnceAndWholeFilesAreDeleted() throws Exception {
    open(EngineConfig.defaults().withMaxFileBytes(4096));
    for (int i = 0; i < 60; i++) {
      put("short", "s" + i, "gone soon " + "z".repeat(50));
    }
    engine.rollNow();
    put("long", "keep", "forever");
    put("short", "late", "written later");
    clock.advance(9_999);
    assertThat(read("short", "s1")).isNotNull();
    clock.advance(1);
    assertThat(read("short", "s1")).as("invisible once the TTL has passed").isNull();
    assertThat(read("short", "late")).isNull();
    int before = engine.fileCount();
    engine.rollNow();
    int deleted = engine.expire();
    assertThat(deleted).as("the files holding only expired records").isEqualTo(before - 1);
    assertThat(engine.stats().expiredFiles()).isEqualTo(deleted);
    assertThat(read("long", "keep")).isEqualTo("forever");
    assertThat(engine.keyCount()).isEqualTo(2); // "keep" and "late" (its file also holds "keep")
  }

  @Test
  void durableCompletesOnlyAfterSync() throws Exception {
    open(EngineConfig.defaults().withSync(EngineConfig.SyncMode.NONE));
    long p = put("b", "k", "v");
    CompletableFuture<Void> d = engine.durable(p);
    assertThat(d).isNotDone();
    assertThat(engine.hasWaiters()).isTrue();
    engine.sync();
    assertThat(d).isCompleted();
    assertThat(engine.durable(p)).isCompleted();
  }

  @Test
  void syncAlwaysIsDurableOnReturn() throws Exception {
    open(EngineConfig.defaults().withSync(EngineConfig.SyncMode.ALWAYS));
    long p = put("b", "k", "v");
    assertThat(engine.durable(p)).isCompleted();
    assertThat(engine.dirty()).isFalse();
  }

  @Test
  void updateSeesTheCurrentValue() throws Exception {
    open(EngineConfig.defaults());
    for (String member : List.of("c", "a", "b")) {
      engine.update("epochs", k("e"), cur -> {
        String old = cur == null ? "" : cur.bytes().toString(StandardCharsets.UTF_8);
        return v(old.isEmpty() ? member : old + "|" + member);
      });
    }
    assertThat(read("epochs", "e")).isEqualTo("c|a|b");
  }

  @Test
  void closeLeavesNoEmptyFiles() throws Exception {
    open(EngineConfig.defaults());
    engine.close();
    open(EngineConfig.defaults());
    engine.close();
    engine = null;
    assertThat(list(".data")).isEmpty();
  }

  /**
   * {@link Bitcask#get} retries when the file it looked up is closed under it by a merge or an
   * expiry (ClosedChannelException). Netty's {@code ByteBuf.writeBytes(FileChannel, ...)} swallows
   * that exception and returns -1, which {@link DataFile#read} reported as "unexpected end of
   * file", so a read racing a merge failed with IO_ERROR (found by BitcaskModelTest's racing test).
   */
  @Test
  void readOfAFileClosedUnderItSaysClosedNotEndOfFile() throws Exception {
    DataFile f = DataFile.create(dir, 0);
    byte[] record = k("a record's bytes");
    f.append(new ByteBuffer[] {ByteBuffer.wrap(record)}, record.length);
    ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(record.length, record.length);
    try {
      f.read(buf, 0, record.length);
      assertThat(ByteBufUtil.getBytes(buf)).isEqualTo(record);
      buf.clear();
      assertThatThrownBy(() -> f.read(buf, 1, record.length)).as("a real end of file is still an I/O error")
          .isInstanceOf(IOException.class).isNotInstanceOf(ClosedChannelException.class)
          .hasMessageContaining("unexpected end of file");
      buf.clear();
      f.close(); // as removeFile does when a merge or expiry deletes the file
      assertThatThrownBy(() -> f.read(buf, 0, record.length)).isInstanceOf(ClosedChannelException.class);
    } finally {
      buf.release();
    }
  }

  private List<Path> list(String suffix) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.toString().endsWith(suffix)).sorted().toList();
    }
  }

  static void flip(Path file, long offset) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, offset);
      b.put(0, (byte) (b.get(0) ^ 0x40));
      b.rewind();
      ch.write(b, offset);
    }
  }
}
