package io.epochal.consumer.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.common.config.ConfigSources;
import io.epochal.store.EventStore;
import io.epochal.store.StoreConfig;
import io.epochal.zooanimal.StoreNodeAddress;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The client against a real store node on loopback. */
class StoreClientTest {
  @TempDir static Path dir;
  static EventStore store;
  static StoreNodeAddress node;

  @BeforeAll
  static void start() throws Exception {
    StoreConfig config = StoreConfig.from(ConfigSources.builder().flags(Map.of(
        "epochal.store.data-dir", dir.toString(), "epochal.store.http-port", "0",
        "epochal.store.ring-partitions", "8")).build().settings(StoreConfig.PREFIX));
    store = new EventStore(config, Clock.systemUTC());
    store.start();
    node = new StoreNodeAddress("127.0.0.1", store.httpPort());
  }

  @AfterAll
  static void stop() {
    store.close();
  }

  @Test
  void manyConcurrentPutsAndGetsOverFewConnections() {
    try (StoreClient client = StoreClient.builder().maxConnectionsPerNode(4).maxInFlight(8).build()) {
      Random random = new Random(1);
      List<byte[]> values = new ArrayList<>();
      List<CompletableFuture<StoreClient.Response>> puts = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        byte[] v = new byte[random.nextInt(100_000)];
        random.nextBytes(v);
        values.add(v);
        puts.add(client.put(node, "events", "1413813813:1:WEB:app:c." + i, "w=all", Unpooled.wrappedBuffer(v),
            "application/octet-stream"));
      }
      for (CompletableFuture<StoreClient.Response> f : puts) {
        StoreClient.Response r = f.join();
        assertThat(r.status()).isEqualTo(204);
        r.release();
      }
      for (int i = 0; i < 200; i++) {
        StoreClient.Response r = client.get(node, "events", "1413813813:1:WEB:app:c." + i, null).join();
        assertThat(r.status()).isEqualTo(200);
        assertThat(ByteBufUtil.getBytes(r.body())).isEqualTo(values.get(i));
        r.release();
      }
      StoreClient.Response missing = client.get(node, "events", "nope", null).join();
      assertThat(missing.status()).isEqualTo(404);
      assertThat(missing.text()).isEqualTo("not found\n");
      missing.release();
    }
  }

  @Test
  void unreachableNodeFailsWithAClearError() throws IOException {
    int free;
    try (ServerSocket s = new ServerSocket(0)) {
      free = s.getLocalPort();
    }
    try (StoreClient client = StoreClient.builder().build()) {
      assertThatThrownBy(() -> client.get(new StoreNodeAddress("127.0.0.1", free), "b", "k", null).join())
          .isInstanceOf(CompletionException.class).hasCauseInstanceOf(IOException.class)
          .hasMessageContaining("cannot connect to 127.0.0.1:" + free);
    }
  }

  @Test
  void silentServerTimesOut() throws IOException {
    try (ServerSocket silent = new ServerSocket(0);
        StoreClient client = StoreClient.builder().requestTimeout(Duration.ofMillis(300)).build()) {
      assertThatThrownBy(() -> client.get(new StoreNodeAddress("127.0.0.1", silent.getLocalPort()), "b", "k", null)
          .join()).hasCauseInstanceOf(TimeoutException.class);
    }
  }

  @Test
  void queueBeyondItsBoundFailsFast() {
    try (ServerSocket silent = new ServerSocket(0);
        StoreClient client = StoreClient.builder().maxInFlight(1).maxQueued(1)
            .requestTimeout(Duration.ofSeconds(2)).build()) {
      StoreNodeAddress n = new StoreNodeAddress("127.0.0.1", silent.getLocalPort());
      CompletableFuture<StoreClient.Response> first = client.get(n, "b", "1", null);
      CompletableFuture<StoreClient.Response> second = client.get(n, "b", "2", null);
      CompletableFuture<StoreClient.Response> third = client.get(n, "b", "3", null);
      assertThatThrownBy(third::join).hasCauseInstanceOf(StoreClient.OverloadedException.class);
      assertThat(first).isNotDone();
      assertThat(second).isNotDone();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void encodesKeys() {
    assertThat(StoreClient.objectPath("epochs", "1413813813-1", null)).isEqualTo("/buckets/epochs/keys/1413813813-1");
    assertThat(StoreClient.objectPath("b", "a/b c", "r=1")).isEqualTo("/buckets/b/keys/a%2Fb%20c?r=1");
  }
}
