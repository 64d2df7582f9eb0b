package io.epochal.aggregator;

import io.epochal.aggregator.AggregatorMetrics.DropReason;
import io.epochal.aggregator.batch.EpochBatcher;
import io.epochal.aggregator.spool.BlobSink;
import io.epochal.aggregator.spool.SpoolFullException;
import io.epochal.common.log.RateLimitedLog;
import io.epochal.format.BlobKey;
import io.epochal.format.blob.SealedBlob;
import java.io.IOException;
import java.time.Clock;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves sealed blobs from the batchers to the spool on a thread of its own, so receive threads never
 * wait for disk. The queue is bounded in bytes: a blob that does not fit is dropped and its events
 * counted ({@code spool_queue_full}); a spool at its size cap drops with {@code spool_full}. Both
 * are logged at a limited rate; appends succeed again by themselves once the relocator frees space.
 */
public final class SpoolWriter implements EpochBatcher.Output, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SpoolWriter.class);
  private static final RateLimitedLog limited = new RateLimitedLog(log);

  private record Item(BlobKey key, SealedBlob blob) {}

  private static final Item STOP = new Item(null, null);

  private final BlobSink sink;
  private final AggregatorMetrics metrics;
  private final Clock clock;
  private final long maxQueueBytes;
  private final LinkedBlockingQueue<Item> queue = new LinkedBlockingQueue<>();
  private final AtomicLong queuedBytes = new AtomicLong();
  private final AtomicLong appendedBlobs = new AtomicLong();
  private final Thread thread;
  private volatile boolean closed;

  public SpoolWriter(BlobSink sink, AggregatorMetrics metrics, Clock clock, long maxQueueBytes) {
    this.sink = sink;
    this.metrics = metrics;
    this.clock = clock;
    this.maxQueueBytes = maxQueueBytes;
    this.thread = new Thread(this::run, "epochal-spool-writer");
    thread.setDaemon(true);
    thread.start();
  }

  /** Called on receive threads: queues the blob or, when the queue is full, drops and counts it. */
  @Override
  public void sealed(BlobKey key, SealedBlob blob) {
    int n = blob.bytes().length;
    if (closed || queuedBytes.addAndGet(n) > maxQueueBytes) {
      queuedBytes.addAndGet(-n);
      metrics.dropped(DropReason.SPOOL_QUEUE_FULL, blob.eventCount());
      limited.error("spool_queue_full", "dropped blob {} ({} events): spool queue full ({} bytes)", key,
          blob.eventCount(), maxQueueBytes);
      return;
    }
    queue.add(new Item(key, blob));
  }

  /** Bytes queued for the spool. */
  public long queuedBytes() {
    return queuedBytes.get();
  }

  /** Blobs appended to the spool so far. */
  public long appendedBlobs() {
    return appendedBlobs.get();
  }

  private void run() {
    while (true) {
      Item item;
      try {
        item = queue.take();
      } catch (InterruptedException e) {
        return;
      }
      if (item == STOP) {
        return;
      }
      queuedBytes.addAndGet(-item.blob().bytes().length);
      append(item);
    }
  }

  private void append(Item item) {
    try {
      sink.append(item.key().format(), item.blob().bytes());
      appendedBlobs.incrementAndGet();
      long epochEnd = (item.key().epoch() + 1) * 1000L;
      long delay = clock.millis() - epochEnd;
      if (delay >= 0) {
        metrics.spoolDelay.record(delay, TimeUnit.MILLISECONDS);
      }
    } catch (SpoolFullException e) {
      metrics.dropped(DropReason.SPOOL_FULL, item.blob().eventCount());
      limited.error("spool_full", "dropped blob {} ({} events): {}", item.key(), item.blob().eventCount(),
          e.getMessage());
    } catch (IOException | RuntimeException e) {
      metrics.dropped(DropReason.SPOOL_ERROR, item.blob().eventCount());
      limited.error("spool_error", "dropped blob {} ({} events): spool write failed", item.key(),
          item.blob().eventCount(), e);
    }
  }


  /** Appends everything queued, then stops the thread and syncs the spool. Idempotent. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    queue.add(STOP);
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    sink.sync();
  }
}
