package io.epochal.store.node;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The node's request metrics ({@code epochal.store.*}); engine gauges are registered by {@link
 * StoreNode}. Timers keep client-side percentiles over a one-minute window, which {@code /stats}
 * reports as Riak's {@code node_get_fsm_time_*}.
 */
public final class StoreMetrics {
  final MeterRegistry registry;
  public final Timer gets;
  public final Timer puts;
  public final Timer deletes;
  public final Counter readRepairs;
  public final Counter notFound;
  final MinuteCounter getsLastMinute = new MinuteCounter();
  final MinuteCounter putsLastMinute = new MinuteCounter();

  public StoreMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.gets = timer("epochal.store.get", "Coordinated GETs, from request to answer");
    this.puts = timer("epochal.store.put", "Coordinated PUTs, from request to acknowledgement at w/dw");
    this.deletes = timer("epochal.store.delete", "Coordinated DELETEs");
    this.readRepairs = Counter.builder("epochal.store.read.repairs")
        .description("Replicas rewritten by read repair (missing, older or corrupt copies)").register(registry);
    this.notFound = Counter.builder("epochal.store.get.notfound").description("GETs answered not found")
        .register(registry);
  }

  private Timer timer(String name, String description) {
    return Timer.builder(name).description(description).publishPercentiles(0.5, 0.95, 0.99)
        .distributionStatisticExpiry(Duration.ofMinutes(1)).distributionStatisticBufferLength(3)
        .register(registry);
  }

  /** Counts quorum failures by operation and which quorum ({@code r, w, dw, pr, pw}). */
  public void quorumFailed(String op, String quorum) {
    Counter.builder("epochal.store.quorum.failures").description("Requests answered 503 for an unmet quorum")
        .tag("op", op).tag("quorum", quorum).register(registry).increment();
  }

  /** A count over the last 60 whole seconds, for Riak's one-minute {@code node_gets}/{@code node_puts}. */
  static final class MinuteCounter {
    private final AtomicLongArray counts = new AtomicLongArray(60);
    private final AtomicLongArray seconds = new AtomicLongArray(60);

    void increment(long nowMillis) {
      long s = nowMillis / 1000;
      int i = (int) (s % 60);
      if (seconds.get(i) != s) {
        synchronized (this) {
          if (seconds.get(i) != s) {
            seconds.set(i, s);
            counts.set(i, 0);
          }
        }
      }
      counts.incrementAndGet(i);
    }

    long sum(long nowMillis) {
      long s = nowMillis / 1000;
      long sum = 0;
      for (int i = 0; i < 60; i++) {
        long at = seconds.get(i);
        if (at > s - 60 && at <= s) {
          sum += counts.get(i);
        }
      }
      return sum;
    }
  }
}
