package io.epochal.relocator;

import static org.assertj.core.api.Assertions.assertThat;

import io.epochal.aggregator.spool.FileSpool;
import io.epochal.aggregator.spool.SpoolConfig;
import io.epochal.common.config.ConfigSources;
import io.epochal.format.BlobKey;
import io.epochal.format.EpochKey;
import io.epochal.format.EpochMember;
import io.epochal.format.EpochMembers;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.SealedBlob;
import io.epochal.store.EventStore;
import io.epochal.store.StoreConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Shared helpers: a real store, a real spool of real blobs, and checks of the end state. */
final class RelocatorTesting {
  private RelocatorTesting() {}

  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  /** A blob written to the spool: its key, bytes and spool positions. */
  record Written(BlobKey key, byte[] blob, long position, long nextPosition) {}

  static EventStore startStore(Path dir) throws Exception {
    StoreConfig config = StoreConfig.from(ConfigSources.builder().flags(Map.of(
        "epochal.store.data-dir", dir.toString(), "epochal.store.http-port", "0",
        "epochal.store.ring-partitions", "8")).build().settings(StoreConfig.PREFIX));
    EventStore store = new EventStore(config, Clock.systemUTC());
    store.start();
    return store;
  }

  static FileSpool openSpool(Path dir) throws IOException {
    return FileSpool.open(SpoolConfig.builder(dir).segmentBytes(1 << 20).maxBytes(1L << 30)
        .syncInterval(Duration.ofMillis(5)).build());
  }

  /**
   * Appends {@code count} real blobs spread over epochs, two dcs and three types, each with
   * {@code eventsPerBlob} events carrying random text (so sizes are realistic and bytes distinct).
   */
  static List<Written> appendBlobs(FileSpool spool, int first, int count, int eventsPerBlob, long seed)
      throws Exception {
    List<Written> out = new ArrayList<>();
    Random random = new Random(seed);
    String[] types = {"WEB", "EMK", "API"};
    try (BlobEncoder encoder = BlobEncoder.builder().producerId("t1").build()) {
      for (int i = first; i < first + count; i++) {
        long epoch = 1_413_813_810L + (i / 12);
        String dc = (i % 2 == 0) ? "1" : "2";
        String type = types[(i / 2) % 3];
        Tags tags = new Tags(epoch, dc, type, i % 4 == 0 ? "" : "app");
        List<Map<String, Object>> events = new ArrayList<>();
        for (int e = 0; e < eventsPerBlob; e++) {
          Map<String, Object> ev = new LinkedHashMap<>();
          ev.put("seq", (long) e);
          ev.put("text", randomText(random, 40));
          events.add(ev);
        }
        List<SealedBlob> sealed = encoder.encode(tags, events);
        assertThat(sealed).hasSize(1);
        BlobKey key = tags.blobKey("t1.0." + i);
        long position = spool.endPosition();
        long next = spool.append(key.format(), sealed.get(0).bytes());
        out.add(new Written(key, sealed.get(0).bytes(), position, next));
      }
    }
    spool.sync();
    return out;
  }

  private static String randomText(Random random, int n) {
    StringBuilder b = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      b.append((char) ('a' + random.nextInt(26)));
    }
    return b.toString();
  }

  static HttpResponse<byte[]> get(EventStore store, String bucket, String key) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + store.httpPort() + "/buckets/" + bucket
        + "/keys/" + key)).timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  /** Members listed by epochs/&lt;key&gt;, or null if the key is absent. */
  static Set<EpochMember> members(EventStore store, EpochKey key) throws Exception {
    HttpResponse<byte[]> r = get(store, "epochs", key.format());
    if (r.statusCode() == 404) {
      return null;
    }
    assertThat(r.statusCode()).as("GET epochs/%s", key).isEqualTo(200);
    return new TreeSet<>(EpochMembers.parse(new String(r.body(), StandardCharsets.UTF_8)));
  }

  /** Every blob is stored byte-identical and every epoch lists exactly the members written. */
  static void assertRelocated(EventStore store, List<Written> written) throws Exception {
    Map<EpochKey, Set<EpochMember>> expected = new HashMap<>();
    for (Written w : written) {
      HttpResponse<byte[]> r = get(store, "events", w.key().format());
      assertThat(r.statusCode()).as("GET events/%s", w.key()).isEqualTo(200);
      assertThat(r.body()).as("events/%s", w.key()).isEqualTo(w.blob());
      expected.computeIfAbsent(w.key().epochKey(), k -> new TreeSet<>()).add(w.key().member());
    }
    for (var e : expected.entrySet()) {
      assertThat(members(store, e.getKey())).as("epochs/%s", e.getKey()).isEqualTo(e.getValue());
    }
  }

  /** Waits for {@code condition}, checking every few milliseconds, failing after {@code timeout}. */
  static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
  }

  /** A loopback port with nothing listening (connections are refused). */
  static int deadPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
