package io.epochal.common.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AdminServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final AtomicReference<Map<String, Health>> checks = new AtomicReference<>(Map.of());
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private AdminServer server;

  @BeforeEach
  void start() throws Exception {
    server =
        AdminServer.builder(registry)
            .host("127.0.0.1")
            .port(0)
            .health(checks::get)
            .build();
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop();
    registry.close();
  }

  private HttpResponse<String> send(String method, String path, String accept) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.boundPort() + path))
            .timeout(Duration.ofSeconds(10))
            .method(method, HttpRequest.BodyPublishers.noBody());
    if (accept != null) {
      b.header("Accept", accept);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void bindsAnEphemeralPort() {
    assertThat(server.boundPort()).isPositive();
    assertThat(server.boundAddress().getAddress().isLoopbackAddress()).isTrue();
  }

  @Test
  void metricsExposeARegisteredCounterInPrometheusText() throws Exception {
    Counter.builder("epochal.test.datagrams").description("Datagrams seen.").register(registry).increment(3);

    HttpResponse<String> r = send("GET", "/metrics", null);

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
    assertThat(r.body())
        .contains("# HELP epochal_test_datagrams_total Datagrams seen.")
        .contains("# TYPE epochal_test_datagrams_total counter")
        .contains("epochal_test_datagrams_total 3.0");
  }

  @Test
  void metricsHonourOpenMetricsAccept() throws Exception {
    Counter.builder("epochal.test.datagrams").register(registry).increment();

    HttpResponse<String> r =
        send("GET", "/metrics", "application/openmetrics-text; version=1.0.0,text/plain;q=0.5");

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type"))
        .hasValue("application/openmetrics-text; version=1.0.0; charset=utf-8");
    assertThat(r.body()).contains("epochal_test_datagrams_total 1.0").endsWith("# EOF\n");
  }

  @Test
  void metricsCanBeFilteredByName() throws Exception {
    Counter.builder("epochal.test.a").register(registry).increment();
    Counter.builder("epochal.test.b").register(registry).increment();

    HttpResponse<String> r = send("GET", "/metrics?name[]=epochal_test_b", null);

    assertThat(r.body()).contains("epochal_test_b_total").doesNotContain("epochal_test_a_total");
  }

  @Test
  void healthIs200WhenAllChecksAreUp() throws Exception {
    Map<String, Health> up = new LinkedHashMap<>();
    up.put("spool", Health.up("12 blobs"));
    up.put("udp", Health.up());
    checks.set(up);

    HttpResponse<String> r = send("GET", "/health", null);

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
    assertThat(JSON.readTree(r.body()))
        .isEqualTo(
            JSON.readTree(
                "{\"status\":\"UP\",\"checks\":{\"spool\":{\"status\":\"UP\",\"detail\":\"12 blobs\"},"
                    + "\"udp\":{\"status\":\"UP\"}}}"));
  }

  @Test
  void healthIs200WithoutChecks() throws Exception {
    HttpResponse<String> r = send("GET", "/health", null);

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(r.body())).isEqualTo(JSON.readTree("{\"status\":\"UP\",\"checks\":{}}"));
  }

  @Test
  void healthIs503WhenACheckIsDown() throws Exception {
    checks.set(Map.of("spool", Health.down("disk full"), "udp", Health.up()));

    HttpResponse<String> r = send("GET", "/health", null);

    assertThat(r.statusCode()).isEqualTo(503);
    JsonNode body = JSON.readTree(r.body());
    assertThat(body.get("status").asText()).isEqualTo("DOWN");
    assertThat(body.at("/checks/spool/status").asText()).isEqualTo("DOWN");
    assertThat(body.at("/checks/spool/detail").asText()).isEqualTo("disk full");
    assertThat(body.at("/checks/udp/status").asText()).isEqualTo("UP");
  }

  @Test
  void healthIs503WhenTheSupplierThrows() throws Exception {
    server.stop();
    server =
        AdminServer.builder(registry)
            .host("127.0.0.1")
            .health(
                () -> {
                  throw new IllegalStateException("not wired yet");
                })
            .build();
    server.start();

    HttpResponse<String> r = send("GET", "/health", null);

    assertThat(r.statusCode()).isEqualTo(503);
    JsonNode body = JSON.readTree(r.body());
    assertThat(body.get("status").asText()).isEqualTo("DOWN");
    assertThat(body.get("error").asText()).isEqualTo("java.lang.IllegalStateException: not wired yet");
  }

  @Test
  void unknownPathIs404() throws Exception {
    assertThat(send("GET", "/", null).statusCode()).isEqualTo(404);
    assertThat(send("GET", "/metrics/", null).statusCode()).isEqualTo(404);
    assertThat(send("POST", "/stats", null).statusCode()).isEqualTo(404);
  }

  @Test
  void otherMethodsAre405() throws Exception {
    HttpResponse<String> post = send("POST", "/metrics", null);
    HttpResponse<String> delete = send("DELETE", "/health", null);

    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("allow")).hasValue("GET, HEAD");
    assertThat(delete.statusCode()).isEqualTo(405);
  }

  @Test
  void headAnswersLikeGetWithoutABody() throws Exception {
    checks.set(Map.of("spool", Health.down("disk full")));

    HttpResponse<String> get = send("GET", "/health", null);
    HttpResponse<String> head = send("HEAD", "/health", null);

    assertThat(head.statusCode()).isEqualTo(503);
    assertThat(head.body()).isEmpty();
    assertThat(head.headers().firstValueAsLong("content-length"))
        .hasValue(get.body().getBytes(StandardCharsets.UTF_8).length);
  }

  @Test
  void headOfMetricsSendsNoBody() throws Exception {
    Counter.builder("epochal.test.datagrams").register(registry).increment();

    HttpResponse<String> head = send("HEAD", "/metrics", null);

    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(head.headers().firstValueAsLong("content-length").orElseThrow()).isPositive();
  }

  @Test
  void keepsConnectionsAlive() throws Exception {
    try (Socket socket = connect()) {
      for (int i = 0; i < 3; i++) {
        write(socket, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
        String response = readResponse(socket.getInputStream());
        assertThat(response).startsWith("HTTP/1.1 200 OK").endsWith("{\"status\":\"UP\",\"checks\":{}}");
      }
    }
  }

  @Test
  void closesAfterTheResponseWhenAsked() throws Exception {
    try (Socket socket = connect()) {
      write(socket, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      assertThat(readResponse(socket.getInputStream())).startsWith("HTTP/1.1 200 OK");
      assertThat(socket.getInputStream().read()).isEqualTo(-1);
    }
  }

  @Test
  void rejectsRequestsOver64KiB() throws Exception {
    try (Socket socket = connect()) {
      write(socket, "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n");
      assertThat(readResponse(socket.getInputStream())).startsWith("HTTP/1.1 413 Request Entity Too Large");
    }
  }

  @Test
  void malformedRequestIs400AndCloses() throws Exception {
    try (Socket socket = connect()) {
      write(socket, "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n");
      assertThat(readResponse(socket.getInputStream())).startsWith("HTTP/1.1 400 Bad Request");
      assertThat(socket.getInputStream().read()).isEqualTo(-1);
    }
  }

  @Test
  void closesIdleConnections() throws Exception {
    server.stop();
    server = AdminServer.builder(registry).host("127.0.0.1").idleTimeout(Duration.ofSeconds(1)).build(); // long enough for a loaded machine to answer first
    server.start();
    try (Socket socket = connect()) {
      write(socket, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
      assertThat(readResponse(socket.getInputStream())).startsWith("HTTP/1.1 200 OK");
      // Blocks until the server closes the idle connection (1 s), or fails after 10 s.
      assertThat(socket.getInputStream().read()).isEqualTo(-1);
    }
  }

  @Test
  void failedBindThrowsAndStopIsStillSafe() throws Exception {
    AdminServer second = AdminServer.builder(registry).host("127.0.0.1").port(server.boundPort()).build();

    assertThatThrownBy(second::start).isInstanceOf(BindException.class);
    second.stop();
    second.stop();
    assertThatThrownBy(second::boundPort).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void stopIsIdempotentAndReleasesThePort() throws Exception {
    int port = server.boundPort();
    server.stop();
    server.stop();

    AdminServer again = AdminServer.builder(registry).host("127.0.0.1").port(port).build();
    again.start();
    try {
      assertThat(again.boundPort()).isEqualTo(port);
    } finally {
      again.stop();
    }
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.boundPort());
    socket.setSoTimeout(10_000);
    return socket;
  }

  private static void write(Socket socket, String request) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(request.getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  /** Reads one response with a Content-Length body; returns head and body as text. */
  private static String readResponse(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      int b = in.read();
      assertThat(b).as("connection closed in the response head: %s", head).isNotEqualTo(-1);
      head.write(b);
    }
    String headText = head.toString(StandardCharsets.US_ASCII);
    int length = 0;
    for (String line : headText.split("\r\n")) {
      if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring("content-length:".length()).trim());
      }
    }
    byte[] body = in.readNBytes(length);
    assertThat(body).hasSize(length);
    return headText + new String(body, StandardCharsets.UTF_8);
  }
}
