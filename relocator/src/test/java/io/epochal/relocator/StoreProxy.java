package io.epochal.relocator;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.epochal.format.EpochKey;
import io.epochal.format.EpochMember;
import io.epochal.format.EpochMembers;
import io.epochal.zooanimal.StoreNodeAddress;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP front for a store node on loopback that injects faults and checks the relocator's
 * ordering invariant: when an {@code epochs} PUT arrives, the blob of every member it adds must
 * already have been stored (the store answered 2xx to a PUT of it through this proxy).
 */
final class StoreProxy implements AutoCloseable {
  /** Decides an answer for a PUT instead of the store: a status, or null to forward it. */
  interface Fault {
    Integer status(String bucket, String key, int attempt);
  }

  private final HttpServer server;
  private final ExecutorService pool = Executors.newFixedThreadPool(48);
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final String target;
  volatile Fault fault = (b, k, a) -> null;
  /** When set, events PUTs wait for it before being forwarded (answers held back). */
  volatile CountDownLatch eventsGate;
  final Set<String> storedBlobs = ConcurrentHashMap.newKeySet();
  final List<String> violations = Collections.synchronizedList(new ArrayList<>());
  /** Keys of every events PUT received, in arrival order, failed ones included. */
  final List<String> eventsReceived = Collections.synchronizedList(new ArrayList<>());
  final AtomicInteger epochsPuts = new AtomicInteger();
  final AtomicInteger held = new AtomicInteger();
  private final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();

  StoreProxy(int storePort) throws IOException {
    this.target = "http://127.0.0.1:" + storePort;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    server.setExecutor(pool);
    server.createContext("/", this::handle);
    server.start();
  }

  StoreNodeAddress address() {
    return new StoreNodeAddress("127.0.0.1", server.getAddress().getPort());
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] body = ex.getRequestBody().readAllBytes();
      String path = ex.getRequestURI().getPath(); // decoded
      String[] parts = path.split("/", 5); // "", buckets, b, keys, k
      String bucket = parts.length == 5 ? parts[2] : "";
      String key = parts.length == 5 ? parts[4] : "";
      boolean put = ex.getRequestMethod().equals("PUT");
      if (put) {
        int attempt = attempts.computeIfAbsent(bucket + "/" + key, k -> new AtomicInteger()).incrementAndGet();
        if (bucket.equals("events")) {
          eventsReceived.add(key);
        }
        Integer status = fault.status(bucket, key, attempt);
        if (status != null) {
          answer(ex, status, "injected fault\n".getBytes(StandardCharsets.UTF_8), "text/plain");
          return;
        }
        CountDownLatch gate = eventsGate;
        if (bucket.equals("events") && gate != null) {
          held.incrementAndGet();
          try {
            gate.await(60, TimeUnit.SECONDS);
          } finally {
            held.decrementAndGet();
          }
        }
        if (bucket.equals("epochs")) {
          epochsPuts.incrementAndGet();
          EpochKey ek = EpochKey.parse(key);
          for (EpochMember m : EpochMembers.parse(new String(body, StandardCharsets.UTF_8))) {
            String blobKey = m.blobKey(ek).format();
            if (!storedBlobs.contains(blobKey)) {
              violations.add("epochs/" + key + " lists " + m + " before events/" + blobKey + " was stored");
            }
          }
        }
      }
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(target + ex.getRequestURI().getRawPath()
          + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery())))
          .timeout(Duration.ofSeconds(30))
          .method(ex.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(body));
      String ctype = ex.getRequestHeaders().getFirst("Content-Type");
      if (ctype != null) {
        b.header("Content-Type", ctype);
      }
      HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      if (put && bucket.equals("events") && r.statusCode() / 100 == 2) {
        storedBlobs.add(key);
      }
      answer(ex, r.statusCode(), r.body(), r.headers().firstValue("Content-Type").orElse("text/plain"));
    } catch (Exception e) {
      violations.add("proxy failed: " + e);
      throw new IOException(e);
    }
  }

  private static void answer(HttpExchange ex, int status, byte[] body, String ctype) throws IOException {
    ex.getResponseHeaders().set("Content-Type", ctype);
    if (body.length == 0) {
      ex.sendResponseHeaders(status, -1);
      return;
    }
    ex.sendResponseHeaders(status, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    CountDownLatch gate = eventsGate;
    if (gate != null) {
      gate.countDown();
    }
    server.stop(0);
    pool.shutdownNow();
  }
}
