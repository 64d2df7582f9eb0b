package io.epochal.emitter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.datagram.DatagramReader;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EventEmitterTest {
  private DatagramSocket receiver;
  private final List<Tags> tags = new ArrayList<>();
  private final List<Map<String, Object>> events = new ArrayList<>();
  private final List<Integer> datagramSizes = new ArrayList<>();
  private final List<Integer> datagramVersions = new ArrayList<>();
  private final Clock clock = Clock.fixed(Instant.ofEpochSecond(1413813813L, 700_000_000), ZoneOffset.UTC);

  @BeforeEach
  void bind() throws IOException {
    receiver = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    receiver.setReceiveBufferSize(4 << 20);
    receiver.setSoTimeout(100);
  }

  @AfterEach
  void unbind() {
    receiver.close();
  }

  private EventEmitter.Builder emitter() {
    return EventEmitter.builder()
        .aggregator(new InetSocketAddress(InetAddress.getLoopbackAddress(), receiver.getLocalPort()))
        .dc("dc1")
        .type("WEB")
        .subtype("app")
        .clock(clock);
  }

  /** Receives datagrams until {@code n} events arrived, or fails after 10 s. */
  private void receive(int n) throws IOException, FormatException {
    DatagramReader reader = new DatagramReader();
    byte[] buf = new byte[65_536];
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (events.size() < n) {
      assertThat(System.nanoTime()).as("%d of %d events arrived in time", events.size(), n).isLessThan(deadline);
      DatagramPacket p = new DatagramPacket(buf, buf.length);
      try {
        receiver.receive(p);
      } catch (SocketTimeoutException e) {
        continue;
      }
      datagramSizes.add(p.getLength());
      datagramVersions.add(p.getData()[2] & 0xFF);
      reader.read(p.getData(), 0, p.getLength(), new DatagramReader.Sink() {
        @Override
        public void event(Tags t, Map<String, Object> event) {
          tags.add(t);
          events.add(event);
        }

        @Override
        public void invalidEvent(FormatException e) {
          throw new AssertionError("invalid event from the emitter", e);
        }
      });
    }
  }

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.onSpinWait();
      Thread.yield();
    }
  }

  @ParameterizedTest(name = "datagram v{0}")
  @ValueSource(ints = {1, 2})
  void exactEventsAndTagsArriveBatched(int version) throws Exception {
    int n = 2_000;
    try (EventEmitter e = emitter().datagramBytes(1400).datagramVersion(version).build()) {
      for (int i = 0; i < n; i++) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("i", i);
        event.put("url", "/users/" + i);
        event.put("nested", Map.of("ok", true));
        if (i % 3 == 0) {
          e.emit("CRON", "", event);
        } else {
          e.emit(event);
        }
        event.clear(); // the emitter encoded it already: the caller may reuse the map
      }
      receive(n);
      // The sender counts a datagram after the socket took it, which can be after it arrived.
      await("sent counted", () -> e.stats().sent() == n);
      assertThat(e.stats().droppedTotal()).isZero();
    }
    for (int i = 0; i < n; i++) {
      assertThat(events.get(i)).containsEntry("i", (long) i).containsEntry("url", "/users/" + i)
          .containsEntry("nested", Map.of("ok", true));
      String type = i % 3 == 0 ? "CRON" : "WEB";
      String subtype = i % 3 == 0 ? "" : "app";
      assertThat(tags.get(i)).isEqualTo(new Tags(1413813813L, "dc1", type, subtype));
    }
    assertThat(datagramVersions).as("format of every datagram").containsOnly(version);
    assertThat(datagramSizes.size()).as("datagrams for %d events", n).isLessThan(n / 10);
    assertThat(datagramSizes).allSatisfy(s -> assertThat(s).isLessThanOrEqualTo(1400));
  }

  @Test
  void closeFlushesWithoutWaitingForTheLinger() throws Exception {
    EventEmitter e = emitter().linger(Duration.ofSeconds(10)).build();
    for (int i = 0; i < 5; i++) {
      e.emit(Map.of("i", i));
    }
    e.close();
    receive(5);
    assertThat(events).extracting(m -> m.get("i")).containsExactly(0L, 1L, 2L, 3L, 4L);
    e.emit(Map.of("late", true));
    assertThat(e.stats().dropped()).containsEntry(DropReason.CLOSED, 1L);
    e.close(); // idempotent
    EmitterStats s = e.stats();
    assertThat(s.emitted()).isEqualTo(6);
    assertThat(s.sent() + s.droppedTotal()).isEqualTo(s.emitted());
  }

  @Test
  void lingerSendsAPartialDatagram() throws Exception {
    try (EventEmitter e = emitter().linger(Duration.ofMillis(2)).build()) {
      e.emit(Map.of("only", "one"));
      receive(1);
      await("datagram counted", () -> e.stats().datagrams() == 1);
    }
  }

  @Test
  void anEventLargerThanTheBudgetTravelsAlone() throws Exception {
    try (EventEmitter e = emitter().datagramBytes(1400).build()) {
      e.emit(Map.of("small", 1));
      e.emit(Map.of("big", "x".repeat(20_000)));
      e.emit(Map.of("small", 2));
      receive(3);
    }
    assertThat(events.get(1).get("big")).isEqualTo("x".repeat(20_000));
    assertThat(datagramSizes).anySatisfy(s -> assertThat(s).isGreaterThan(20_000));
  }

  @Test
  void oversizeEventsAreCountedNotThrown() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (EventEmitter e = emitter().meterRegistry(registry).build()) {
      e.emit(Map.of("huge", "x".repeat(70_000)));
      assertThat(e.stats().dropped()).containsEntry(DropReason.OVERSIZE, 1L);
      assertThat(registry.get("epochal.emitter.dropped").tag("reason", "oversize").functionCounter().count())
          .isEqualTo(1.0);
      e.emit(Map.of("fine", true));
      receive(1);
      await("sent counted", () -> registry.get("epochal.emitter.sent").functionCounter().count() == 1.0);
    }
  }

  @Test
  void programmingErrorsThrowNamingTheField() throws Exception {
    try (EventEmitter e = emitter().build()) {
      assertThatThrownBy(() -> e.emit(Map.of("when", new Object())))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'when'");
      assertThatThrownBy(() -> e.emit("BAD TYPE", "", Map.of()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("type");
      assertThatThrownBy(() -> e.emit("WEB", "a:b", Map.of()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("subtype");
      assertThat(e.stats().emitted()).isZero();
    }
    assertThatThrownBy(() -> EventEmitter.builder().dc("1").type("WEB").build())
        .hasMessageContaining("aggregator");
    assertThatThrownBy(() -> emitter().dc("a|b").build()).hasMessageContaining("dc");
    assertThatThrownBy(() -> emitter().datagramBytes(100)).hasMessageContaining("datagramBytes");
    assertThatThrownBy(() -> emitter().meterRegistry("not a registry")).hasMessageContaining("MeterRegistry");
    assertThatThrownBy(() -> emitter().datagramVersion(3)).hasMessageContaining("datagramVersion");
  }

  @Test
  void theDatagramVersionFollowsTheBudgetUnlessChosen() throws Exception {
    try (EventEmitter small = emitter().datagramBytes(1400).build();
        EventEmitter large = emitter().build();
        EventEmitter chosen = emitter().datagramBytes(1400).datagramVersion(2).build()) {
      assertThat(small.datagramVersion()).isEqualTo(1);
      assertThat(large.datagramVersion()).isEqualTo(2);
      assertThat(chosen.datagramVersion()).isEqualTo(2);
      large.emit(Map.of("i", 1));
      large.flush();
      receive(1);
    }
    assertThat(datagramVersions).containsExactly(2);
  }

  @Test
  void afterCloseInvalidEventsStillThrowAndValidOnesCountAsClosed() throws Exception {
    EventEmitter e = emitter().build();
    e.close();
    assertThatThrownBy(() -> e.emit(Map.of("when", new Object()))).isInstanceOf(IllegalArgumentException.class);
    e.emit(Map.of("ok", 1));
    e.emit(Map.of("huge", "x".repeat(70_000)));
    assertThat(e.stats().emitted()).isEqualTo(2);
    assertThat(e.stats().dropped()).containsEntry(DropReason.CLOSED, 1L).containsEntry(DropReason.OVERSIZE, 1L);
  }

  @Test
  void dropsAreCountedWhenTheReceiverIsGone() throws Exception {
    try (EventEmitter e = emitter().linger(Duration.ZERO).build()) {
      receiver.close();
      // The first datagram to a closed port is lost silently by the kernel; the ICMP answer makes
      // later sends fail with "port unreachable", which the emitter counts.
      await("unreachable drops are counted", () -> {
        e.emit(Map.of("x", 1));
        e.flush();
        return e.stats().dropped().get(DropReason.UNREACHABLE) > 0;
      });
      EmitterStats s = e.stats();
      assertThat(s.sent() + s.droppedTotal()).isLessThanOrEqualTo(s.emitted());
    }
  }

  @Test
  void concurrentEmittersLoseNothing() throws Exception {
    int threads = 4;
    int perThread = 2_500;
    try (EventEmitter e = emitter().build()) {
      List<Thread> ts = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int id = t;
        ts.add(new Thread(() -> {
          for (int i = 0; i < perThread; i++) {
            e.emit(Map.of("t", id, "i", i));
          }
        }));
      }
      ts.forEach(Thread::start);
      for (Thread t : ts) {
        t.join();
      }
      receive(threads * perThread);
      assertThat(e.stats().droppedTotal()).isZero();
    }
    long[] next = new long[threads];
    for (Map<String, Object> ev : events) {
      int t = ((Long) ev.get("t")).intValue();
      assertThat(ev.get("i")).as("per-thread order").isEqualTo(next[t]++);
    }
  }
}
