package io.epochal.cli;

import io.epochal.aggregator.Aggregator;
import io.epochal.aggregator.AggregatorConfig;
import io.epochal.common.admin.Health;
import io.epochal.common.config.ConfigSources;
import io.epochal.common.config.Settings;
import io.epochal.consumer.http.StoreClient;
import io.epochal.relocator.Relocator;
import io.epochal.relocator.RelocatorConfig;
import io.epochal.relocator.RelocatorMetrics;
import io.epochal.relocator.SpoolRelocator;
import io.epochal.store.EventStore;
import io.epochal.store.StoreConfig;
import io.epochal.zooanimal.NodeSelector;
import io.epochal.zooanimal.StoreNodeAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Store, aggregator and relocator in one process on one data directory ({@code store/},
 * {@code spool/}): the embedded default, no ZooKeeper, no Kafka. The relocator reads the
 * aggregator's spool in process and writes to the local store; buckets default to n_val 1.
 *
 * <p>Start order: store, then aggregator with the relocator on its spool. Close order: the
 * aggregator stops receiving and seals its open batches, the relocator finishes its batch, the
 * spool closes (blobs not yet relocated stay durable in it and go at the next start), then the
 * store closes.
 */
final class Standalone implements AutoCloseable {
  private final StoreConfig storeConfig;
  private final AggregatorConfig aggregatorConfig;
  private final RelocatorConfig relocatorConfig;
  private final Settings[] settings;
  private final Clock clock;
  private EventStore store;
  private Aggregator aggregator;
  private StoreClient client;
  private SpoolRelocator relocator;

  /**
   * @param sources configuration: keys under {@code epochal.store}, {@code epochal.aggregator}
   *     and {@code epochal.relocator}
   */
  Standalone(ConfigSources sources, Clock clock) {
    Settings s = sources.settings(StoreConfig.PREFIX);
    Settings a = sources.settings(AggregatorConfig.PREFIX);
    Settings r = sources.settings(RelocatorConfig.PREFIX);
    this.storeConfig = StoreConfig.from(s);
    this.aggregatorConfig = AggregatorConfig.from(a);
    this.relocatorConfig = RelocatorConfig.from(r);
    this.settings = new Settings[] {s, a, r};
    this.clock = clock;
  }

  /** Defaults for a standalone node on {@code dataDir}; sources given later override them. */
  static Map<String, String> defaults(Path dataDir) {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("epochal.store.data-dir", dataDir.resolve("store").toString());
    d.put("epochal.store.default-n-val", "1");
    d.put("epochal.aggregator.spool.dir", dataDir.resolve("spool").toString());
    d.put("epochal.aggregator.id", "standalone");
    // One machine, loopback UDP: datagrams arrive within milliseconds, so a short grace keeps the
    // end-to-end lag low (docs/benchmarks.md, issue 5); stragglers still land, as late chunks.
    d.put("epochal.aggregator.grace", "500ms");
    d.put("epochal.relocator.spool.dir", dataDir.resolve("spool").toString());
    d.put("epochal.relocator.w", "all");
    return d;
  }

  /** Fails naming the first configuration key that no part read (a typo). */
  void requireNoUnknownKeys() {
    for (Settings s : settings) {
      s.requireNoUnknownKeys();
    }
  }

  String renderEffective() {
    StringBuilder b = new StringBuilder();
    for (Settings s : settings) {
      b.append(s.renderEffective()).append('\n');
    }
    return b.toString();
  }

  void start() throws Exception {
    store = new EventStore(storeConfig, clock);
    try {
      store.start();
      StoreNodeAddress local = new StoreNodeAddress(
          storeConfig.http().host().equals("0.0.0.0") ? "127.0.0.1" : storeConfig.http().host(), store.httpPort());
      client = Relocator.newClient(relocatorConfig);
      NodeSelector nodes = NodeSelector.of(List.of(local), Duration.ofSeconds(1));
      aggregator = new Aggregator(aggregatorConfig, clock, spool -> {
        relocator = new SpoolRelocator(relocatorConfig, spool, client, nodes,
            new RelocatorMetrics(aggregatorRegistry()), clock);
        return relocator;
      });
      // The aggregator's admin port is the standalone's: its /health covers all three parts.
      aggregator.addHealthCheck("relocation", () -> relocator == null ? Health.down("not started") : relocator.health());
      aggregator.addHealthCheck("store", this::storeHealth);
      aggregator.start();
    } catch (Exception e) {
      close();
      throw e;
    }
  }

  private Health storeHealth() {
    List<Integer> failed = store.node().failedPartitions();
    return failed.isEmpty() ? Health.up("http port " + store.httpPort() + ", " + store.node().partitions() + " partitions")
        : Health.down("partitions failed: " + failed);
  }

  private io.micrometer.core.instrument.MeterRegistry aggregatorRegistry() {
    return aggregator.metrics().registry();
  }

  @Override
  public void close() {
    if (aggregator != null) {
      aggregator.close();
    }
    if (client != null) {
      client.close();
    }
    if (store != null) {
      store.close();
    }
  }

  EventStore store() {
    return store;
  }

  Aggregator aggregator() {
    return aggregator;
  }

  SpoolRelocator relocator() {
    return relocator;
  }

  StoreConfig storeConfig() {
    return storeConfig;
  }

  AggregatorConfig aggregatorConfig() {
    return aggregatorConfig;
  }

  /** The store's address as clients on this machine reach it. */
  StoreNodeAddress storeAddress() {
    String host = storeConfig.http().host();
    return new StoreNodeAddress(host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host, store.httpPort());
  }
}
