package io.epochal.relocator;

import io.epochal.aggregator.spool.BlobSource;
import io.epochal.aggregator.spool.FileSpool;
import io.epochal.aggregator.spool.SpoolConfig;
import io.epochal.aggregator.spool.SpoolTail;
import io.epochal.common.admin.AdminServer;
import io.epochal.common.admin.Health;
import io.epochal.common.lifecycle.LifecycleComponent;
import io.epochal.common.lifecycle.LifecycleStack;
import io.epochal.consumer.http.StoreClient;
import io.epochal.zooanimal.NodeSelector;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relocator daemon: spool → {@link SpoolRelocator} → store, plus the admin HTTP server
 * ({@code /metrics}, {@code /health}). Parts start in that order and stop in reverse, so on shutdown
 * the admin server goes first, then the relocator finishes and acknowledges its in-flight batches
 * (bounded by {@code stop-timeout}), then the store client and the spool close.
 *
 * <pre>{@code
 * Relocator relocator = new Relocator(RelocatorConfig.from(settings), Clock.systemUTC());
 * relocator.start();      // opens the reader side of the spool at spool.dir, binds the admin port
 * relocator.close();      // graceful stop
 * }</pre>
 *
 * <p>Embedded over a hand-off and a client someone else owns (neither is closed by this class):
 * {@code new Relocator(config, spool, client, nodes, clock)}.
 */
public final class Relocator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Relocator.class);

  private final RelocatorConfig config;
  private final Clock clock;
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final RelocatorMetrics metrics = new RelocatorMetrics(registry);
  private final LifecycleStack stack;
  private BlobSource source;
  private StoreClient client;
  private NodeSelector nodes;
  private SpoolRelocator relocator;
  private AdminServer admin;

  /**
   * The daemon: opens the reader side of the spool at {@code spool.dir} ({@link FileSpool#openReader}),
   * so it runs beside an aggregator process that has the same spool open for writing, and its own
   * store client.
   */
  public Relocator(RelocatorConfig config, Clock clock) {
    this.config = config;
    this.clock = clock;
    this.stack = LifecycleStack.builder("relocator")
        .add(LifecycleComponent.of("spool", this::openSpool, this::closeSpool))
        .add(LifecycleComponent.of("store-client", this::openClient, this::closeClient))
        .add(LifecycleComponent.of("relocation", this::startRelocation, this::stopRelocation))
        .add(admin())
        .build();
  }

  /**
   * Embedded: relocates from {@code source} through {@code client} to {@code nodes}, all owned by the
   * caller and left open on {@link #close()}. The admin server still runs on {@code admin-port}.
   */
  public Relocator(RelocatorConfig config, BlobSource source, StoreClient client, NodeSelector nodes, Clock clock) {
    this.config = config;
    this.clock = clock;
    this.source = source;
    this.client = client;
    this.nodes = nodes;
    this.stack = LifecycleStack.builder("relocator")
        .add(LifecycleComponent.of("relocation", this::startRelocation, this::stopRelocation))
        .add(admin())
        .build();
  }

  /** A store client sized for {@code config}: its in-flight bound leaves room for epoch PUTs. */
  public static StoreClient newClient(RelocatorConfig config) {
    return StoreClient.builder()
        .maxInFlight(config.inFlight() + 64)
        .maxConnectionsPerNode(config.connectionsPerNode())
        .connectTimeout(config.connectTimeout())
        .requestTimeout(config.requestTimeout())
        .build();
  }

  private void openSpool() throws IOException {
    // Not created here: a mistyped path would otherwise make an empty spool and idle forever.
    if (!Files.isDirectory(config.spoolDir())) {
      throw new IOException("spool directory " + config.spoolDir() + " does not exist: set spool.dir (--spool-dir) to"
          + " the aggregator's spool.dir, which the aggregator creates when it first starts");
    }
    // The reader side: works beside an aggregator process writing the spool (it never takes spool.lock,
    // only reader.lock). Segment size and cap only matter to the writer.
    SpoolTail spool = FileSpool.openReader(SpoolConfig.builder(config.spoolDir()).build());
    source = spool;
    Gauge.builder("epochal.relocator.spool.bytes", spool, SpoolTail::sizeBytes)
        .baseUnit("bytes").description("Bytes of spool segment files").register(registry);
    log.info("spool {} opened: acknowledged {}, durable {}", config.spoolDir(), spool.acknowledgedPosition(),
        spool.durablePosition());
  }

  private void closeSpool() {
    try {
      if (source != null) {
        source.close();
      }
    } catch (IOException e) {
      log.error("closing the spool failed", e);
    }
  }

  private void openClient() throws IOException {
    nodes = config.nodeSelector();
    client = newClient(config);
  }

  private void closeClient() {
    if (client != null) {
      client.close();
    }
  }

  private void startRelocation() throws Exception {
    relocator = new SpoolRelocator(config, source, client, nodes, metrics, clock);
    relocator.start();
  }

  private void stopRelocation() {
    if (relocator != null) {
      relocator.stop();
    }
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
    SpoolRelocator r = relocator;
    checks.put("relocation", r == null ? Health.down("not started") : r.health());
    if (source instanceof FileSpool s && s.failed()) {
      checks.put("spool", Health.down("spool failed; see the log"));
    }
    return checks;
  }

  /** Starts every part; on failure the started parts are stopped again and the cause is thrown. */
  public void start() throws Exception {
    stack.start();
  }

  /** Graceful stop: finishes and acknowledges in-flight batches (bounded), then closes. Idempotent. */
  @Override
  public void close() {
    stack.close();
  }

  /** The stack, for a daemon main to install its shutdown hook and wait on. */
  public LifecycleStack lifecycle() {
    return stack;
  }

  public int adminPort() {
    return admin.boundPort();
  }

  public RelocatorMetrics metrics() {
    return metrics;
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The relocation engine (null before start). */
  public SpoolRelocator relocation() {
    return relocator;
  }
}
