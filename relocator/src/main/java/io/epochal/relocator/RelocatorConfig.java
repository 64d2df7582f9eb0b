package io.epochal.relocator;

import io.epochal.common.config.ConfigKey;
import io.epochal.common.config.ConfigSources;
import io.epochal.common.config.Settings;
import io.epochal.zooanimal.NodeSelector;
import io.epochal.zooanimal.StoreNodeAddress;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The relocator's configuration, read and validated from the keys under {@code epochal.relocator}
 * (each key documented once, here, next to its default; docs/relocator.md lists them).
 *
 * <pre>{@code
 * Settings s = ConfigSources.builder().file(path).env(System.getenv()).flags(flags).build()
 *     .settings(RelocatorConfig.PREFIX);
 * RelocatorConfig config = RelocatorConfig.from(s);   // ConfigException naming the first bad key
 * s.requireNoUnknownKeys();
 * }</pre>
 *
 * @param spoolDir the spool to read (only when the relocator opens the spool itself)
 * @param nodes the store nodes, used when {@code nodesFile} is null
 * @param nodesFile a file of {@code host:port} lines, reloaded when it changes; null to use {@code nodes}
 * @param nodeCoolDown how long a node that failed a request is skipped
 * @param w the write quorum of every PUT ({@code all}, {@code quorum}, {@code one} or a number)
 * @param dw the durable-write quorum of every PUT
 * @param inFlight blob PUTs outstanding at once (sent or waiting for a retry)
 * @param maxInFlightBytes blob bytes held at once; reading stops at this until PUTs complete
 * @param batchMaxRecords a batch is closed after this many records
 * @param batchMaxBytes a batch is closed after this many blob bytes
 * @param retryBackoffBase delay before the first retry; doubles per further attempt
 * @param retryBackoffMax the longest delay between two attempts
 * @param retryJitterPercent each delay is shortened by a random fraction up to this percentage
 * @param requestTimeout how long one PUT may take, connection included
 * @param connectTimeout how long connecting to a node may take
 * @param connectionsPerNode keep-alive connections per store node
 * @param stopTimeout how long a graceful stop waits for in-flight batches
 * @param adminHost address of the admin HTTP server
 * @param adminPort port of the admin HTTP server (0: any free port)
 */
