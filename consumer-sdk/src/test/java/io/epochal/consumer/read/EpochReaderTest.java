package io.epochal.consumer.read;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.consumer.TestStore;
import io.epochal.format.BlobKey;
import io.epochal.format.EpochKey;
import io.epochal.format.EpochMember;
import io.epochal.format.Tags;
import io.epochal.format.blob.EventCursor;
import io.epochal.zooanimal.NodeSelector;
import io.epochal.zooanimal.StoreNodeAddress;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** EpochReader against a real store node holding real blobs. */
class EpochReaderTest {
  static final long E = 1_413_813_800L;
  static final String[][] KINDS = {{"WEB", "app"}, {"WEB", "api"}, {"LB", "haproxy"}, {"CRON", ""}};

  @TempDir static Path dir;
  static TestStore store;
  /** Everything written for epochs E..E+5 (E+3 has nothing), by epoch then blob. */
  static final Map<Long, Map<BlobKey, List<Map<String, Object>>>> written = new TreeMap<>();

  @BeforeAll
  static void start() throws Exception {
    store = new TestStore(dir);
    for (long epoch = E; epoch <= E + 5; epoch++) {
      Map<BlobKey, List<Map<String, Object>>> blobs = new LinkedHashMap<>();
      if (epoch != E + 3) {
        for (String dc : List.of("1", "2", "eu-west-1")) {
          for (String[] kind : KINDS) {
            Tags tags = new Tags(epoch, dc, kind[0], kind[1]);
            List<Map<String, Object>> events = new ArrayList<>();
            int n = kind[0].equals("WEB") ? 300 : 20;
            for (int i = 0; i < n; i++) {
              events.add(store.event(tags));
            }
            // two writers for WEB:app, as two aggregators would
            blobs.putAll(store.publish(tags, "a7", events.subList(0, n / 2), 4096));
            blobs.putAll(store.publish(tags, "b2", events.subList(n / 2, n), 4096));
          }
        }
      }
      written.put(epoch, blobs);
    }
  }

  @AfterAll
  static void stop() {
    store.close();
  }

  static NodeSelector live() {
    return NodeSelector.of(List.of(store.node()), Duration.ofSeconds(10));
  }

  /** The written blobs of {@code epoch} that the filter below (dc 1 and eu-west-1; WEB, CRON:"") passes. */
  static Map<BlobKey, List<Map<String, Object>>> expected(long epoch) {
    Map<BlobKey, List<Map<String, Object>>> out = new LinkedHashMap<>();
    written.get(epoch).forEach((k, v) -> {
      if ((k.dc().equals("1") || k.dc().equals("eu-west-1"))
          && (k.type().equals("WEB") || (k.type().equals("CRON") && k.subtype().isEmpty()))) {
        out.put(k, v);
      }
    });
    return out;
  }

  static EpochReader.Builder filtered(NodeSelector nodes) {
    return EpochReader.builder().nodes(nodes).dcs("eu-west-1", "1").include("WEB").include("CRON", "")
        .include("LB", "nope");
  }

  @Test
  void readsBackExactlyTheEventsWrittenInEpochOrderFiltered() throws Exception {
    List<Long> epochs = new ArrayList<>();
    Set<Long> seen = new HashSet<>();
    try (EpochReader reader = filtered(live()).readAheadEpochs(2).maxConcurrentFetches(3).build();
        EpochIterator it = reader.read(E, E + 5)) {
      while (it.hasNext()) {
        EpochBatch batch = it.next();
        epochs.add(batch.epoch());
        assertThat(batch.late()).isFalse();
        Map<BlobKey, List<Map<String, Object>>> got = new LinkedHashMap<>();
        for (EpochBlob blob : batch.blobs()) {
          assertThat(blob.tags()).isEqualTo(blob.key().tags());
          List<Map<String, Object>> events = new ArrayList<>();
          for (TaggedEvent e : blob.events()) {
            assertThat(e.tags()).isEqualTo(new Tags(batch.epoch(), blob.key().dc(), blob.key().type(),
                blob.key().subtype()));
            assertThat(e.fields().get("where")).isEqualTo(e.tags().dc() + "/" + e.tags().type() + "/"
                + e.tags().subtype());
            assertThat(seen.add((Long) e.fields().get("n"))).as("event delivered once").isTrue();
            events.add(e.fields());
          }
          assertThat(got.put(blob.key(), events)).as("blob delivered once").isNull();
        }
        assertThat(got).isEqualTo(expected(batch.epoch()));
        // DCs in the configured order, then members sorted
        List<String> dcOrder = batch.blobs().stream().map(b -> b.key().dc()).distinct().toList();
        assertThat(dcOrder).containsExactlyElementsOf(batch.isEmpty() ? List.of() : List.of("eu-west-1", "1"));
        assertThat(batch.eventCount()).isEqualTo(got.values().stream().mapToLong(List::size).sum());
      }
    }
    assertThat(epochs).containsExactly(E, E + 1, E + 2, E + 3, E + 4, E + 5);
    long expectedEvents = written.keySet().stream().mapToLong(e -> expected(e).values().stream()
        .mapToLong(List::size).sum()).sum();
    assertThat(seen).hasSize((int) expectedEvents);
    assertThat(expected(E).size()).as("several chunks per tag set").isGreaterThan(2 * 2 * 3);
  }

