package io.epochal.aggregator;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The aggregator's meters ({@code epochal.aggregator.*}), created once against an injected
 * registry. Thread-safe: meters are shared by every receive thread.
 */
public final class AggregatorMetrics {
  /** Why events were dropped; the {@code reason} tag of {@code epochal.aggregator.events.dropped}. */
  public enum DropReason {
    /** The spool's size cap was reached. */
    SPOOL_FULL,
    /** The queue of sealed blobs waiting for the spool was full. */
    SPOOL_QUEUE_FULL,
    /**
     * A receive channel's datagram queue was full; counted from the datagram's header (events of a
     * datagram whose header is not even valid are not known and not counted here).
     */
    RECEIVE_QUEUE_FULL,
    /** Writing to the spool failed. */
    SPOOL_ERROR,
    /** The event's epoch is older than the retention: the store would expire it at once. */
    EXPIRED,
    /** The event could not be added to a blob (too large for one). */
    UNBATCHABLE;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  private final MeterRegistry registry;
  public final Counter datagrams;
  public final Counter datagramBytes;
  /** Datagrams dropped because a worker's queue was full (their events are not counted). */
  public final Counter datagramsDropped;
  public final Counter late;
  public final Counter future;
  public final Counter blobsSealed;
  public final Counter earlySeals;
  public final DistributionSummary blobBytes;
  public final DistributionSummary blobEvents;
  public final DistributionSummary compressionRatio;
  public final Timer sealDelay;
  public final Timer spoolDelay;
  private final Map<String, Counter> eventsByType = new ConcurrentHashMap<>();
  private final Map<String, Counter> malformedByReason = new ConcurrentHashMap<>();
  private final Map<String, Counter> invalidByReason = new ConcurrentHashMap<>();
  private final Map<DropReason, Counter> dropped = new ConcurrentHashMap<>();

  public AggregatorMetrics(MeterRegistry registry) {
    this.registry = registry;
    datagrams = Counter.builder("epochal.aggregator.datagrams").description("Datagrams received").register(registry);
    datagramBytes = Counter.builder("epochal.aggregator.datagram.bytes").description("Datagram bytes received")
        .baseUnit("bytes").register(registry);
    datagramsDropped = Counter.builder("epochal.aggregator.datagrams.dropped").tag("reason", "queue_full")
        .description("Datagrams dropped unread because the batching thread's queue was full").register(registry);
    late = Counter.builder("epochal.aggregator.events.late")
        .description("Events whose epoch was already sealed; stored in a further chunk").register(registry);
    future = Counter.builder("epochal.aggregator.events.future")
        .description("Events dated further in the future than allowed; stored and sealed promptly").register(registry);
    blobsSealed = Counter.builder("epochal.aggregator.blobs.sealed").description("Blobs sealed").register(registry);
    earlySeals = Counter.builder("epochal.aggregator.batches.sealed.early")
        .description("Open batches sealed before their epoch ended because open bytes hit the memory limit")
        .register(registry);
    blobBytes = DistributionSummary.builder("epochal.aggregator.blob.size").description("Sealed blob size")
        .baseUnit("bytes").publishPercentiles(0.5, 0.99).register(registry);
    blobEvents = DistributionSummary.builder("epochal.aggregator.blob.events").description("Events per sealed blob")
        .register(registry);
    compressionRatio = DistributionSummary.builder("epochal.aggregator.blob.compression.ratio")
        .description("Uncompressed payload bytes per blob byte").register(registry);
    sealDelay = Timer.builder("epochal.aggregator.seal.delay")
        .description("From the end of an epoch to its blob being sealed").publishPercentiles(0.5, 0.99).register(registry);
    spoolDelay = Timer.builder("epochal.aggregator.spool.delay")
        .description("From the end of an epoch to its blob being appended to the spool").publishPercentiles(0.5, 0.99)
        .register(registry);
    for (DropReason r : DropReason.values()) {
      dropped.put(r, Counter.builder("epochal.aggregator.events.dropped").tag("reason", r.label())
          .description("Events dropped by the aggregator, by reason").register(registry));
    }
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** Distinct type tags given their own series; further types are counted as {@code other}. */
  static final int MAX_TYPE_SERIES = 500;

  /** Counts {@code n} events of {@code type} received. */
  public void received(String type, long n) {
    String t0 = eventsByType.containsKey(type) || eventsByType.size() < MAX_TYPE_SERIES ? type : "other";
    counter(eventsByType, t0, t -> Counter.builder("epochal.aggregator.events.received").tag("type", t)
        .description("Valid events received, by type").register(registry)).increment(n);
  }

  public void malformed(String reason) {
    counter(malformedByReason, reason, r -> Counter.builder("epochal.aggregator.datagrams.malformed").tag("reason", r)
        .description("Datagrams rejected whole, by reason").register(registry)).increment();
  }

  public void invalidEvent(String reason) {
    counter(invalidByReason, reason, r -> Counter.builder("epochal.aggregator.events.invalid").tag("reason", r)
        .description("Events rejected from otherwise valid datagrams, by reason").register(registry)).increment();
  }

  public void dropped(DropReason reason, long events) {
    dropped.get(reason).increment(events);
  }

  public double droppedCount(DropReason reason) {
    return dropped.get(reason).count();
  }

  private static Counter counter(Map<String, Counter> map, String key, Function<String, Counter> make) {
    Counter c = map.get(key);
    return c != null ? c : map.computeIfAbsent(key, make);
  }
}
