package io.epochal.consumer.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.common.time.ManualClock;
import io.epochal.consumer.TestStore;
import io.epochal.consumer.read.EpochBatch;
import io.epochal.consumer.read.EpochReader;
import io.epochal.consumer.read.TaggedEvent;
import io.epochal.format.BlobKey;
import io.epochal.format.Tags;
import io.epochal.zooanimal.NodeSelector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The streaming consumer against a real store node, driven by a manual clock. */
class StreamingConsumerTest {
  @TempDir static Path storeDir;
  @TempDir Path dir;
  static TestStore store;
  static EpochReader reader;
  static long base = 1_500_000_000L;

  /** What a handler saw in one call. */
  record Delivery(long epoch, boolean late, Set<BlobKey> keys, List<Long> events) {}

  final BlockingQueue<Delivery> deliveries = new LinkedBlockingQueue<>();
  final List<StreamingConsumer> consumers = new ArrayList<>();
  Map<Long, Set<BlobKey>> published;
  long e0;
  ManualClock clock;

  @BeforeAll
  static void startStore() throws Exception {
    store = new TestStore(storeDir);
    reader = EpochReader.builder().nodes(NodeSelector.of(List.of(store.node()), Duration.ofSeconds(1))).dcs("1")
        .include("WEB").build();
  }

  @AfterAll
  static void stopStore() {
    reader.close();
    store.close();
  }

  @BeforeEach
  void publish() {
    base += 1000; // each test its own seconds
    e0 = base;
    published = new TreeMap<>();
    for (long e = e0; e < e0 + 8; e++) {
      Tags tags = new Tags(e, "1", "WEB", "app");
      published.put(e, new HashSet<>(store.publish(tags, "a1", List.of(store.event(tags), store.event(tags)), 4096)
          .keySet()));
      Tags other = new Tags(e, "1", "LB", "haproxy"); // filtered out
      store.publish(other, "a1", List.of(store.event(other)), 4096);
    }
    clock = new ManualClock(dueAt(e0) - 1);
  }

  @AfterEach
  void closeConsumers() {
    consumers.forEach(StreamingConsumer::close);
  }

  /** When epoch {@code e} is due with the default 3 s lag. */
  static long dueAt(long e) {
    return (e + 1) * 1000 + 3000;
  }

  StreamingConsumer consumer(EpochHandler handler) throws IOException {
    StreamingConsumer c = StreamingConsumer.builder().reader(reader).checkpoint(dir.resolve("checkpoint"))
        .clock(clock).startEpoch(e0).lateWindow(Duration.ofSeconds(10)).lateCheckInterval(Duration.ofSeconds(1))
        .idlePoll(Duration.ofMillis(5)).backoff(Duration.ofMillis(5), Duration.ofMillis(20)).handler(handler)
        .build();
    consumers.add(c);
    c.start();
    return c;
  }

  EpochHandler recording() {
    return batch -> deliveries.add(record(batch));
  }

  static Delivery record(EpochBatch batch) throws Exception {
    List<Long> events = new ArrayList<>();
    for (TaggedEvent e : batch.events()) {
      assertThat(e.tags().epoch()).isEqualTo(batch.epoch());
      events.add((Long) e.fields().get("n"));
    }
    return new Delivery(batch.epoch(), batch.late(), batch.keys(), events);
  }

  Delivery take() throws InterruptedException {
    Delivery d = deliveries.poll(10, TimeUnit.SECONDS);
    assertThat(d).as("a delivery within 10 s").isNotNull();
    return d;
  }

