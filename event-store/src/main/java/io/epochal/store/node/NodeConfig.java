package io.epochal.store.node;

import io.epochal.store.engine.EngineConfig;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings of a {@link StoreNode} (validated by the constructor; the keys are documented in
 * {@code io.epochal.store.StoreConfig} and docs/operations.md).
 *
 * @param dataDir data directory: {@code partitions/<n>/} per ring partition, {@code buckets.json}
 * @param partitions ring size, a power of two; fixed once data exists
 * @param defaultNVal n_val of buckets without their own
 * @param engine settings of each partition's engine
 * @param workerThreads threads that run engine reads and writes
 * @param maxQueued requests waiting for a worker beyond which new ones get 503
 * @param syncThreads threads that fsync partitions (group commit) in parallel
 * @param maintenanceInterval how often each partition is checked for merge and expiry
 * @param defaultTimeout the timeout of a request that gives none (Riak: 60 s)
 */
public record NodeConfig(
    Path dataDir,
    int partitions,
    int defaultNVal,
    EngineConfig engine,
    int workerThreads,
    int maxQueued,
    int syncThreads,
    Duration maintenanceInterval,
    Duration defaultTimeout) {
  public NodeConfig {
    new Ring(partitions); // validates
    if (defaultNVal < 1 || defaultNVal > Math.min(BucketProps.MAX_N_VAL, partitions)) {
      throw new IllegalArgumentException("default-n-val = " + defaultNVal + " is out of range [1, "
          + Math.min(BucketProps.MAX_N_VAL, partitions) + "]");
    }
    if (workerThreads < 1 || maxQueued < 1 || syncThreads < 1) {
      throw new IllegalArgumentException("worker-threads, max-queued-requests and sync-threads must be >= 1");
    }
  }

  public static NodeConfig defaults(Path dataDir) {
    return new NodeConfig(dataDir, 64, 3, EngineConfig.defaults(), 8, 4096, 4, Duration.ofMinutes(1),
        Duration.ofSeconds(60));
  }

  public NodeConfig withEngine(EngineConfig e) {
    return new NodeConfig(dataDir, partitions, defaultNVal, e, workerThreads, maxQueued, syncThreads,
        maintenanceInterval, defaultTimeout);
  }

  public NodeConfig withPartitions(int p, int nVal) {
    return new NodeConfig(dataDir, p, nVal, engine, workerThreads, maxQueued, syncThreads, maintenanceInterval,
        defaultTimeout);
  }
}
