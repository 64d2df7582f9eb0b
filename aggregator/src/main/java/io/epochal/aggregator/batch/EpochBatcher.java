package io.epochal.aggregator.batch;

import io.epochal.aggregator.AggregatorMetrics;
import io.epochal.aggregator.AggregatorMetrics.DropReason;
import io.epochal.common.log.RateLimitedLog;
import io.epochal.format.BlobKey;
import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobBatch;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.SealedBlob;
import io.epochal.format.codec.DatagramStrings;
import io.epochal.format.codec.EventDecoder;
import io.epochal.format.datagram.DatagramReader;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * Groups events by (epoch, dc, type, subtype) into open blob batches and seals them: when the clock
 * passes {@code epoch + 1 s + grace} ({@link #tick()}), early when a batch fills a blob, early when
 * open batches exceed the memory budget (the largest first), and at shutdown ({@link #sealAll()}).
 * Late events go into a further chunk of their epoch, sealed after {@code lateLinger}; events too far
 * in the future are counted and sealed as promptly; events older than the retention are dropped and
 * counted. Every sealed blob gets a unique chunk token and goes to the {@link Output}.
 *
 * <p>Events arrive decoded ({@link #event}, as a {@link DatagramReader.Sink}) or, on the receive
 * path, still encoded ({@link #record}, as a {@link DatagramReader.RecordSink}): those are
 * transcoded straight into their batch's blob payload ({@link BlobBatch#addEncoded}), which gives
 * the same blobs without building a map per event.
 *
 * <p>Thread-confined: one batcher per receive thread, called only from that thread (events,
 * ticks, seals). Time comes from the injected {@link Clock}.
 */
public final class EpochBatcher implements DatagramReader.Sink, DatagramReader.RecordSink {
  private static final RateLimitedLog limited = new RateLimitedLog(LoggerFactory.getLogger(EpochBatcher.class));

  /** Receives sealed blobs, on the batcher's thread; must not block. */
  public interface Output {
    void sealed(BlobKey key, SealedBlob blob);
  }

  private static final class Open {
    final BlobBatch batch;
    long deadlineMillis;
    long retained;
    /** Events added but not yet counted in {@code events.received} (counted per tick, not per event). */
    long unreported;

    Open(BlobBatch batch, long deadlineMillis) {
      this.batch = batch;
      this.deadlineMillis = deadlineMillis;
    }
  }

  private final BatcherConfig config;
  private final BlobEncoder encoder;
  private final ChunkTokens tokens;
  private final Clock clock;
  private final AggregatorMetrics metrics;
  private final Output output;
  private final Map<Tags, Open> open = new HashMap<>();
  /** Checks the events of expired records, which are not transcoded. */
  private final EventDecoder validator = new EventDecoder(false);
  private final long graceMillis;
  private long openBytes;

  public EpochBatcher(
      BatcherConfig config, BlobEncoder encoder, ChunkTokens tokens, Clock clock, AggregatorMetrics metrics,
      Output output) {
    this.config = config;
    this.encoder = encoder;
    this.tokens = tokens;
    this.clock = clock;
    this.metrics = metrics;
    this.output = output;
    this.graceMillis = config.grace().toMillis();
  }

  @Override
  public void event(Tags tags, Map<String, Object> event) {
    long now = clock.millis();
    if (expired(tags, now)) {
      metrics.dropped(DropReason.EXPIRED, 1);
      return;
    }
    Open o = open(tags, now);
    try {
      o.batch.add(event);
    } catch (IllegalArgumentException e) {
      unbatchable(tags, e);
      return;
    }
    added(o, now);
  }

  /**
   * One event still encoded ({@code buf[off, off+len)}, a datagram record's event, whose strings may
   * reference the v2 datagram's {@code strings}): validated and
   * transcoded into its batch. An invalid event throws, leaves nothing behind and counts nothing
   * here (the reader reports it to {@link #invalidEvent}); an expired one is validated all the same,
   * so that it is counted as invalid rather than expired, as when events arrived decoded.
   */
  @Override
  public void record(Tags tags, byte[] buf, int off, int len, DatagramStrings strings) throws FormatException {
    long now = clock.millis();
    if (expired(tags, now)) {
      validator.reset(buf, off, len);
      if (strings != null) {
        validator.useStrings(strings);
      }
      validator.readEvent();
      if (validator.remaining() != 0) {
        throw new FormatException(
            FormatException.Reason.TRAILING_BYTES, validator.remaining() + " bytes left after the event");
      }
      metrics.dropped(DropReason.EXPIRED, 1);
      return;
    }
    Open o = open.get(tags);
    boolean fresh = o == null;
    if (fresh) {
      o = newOpen(tags, now);
    }
    try {
      // An invalid event throws FormatException: nothing was added, and a batch made for it is
      // dropped unregistered and uncounted.
      o.batch.addEncoded(buf, off, len, strings);
    } catch (IllegalArgumentException e) {
      commit(o, fresh, tags, now);
      unbatchable(tags, e);
      return;
    }
    commit(o, fresh, tags, now);
    added(o, now);
  }

  private boolean expired(Tags tags, long now) {
    return (tags.epoch() + 1) * 1000L + config.retention().toMillis() < now;
  }

  /** The open batch of {@code tags}, made if needed; counts late and future events. */
  private Open open(Tags tags, long now) {
    Open o = open.get(tags);
    boolean fresh = o == null;
    if (fresh) {
      o = newOpen(tags, now);
    }
    commit(o, fresh, tags, now);
    return o;
  }

  private Open newOpen(Tags tags, long now) {
    long deadline = (tags.epoch() + 1) * 1000L + graceMillis;
    if (deadline <= now) {
      deadline = now + config.lateLinger().toMillis();
    } else if (tags.epoch() * 1000L > now + config.maxFuture().toMillis()) {
      deadline = now + 1000L + graceMillis;
    }
    return new Open(encoder.newBatch(tags), deadline);
  }

  /** Registers a fresh batch and counts the event as late or future if it is. */
  private void commit(Open o, boolean fresh, Tags tags, long now) {
    if (fresh) {
      open.put(tags, o);
    }
    if ((tags.epoch() + 1) * 1000L + graceMillis <= now) {
      metrics.late.increment(); // a new further chunk of a late epoch, or joining one
    } else if (tags.epoch() * 1000L > now + config.maxFuture().toMillis()) {
      metrics.future.increment();
    }
  }

  private void unbatchable(Tags tags, IllegalArgumentException e) {
    metrics.dropped(DropReason.UNBATCHABLE, 1);
    limited.warn("unbatchable", "dropped an event of {}: {}", tags, e.getMessage());
  }

  private void added(Open o, long now) {
    o.unreported++;
    long retained = o.batch.retainedBytes();
    openBytes += retained - o.retained;
    o.retained = retained;
    if (o.batch.hasSealed()) {
      emit(o, o.batch.drainSealed(), now);
    }
    if (openBytes > config.maxOpenBytes()) {
      sealLargest(now);
    }
  }

  @Override
  public void invalidEvent(FormatException e) {
    metrics.invalidEvent(e.reason().label());
  }

  /**
   * Seals every batch whose deadline has passed and brings {@code events.received} up to date.
   * Call often (the receiver ticks every 20 ms).
   */
  public void tick() {
    long now = clock.millis();
    Iterator<Open> it = open.values().iterator();
    List<Open> due = null;
    while (it.hasNext()) {
      Open o = it.next();
      report(o);
      if (o.deadlineMillis <= now) {
        if (due == null) {
          due = new ArrayList<>();
        }
        due.add(o);
        it.remove();
      }
    }
    if (due != null) {
      for (Open o : due) {
        seal(o, now);
      }
    }
  }

  /** Seals every open batch (shutdown). */
  public void sealAll() {
    long now = clock.millis();
    List<Open> all = new ArrayList<>(open.values());
    open.clear();
    for (Open o : all) {
      seal(o, now);
    }
  }

  /** Open batches. */
  public int openBatches() {
    return open.size();
  }

  /** Bytes held by open batches (buffers and chunks not yet handed on). */
  public long openBytes() {
    return openBytes;
  }


  private void sealLargest(long now) {
    long target = config.maxOpenBytes() * 3 / 4;
    List<Map.Entry<Tags, Open>> bySize = new ArrayList<>(open.entrySet());
    bySize.sort((a, b) -> Long.compare(b.getValue().retained, a.getValue().retained));
    for (Map.Entry<Tags, Open> e : bySize) {
      if (openBytes <= target) {
        break;
      }
      open.remove(e.getKey());
      metrics.earlySeals.increment();
      seal(e.getValue(), now);
    }
  }

  private void report(Open o) {
    if (o.unreported > 0) {
      metrics.received(o.batch.tags().type(), o.unreported);
      o.unreported = 0;
    }
  }

  private void seal(Open o, long now) {
    report(o);
    openBytes -= o.retained;
    o.retained = 0;
    emit(o, o.batch.seal(), now);
  }

  private void emit(Open o, List<SealedBlob> blobs, long now) {
    long epochEnd = (o.batch.tags().epoch() + 1) * 1000L;
    for (SealedBlob b : blobs) {
      metrics.blobsSealed.increment();
      metrics.blobBytes.record(b.bytes().length);
      metrics.blobEvents.record(b.eventCount());
      metrics.compressionRatio.record(b.compressionRatio());
      if (now >= epochEnd) {
        metrics.sealDelay.record(now - epochEnd, java.util.concurrent.TimeUnit.MILLISECONDS);
      }
      output.sealed(o.batch.tags().blobKey(tokens.next()), b);
    }
    if (o.retained > 0) {
      long retained = o.batch.retainedBytes();
      openBytes += retained - o.retained;
      o.retained = retained;
    }
  }
}