  @Test
  void deliversInOrderAsTimePassesCheckpointsAndResumesWithoutGaps() throws Exception {
    StreamingConsumer first = consumer(recording());
    clock.set(dueAt(e0));
    Delivery d = take();
    assertThat(d.epoch()).isEqualTo(e0);
    assertThat(d.late()).isFalse();
    assertThat(d.keys()).isEqualTo(published.get(e0));
    assertThat(d.events()).hasSize(2);

    clock.set(dueAt(e0 + 2) + 500);
    assertThat(take().epoch()).isEqualTo(e0 + 1);
    assertThat(take().epoch()).isEqualTo(e0 + 2);
    first.close();
    // e0 + 3 was not due: nothing was delivered ahead of time
    assertThat(deliveries).isEmpty();
    Checkpoint cp = Checkpoint.load(dir.resolve("checkpoint"));
    assertThat(cp.next()).isEqualTo(e0 + 3);
    assertThat(cp.delivered()).containsOnlyKeys(e0, e0 + 1, e0 + 2);
    assertThat(cp.delivered().get(e0 + 1)).isEqualTo(published.get(e0 + 1));

    // rebuilt: resumes at the checkpoint and catches up over several due epochs
    clock.set(dueAt(e0 + 6));
    consumer(recording());
    for (long e = e0 + 3; e <= e0 + 6; e++) {
      Delivery r = take();
      assertThat(r.epoch()).isEqualTo(e);
      assertThat(r.keys()).isEqualTo(published.get(e));
    }
  }

  @Test
  void retriesAFailingHandlerInsteadOfSkipping() throws Exception {
    AtomicInteger failuresLeft = new AtomicInteger(3);
    StreamingConsumer c = consumer(batch -> {
      Delivery d = record(batch);
      deliveries.add(d);
      if (batch.epoch() == e0 + 1 && failuresLeft.getAndDecrement() > 0) {
        throw new IllegalStateException("downstream is down");
      }
    });
    clock.set(dueAt(e0 + 2));
    List<Long> order = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      order.add(take().epoch());
    }
    assertThat(order).containsExactly(e0, e0 + 1, e0 + 1, e0 + 1, e0 + 1, e0 + 2);
    c.close();
    assertThat(Checkpoint.load(dir.resolve("checkpoint")).next()).isEqualTo(e0 + 3);
  }

  @Test
  void deliversLateMembersOnceWithinTheWindowAcrossRestarts() throws Exception {
    StreamingConsumer c = consumer(recording());
    clock.set(dueAt(e0));
    assertThat(take().keys()).isEqualTo(published.get(e0));

    Tags tags = new Tags(e0, "1", "WEB", "app");
    Set<BlobKey> late = store.publish(tags, "late1", List.of(store.event(tags)), 4096).keySet();
    clock.advance(1000); // next late check; also makes e0 + 1 due
    Delivery a = take();
    Delivery b = take();
    Delivery lateDelivery = a.late() ? a : b;
    assertThat(lateDelivery.epoch()).isEqualTo(e0);
    assertThat(lateDelivery.late()).isTrue();
    assertThat(lateDelivery.keys()).isEqualTo(late);
    assertThat((a.late() ? b : a).epoch()).isEqualTo(e0 + 1);
    c.close();

    // the delivered keys of watched epochs survive a restart: only the newest member comes
    Set<BlobKey> later = store.publish(tags, "late2", List.of(store.event(tags)), 4096).keySet();
    consumer(recording());
    clock.advance(1000);
    List<Delivery> got = new ArrayList<>(List.of(take(), take()));
    Delivery second = got.stream().filter(Delivery::late).findFirst().orElseThrow();
    assertThat(second.epoch()).isEqualTo(e0);
    assertThat(second.keys()).isEqualTo(later);
    assertThat(got).extracting(Delivery::epoch).contains(e0 + 2);
  }

  @Test
  void aDamagedCheckpointStopsTheStartInsteadOfStartingElsewhere() throws Exception {
    Files.writeString(dir.resolve("checkpoint"), "epochal-consumer-checkpoint 1\nnext 12\ncrc32c 00000000\n");
    StreamingConsumer c = StreamingConsumer.builder().reader(reader).checkpoint(dir.resolve("checkpoint"))
        .clock(clock).handler(recording()).build();
    consumers.add(c);
    assertThatThrownBy(c::start).isInstanceOf(IOException.class).hasMessageContaining("checksum mismatch");
  }
}
