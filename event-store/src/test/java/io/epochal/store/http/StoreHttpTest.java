package io.epochal.store.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.epochal.common.config.ConfigSources;
import io.epochal.store.EventStore;
import io.epochal.store.StoreConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Riak-compatible HTTP API through a real client on a real port. */
class StoreHttpTest {
  @TempDir static Path dir;
  static EventStore store;
  static HttpClient http;
  static String base;

  @BeforeAll
  static void start() throws Exception {
    Map<String, String> flags = Map.of(
        "epochal.store.data-dir", dir.toString(),
        "epochal.store.http-port", "0",
        "epochal.store.ring-partitions", "8",
        "epochal.store.http.max-value-bytes", "1MiB",
        "epochal.store.http.max-connections", "16",
        "epochal.store.http.request-timeout", "500ms",
        "epochal.store.http.idle-timeout", "2s");
    StoreConfig config = StoreConfig.from(ConfigSources.builder().flags(flags).build().settings(StoreConfig.PREFIX));
    store = new EventStore(config, Clock.systemUTC());
    store.start();
    base = "http://127.0.0.1:" + store.httpPort();
    http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  }

  @AfterAll
  static void stop() {
    store.close();
  }

  static HttpResponse<byte[]> send(String method, String path, byte[] body, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static String text(HttpResponse<byte[]> r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  @Test
  void ping() throws Exception {
    HttpResponse<byte[]> r = send("GET", "/ping", null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(text(r)).isEqualTo("OK");
  }

  @Test
  void putGetRoundTripsBytesAndMetadata() throws Exception {
    byte[] value = new byte[400_000];
    new Random(3).nextBytes(value);
    HttpResponse<byte[]> put = send("PUT", "/buckets/events/keys/1413813813:1:WEB:app:a7.0?w=all&dw=all", value,
        "Content-Type", "application/x-epochal-blob", "X-Riak-Meta-Producer", "a7");
    assertThat(put.statusCode()).isEqualTo(204);
    assertThat(put.body()).isEmpty();
    HttpResponse<byte[]> get = send("GET", "/buckets/events/keys/1413813813:1:WEB:app:a7.0", null);
    assertThat(get.statusCode()).isEqualTo(200);
    assertThat(get.body()).isEqualTo(value);
    assertThat(get.headers().firstValue("Content-Type")).hasValue("application/x-epochal-blob");
    assertThat(get.headers().firstValue("X-Riak-Meta-Producer")).hasValue("a7");
    assertThat(get.headers().firstValue("ETag").orElseThrow()).matches("\"[0-9A-Za-z]{22}\"");
    assertThat(get.headers().firstValue("Last-Modified")).isPresent();
    assertThat(get.headers().firstValue("X-Riak-Vclock")).isPresent();
    HttpResponse<byte[]> head = send("HEAD", "/buckets/events/keys/1413813813:1:WEB:app:a7.0", null);
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.headers().firstValue("Content-Length")).hasValue("400000");
    HttpResponse<byte[]> cached = send("GET", "/buckets/events/keys/1413813813:1:WEB:app:a7.0", null,
        "If-None-Match", get.headers().firstValue("ETag").orElseThrow());
    assertThat(cached.statusCode()).isEqualTo(304);
    HttpResponse<byte[]> riakPath = send("GET", "/riak/events/1413813813:1:WEB:app:a7.0", null);
    assertThat(riakPath.body()).isEqualTo(value);
  }

  @Test
  void returnBodyAndPostCreate() throws Exception {
    HttpResponse<byte[]> put = send("PUT", "/buckets/b/keys/rb?returnbody=true", "hello".getBytes(),
        "Content-Type", "text/plain; charset=utf-8");
    assertThat(put.statusCode()).isEqualTo(200);
    assertThat(text(put)).isEqualTo("hello");
    assertThat(put.headers().firstValue("Content-Type")).hasValue("text/plain; charset=utf-8");
    HttpResponse<byte[]> post = send("POST", "/buckets/b/keys", "made".getBytes(), "Content-Type", "text/plain");
    assertThat(post.statusCode()).isEqualTo(201);
    String location = post.headers().firstValue("Location").orElseThrow();
    assertThat(location).startsWith("/buckets/b/keys/");
    assertThat(text(send("GET", location, null))).isEqualTo("made");
    HttpResponse<byte[]> postKey = send("POST", "/buckets/b/keys/posted", "p".getBytes(), "Content-Type", "text/plain");
    assertThat(postKey.statusCode()).isEqualTo(204);
  }

  @Test
  void notFoundAndDelete() throws Exception {
    HttpResponse<byte[]> missing = send("GET", "/buckets/b/keys/never", null);
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(text(missing)).isEqualTo("not found\n");
    send("PUT", "/buckets/b/keys/doomed", "x".getBytes(), "Content-Type", "text/plain");
    assertThat(send("DELETE", "/buckets/b/keys/doomed?dw=all", null).statusCode()).isEqualTo(204);
    assertThat(send("GET", "/buckets/b/keys/doomed?r=all", null).statusCode()).isEqualTo(404);
    assertThat(send("DELETE", "/buckets/b/keys/doomed", null).statusCode()).isEqualTo(404);
  }

  @Test
  void quorumParametersAreCheckedAsRiakDoes() throws Exception {
    HttpResponse<byte[]> r = send("GET", "/buckets/b/keys/k?r=some", null);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(text(r)).isEqualTo(
        "r query parameter must be an integer or one of the following words: 'one', 'quorum' or 'all'\n");
    HttpResponse<byte[]> w = send("PUT", "/buckets/b/keys/k?w=4", "v".getBytes(), "Content-Type", "text/plain");
    assertThat(w.statusCode()).isEqualTo(400);
    assertThat(text(w)).isEqualTo("Specified w/dw/pw values invalid for bucket n value of 3\n");
    assertThat(send("PUT", "/buckets/b/keys/k?dw=x", "v".getBytes(), "Content-Type", "text/plain").statusCode())
        .isEqualTo(400);
    assertThat(send("GET", "/buckets/b/keys/k?r=9", null).statusCode()).isEqualTo(400);
    HttpResponse<byte[]> nf = send("GET", "/buckets/b/keys/k?notfound_ok=maybe", null);
    assertThat(nf.statusCode()).isEqualTo(400);
    assertThat(text(nf)).isEqualTo("notfound_ok query parameter must be true or false\n");
    assertThat(send("GET", "/buckets/b/keys/k?basic_quorum=2", null).statusCode()).isEqualTo(400);
    HttpResponse<byte[]> t = send("GET", "/buckets/b/keys/k?timeout=soon", null);
    assertThat(t.statusCode()).isEqualTo(400);
    assertThat(text(t)).isEqualTo("Bad timeout value \"soon\"\n");
    for (String q : List.of("r=one", "r=quorum", "r=all", "r=default", "r=2", "pr=all", "notfound_ok=false",
        "basic_quorum=true", "notfound_ok=false&basic_quorum=true", "timeout=5000")) {
      assertThat(send("GET", "/buckets/b/keys/absent?" + q, null).statusCode()).as(q).isEqualTo(404);
    }
    for (String q : List.of("w=one", "w=quorum", "w=all", "dw=one", "dw=all", "pw=all", "w=3&dw=3&pw=3",
        "timeout=5000")) {
      assertThat(send("PUT", "/buckets/b/keys/q?" + q, "v".getBytes(), "Content-Type", "text/plain").statusCode())
          .as(q).isEqualTo(204);
    }
  }

  @Test
  void bucketProps() throws Exception {
    HttpResponse<byte[]> events = send("GET", "/buckets/events/props", null);
    assertThat(events.statusCode()).isEqualTo(200);
    assertThat(events.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(text(events)).contains("\"name\":\"events\"", "\"n_val\":3", "\"w\":\"all\"", "\"dw\":0", "\"r\":\"one\"",
        "\"notfound_ok\":true", "\"basic_quorum\":true", "\"last_write_wins\":true", "\"allow_mult\":false",
        "\"ttl_secs\":864000", "\"merge\":\"none\"", "\"pr\":0", "\"pw\":0", "\"rw\":\"quorum\"");
    assertThat(text(send("GET", "/buckets/epochs/props", null))).contains("\"merge\":\"set_union\"",
        "\"ttl_secs\":864000");
    assertThat(text(send("GET", "/buckets/other/props", null))).contains("\"ttl_secs\":0", "\"r\":\"quorum\"");
    HttpResponse<byte[]> set = send("PUT", "/buckets/custom/props",
        "{\"props\":{\"n_val\":2,\"r\":1,\"w\":\"all\",\"ttl_secs\":60,\"precommit\":[]}}".getBytes(),
        "Content-Type", "application/json");
    assertThat(set.statusCode()).isEqualTo(204);
    assertThat(text(send("GET", "/buckets/custom/props", null))).contains("\"n_val\":2", "\"r\":1", "\"w\":\"all\"",
        "\"ttl_secs\":60", "\"precommit\":[]");
    assertThat(text(send("PUT", "/buckets/custom/keys/k?w=3", "v".getBytes(), "Content-Type", "text/plain")))
        .isEqualTo("Specified w/dw/pw values invalid for bucket n value of 2\n");
    assertThat(send("PUT", "/buckets/custom/props", "{\"props\":{}}".getBytes(), "Content-Type", "text/plain")
        .statusCode()).isEqualTo(415);
    assertThat(send("PUT", "/buckets/custom/props", "{nope".getBytes(), "Content-Type", "application/json")
        .statusCode()).isEqualTo(400);
    assertThat(send("PUT", "/buckets/custom/props", "{\"props\":{\"allow_mult\":true}}".getBytes(),
        "Content-Type", "application/json").statusCode()).isEqualTo(400);
    assertThat(send("PUT", "/buckets/custom/props", "{\"props\":{\"n_val\":0}}".getBytes(),
        "Content-Type", "application/json").statusCode()).isEqualTo(400);
    assertThat(send("PUT", "/buckets/custom/props", "{\"props\":{\"r\":5}}".getBytes(),
        "Content-Type", "application/json").statusCode()).isEqualTo(400);
    assertThat(send("DELETE", "/buckets/custom/props", null).statusCode()).isEqualTo(204);
    assertThat(text(send("GET", "/buckets/custom/props", null))).contains("\"n_val\":3");
  }

  @Test
  void epochsMergeBySetUnion() throws Exception {
    assertThat(send("PUT", "/buckets/epochs/keys/1413813813-1", "WEB:app:a7.1|WEB:app:a7.0".getBytes(),
        "Content-Type", "text/plain").statusCode()).isEqualTo(204);
    assertThat(send("PUT", "/buckets/epochs/keys/1413813813-1", "EMK::a7.0".getBytes(),
        "Content-Type", "text/plain").statusCode()).isEqualTo(204);
    HttpResponse<byte[]> get = send("GET", "/buckets/epochs/keys/1413813813-1", null);
    assertThat(text(get)).isEqualTo("EMK::a7.0|WEB:app:a7.0|WEB:app:a7.1");
    HttpResponse<byte[]> rb = send("PUT", "/buckets/epochs/keys/1413813813-1?returnbody=true",
        "WEB:app:a7.0|CRON::b1.0".getBytes(), "Content-Type", "text/plain");
    assertThat(text(rb)).isEqualTo("CRON::b1.0|EMK::a7.0|WEB:app:a7.0|WEB:app:a7.1");
    assertThat(send("PUT", "/buckets/epochs/keys/1413813813-1", "a||b".getBytes(), "Content-Type", "text/plain")
        .statusCode()).isEqualTo(400);
  }

  @Test
  void requestErrors() throws Exception {
    HttpResponse<byte[]> big = send("PUT", "/buckets/b/keys/big", new byte[(1 << 20) + 1], "Content-Type",
        "application/octet-stream");
    assertThat(big.statusCode()).isEqualTo(413);
    HttpResponse<byte[]> noType = send("PUT", "/buckets/b/keys/k", "v".getBytes());
    assertThat(noType.statusCode()).isEqualTo(415);
    assertThat(text(noType)).isEqualTo("Missing Content-Type request header");
    HttpResponse<byte[]> patch = send("PATCH", "/buckets/b/keys/k", "v".getBytes(), "Content-Type", "text/plain");
    assertThat(patch.statusCode()).isEqualTo(405);
    assertThat(patch.headers().firstValue("Allow")).hasValue("GET, HEAD, PUT, POST, DELETE");
    assertThat(send("POST", "/ping", null).statusCode()).isEqualTo(405);
    assertThat(send("GET", "/nothing/here", null).statusCode()).isEqualTo(404);
    assertThat(exchange("GET /buckets/b/keys/bad%zzescape HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 400");
  }

  @Test
  void statsAndMetrics() throws Exception {
    send("PUT", "/buckets/b/keys/s", "v".getBytes(), "Content-Type", "text/plain");
    send("GET", "/buckets/b/keys/s", null);
    HttpResponse<byte[]> stats = send("GET", "/stats", null);
    assertThat(stats.statusCode()).isEqualTo(200);
    assertThat(text(stats)).contains("\"node_gets\":", "\"node_puts\":", "\"node_get_fsm_time_mean\":",
        "\"node_get_fsm_time_95\":", "\"node_get_fsm_time_99\":", "\"node_put_fsm_time_mean\":",
        "\"node_put_fsm_time_95\":", "\"node_put_fsm_time_99\":", "\"ring_num_partitions\":8",
        "\"storage_backend\":\"epochal_bitcask\"");
    HttpResponse<byte[]> metrics = send("GET", "/metrics", null);
    assertThat(text(metrics)).contains("epochal_store_get_seconds", "epochal_store_keys",
        "epochal_store_http_requests_total", "epochal_store_corrupt_records_total");
  }

  // ------------------------------------------------------------------- raw-socket robustness

  static String exchange(String request) throws IOException {
    return exchange(store.httpPort(), request);
  }

  /** Writes {@code request} (one or several, pipelined) to a new connection; returns all it gets back. */
  static String exchange(int port, String request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void malformedRequestsGet4xxAndOthersAreStillServed() throws Exception {
    assertThat(exchange("GARBAGE\r\n\r\n")).startsWith("HTTP/1.1 400");
    assertThat(exchange("GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 414");
    assertThat(exchange("GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(9000) + "\r\n\r\n"))
        .startsWith("HTTP/1.1 431");
    assertThat(exchange("PUT /buckets/b/keys/k HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        + "Content-Length: 99999999\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 413");
    assertThat(send("GET", "/ping", null).statusCode()).isEqualTo(200);
  }

  @Test
  void slowClientGets408() throws Exception {
    try (Socket s = new Socket("127.0.0.1", store.httpPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GET /ping HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertThat(answer).startsWith("HTTP/1.1 408");
    }
  }

  @Test
  void idleConnectionsAreClosedAndKeepAliveServesMany() throws Exception {
    try (Socket s = new Socket("127.0.0.1", store.httpPort())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      for (int i = 0; i < 3; i++) {
        out.write("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        byte[] buf = new byte[256];
        int n = in.read(buf);
        assertThat(new String(buf, 0, n, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 200").endsWith("OK");
      }
      assertThat(in.read()).as("closed by the server after idle-timeout").isEqualTo(-1);
    }
  }

  @Test
  void connectionFloodIsRefusedAndOthersKeepBeingServed() throws Exception {
    List<Socket> held = new ArrayList<>();
    try {
      for (int i = 0; i < 24; i++) { // max-connections is 16; idle ones are closed after 2 s, so open them fast
        held.add(new Socket("127.0.0.1", store.httpPort()));
      }
      Socket last = held.get(held.size() - 1);
      last.setSoTimeout(5_000);
      String refused = new String(last.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertThat(refused).startsWith("HTTP/1.1 503").contains("too many connections");
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
    // the server frees the slots as it notices the closes; a new client is served again
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    int status = 0;
    while (System.nanoTime() < deadline && status != 200) {
      status = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/ping")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode();
    }
    assertThat(status).isEqualTo(200);
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    String answer = exchange("PUT /buckets/b/keys/piped HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        + "Content-Length: 5\r\n\r\nfirst"
        + "GET /buckets/b/keys/piped HTTP/1.1\r\nHost: x\r\n\r\n"
        + "GET /buckets/b/keys/nope HTTP/1.1\r\nHost: x\r\n\r\n"
        + "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    int put = answer.indexOf("HTTP/1.1 204");
    int get = answer.indexOf("HTTP/1.1 200", put);
    int missing = answer.indexOf("HTTP/1.1 404", get);
    int ping = answer.indexOf("HTTP/1.1 200", missing);
    assertThat(put).isZero();
    assertThat(get).isPositive();
    assertThat(answer.substring(get, missing)).endsWith("first");
    assertThat(missing).isGreaterThan(get);
    assertThat(ping).isGreaterThan(missing);
    assertThat(answer).endsWith("OK");
  }

  @Test
  void aPipelinedRequestRejectedBeforeItsBodyIsReadIsStillAnsweredInOrder() throws Exception {
    // The 413 is decided while the first request is still being served: it must wait its turn.
    String oversized = "PUT /buckets/b/keys/big HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        + "Content-Length: " + (2 << 20) + "\r\n\r\n" + "x".repeat(2 << 20);
    for (int round = 0; round < 20; round++) {
      String answer = exchange("PUT /buckets/b/keys/first?dw=all HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
          + "Content-Length: 5\r\n\r\nfirst"
          + oversized
          + "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      int put = answer.indexOf("HTTP/1.1 204");
      int tooLarge = answer.indexOf("HTTP/1.1 413");
      int ping = answer.indexOf("HTTP/1.1 200");
      assertThat(put).as(answer).isZero();
      assertThat(tooLarge).as(answer).isGreaterThan(put);
      assertThat(ping).as(answer).isGreaterThan(tooLarge);
      assertThat(answer).endsWith("OK");
    }
  }
}
