package io.epochal.relocator;

import static io.epochal.relocator.RelocatorTesting.appendBlobs;
import static io.epochal.relocator.RelocatorTesting.assertRelocated;
import static io.epochal.relocator.RelocatorTesting.await;
import static io.epochal.relocator.RelocatorTesting.deadPort;
import static io.epochal.relocator.RelocatorTesting.members;
import static org.assertj.core.api.Assertions.assertThat;

import io.epochal.aggregator.spool.FileSpool;
import io.epochal.consumer.http.StoreClient;
import io.epochal.relocator.RelocatorTesting.Written;
import io.epochal.store.EventStore;
import io.epochal.zooanimal.NodeSelector;
import io.epochal.zooanimal.StoreNodeAddress;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The relocator over a real FileSpool and a real store (behind a fault-injecting proxy) on loopback. */
class SpoolRelocatorTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path storeDir;
  @TempDir Path spoolDir;
  EventStore store;
  FileSpool spool;
  StoreProxy proxy;
  StoreClient client;
  final List<SpoolRelocator> relocators = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    store = RelocatorTesting.startStore(storeDir);
    spool = RelocatorTesting.openSpool(spoolDir);
    proxy = new StoreProxy(store.httpPort());
    client = StoreClient.builder().maxInFlight(256).maxConnectionsPerNode(128)
        .requestTimeout(Duration.ofSeconds(30)).build();
  }

  @AfterEach
  void stop() throws Exception {
    relocators.forEach(SpoolRelocator::stop);
    proxy.close();
    client.close();
    spool.close();
    store.close();
  }

  private SpoolRelocator relocator(Map<String, String> overrides, SimpleMeterRegistry registry,
      StoreNodeAddress... nodes) throws Exception {
    Map<String, String> keys = new HashMap<>();
    keys.put("epochal.relocator.retry.backoff-base", "5ms");
    keys.put("epochal.relocator.retry.backoff-max", "50ms");
    keys.put("epochal.relocator.node-cool-down", "50ms");
    keys.putAll(overrides);
    RelocatorConfig config = RelocatorConfig.of(keys);
    SpoolRelocator r = new SpoolRelocator(config, spool, client, NodeSelector.of(List.of(nodes), config.nodeCoolDown()),
        new RelocatorMetrics(registry), Clock.systemUTC());
    relocators.add(r);
    r.start();
    return r;
  }

  private void awaitAcknowledged(long position) {
    await("spool acknowledged to " + position, WAIT, () -> spool.acknowledgedPosition() >= position);
  }

  @Test
  void relocatesEveryBlobThenListsItsMembersThenAcknowledges() throws Exception {
    List<Written> written = new ArrayList<>(appendBlobs(spool, 0, 60, 20, 1));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    SpoolRelocator r = relocator(Map.of(), registry, proxy.address());
    awaitAcknowledged(spool.durablePosition());
    // Records that become durable while the relocator waits are relocated too (no restart, no poll).
    written.addAll(appendBlobs(spool, 60, 40, 20, 2));
    awaitAcknowledged(spool.durablePosition());

    assertThat(spool.acknowledgedPosition()).isEqualTo(written.get(written.size() - 1).nextPosition());
    assertRelocated(store, written);
    assertThat(proxy.violations).isEmpty();
    RelocatorMetrics m = r.metrics();
    assertThat(m.blobsRelocated.count()).isEqualTo(100);
    assertThat(m.bytesRelocated.count()).isEqualTo(written.stream().mapToLong(w -> w.blob().length).sum());
    assertThat(m.membersPublished.count()).isEqualTo(100);
    assertThat(m.epochWrites.count()).isEqualTo(proxy.epochsPuts.get()).isGreaterThan(0);
    assertThat(registry.get("epochal.relocator.backlog").gauge().value()).isZero();
    assertThat(registry.get("epochal.relocator.inflight").gauge().value()).isZero();
    assertThat(registry.get("epochal.relocator.lag").gauge().value()).isPositive();
    assertThat(registry.get("epochal.relocator.pending.age").gauge().value()).isZero();
    assertThat(registry.get("epochal.relocator.put.latency").tag("bucket", "events").timer().count())
        .isEqualTo(100);
    assertThat(r.health().healthy()).isTrue();
  }

  @Test
  void noMemberIsVisibleBeforeItsBlobAndNothingIsLostWhileTheStoreFails() throws Exception {
    // events PUTs fail (503) while epochs PUTs would succeed: a relocator that published early would
    // leave members without blobs.
    proxy.fault = (bucket, key, attempt) -> bucket.equals("events") ? 503 : null;
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    int dead = deadPort();
    SpoolRelocator r = relocator(Map.of(), registry, proxy.address(), new StoreNodeAddress("127.0.0.1", dead));
    RelocatorMetrics m = r.metrics();
    List<Written> written = appendBlobs(spool, 0, 40, 10, 3);
    await("retries", WAIT, () -> m.failures("events", "status_503") >= 40);

    assertThat(proxy.epochsPuts.get()).isZero();
    for (Written w : written) {
      assertThat(members(store, w.key().epochKey())).as("epochs/%s", w.key().epochKey()).isNull();
    }
    assertThat(spool.acknowledgedPosition()).isZero();
    assertThat(registry.get("epochal.relocator.pending.age").gauge().value()).isPositive();

    // The store comes back, except that one blob is rejected with 400 a few times: it must be
    // retried and stored, not skipped, and its epoch not acknowledged before it.
    String rejected = written.get(7).key().format();
    proxy.fault = (bucket, key, attempt) -> key.equals(rejected) && attempt < 20 ? 400 : null;
    awaitAcknowledged(spool.durablePosition());

    assertRelocated(store, written);
    assertThat(proxy.violations).isEmpty();
    assertThat(m.failures("events", "status_400")).isPositive();
    assertThat(registry.get("epochal.relocator.put.retries").tag("bucket", "events").counter().count())
        .isGreaterThanOrEqualTo(40);
    assertThat(r.health().healthy()).isTrue();
  }

  @Test
  void refusedConnectionsAreRetriedAndAStoppedRelocatorAcknowledgesNothingIncomplete() throws Exception {
    List<Written> written = appendBlobs(spool, 0, 5, 10, 4);
    SpoolRelocator r = relocator(Map.of("epochal.relocator.stop-timeout", "100ms"), new SimpleMeterRegistry(),
        new StoreNodeAddress("127.0.0.1", deadPort()));
    RelocatorMetrics m = r.metrics();
    await("connect failures", WAIT, () -> m.failures("events", "connect") >= 10);
    r.stop();
    assertThat(spool.acknowledgedPosition()).isZero();

    SpoolRelocator second = relocator(Map.of(), new SimpleMeterRegistry(), proxy.address());
    awaitAcknowledged(spool.durablePosition());
    assertRelocated(store, written);
    assertThat(second.health().healthy()).isTrue();
  }

  @Test
  void aRestartResumesAtTheAcknowledgedPositionAndEndsInTheSameState() throws Exception {
    List<Written> written = appendBlobs(spool, 0, 150, 10, 5);
    // After 60 blobs are stored, the store fails every further blob: the first relocator is stopped
    // with work in flight.
    Set<String> firstOk = new HashSet<>();
    proxy.fault = (bucket, key, attempt) -> {
      if (!bucket.equals("events")) {
        return null;
      }
      synchronized (firstOk) {
        if (firstOk.contains(key) || firstOk.size() < 60) {
          firstOk.add(key);
          return null;
        }
      }
      return 503;
    };
    Map<String, String> small = Map.of("epochal.relocator.batch.max-records", "10",
        "epochal.relocator.in-flight", "4", "epochal.relocator.stop-timeout", "200ms");
    SpoolRelocator first = relocator(small, new SimpleMeterRegistry(), proxy.address());
    await("part acknowledged", WAIT, () -> spool.acknowledgedPosition() > 0 && proxy.storedBlobs.size() >= 60);
    await("blocked", WAIT, () -> proxy.eventsReceived.size() > 64);
    first.stop();
    long acked = spool.acknowledgedPosition();
    assertThat(acked).isGreaterThan(0).isLessThan(spool.durablePosition());
    // Acknowledged only what is stored and listed.
    List<String> before = new ArrayList<>();
    List<String> after = new ArrayList<>();
    for (Written w : written) {
      (w.nextPosition() <= acked ? before : after).add(w.key().format());
    }
    assertThat(proxy.storedBlobs).containsAll(before);
    for (Written w : written) {
      if (w.nextPosition() <= acked) {
        assertThat(members(store, w.key().epochKey())).contains(w.key().member());
      }
    }

    proxy.fault = (bucket, key, attempt) -> null;
    int receivedBefore = proxy.eventsReceived.size();
    relocator(small, new SimpleMeterRegistry(), proxy.address());
    awaitAcknowledged(spool.durablePosition());
    Set<String> secondRun = new HashSet<>(proxy.eventsReceived.subList(receivedBefore, proxy.eventsReceived.size()));
    assertThat(secondRun).as("the second relocator starts at the acknowledged position")
        .containsExactlyInAnyOrderElementsOf(after);
    assertRelocated(store, written);
    assertThat(proxy.violations).isEmpty();
  }

  @Test
  void bytesInFlightAreCappedAndReadingWaitsForRoom() throws Exception {
    // ~100 KB blobs, a 1 MiB cap and answers held back: reading stops at the cap.
    List<Written> written = appendBlobs(spool, 0, 40, 2000, 6);
    long largest = written.stream().mapToLong(w -> w.blob().length).max().orElseThrow();
    assertThat(largest).isGreaterThan(50_000);
    CountDownLatch gate = new CountDownLatch(1);
    proxy.eventsGate = gate;
    SpoolRelocator r = relocator(Map.of("epochal.relocator.max-in-flight-bytes", "1MiB",
        "epochal.relocator.in-flight", "100"), new SimpleMeterRegistry(), proxy.address());
    await("cap reached", WAIT, () -> r.inFlightBytes() >= (1 << 20));
    await("all in-flight PUTs held", WAIT, () -> proxy.held.get() == r.inFlightBlobs());
    long readTo = r.readPosition();
    assertThat(r.inFlightBytes()).isLessThan((1 << 20) + largest);
    assertThat(readTo).isLessThan(spool.durablePosition());
    assertThat(proxy.eventsReceived).hasSize(r.inFlightBlobs());
    assertThat(spool.acknowledgedPosition()).isZero();

    gate.countDown();
    proxy.eventsGate = null;
    awaitAcknowledged(spool.durablePosition());
    assertRelocated(store, written);
    assertThat(r.inFlightBytes()).isZero();
  }
}
