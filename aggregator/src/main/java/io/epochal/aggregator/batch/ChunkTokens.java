package io.epochal.aggregator.batch;

import io.epochal.format.TagRules;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Chunk tokens unique across aggregators and restarts: {@code <aggregator id>.<generation>.<sequence>},
 * e.g. {@code a7.12.0}. The aggregator id is unique per data center (configuration); the generation
 * grows by one at every start (persisted before the first blob is sealed); the sequence counts blobs
 * within a generation. Thread-safe.
 */
public final class ChunkTokens {
  private final String prefix;
  private final AtomicLong sequence = new AtomicLong();

  public ChunkTokens(String aggregatorId, long generation) {
    TagRules.requireValid("aggregator id", aggregatorId, false);
    if (generation < 0) {
      throw new IllegalArgumentException("generation " + generation + " must be >= 0");
    }
    this.prefix = aggregatorId + "." + generation + ".";
    TagRules.requireValid("chunk token", prefix + Long.MAX_VALUE, false);
  }

  public String next() {
    return prefix + sequence.getAndIncrement();
  }
}
