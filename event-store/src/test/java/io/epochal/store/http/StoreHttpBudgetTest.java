package io.epochal.store.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.epochal.common.config.ConfigSources;
import io.epochal.store.EventStore;
import io.epochal.store.StoreConfig;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node-wide budget of request bodies in memory ({@code http.max-inflight-bytes}). */
class StoreHttpBudgetTest {
  @TempDir Path dir;

  @Test
  void aRequestOverTheBudgetGets503InItsTurnAndTheNodeRecovers() throws Exception {
    Map<String, String> flags = Map.of(
        "epochal.store.data-dir", dir.toString(),
        "epochal.store.http-port", "0",
        "epochal.store.ring-partitions", "4",
        "epochal.store.http.max-value-bytes", "1MiB",
        "epochal.store.http.max-inflight-bytes", "1MiB",
        "epochal.store.http.request-timeout", "30s");
    EventStore store = new EventStore(
        StoreConfig.from(ConfigSources.builder().flags(flags).build().settings(StoreConfig.PREFIX)), Clock.systemUTC());
    store.start();
    try (Socket holder = new Socket("127.0.0.1", store.httpPort())) {
      // Holds 900,000 bytes of the budget: its body is announced, not sent.
      OutputStream h = holder.getOutputStream();
      h.write(("PUT /buckets/b/keys/held HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 900000"
          + "\r\n\r\npartial").getBytes(StandardCharsets.ISO_8859_1));
      h.flush();
      String over = "PUT /buckets/b/keys/over HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 200000"
          + "\r\n\r\n" + "y".repeat(200_000);
      for (int round = 0; round < 10; round++) {
        // A small PUT being served (dw=all waits for an fsync), and behind it one that does not fit.
        String answer = StoreHttpTest.exchange(store.httpPort(), "PUT /buckets/b/keys/first?dw=all HTTP/1.1\r\n"
            + "Host: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nfirst" + over
            + "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(answer).as(answer).startsWith("HTTP/1.1 204");
        int refused = answer.indexOf("HTTP/1.1 503");
        int ping = answer.indexOf("HTTP/1.1 200");
        assertThat(refused).as(answer).isPositive();
        assertThat(answer.substring(refused)).contains("too many request bytes in flight");
        // the refused body was read and dropped: the connection goes on with the next request
        assertThat(ping).as(answer).isGreaterThan(refused);
        assertThat(answer).endsWith("OK");
      }
      holder.close();
      // The held reservation is returned when its connection closes; the same PUT then fits.
      String answer = "";
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (!answer.startsWith("HTTP/1.1 204") && System.nanoTime() < deadline) {
        answer = StoreHttpTest.exchange(store.httpPort(), over.replace("Host: x\r\n", "Host: x\r\nConnection: close\r\n"));
      }
      assertThat(answer).startsWith("HTTP/1.1 204");
    } finally {
      store.close();
    }
  }
}
