package io.epochal.store.http;

import java.time.Duration;

/**
 * Settings of the store's HTTP API server (keys under {@code epochal.store.http}; see
 * docs/operations.md).
 *
 * @param host listen address (default 127.0.0.1, as Riak)
 * @param port port (default 8098; 0: any free port)
 * @param ioThreads Netty event-loop threads
 * @param maxConnections open connections beyond which new ones get 503 and are closed
 * @param maxValueBytes largest request body; larger ones get 413
 * @param maxInflightBytes request bodies held at once over all connections; beyond it 503
 * @param maxHeaderBytes request headers larger than this get 431
 * @param maxInitialLineBytes request lines longer than this get 414
 * @param idleTimeout a keep-alive connection idle this long is closed
 * @param requestTimeout a request not received whole within this gets 408 and is closed
 */
public record HttpConfig(
    String host,
    int port,
    int ioThreads,
    int maxConnections,
    int maxValueBytes,
    long maxInflightBytes,
    int maxHeaderBytes,
    int maxInitialLineBytes,
    Duration idleTimeout,
    Duration requestTimeout) {
  public HttpConfig {
    if (port < 0 || port > 65_535 || ioThreads < 1 || maxConnections < 1 || maxValueBytes < 1
        || maxInflightBytes < maxValueBytes || maxHeaderBytes < 1024 || maxInitialLineBytes < 256) {
      throw new IllegalArgumentException("invalid HTTP settings: " + this);
    }
  }

  public static HttpConfig defaults() {
    return new HttpConfig("127.0.0.1", 8098, Math.max(1, Runtime.getRuntime().availableProcessors()), 1024,
        16 << 20, 512L << 20, 8192, 4096, Duration.ofSeconds(60), Duration.ofSeconds(30));
  }

  public HttpConfig withPort(int p) {
    return new HttpConfig(host, p, ioThreads, maxConnections, maxValueBytes, maxInflightBytes, maxHeaderBytes,
        maxInitialLineBytes, idleTimeout, requestTimeout);
  }

  public HttpConfig withLimits(int connections, int valueBytes, Duration idle, Duration request) {
    return new HttpConfig(host, port, ioThreads, connections, valueBytes, Math.max(maxInflightBytes, valueBytes),
        maxHeaderBytes, maxInitialLineBytes, idle, request);
  }
}
