package io.epochal.consumer.stream;

import io.epochal.consumer.read.EpochBatch;

/**
 * What a {@link StreamingConsumer} calls with each epoch. Calls come one at a time on the
 * consumer's thread: first deliveries in epoch order, and late follow-ups ({@link
 * EpochBatch#late()}) for an already delivered epoch whenever new members of it appear within the
 * late window.
 */
@FunctionalInterface
public interface EpochHandler {
  /**
   * Handles one epoch. Returning means the batch is done with: the consumer then checkpoints it.
   * Throwing makes the consumer call again with the same epoch after a backoff (re-read, so it may
   * hold members published meanwhile); nothing is skipped. The same batch can also be delivered
   * again after a restart if the process stopped before its checkpoint was written (at-least-once):
   * make the handling idempotent, e.g. keyed by {@link io.epochal.consumer.read.EpochBlob#key()}.
   */
  void handle(EpochBatch batch) throws Exception;
}
