package io.epochal.aggregator.receive;

import io.epochal.common.time.ManualClock;
import static org.assertj.core.api.Assertions.assertThat;

import io.epochal.aggregator.AggregatorMetrics;
import io.epochal.aggregator.batch.BatcherConfig;
import io.epochal.aggregator.batch.ChunkTokens;
import io.epochal.aggregator.batch.EpochBatcher;
import io.epochal.emitter.EventEmitter;
import io.epochal.format.BlobKey;
import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.BlobReader;
import io.epochal.format.blob.SealedBlob;
import io.epochal.format.datagram.DatagramFormat;
import io.epochal.format.datagram.DatagramWriter;
import io.epochal.format.reference.ReferenceEvents;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Real UDP on loopback into real batchers; blobs are captured instead of spooled. */
class UdpReceiverTest {
  private static final long E = 1_413_813_813L;

  private final ManualClock clock = new ManualClock(E * 1000 + 100);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final AggregatorMetrics metrics = new AggregatorMetrics(registry);
  private final ConcurrentLinkedQueue<Map.Entry<BlobKey, SealedBlob>> sealed = new ConcurrentLinkedQueue<>();
  private final ChunkTokens tokens = new ChunkTokens("t1", 0);
  private UdpReceiver receiver;

  @AfterEach
  void stop() {
    if (receiver != null) {
      receiver.close();
    }
  }

  private UdpReceiver start(int channels) throws InterruptedException {
    return start(channels, Duration.ofMillis(2), Duration.ofMillis(1));
  }

  private UdpReceiver start(int channels, Duration drainInterval, Duration readInterval) throws InterruptedException {
    ReceiverConfig config = new ReceiverConfig("127.0.0.1", 0, channels, 4 << 20, 16, true, Duration.ofMillis(5),
        64L << 20, drainInterval, readInterval);
    receiver = new UdpReceiver(config, () -> new EpochBatcher(BatcherConfig.defaults(),
        BlobEncoder.builder().producerId("t1").build(), tokens, clock, metrics,
        (k, b) -> sealed.add(Map.entry(k, b))), metrics);
    receiver.start();
    return receiver;
  }

