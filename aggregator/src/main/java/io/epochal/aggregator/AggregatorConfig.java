package io.epochal.aggregator;

import io.epochal.aggregator.batch.BatcherConfig;
import io.epochal.aggregator.receive.ReceiverConfig;
import io.epochal.aggregator.spool.SpoolConfig;
import io.epochal.common.config.ConfigException;
import io.epochal.common.config.ConfigKey;
import io.epochal.common.config.Settings;
import io.epochal.format.TagRules;
import io.epochal.format.blob.BlobFormat;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The aggregator's configuration, read and validated from the keys under {@code epochal.aggregator}
 * (each key documented once, here, next to its default; docs/operations.md lists them).
 */
public record AggregatorConfig(
    String id,
    String dc,
    ReceiverConfig receiver,
    BatcherConfig batcher,
    int maxBlobBytes,
    int zstdLevel,
    int blobVersion,
    SpoolConfig spool,
    long spoolQueueBytes,
    String adminHost,
    int adminPort) {
  public static final String PREFIX = "epochal.aggregator";
  private static final Pattern TAG = Pattern.compile("[^:|/\\s\\p{Cntrl}]{1,64}");

  /** Reads every key; throws {@link ConfigException} naming the first bad one. */
  public static AggregatorConfig from(Settings s) {
    String id = s.getString(ConfigKey.of("id",
        "Aggregator id, unique within its data center; part of every chunk token. Default: the host name."),
        defaultId(), TAG);
    String dc = s.getString(ConfigKey.of("dc", "Data center this aggregator serves (a label on its metrics)."), "1", TAG);
    ReceiverConfig defaults = ReceiverConfig.defaults();
    Duration tick = s.getDuration(ConfigKey.of("tick-interval", "How often open batches are checked for sealing."),
        defaults.tickInterval(), Duration.ofMillis(1), Duration.ofSeconds(1));
    ReceiverConfig receiver = new ReceiverConfig(
        s.getString(ConfigKey.of("udp-host", "Address to receive datagrams on."), defaults.host()),
        s.getInt(ConfigKey.of("udp-port", "UDP port to receive datagrams on (0: any free port)."), defaults.port(), 0, 65_535),
        s.getInt(ConfigKey.of("udp-channels",
            "Receive channels sharing the port with SO_REUSEPORT, each with its own thread (epoll only)."),
            defaults.channels(), 1, 64),
        (int) s.getBytes(ConfigKey.of("udp-receive-buffer", "SO_RCVBUF to request for each receive channel."),
            defaults.receiveBufferBytes(), 64 << 10, 1L << 30),
        s.getInt(ConfigKey.of("udp-datagrams-per-read", "Datagrams read per recvmmsg call (epoll only)."),
            defaults.datagramsPerRead(), 1, 256),
        s.getBoolean(ConfigKey.of("udp-epoll", "Use the native epoll transport when available."), true),
        tick,
        s.getBytes(ConfigKey.of("udp-queue-bytes",
            "Datagram bytes each receive channel buffers for its batching thread; beyond it datagrams are dropped (queue_full)."),
            defaults.queueBytes(), 1 << 20, 16L << 30),
        s.getDuration(ConfigKey.of("udp-drain-interval",
            "How long a batching thread that emptied its datagram queue waits before looking again (0: woken for every datagram)."),
            // At most the tick interval: a worker must wake in time for its ticks.
            min(defaults.drainInterval(), tick), Duration.ZERO, tick),
        s.getDuration(ConfigKey.of("udp-read-interval",
            "How often each receive channel reads the datagrams the kernel queued, instead of waking for each (0: as they arrive)."),
            defaults.readInterval(), Duration.ZERO, Duration.ofMillis(100)));
    BatcherConfig b = BatcherConfig.defaults();
    BatcherConfig batcher = new BatcherConfig(
        s.getDuration(ConfigKey.of("grace", "How long after an epoch ends its batches wait for stragglers."),
            b.grace(), Duration.ZERO, Duration.ofMinutes(5)),
        s.getDuration(ConfigKey.of("late-linger", "How long late events of a sealed epoch are collected before their further chunk is sealed."),
            b.lateLinger(), Duration.ZERO, Duration.ofMinutes(5)),
        s.getDuration(ConfigKey.of("max-future", "Events dated further ahead are counted as future (and kept)."),
            b.maxFuture(), Duration.ZERO, Duration.ofDays(365)),
        s.getDuration(ConfigKey.of("retention", "Events older than this are dropped as expired (match the store's TTL)."),
            b.retention(), Duration.ofMinutes(1), Duration.ofDays(3650)),
        s.getBytes(ConfigKey.of("max-open-bytes",
            "Memory for open batches; above it the largest are sealed early. Split evenly over the receive channels."),
            b.maxOpenBytes(), 1 << 20, 64L << 30));
    int maxBlob = (int) s.getBytes(ConfigKey.of("blob.max-bytes", "Largest blob, header and checksum included."),
        BlobFormat.DEFAULT_MAX_BLOB_BYTES, 70_000, 64L << 20);
    int level = s.getInt(ConfigKey.of("blob.zstd-level", "zstd level of blob payloads (see docs/benchmarks.md)."), 3, 1, 19);
    int blobVersion = s.getInt(ConfigKey.of("blob.version",
        "Blob format written: 2 (columns: fewer bytes, faster reads) or 1 (rows, for readers older than v2)."),
        BlobFormat.DEFAULT_VERSION, 1, 2);
    SpoolConfig spool = new SpoolConfig(
        s.getPath(ConfigKey.of("spool.dir", "Spool directory: the durable hand-off to the relocator."), Path.of("spool")),
        s.getBytes(ConfigKey.of("spool.segment-bytes", "Size at which spool segment files roll."),
            SpoolConfig.DEFAULT_SEGMENT_BYTES, SpoolConfig.MIN_SEGMENT_BYTES, SpoolConfig.MAX_SEGMENT_BYTES),
        s.getBytes(ConfigKey.of("spool.max-bytes",
            "Spool size cap; when reached, new blobs are dropped (spool_full) until the relocator frees space."),
            SpoolConfig.DEFAULT_MAX_BYTES, 1 << 20, 1L << 50),
        s.getDuration(ConfigKey.of("spool.sync-interval", "Group-commit interval of spool fsyncs (0: every append)."),
            SpoolConfig.DEFAULT_SYNC_INTERVAL, Duration.ZERO, SpoolConfig.MAX_SYNC_INTERVAL));
    long queue = s.getBytes(ConfigKey.of("spool.queue-bytes",
        "Sealed blobs waiting for the spool writer; beyond it blobs are dropped (spool_queue_full)."),
        64L << 20, 1 << 20, 16L << 30);
    String adminHost = s.getString(ConfigKey.of("admin-host", "Address of the admin HTTP server (/metrics, /health)."),
        "127.0.0.1");
    int adminPort = s.getInt(ConfigKey.of("admin-port", "Port of the admin HTTP server (0: any free port)."), 9140, 0, 65_535);
    return new AggregatorConfig(id, dc, receiver, batcher, maxBlob, level, blobVersion, spool, queue, adminHost, adminPort);
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  /** The host name, cut to what a tag allows; "aggregator" when it cannot be had. */
  static String defaultId() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      host = "aggregator";
    }
    int dot = host.indexOf('.');
    String id = (dot > 0 ? host.substring(0, dot) : host).toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_-]", "-");
    if (id.length() > 40) {
      id = id.substring(0, 40);
    }
    return TagRules.isValid(id, false) ? id : "aggregator";
  }
}
