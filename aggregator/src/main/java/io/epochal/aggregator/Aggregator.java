package io.epochal.aggregator;

import io.epochal.aggregator.batch.BatcherConfig;
import io.epochal.aggregator.batch.ChunkTokens;
import io.epochal.aggregator.batch.EpochBatcher;
import io.epochal.aggregator.receive.UdpReceiver;
import io.epochal.aggregator.spool.FileSpool;
import io.epochal.common.admin.AdminServer;
import io.epochal.common.admin.Health;
import io.epochal.common.lifecycle.LifecycleComponent;
import io.epochal.common.lifecycle.LifecycleStack;
import io.epochal.format.blob.BlobEncoder;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The aggregator daemon: UDP receiver → per-thread batchers → spool writer → file spool, plus the
 * admin HTTP server. Parts start in that dependency order and stop in reverse, so on shutdown the
 * receiver stops receiving and seals every open batch, the spool writer appends what it holds, and
 * the spool syncs before it closes.
 *
 * <pre>{@code
 * Aggregator aggregator = new Aggregator(config, Clock.systemUTC());
 * aggregator.start();          // binds UDP and admin ports
 * int port = aggregator.udpPort();
 * aggregator.close();          // seals, spools, fsyncs
 * }</pre>
 */
public final class Aggregator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Aggregator.class);
  static final String GENERATION_FILE = "aggregator.generation";

  private final AggregatorConfig config;
  private final Clock clock;
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final AggregatorMetrics metrics;
  private FileSpool spool;
  private SpoolWriter writer;
  private ChunkTokens tokens;
  private UdpReceiver receiver;
  private AdminServer admin;
  private final LifecycleStack stack;
  /** Checks of co-located parts (a standalone's relocator and store) added to /health. */
  private final Map<String, Supplier<Health>> extraChecks = new ConcurrentHashMap<>();

  public Aggregator(AggregatorConfig config, Clock clock) {
    this(config, clock, null);
  }

  /**
   * An aggregator whose spool also feeds {@code spoolConsumer} in this process (standalone: the
   * relocator). The consumer is made from the open spool and started after it, before the
   * receiver; on close it is stopped after the receiver has sealed the open batches and before the
   * spool closes.
   */
  public Aggregator(AggregatorConfig config, Clock clock, Function<FileSpool, LifecycleComponent> spoolConsumer) {
    this.config = config;
    this.clock = clock;
    registry.config().commonTags("dc", config.dc(), "aggregator", config.id());
    this.metrics = new AggregatorMetrics(registry);
    LifecycleStack.Builder b = LifecycleStack.builder("aggregator")
        .add(LifecycleComponent.of("spool", this::openSpool, this::closeSpool));
    if (spoolConsumer != null) {
      LifecycleComponent[] made = new LifecycleComponent[1];
      b.add(LifecycleComponent.of("spool-consumer", () -> {
        made[0] = spoolConsumer.apply(spool);
        made[0].start();
      }, () -> {
        if (made[0] != null) {
          made[0].stop();
        }
      }));
    }
    this.stack = b.add(LifecycleComponent.of("udp-receiver", this::startReceiver, () -> receiver.close()))
        .add(admin())
        .build();
  }

  private void openSpool() throws IOException {
    Files.createDirectories(config.spool().directory());
    spool = FileSpool.open(config.spool());
    // After open: the spool's directory lock keeps a second process from bumping it too.
    long generation = nextGeneration(config.spool().directory());
    writer = new SpoolWriter(spool, metrics, clock, config.spoolQueueBytes());
    Gauge.builder("epochal.aggregator.spool.bytes", spool, FileSpool::sizeBytes)
        .description("Bytes in the spool").baseUnit("bytes").register(registry);
    Gauge.builder("epochal.aggregator.spool.backlog", spool, FileSpool::backlogBytes)
        .description("Durable spool bytes the relocator has not acknowledged").baseUnit("bytes").register(registry);
    Gauge.builder("epochal.aggregator.spool.durable.position", spool, FileSpool::durablePosition)
        .description("Spool position up to which every record is fsynced").register(registry);
    Gauge.builder("epochal.aggregator.spool.queue", writer, SpoolWriter::queuedBytes)
        .description("Sealed blob bytes waiting for the spool writer").baseUnit("bytes").register(registry);
    tokens = new ChunkTokens(config.id(), generation);
    log.info("spool {} opened: {} bytes, generation {}", config.spool().directory(), spool.sizeBytes(), generation);
  }

  private void closeSpool() {
    try {
      if (writer != null) {
        writer.close();
      }
    } catch (IOException e) {
      log.error("flushing the spool writer failed", e);
    }
    try {
      if (spool != null) {
        spool.close();
      }
    } catch (IOException e) {
      log.error("closing the spool failed", e);
    }
  }

  private void startReceiver() throws InterruptedException {
    int channels = config.receiver().channels();
    BatcherConfig b = config.batcher();
    BatcherConfig perChannel = new BatcherConfig(b.grace(), b.lateLinger(), b.maxFuture(), b.retention(),
        Math.max(1 << 20, b.maxOpenBytes() / channels));
    receiver = new UdpReceiver(config.receiver(), () -> new EpochBatcher(perChannel,
        BlobEncoder.builder().producerId(config.id()).maxBlobBytes(config.maxBlobBytes())
            .zstdLevel(config.zstdLevel()).version(config.blobVersion()).build(),
        tokens, clock, metrics, writer), metrics);
    receiver.start();
    Gauge.builder("epochal.aggregator.batches.open", receiver, UdpReceiver::openBatches)
        .description("Open batches").register(registry);
    Gauge.builder("epochal.aggregator.batches.open.bytes", receiver, UdpReceiver::openBytes)
        .description("Bytes held by open batches").baseUnit("bytes").register(registry);
  }

  private AdminServer admin() {
    admin = AdminServer.builder(registry)
        .name("admin-http")
        .host(config.adminHost())
        .port(config.adminPort())
        .health(this::health)
        .build();
    return admin;
  }

  private Map<String, Health> health() {
    Map<String, Health> checks = new LinkedHashMap<>();
    FileSpool s = spool;
    if (s == null) {
      checks.put("spool", Health.down("not open"));
    } else if (s.failed()) {
      checks.put("spool", Health.down("spool failed; see the log"));
    } else if (s.full()) {
      checks.put("spool", Health.down("spool full: " + s.sizeBytes() + " bytes"));
    } else {
      checks.put("spool", Health.up(s.sizeBytes() + " bytes, backlog " + s.backlogBytes()));
    }
    checks.put("receiver", receiver != null && receiver.port() > 0 ? Health.up("udp port " + receiver.port())
        : Health.down("not receiving"));
    new java.util.TreeMap<>(extraChecks).forEach((name, check) -> checks.put(name, check.get()));
    return checks;
  }

  /**
   * Adds {@code check} to {@code /health} under {@code name} (a part running in this process, such
   * as a standalone's relocator). It runs on the admin server's event loop: it must not block.
   */
  public void addHealthCheck(String name, Supplier<Health> check) {
    extraChecks.put(name, check);
  }

  /** Starts every part; on failure the started parts are stopped again and the cause is thrown. */
  public void start() throws Exception {
    stack.start();
  }

  /** Stops receiving, seals and spools every open batch, syncs the spool. Idempotent. */
  @Override
  public void close() {
    stack.close();
  }

  /** The stack, for a daemon main to install its shutdown hook and wait on. */
  public LifecycleStack lifecycle() {
    return stack;
  }

  public int udpPort() {
    return receiver.port();
  }

  public int adminPort() {
    return admin.boundPort();
  }

  public AggregatorMetrics metrics() {
    return metrics;
  }

  /** The spool, for tests and for a relocator running in the same process. */
  public FileSpool spool() {
    return spool;
  }

  /** Reads, increments and durably stores the generation counter that keeps chunk tokens unique. */
  static long nextGeneration(Path dir) throws IOException {
    Path file = dir.resolve(GENERATION_FILE);
    long generation = 0;
    if (Files.exists(file)) {
      String text = Files.readString(file, StandardCharsets.US_ASCII).trim();
      try {
        generation = Long.parseLong(text) + 1;
      } catch (NumberFormatException e) {
        throw new IOException(file + " is corrupt (\"" + text + "\"); refusing to risk reusing chunk tokens", e);
      }
    }
    Path tmp = dir.resolve(GENERATION_FILE + ".tmp");
    try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(java.nio.ByteBuffer.wrap((generation + "\n").getBytes(StandardCharsets.US_ASCII)));
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (var d = java.nio.channels.FileChannel.open(dir, java.nio.file.StandardOpenOption.READ)) {
      d.force(true);
    }
    return generation;
  }
}
