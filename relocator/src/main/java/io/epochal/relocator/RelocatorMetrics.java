package io.epochal.relocator;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The relocator's meters ({@code epochal.relocator.*}), created once against an injected registry.
 * Gauges over the relocator's state are registered by {@link SpoolRelocator}. Thread-safe.
 */
public final class RelocatorMetrics {
  /** The bucket of blobs. */
  static final String EVENTS = "events";
  /** The bucket of epoch metadata. */
  static final String EPOCHS = "epochs";

  private final MeterRegistry registry;
  /** Blobs stored with the configured quorum (re-PUTs after a restart count again). */
  public final Counter blobsRelocated;
  /** Bytes of those blobs. */
  public final Counter bytesRelocated;
  /** Epoch metadata PUTs acknowledged (one per (epoch, dc) group of a batch). */
  public final Counter epochWrites;
  /** Members added to epoch metadata by those PUTs. */
  public final Counter membersPublished;
  /** Batches closed for publication. */
  public final Counter batches;
  /** Spool acknowledgements that advanced the acknowledged position. */
  public final Counter acknowledgements;
  /** Records whose key is not a blob key: stored under it, but no member could be published. */
  public final Counter invalidKeys;
  /** From an epoch's second to its members being published. */
  public final Timer publishDelay;
  private final Map<String, Timer> putLatency = new ConcurrentHashMap<>();
  private final Map<String, Counter> retries = new ConcurrentHashMap<>();
  private final Map<String, Counter> failures = new ConcurrentHashMap<>();
  private final Map<String, Counter> spoolErrors = new ConcurrentHashMap<>();

  public RelocatorMetrics(MeterRegistry registry) {
    this.registry = registry;
    blobsRelocated = Counter.builder("epochal.relocator.blobs.relocated")
        .description("Blobs stored in the events bucket with the configured write quorum").register(registry);
    bytesRelocated = Counter.builder("epochal.relocator.relocated").baseUnit("bytes")
        .description("Bytes of blobs stored in the events bucket").register(registry);
    epochWrites = Counter.builder("epochal.relocator.epochs.written")
        .description("Epoch metadata PUTs acknowledged (one per (epoch, dc) group of a batch)").register(registry);
    membersPublished = Counter.builder("epochal.relocator.members.published")
        .description("Members added to epoch metadata").register(registry);
    batches = Counter.builder("epochal.relocator.batches").description("Batches closed").register(registry);
    acknowledgements = Counter.builder("epochal.relocator.acknowledgements")
        .description("Spool acknowledgements that advanced the acknowledged position").register(registry);
    invalidKeys = Counter.builder("epochal.relocator.keys.invalid")
        .description("Spool records whose key is not a blob key: stored, but not listed in any epoch")
        .register(registry);
    publishDelay = Timer.builder("epochal.relocator.publish.delay")
        .description("From the start of an epoch's second to its members being published")
        .publishPercentiles(0.5, 0.99).register(registry);
    for (String bucket : new String[] {EVENTS, EPOCHS}) {
      putLatency.put(bucket, Timer.builder("epochal.relocator.put.latency").tag("bucket", bucket)
          .description("Duration of one PUT attempt, failed ones included").publishPercentiles(0.5, 0.99)
          .register(registry));
      retries.put(bucket, Counter.builder("epochal.relocator.put.retries").tag("bucket", bucket)
          .description("PUT attempts that were retries of a failed one").register(registry));
    }
  }

  public MeterRegistry registry() {
    return registry;
  }

  Timer putLatency(String bucket) {
    return putLatency.get(bucket);
  }

  Counter retries(String bucket) {
    return retries.get(bucket);
  }

  /**
   * Counts one failed PUT attempt. {@code cause} is {@code status_<code>}, {@code timeout},
   * {@code connect}, {@code overloaded} or {@code io}: a small, fixed set.
   */
  void failure(String bucket, String cause) {
    failures.computeIfAbsent(bucket + "\0" + cause, k -> Counter.builder("epochal.relocator.put.failures")
        .tag("bucket", bucket).tag("cause", cause)
        .description("Failed PUT attempts, by cause; every one is retried").register(registry)).increment();
  }

  /** The failed attempts counted for {@code bucket} and {@code cause} so far. */
  public double failures(String bucket, String cause) {
    Counter c = failures.get(bucket + "\0" + cause);
    return c == null ? 0 : c.count();
  }

  /** Counts a spool error; {@code op} is {@code read} or {@code ack}. */
  void spoolError(String op) {
    spoolErrors.computeIfAbsent(op, o -> Counter.builder("epochal.relocator.spool.errors").tag("op", o)
        .description("Spool reads or acknowledgements that failed (and are retried)").register(registry)).increment();
  }
}
