package io.epochal.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store node in a child JVM under a write load with {@code dw=all}, killed with SIGKILL again
 * and again: every write it acknowledged is readable after the restart, from every replica, with
 * identical bytes, and the node opens cleanly each time.
 */
class StoreCrashIT {
  private static final int ROUNDS = 4;
  private static final int WRITERS = 4;

  @TempDir Path dir;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void everyAcknowledgedWriteSurvivesRepeatedSigkill() throws Exception {
    Map<String, byte[]> acked = new ConcurrentHashMap<>();
    Map<String, byte[]> attempted = new ConcurrentHashMap<>();
    AtomicInteger next = new AtomicInteger();
    for (int round = 0; round < ROUNDS; round++) {
      try (StoreDaemon store = StoreDaemon.start(dir, "-D", "epochal.store.ring-partitions=8",
          "-D", "epochal.store.engine.sync=none", "-D", "epochal.store.engine.max-file-bytes=1MiB")) {
        String base = "http://127.0.0.1:" + store.port;
        verify(base, acked, attempted);
        int target = acked.size() + 150;
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
          long seed = round * 100L + w;
          Thread t = new Thread(() -> write(base, seed, next, acked, attempted, stop), "writer-" + w);
          t.start();
          writers.add(t);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (acked.size() < target && System.nanoTime() < deadline) {
          Thread.onSpinWait();
          writers.get(0).join(5);
        }
        assertThat(acked.size()).as("writes acknowledged before the kill").isGreaterThanOrEqualTo(target);
        store.process.destroyForcibly().waitFor(); // SIGKILL with writes in flight
        stop.set(true);
        for (Thread t : writers) {
          t.join();
        }
      }
    }
    try (StoreDaemon store = StoreDaemon.start(dir, "-D", "epochal.store.ring-partitions=8")) {
      verify("http://127.0.0.1:" + store.port, acked, attempted);
      assertThat(store.log()).doesNotContain("corrupt record");
    }
  }

  private void write(String base, long seed, AtomicInteger next, Map<String, byte[]> acked,
      Map<String, byte[]> attempted, AtomicBoolean stop) {
    Random random = new Random(seed);
    while (!stop.get()) {
      String key = "1413813813:1:WEB:app:it." + next.getAndIncrement();
      byte[] value = new byte[1 + random.nextInt(40_000)];
      random.nextBytes(value);
      attempted.put(key, value);
      try {
        HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(base + "/buckets/events/keys/" + key
            + "?w=all&dw=all")).header("Content-Type", "application/octet-stream")
            .timeout(Duration.ofSeconds(30)).PUT(HttpRequest.BodyPublishers.ofByteArray(value)).build(),
            HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 204) {
          acked.put(key, value);
        }
      } catch (Exception killed) {
        return; // the node is gone: this write was not acknowledged
      }
    }
  }

  /** Every acknowledged key on every replica (r=all, notfound_ok=false); unacknowledged ones intact if present. */
  private void verify(String base, Map<String, byte[]> acked, Map<String, byte[]> attempted) throws Exception {
    for (Map.Entry<String, byte[]> e : attempted.entrySet()) {
      boolean mustExist = acked.containsKey(e.getKey());
      HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(base + "/buckets/events/keys/"
          + e.getKey() + (mustExist ? "?r=all&notfound_ok=false" : ""))).build(), HttpResponse.BodyHandlers.ofByteArray());
      if (mustExist) {
        assertThat(r.statusCode()).as("acknowledged %s", e.getKey()).isEqualTo(200);
      }
      if (r.statusCode() == 200) {
        assertThat(r.body()).as("bytes of %s", e.getKey()).isEqualTo(e.getValue());
      } else {
        assertThat(r.statusCode()).as("unacknowledged %s", e.getKey()).isEqualTo(404);
      }
    }
  }
}