  @Test
  void cursorDecodesLazilyAndReadEpochSkipsKnownBlobs() throws Exception {
    try (EpochReader reader = filtered(live()).build()) {
      EpochBatch all = reader.readEpoch(E + 1);
      EpochBlob first = all.blobs().get(0);
      EventCursor c = first.cursor();
      assertThat(c.hasNext()).isTrue();
      assertThat(c.next()).isEqualTo(expected(E + 1).get(first.key()).get(0));

      Set<BlobKey> known = new HashSet<>(all.keys());
      BlobKey kept = all.blobs().get(all.blobs().size() - 1).key();
      known.remove(kept);
      EpochBatch rest = reader.readEpoch(E + 1, known);
      assertThat(rest.keys()).containsExactly(kept);
      assertThat(reader.readEpoch(E + 3).isEmpty()).isTrue();
    }
  }

  @Test
  void visitEventsSeesEveryEventOfEveryBlobWithoutMaps() throws Exception {
    // The top-level "n" of each event, from the visitor's calls, against the decoded maps.
    final class TopLevelN implements io.epochal.format.codec.EventVisitor {
      final List<Long> ns = new ArrayList<>();
      int depth;
      boolean atN;

      @Override
      public void beginMap(int size) {
        depth++;
      }

      @Override
      public void endMap() {
        depth--;
      }

      @Override
      public void key(String key) {
        atN = depth == 1 && key.equals("n");
      }

      @Override
      public void longValue(long value) {
        if (atN) {
          ns.add(value);
        }
      }
    }
    try (EpochReader reader = filtered(live()).build()) {
      EpochBatch batch = reader.readEpoch(E + 2);
      assertThat(batch.blobs()).isNotEmpty();
      for (EpochBlob blob : batch.blobs()) {
        TopLevelN v = new TopLevelN();
        assertThat(blob.visitEvents(v)).isEqualTo(blob.eventCount());
        assertThat(v.depth).isZero();
        assertThat(v.ns).containsExactlyElementsOf(blob.events().stream().map(e -> (Long) e.fields().get("n")).toList());
        // A second visit of the same blob (pooled reader, reused buffer) sees the same.
        TopLevelN again = new TopLevelN();
        blob.visitEvents(again);
        assertThat(again.ns).isEqualTo(v.ns);
      }
    }
  }

  @Test
  void aListedBlobThatIsMissingIsAnErrorNamingTheKey() throws Exception {
    long epoch = E + 100;
    Tags tags = new Tags(epoch, "1", "WEB", "app");
    store.publish(tags, "ok", List.of(store.event(tags)), 4096);
    store.listMembers(new EpochKey(epoch, "1"), List.of(new EpochMember("WEB", "app", "gone.0")));
    try (EpochReader reader = filtered(live()).build(); EpochIterator it = reader.read(epoch - 1, epoch + 1)) {
      assertThat(it.next().epoch()).isEqualTo(epoch - 1);
      assertThatThrownBy(it::next).isInstanceOfSatisfying(ReadException.class, e -> {
        assertThat(e.code()).isEqualTo(ReadException.Code.MISSING_BLOB);
        assertThat(e.key()).isEqualTo("events/" + epoch + ":1:WEB:app:gone.0");
        assertThat(e.getMessage()).contains("events/" + epoch + ":1:WEB:app:gone.0")
            .contains("epochs/" + epoch + "-1").contains("not found on any replica");
      });
      assertThat(it.hasNext()).isFalse();
    }
  }