  private static void awaitOr(java.util.function.Supplier<String> what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out: " + what.get());
      }
      Thread.onSpinWait();
      Thread.yield();
    }
  }

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.onSpinWait();
      Thread.yield();
    }
  }

  private double malformed() {
    return registry.find("epochal.aggregator.datagrams.malformed").counters().stream()
        .mapToDouble(c -> c.count()).sum();
  }

  private double received() {
    return metrics.registry().find("epochal.aggregator.events.received").counters().stream()
        .mapToDouble(c -> c.count()).sum();
  }

  /** Reads every sealed blob: events per tags, in blob order. */
  private Map<Tags, List<Map<String, Object>>> readAll() throws FormatException {
    Map<Tags, List<Map<String, Object>>> out = new HashMap<>();
    try (BlobReader reader = new BlobReader()) {
      for (Map.Entry<BlobKey, SealedBlob> e : sealed) {
        BlobReader.Blob blob = reader.open(e.getValue().bytes());
        assertThat(blob.tags()).isEqualTo(e.getKey().tags());
        out.computeIfAbsent(blob.tags(), t -> new ArrayList<>()).addAll(blob.readAll());
      }
    }
    return out;
  }

  /**
   * With drain and read intervals (workers look at their queues every 2 ms, channels read every
   * 1 ms) and without (woken per datagram, read as datagrams arrive).
   */
  @ParameterizedTest
  @ValueSource(longs = {2, 0})
  void emittedEventsArriveGroupedExactlyOnce(long intervalMillis) throws Exception {
    UdpReceiver r = start(2, Duration.ofMillis(intervalMillis), Duration.ofMillis(intervalMillis / 2));
    int n = 20_000;
    ReferenceEvents gen = new ReferenceEvents(5);
    Map<String, Integer> perType = new HashMap<>();
    try (EventEmitter emitter = EventEmitter.builder().aggregator("127.0.0.1", r.port()).dc("1").type("WEB")
        .clock(clock).build()) {
      for (int i = 0; i < n; i++) {
        ReferenceEvents.Event e = gen.next();
        Map<String, Object> fields = new java.util.LinkedHashMap<>(e.fields());
        fields.put("seq", (long) i);
        emitter.emit(e.type(), e.subtype(), fields);
        perType.merge(e.type() + ":" + e.subtype(), 1, Integer::sum);
        if (i % 500 == 499) {
          // Rounds well under the socket buffer: UDP has no flow control, and this test is about
          // grouping, not about overload (the load harness measures that).
          emitter.flush();
          int sent = i + 1;
          awaitOr(() -> "round " + sent + ": received " + received() + ", datagrams " + metrics.datagrams.count()
              + ", malformed " + malformed() + ", emitter " + emitter.stats() + " " + emitter, () -> received() == sent);
        }
      }
    }
    await("all events received", () -> received() == n);
    clock.set((E + 1) * 1000 + 2000);
    // Blobs are handed on from the receive threads: wait for their events, not for open batches.
    await("the epoch is sealed", () -> sealed.stream().mapToLong(e -> e.getValue().eventCount()).sum() == n);
    Map<Tags, List<Map<String, Object>>> byTags = readAll();
    long total = 0;
    java.util.BitSet seen = new java.util.BitSet(n);
    for (Map.Entry<Tags, List<Map<String, Object>>> e : byTags.entrySet()) {
      assertThat(e.getKey().epoch()).isEqualTo(E);
      assertThat(e.getValue()).hasSize(perType.get(e.getKey().type() + ":" + e.getKey().subtype()) );
      for (Map<String, Object> ev : e.getValue()) {
        int seq = ((Long) ev.get("seq")).intValue();
        assertThat(seen.get(seq)).as("event %d twice", seq).isFalse();
        seen.set(seq);
        total++;
      }
    }
    assertThat(total).isEqualTo(n);
  }

  @Test
  void malformedDatagramsAreCountedAndDoNotDisturbValidOnes() throws Exception {
    UdpReceiver r = start(1);
    SplittableRandom random = new SplittableRandom(9);
    int valid = 0;
    int garbage = 0;
    try (DatagramSocket s = new DatagramSocket()) {
      InetAddress lo = InetAddress.getLoopbackAddress();
      for (int i = 0; i < 3000; i++) {
        byte[] d;
        if (i % 3 == 0) {
          d = new byte[1 + random.nextInt(2000)];
          random.nextBytes(d);
          if (i % 6 == 0 && d.length > 1) {
            d[0] = 'E';
            d[1] = 'D'; // right magic, the rest garbage
          }
          garbage++;
        } else if (i % 3 == 1 && i % 7 == 0) {
          // A valid datagram (v1 or v2) with one bit flipped: the checksum rejects it whole.
          d = datagram(i % 2 == 0 ? DatagramFormat.VERSION : DatagramFormat.VERSION_2, -i);
          int len = d.length;
          int bit = random.nextInt(len * 8);
          d[bit / 8] ^= (byte) (1 << (bit % 8));
          garbage++;
        } else {
          d = datagram(i % 2 == 0 ? DatagramFormat.VERSION : DatagramFormat.VERSION_2, i);
          valid++;
        }
        s.send(new DatagramPacket(d, d.length, lo, r.port()));
      }
    }
    int expectValid = valid;
    int expectGarbage = garbage;
    await("every datagram received", () -> metrics.datagrams.count() == expectValid + expectGarbage);
    // The worker decodes after the receive thread counted: wait for it to judge them all.
    await("every datagram judged", () -> received() == expectValid && malformed() == expectGarbage);
    r.close();
    assertThat(malformed()).isEqualTo(garbage);
    Map<Tags, List<Map<String, Object>>> byTags = readAll();
    List<Map<String, Object>> kept = byTags.get(new Tags(E, "1", "WEB", ""));
    assertThat(kept).hasSize(valid);
    assertThat(kept).allSatisfy(e -> assertThat((Long) e.get("i")).isPositive()); // no mutated one slipped in
  }

  /** A datagram of {@code version} holding one event {@code {"i": i}}, as an emitter of that version sends it. */
  private static byte[] datagram(int version, long i) {
    DatagramWriter w = new DatagramWriter(8192, version);
    w.tryAdd(E, "1", "WEB", "", Map.of("i", i));
    return java.util.Arrays.copyOf(w.buffer(), w.finish());
  }

  @Test
  void aDroppedDatagramCountsTheEventsItsHeaderDeclares() {
    DatagramWriter b = new DatagramWriter(8192, DatagramFormat.VERSION);
    for (int i = 0; i < 7; i++) {
      b.tryAdd(E, "1", "WEB", "", Map.of("i", (long) i));
    }
    int len = b.finish();
    io.netty.buffer.ByteBuf buf = io.netty.buffer.Unpooled.wrappedBuffer(b.buffer(), 0, len);
    assertThat(UdpReceiver.declaredEvents(buf)).isEqualTo(7);
    assertThat(UdpReceiver.declaredEvents(io.netty.buffer.Unpooled.wrappedBuffer(new byte[] {1, 2, 3}))).isZero();
    byte[] wrongMagic = java.util.Arrays.copyOf(b.buffer(), len);
    wrongMagic[0] = 'X';
    assertThat(UdpReceiver.declaredEvents(io.netty.buffer.Unpooled.wrappedBuffer(wrongMagic))).isZero();
  }

  @Test
  void closeSealsWhatIsOpen() throws Exception {
    UdpReceiver r = start(1);
    try (EventEmitter emitter = EventEmitter.builder().aggregator("127.0.0.1", r.port()).dc("1").type("WEB")
        .clock(clock).build()) {
      for (int i = 0; i < 10; i++) {
        emitter.emit(Map.of("i", i));
      }
    }
    await("received", () -> received() == 10 && r.openBatches() == 1);
    r.close();
    assertThat(readAll().get(new Tags(E, "1", "WEB", ""))).hasSize(10);
  }
}