public record RelocatorConfig(
    Path spoolDir,
    List<StoreNodeAddress> nodes,
    Path nodesFile,
    Duration nodeCoolDown,
    String w,
    String dw,
    int inFlight,
    long maxInFlightBytes,
    int batchMaxRecords,
    long batchMaxBytes,
    Duration retryBackoffBase,
    Duration retryBackoffMax,
    int retryJitterPercent,
    Duration requestTimeout,
    Duration connectTimeout,
    int connectionsPerNode,
    Duration stopTimeout,
    String adminHost,
    int adminPort) {
  public static final String PREFIX = "epochal.relocator";
  public static final int DEFAULT_ADMIN_PORT = 9141;
  private static final Pattern W = Pattern.compile("all|quorum|one|default|[1-9][0-9]{0,2}");
  private static final Pattern DW = Pattern.compile("all|quorum|one|default|[0-9]{1,3}");

  public RelocatorConfig {
    nodes = List.copyOf(nodes);
  }

  /** Reads every key; throws {@link io.epochal.common.config.ConfigException} naming the first bad one. */
  public static RelocatorConfig from(Settings s) {
    Path spoolDir = s.getPath(ConfigKey.of("spool.dir",
        "Spool directory to relocate from (the aggregator's spool.dir); not used when embedded over a spool."),
        Path.of("spool"));
    ConfigKey nodesKey = ConfigKey.of("nodes", "Store nodes as host:port, comma-separated (ignored if nodes-file is set).");
    List<String> nodeTexts = s.getList(nodesKey, List.of("127.0.0.1:8098"));
    Path nodesFile = s.getPath(ConfigKey.of("nodes-file",
        "File of host:port lines (zooanimal-lb's node list), reloaded when it changes; overrides nodes."), null);
    Duration coolDown = s.getDuration(ConfigKey.of("node-cool-down",
        "How long a store node that failed a request is skipped."),
        Duration.ofSeconds(5), Duration.ZERO, Duration.ofMinutes(10));
    String w = s.getString(ConfigKey.of("w", "Write quorum of blob and epoch PUTs: all, quorum, one or a number."),
        "all", W);
    String dw = s.getString(ConfigKey.of("dw", "Durable-write quorum of blob and epoch PUTs (fsynced replicas)."),
        "0", DW);
    int inFlight = s.getInt(ConfigKey.of("in-flight",
        "Blob PUTs outstanding at once, retries waiting included."), 16, 1, 4096);
    ConfigKey maxBytesKey = ConfigKey.of("max-in-flight-bytes",
        "Blob bytes held at once; at this, reading stops until PUTs complete (exceeded by at most one record).");
    long maxBytes = s.getBytes(maxBytesKey, 64L << 20, 1L << 20, 64L << 30);
    int batchRecords = s.getInt(ConfigKey.of("batch.max-records",
        "A batch (one spool acknowledgement) is closed after this many records; it is closed earlier whenever "
            + "the relocator has caught up."), 1000, 1, 1_000_000);
    long batchBytes = s.getBytes(ConfigKey.of("batch.max-bytes", "A batch is closed after this many blob bytes."),
        16L << 20, 1, 64L << 30);
    ConfigKey baseKey = ConfigKey.of("retry.backoff-base", "Delay before the first retry of a failed PUT; doubles per attempt.");
    Duration base = s.getDuration(baseKey, Duration.ofMillis(50), Duration.ofMillis(1), Duration.ofMinutes(1));
    ConfigKey maxKey = ConfigKey.of("retry.backoff-max", "Longest delay between two attempts of a PUT.");
    Duration max = s.getDuration(maxKey, Duration.ofSeconds(5), Duration.ofMillis(1), Duration.ofMinutes(10));
    int jitter = s.getInt(ConfigKey.of("retry.jitter-percent",
        "Each retry delay is shortened by a random fraction of up to this percentage."), 50, 0, 100);
    Duration requestTimeout = s.getDuration(ConfigKey.of("request-timeout",
        "How long one PUT may take, waiting for a connection included; the store is asked to answer within 80% of it."),
        Duration.ofSeconds(5), Duration.ofMillis(100), Duration.ofMinutes(10));
    Duration connectTimeout = s.getDuration(ConfigKey.of("connect-timeout", "How long connecting to a store node may take."),
        Duration.ofSeconds(2), Duration.ofMillis(10), Duration.ofMinutes(5));
    int connections = s.getInt(ConfigKey.of("connections-per-node", "Keep-alive connections per store node."), 8, 1, 1024);
    Duration stopTimeout = s.getDuration(ConfigKey.of("stop-timeout",
        "How long a graceful stop waits for in-flight batches to be stored, published and acknowledged."),
        Duration.ofSeconds(10), Duration.ZERO, Duration.ofMinutes(10));
    String adminHost = s.getString(ConfigKey.of("admin-host", "Address of the admin HTTP server (/metrics, /health)."),
        "127.0.0.1");
    int adminPort = s.getInt(ConfigKey.of("admin-port", "Port of the admin HTTP server (0: any free port)."),
        DEFAULT_ADMIN_PORT, 0, 65_535);

    List<StoreNodeAddress> nodes = new ArrayList<>();
    for (String t : nodeTexts) {
      try {
        nodes.add(StoreNodeAddress.parse(t));
      } catch (IllegalArgumentException e) {
        throw s.invalid(nodesKey, "must be a comma-separated list of host:port (" + e.getMessage() + ")");
      }
    }
    if (nodes.isEmpty() && nodesFile == null) {
      throw s.invalid(nodesKey, "must list at least one store node (or set nodes-file)");
    }
    if (max.compareTo(base) < 0) {
      throw s.invalid(maxKey, "must be at least retry.backoff-base (" + base.toMillis() + " ms)");
    }
    return new RelocatorConfig(spoolDir, nodes, nodesFile, coolDown, w, dw, inFlight, maxBytes, batchRecords,
        batchBytes, base, max, jitter, requestTimeout, connectTimeout, connections, stopTimeout, adminHost, adminPort);
  }

  /** Every key at its default except those given, as full keys ({@code epochal.relocator.w}); for embedding and tests. */
  public static RelocatorConfig of(java.util.Map<String, String> values) {
    Settings s = ConfigSources.builder().flags(values).build().settings(PREFIX);
    RelocatorConfig c = from(s);
    s.requireNoUnknownKeys();
    return c;
  }

  /** The node selector this configuration describes (the file's, if {@code nodes-file} is set). */
  public NodeSelector nodeSelector() throws IOException {
    return nodesFile != null ? NodeSelector.fromFile(nodesFile, nodeCoolDown) : NodeSelector.of(nodes, nodeCoolDown);
  }

  /** The query string of every PUT: {@code w=..&dw=..&timeout=<80% of request-timeout in ms>}. */
  String putQuery() {
    long storeTimeout = Math.max(1, requestTimeout.toMillis() * 4 / 5);
    return "w=" + w + "&dw=" + dw + "&timeout=" + storeTimeout;
  }
}