  @Test
  void aBlobThatFailsVerificationIsAnErrorNamingTheKey() throws Exception {
    long epoch = E + 200;
    Tags tags = new Tags(epoch, "1", "WEB", "app");
    BlobKey key = store.publish(tags, "c", List.of(store.event(tags), store.event(tags)), 4096).keySet().iterator()
        .next();
    // a blob of another second stored under this key: its checksum holds, its tags do not match
    BlobKey other = store.publish(tags.withEpoch(epoch + 1), "x", List.of(store.event(tags)), 4096).keySet()
        .iterator().next();
    byte[] wrong = filtered(live()).build().readEpoch(epoch + 1).blobs().get(0).bytes();
    assertThat(other.epoch()).isEqualTo(epoch + 1);
    store.putBlob(key, wrong);
    try (EpochReader reader = filtered(live()).build()) {
      assertThatThrownBy(() -> reader.readEpoch(epoch)).isInstanceOfSatisfying(ReadException.class, e -> {
        assertThat(e.code()).isEqualTo(ReadException.Code.CORRUPT_BLOB);
        assertThat(e.key()).isEqualTo("events/" + key);
      });
    }
    byte[] garbage = wrong.clone();
    garbage[garbage.length / 2] ^= 1;
    store.putBlob(key, garbage);
    try (EpochReader reader = filtered(live()).build()) {
      assertThatThrownBy(() -> reader.readEpoch(epoch)).isInstanceOfSatisfying(ReadException.class, e -> {
        assertThat(e.code()).isEqualTo(ReadException.Code.CORRUPT_BLOB);
        assertThat(e.getMessage()).contains("events/" + key).contains("checksum_mismatch");
      });
    }
  }

  @Test
  void readsSucceedWithARefusingAndASilentNodeInTheList() throws Exception {
    try (ServerSocket silent = new ServerSocket(0)) {
      StoreNodeAddress refused = new StoreNodeAddress("127.0.0.1", freePort());
      StoreNodeAddress hanging = new StoreNodeAddress("127.0.0.1", silent.getLocalPort());
      NodeSelector nodes = NodeSelector.of(List.of(refused, hanging, store.node()), Duration.ofMinutes(1));
      int blobs = 0;
      try (EpochReader reader = filtered(nodes).requestTimeout(Duration.ofMillis(300)).build();
          EpochIterator it = reader.read(E, E + 5)) {
        while (it.hasNext()) {
          EpochBatch b = it.next();
          Map<BlobKey, List<Map<String, Object>>> got = new LinkedHashMap<>();
          for (EpochBlob blob : b.blobs()) {
            got.put(blob.key(), blob.events().stream().map(TaggedEvent::fields).toList());
          }
          assertThat(got).isEqualTo(expected(b.epoch()));
          blobs += b.blobs().size();
        }
      }
      assertThat(blobs).isGreaterThanOrEqualTo(60); // enough requests that both bad nodes were surely picked
      assertThat(nodes.isDown(refused)).isTrue();
      assertThat(nodes.isDown(hanging)).isTrue();
      assertThat(nodes.isDown(store.node())).isFalse();
    }
  }

  @Test
  void givesUpAfterTheDeadlineNamingWhatFailed() throws Exception {
    StoreNodeAddress refused = new StoreNodeAddress("127.0.0.1", freePort());
    NodeSelector nodes = NodeSelector.of(List.of(refused), Duration.ofMillis(1));
    try (EpochReader reader = filtered(nodes).deadline(Duration.ofMillis(400))
        .backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build()) {
      assertThatThrownBy(() -> reader.readEpoch(E)).isInstanceOfSatisfying(ReadException.class, e -> {
        assertThat(e.code()).isEqualTo(ReadException.Code.UNAVAILABLE);
        assertThat(e.key()).startsWith("epochs/" + E + "-");
        assertThat(e.getMessage()).contains("gave up on epochs/" + E + "-").contains("cannot connect to " + refused);
      });
    }
  }

  @Test
  void builderNamesBadSettings() {
    assertThatThrownBy(() -> EpochReader.builder().dcs("1").build()).hasMessageContaining("nodes");
    assertThatThrownBy(() -> EpochReader.builder().nodes(live()).build()).hasMessageContaining("dcs");
    assertThatThrownBy(() -> EpochReader.builder().nodes(live()).dcs("1").maxConcurrentFetches(0).build())
        .hasMessageContaining("maxConcurrentFetches = 0 is out of range [1, 1024]");
    assertThatThrownBy(() -> EpochReader.builder().dcs("a:b")).isInstanceOf(IllegalArgumentException.class);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
