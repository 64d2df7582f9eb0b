package io.epochal.store;

import io.epochal.common.config.ConfigKey;
import io.epochal.common.config.Settings;
import io.epochal.store.engine.EngineConfig;
import io.epochal.store.http.HttpConfig;
import io.epochal.store.node.NodeConfig;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The store node's configuration, read and validated from the keys under {@code epochal.store}
 * (each key documented once, here, next to its default; docs/operations.md lists them).
 */
public record StoreConfig(String nodeName, NodeConfig node, HttpConfig http) {
  public static final String PREFIX = "epochal.store";

  /** Reads every key; throws {@link io.epochal.common.config.ConfigException} naming the first bad one. */
  public static StoreConfig from(Settings s) {
    HttpConfig hd = HttpConfig.defaults();
    String host = s.getString(ConfigKey.of("listen-address", "Address of the HTTP API (Riak's default: loopback)."),
        hd.host());
    int port = s.getInt(ConfigKey.of("http-port", "Port of the HTTP API (0: any free port)."), hd.port(), 0, 65_535);
    HttpConfig http = new HttpConfig(host, port,
        s.getInt(ConfigKey.of("http.io-threads", "Netty event-loop threads of the HTTP API."), hd.ioThreads(), 1, 256),
        s.getInt(ConfigKey.of("http.max-connections", "Open connections beyond which new ones get 503 and are closed."),
            hd.maxConnections(), 1, 1_000_000),
        (int) s.getBytes(ConfigKey.of("http.max-value-bytes", "Largest value (request body); larger PUTs get 413."),
            hd.maxValueBytes(), 1, 1L << 30),
        s.getBytes(ConfigKey.of("http.max-inflight-bytes",
            "Request body bytes held at once over all connections; beyond it requests get 503."),
            hd.maxInflightBytes(), 1 << 20, 64L << 30),
        (int) s.getBytes(ConfigKey.of("http.max-header-bytes", "Largest request header block; larger get 431."),
            hd.maxHeaderBytes(), 1024, 1 << 20),
        (int) s.getBytes(ConfigKey.of("http.max-request-line-bytes", "Longest request line; longer get 414."),
            hd.maxInitialLineBytes(), 256, 1 << 20),
        s.getDuration(ConfigKey.of("http.idle-timeout", "Keep-alive connections idle this long are closed."),
            hd.idleTimeout(), Duration.ofMillis(100), Duration.ofDays(1)),
        s.getDuration(ConfigKey.of("http.request-timeout",
            "A request must arrive whole within this after its first byte, else 408 and close."),
            hd.requestTimeout(), Duration.ofMillis(100), Duration.ofHours(1)));
    EngineConfig ed = EngineConfig.defaults();
    EngineConfig engine = new EngineConfig(
        s.getBytes(ConfigKey.of("engine.max-file-bytes", "Size at which a partition's data file rolls."),
            ed.maxFileBytes(), EngineConfig.MIN_FILE_BYTES, EngineConfig.MAX_FILE_BYTES),
        s.getEnum(ConfigKey.of("engine.sync",
            "When data reaches the disk unasked: none, always (every write) or interval (group commit). "
                + "A write with dw > 0 is always fsynced before it is acknowledged."),
            EngineConfig.SyncMode.class, ed.sync()),
        s.getDuration(ConfigKey.of("engine.sync-interval", "Group-commit interval of engine.sync=interval."),
            ed.syncInterval(), Duration.ofMillis(1), Duration.ofMinutes(10)),
        s.getInt(ConfigKey.of("engine.merge.fragmentation-trigger",
            "A merge starts when a closed file has this percentage of dead bytes."), ed.mergeFragmentationTrigger(), 1,
            100),
        s.getBytes(ConfigKey.of("engine.merge.dead-bytes-trigger", "... or this many dead bytes."),
            ed.mergeDeadBytesTrigger(), 0, 1L << 50),
        s.getInt(ConfigKey.of("engine.merge.fragmentation-threshold",
            "A running merge takes every closed file with this percentage of dead bytes."),
            ed.mergeFragmentationThreshold(), 1, 100),
        s.getBytes(ConfigKey.of("engine.merge.dead-bytes-threshold", "... or this many dead bytes."),
            ed.mergeDeadBytesThreshold(), 0, 1L << 50),
        s.getBytes(ConfigKey.of("engine.merge.max-bytes-per-second", "Read rate limit of merges (0: unlimited)."),
            ed.mergeBytesPerSecond(), 0, 1L << 40));
    NodeConfig nd = NodeConfig.defaults(Path.of("data"));
    NodeConfig node = new NodeConfig(
        s.getPath(ConfigKey.of("data-dir", "Data directory: one sub-directory per ring partition."), nd.dataDir()),
        s.getInt(ConfigKey.of("ring-partitions", "Ring size (a power of two); fixed once data exists."),
            nd.partitions(), 1, 1024),
        s.getInt(ConfigKey.of("default-n-val", "n_val of buckets that do not set their own."), nd.defaultNVal(), 1, 16),
        engine,
        s.getInt(ConfigKey.of("worker-threads", "Threads that run engine reads and writes."), nd.workerThreads(), 1,
            1024),
        s.getInt(ConfigKey.of("max-queued-requests", "Requests waiting for a worker beyond which new ones get 503."),
            nd.maxQueued(), 1, 1_000_000),
        s.getInt(ConfigKey.of("sync-threads", "Threads that fsync partitions in parallel."), nd.syncThreads(), 1, 64),
        s.getDuration(ConfigKey.of("maintenance-interval", "How often partitions are checked for merge and expiry."),
            nd.maintenanceInterval(), Duration.ofMillis(10), Duration.ofDays(1)),
        s.getDuration(ConfigKey.of("default-timeout", "Timeout of requests that give no timeout parameter."),
            nd.defaultTimeout(), Duration.ofMillis(1), Duration.ofHours(1)));
    String name = s.getString(ConfigKey.of("node-name",
        "This node's name in /stats and vclocks. Default: epochal@<listen-address>, or the host name when listening on all."),
        "epochal@" + (host.equals("0.0.0.0") || host.equals("::") ? hostName() : host));
    return new StoreConfig(name, node, http);
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "localhost";
    }
  }
}
