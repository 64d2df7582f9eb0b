package io.epochal.relocator;

import io.epochal.aggregator.spool.BlobSource;
import io.epochal.aggregator.spool.SpoolCorruptException;
import io.epochal.aggregator.spool.SpoolReader;
import io.epochal.aggregator.spool.SpoolRecord;
import io.epochal.common.admin.Health;
import io.epochal.common.lifecycle.AbstractLifecycleComponent;
import io.epochal.common.log.RateLimitedLog;
import io.epochal.consumer.http.StoreClient;
import io.epochal.format.BlobKey;
import io.epochal.format.EpochKey;
import io.epochal.format.EpochMember;
import io.epochal.format.EpochMembers;
import io.epochal.format.FormatException;
import io.epochal.zooanimal.NodeSelector;
import io.epochal.zooanimal.StoreNodeAddress;
import io.micrometer.core.instrument.Gauge;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves sealed blobs from a {@link BlobSource} into the store, then lists them in the epoch
 * metadata, then acknowledges the source. This is the relocator without its daemon parts, for
 * embedding (e.g. {@code epochal standalone} over the aggregator's {@code FileSpool}):
 *
 * <pre>{@code
 * SpoolRelocator relocator = new SpoolRelocator(config, spool, client, nodes,
 *     new RelocatorMetrics(registry), Clock.systemUTC());
 * stack.add(relocator);       // after the spool and the store, so it stops before them
 * }</pre>
 *
 * <p><b>Protocol</b> (docs/relocator.md has it in full). One thread reads durable records in order
 * from the acknowledged position and PUTs each blob to {@code events/<key>} at once (up to {@code
 * in-flight} outstanding, {@code max-in-flight-bytes} held). Records are grouped into batches; a
 * batch is closed when the reader catches up, hits a capacity limit or a batch limit. Once a batch
 * is closed, each of its (epoch, dc) groups whose blobs are all stored gets one PUT to {@code
 * epochs/<epoch>-<dc>} with its members; once every group of a batch is published, and every earlier
 * batch too, the source is acknowledged at the batch's end. So a member is never visible before its
 * blob is stored with the configured w, and an acknowledged record is always stored and listed.
 * Failed PUTs are retried with exponential backoff and jitter on another node, forever; nothing is
 * skipped.
 *
 * <p>Ownership: the source, client and node selector stay the caller's; stopping does not close
 * them, and they must outlive the relocator. Thread-safe. Stop is graceful: it closes the open
 * batch, waits up to {@code stop-timeout} for in-flight batches to be published and acknowledges
 * what is complete.
 */
public final class SpoolRelocator extends AbstractLifecycleComponent {
  private static final Logger log = LoggerFactory.getLogger(SpoolRelocator.class);
  static final String BLOB_TYPE = "application/x-epochal-blob";
  static final String MEMBERS_TYPE = "text/plain; charset=utf-8";
  /** How long a timed wait lasts at most, so the reading thread sees a stop request. */
  private static final Duration WAKE = Duration.ofMillis(200);
  /** /health reports the store down once PUTs have failed without a success for this long. */
  static final Duration STALL = Duration.ofSeconds(30);
  /** Batches read but not yet published, beyond which reading stops. */
  static final int MAX_PENDING_BATCHES = 64;

  private final RelocatorConfig config;
  private final BlobSource source;
  private final StoreClient client;
  private final NodeSelector nodes;
  private final RelocatorMetrics metrics;
  private final Clock clock;
  private final String query;
  private final RateLimitedLog rateLog;
  private final Backoff backoff;

  private final ReentrantLock lock = new ReentrantLock();
  /** Signalled when capacity frees up or a stop is requested. */
  private final Condition room = lock.newCondition();
  /** Signalled when the last pending batch is done. */
  private final Condition drained = lock.newCondition();
  // Guarded by lock.
  private final ArrayDeque<Batch> batches = new ArrayDeque<>();
  private Batch open;
  private int inFlightBlobs;
  private long inFlightBytes;
  private long batchSeq;
  /** Epoch -> number of groups of that epoch read but not yet published. */
  private final TreeMap<Long, Integer> pendingEpochs = new TreeMap<>();
  private long newestPublishedEpoch = Long.MIN_VALUE;

  private volatile boolean stopping;
  private volatile boolean closed;
  private volatile Throwable failure;
  private volatile String readError;
  private volatile long ackTarget = -1;
  private volatile long lastAcked = -1;
  private volatile long failingSinceMillis;
  private volatile long readerPosition = -1;

  private Thread reader;
  private ScheduledExecutorService retries;
  private ExecutorService acker;

  /**
   * @param config limits, quorums, backoff and timeouts (its spool and admin keys are not used here)
   * @param source where sealed blobs come from; reading starts at its acknowledged position
   * @param client the store client; its own in-flight bound should exceed {@code config.inFlight()}
   * @param nodes picks store nodes; failed ones are marked down
   */
  public SpoolRelocator(RelocatorConfig config, BlobSource source, StoreClient client, NodeSelector nodes,
      RelocatorMetrics metrics, Clock clock) {
    super("relocator");
    this.config = config;
    this.source = source;
    this.client = client;
    this.nodes = nodes;
    this.metrics = metrics;
    this.clock = clock;
    this.query = config.putQuery();
    this.backoff = new Backoff(config);
    this.rateLog = new RateLimitedLog(log, RateLimitedLog.DEFAULT_INTERVAL, clock);
    var r = metrics.registry();
    Gauge.builder("epochal.relocator.lag", this, SpoolRelocator::lagSeconds).baseUnit("seconds")
        .description("Seconds from the newest epoch published to now (NaN before the first)").register(r);
    Gauge.builder("epochal.relocator.pending.age", this, SpoolRelocator::pendingAgeSeconds).baseUnit("seconds")
        .description("Seconds from the oldest epoch read but not yet published to now (0 when none is pending)")
        .register(r);
    Gauge.builder("epochal.relocator.backlog", source, s -> s.durablePosition() - s.acknowledgedPosition())
        .baseUnit("bytes").description("Durable spool bytes not yet acknowledged").register(r);
    Gauge.builder("epochal.relocator.acknowledged.position", source, BlobSource::acknowledgedPosition)
        .description("Spool position up to which every record is stored and published").register(r);
    Gauge.builder("epochal.relocator.inflight.blobs", this, s -> s.inFlightBlobs())
        .description("Blob PUTs outstanding (sent or waiting for a retry)").register(r);
    Gauge.builder("epochal.relocator.inflight", this, s -> s.inFlightBytes()).baseUnit("bytes")
        .description("Bytes of blobs held for outstanding PUTs").register(r);
    Gauge.builder("epochal.relocator.batches.pending", this, s -> s.pendingBatches())
        .description("Batches read but not yet published and acknowledged").register(r);
  }

  // ------------------------------------------------------------------------------ lifecycle

  @Override
  protected void doStart() throws IOException {
    long from = source.acknowledgedPosition();
    SpoolReader r = source.reader(from);
    readerPosition = from;
    retries = Executors.newSingleThreadScheduledExecutor(daemonThreads("epochal-relocator-retry"));
    acker = Executors.newSingleThreadExecutor(daemonThreads("epochal-relocator-ack"));
    reader = new Thread(() -> readLoop(r), "epochal-relocator");
    reader.setDaemon(true);
    reader.start();
    log.info("relocating from position {} (durable {}) to {} with w={} dw={}, {} PUTs in flight", from,
        source.durablePosition(), nodes.nodes(), config.w(), config.dw(), config.inFlight());
  }

  @Override
  protected void doStop() {
    long deadline = System.nanoTime() + config.stopTimeout().toNanos();
    stopping = true;
    signalRoom();
    if (reader != null) {
      try {
        reader.join(Math.max(1, config.stopTimeout().toMillis()) + WAKE.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    int left;
    lock.lock();
    try {
      while (!batches.isEmpty()) {
        long ns = deadline - System.nanoTime();
        if (ns <= 0) {
          break;
        }
        drained.awaitNanos(ns);
      }
      left = batches.size();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      left = batches.size();
    } finally {
      lock.unlock();
    }
    if (acker != null) {
      try {
        acker.submit(this::acknowledgeNow).get(Math.max(1, (deadline - System.nanoTime()) / 1_000_000) + 1000,
            TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException | TimeoutException | RejectedExecutionException e) {
        log.warn("final spool acknowledgement did not complete: {}", e.toString());
      }
    }
    closed = true;
    if (retries != null) {
      retries.shutdownNow();
    }
    if (acker != null) {
      acker.shutdown();
    }
    if (left > 0) {
      log.warn("stopped with {} batches unpublished after {} ms; they are relocated again on the next start from "
          + "position {}", left, config.stopTimeout().toMillis(), source.acknowledgedPosition());
    } else {
      log.info("stopped; acknowledged position {}", source.acknowledgedPosition());
    }
  }

  private static java.util.concurrent.ThreadFactory daemonThreads(String name) {
    return task -> {
      Thread t = new Thread(task, name);
      t.setDaemon(true);
      return t;
    };
  }

  // ------------------------------------------------------------------------------ reading

  private void readLoop(SpoolReader initial) {
    SpoolReader r = initial;
    int readFailures = 0;
    try {
      while (true) {
        List<Group> publish = new ArrayList<>();
        lock.lock();
        try {
          while (!stopping && atCapacity()) {
            // Waiting for room: publish what is complete rather than hold it back.
            closeOpen(publish);
            if (!publish.isEmpty()) {
              break;
            }
            room.await(WAKE.toMillis(), TimeUnit.MILLISECONDS);
          }
          if (stopping) {
            closeOpen(publish);
          }
        } finally {
          lock.unlock();
        }
        publishAll(publish);
        if (stopping) {
          return;
        }
        if (!publish.isEmpty()) {
          continue; // capacity is re-checked
        }
        SpoolRecord rec;
        try {
          rec = r.next();
          readFailures = 0;
          readError = null;
        } catch (IOException e) {
          readFailures++;
          metrics.spoolError("read");
          readError = e.getMessage();
          rateLog.error("read", "reading the spool at position {} failed (attempt {}); retrying: {}", r.position(),
              readFailures, e.toString());
          closeOpenAndPublish();
          waitForStop(backoff.at(readFailures));
          if (!(e instanceof SpoolCorruptException)) {
            // A reader that failed otherwise may be unusable: reopen it where it stood. A reopen
            // that fails too is retried with the same backoff, not fatal.
            long at = r.position();
            closeQuietly(r);
            while (!stopping) {
              try {
                r = source.reader(at);
                break;
              } catch (IOException reopen) {
                readFailures++;
                metrics.spoolError("read");
                rateLog.error("read", "reopening the spool at position {} failed (attempt {}); retrying: {}", at,
                    readFailures, reopen.toString());
                waitForStop(backoff.at(readFailures));
              }
            }
            if (stopping) {
              r = null;
              break;
            }
          }
          continue;
        }
        if (rec == null) {
          closeOpenAndPublish();
          readerPosition = r.position();
          source.awaitDurable(r.position() + 1, WAKE);
          continue;
        }
        readerPosition = rec.nextPosition();
        admit(rec);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure = e;
    } catch (IllegalStateException e) {
      if (!stopping) {
        failure = e;
        log.error("the spool was closed under the relocator; relocation stopped", e);
      }
    } catch (RuntimeException | Error e) {
      failure = e;
      log.error("relocation stopped: reading the spool failed for good", e);
    } finally {
      closeOpenAndPublish();
      closeQuietly(r);
    }
  }

  private boolean atCapacity() {
    return inFlightBlobs >= config.inFlight() || inFlightBytes >= config.maxInFlightBytes()
        || batches.size() >= MAX_PENDING_BATCHES;
  }

  private void waitForStop(Duration d) throws InterruptedException {
    lock.lock();
    try {
      if (!stopping) {
        room.await(d.toNanos(), TimeUnit.NANOSECONDS);
      }
    } finally {
      lock.unlock();
    }
  }

  /** Adds a record to the open batch and sends its PUT. */
  private void admit(SpoolRecord rec) {
    BlobKey key;
    try {
      key = BlobKey.parse(rec.key());
    } catch (FormatException e) {
      key = null;
      metrics.invalidKeys.increment();
      rateLog.error("invalid_key", "spool record at {} has key \"{}\", which is not a blob key ({}); storing the "
          + "blob under it, but no epoch can list it", rec.position(), rec.key(), e.getMessage());
    }
    List<Group> publish = new ArrayList<>();
    Blob blob;
    lock.lock();
    try {
      if (open == null) {
        open = new Batch(++batchSeq);
        batches.addLast(open);
      }
      Batch b = open;
      Group g = null;
      if (key != null) {
        EpochKey ek = key.epochKey();
        g = b.groups.get(ek);
        if (g == null) {
          g = new Group(b, ek);
          b.groups.put(ek, g);
          b.unpublished++;
          pendingEpochs.merge(ek.epoch(), 1, Integer::sum);
        }
        g.members.add(key.member());
        g.pendingBlobs++;
      }
      blob = new Blob(b, g, rec.key(), rec.blob());
      b.pendingBlobs++;
      b.records++;
      b.bytes += rec.blob().length;
      b.end = rec.nextPosition();
      inFlightBlobs++;
      inFlightBytes += rec.blob().length;
      if (b.records >= config.batchMaxRecords() || b.bytes >= config.batchMaxBytes()) {
        closeOpen(publish);
      }
    } finally {
      lock.unlock();
    }
    send(blob);
    publishAll(publish);
  }

  private void closeOpenAndPublish() {
    List<Group> publish = new ArrayList<>();
    lock.lock();
    try {
      closeOpen(publish);
    } finally {
      lock.unlock();
    }
    publishAll(publish);
  }

  /** Closes the open batch; collects its groups that are ready to publish. Under the lock. */
  private void closeOpen(List<Group> publish) {
    Batch b = open;
    if (b == null) {
      return;
    }
    open = null;
    b.closed = true;
    metrics.batches.increment();
    for (Group g : b.groups.values()) {
      if (g.pendingBlobs == 0 && !g.publishing) {
        g.publishing = true;
        publish.add(g);
      }
    }
    maybeDone(b);
  }

  // ------------------------------------------------------------------------------ blob PUTs

  private void send(Blob b) {
    if (closed) {
      return; // abandoned at stop; the record is read again after a restart
    }
    StoreNodeAddress node = b.lastNode == null ? nodes.pick() : nodes.pickOther(Set.of(b.lastNode));
    long t0 = System.nanoTime();
    try {
      client.put(node, RelocatorMetrics.EVENTS, b.key, query, Unpooled.wrappedBuffer(b.bytes), BLOB_TYPE)
          .whenComplete((resp, err) -> {
            try {
              onBlobAnswer(b, node, t0, resp, err);
            } catch (RuntimeException | Error e) {
              log.error("handling the answer to PUT events/{} failed", b.key, e);
            }
          });
    } catch (RuntimeException e) {
      onBlobAnswer(b, node, t0, null, e);
    }
  }

  private void onBlobAnswer(Blob b, StoreNodeAddress node, long t0, StoreClient.Response resp, Throwable err) {
    metrics.putLatency(RelocatorMetrics.EVENTS).record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
    String cause = outcome(resp, err);
    if (cause == null) {
      succeeded(node);
      metrics.blobsRelocated.increment();
      metrics.bytesRelocated.increment(b.size);
      blobStored(b);
      return;
    }
    b.attempts++;
    failed(RelocatorMetrics.EVENTS, b.key, node, cause, b.attempts, err, resp);
    b.lastNode = node;
    retryLater(() -> {
      metrics.retries(RelocatorMetrics.EVENTS).increment();
      send(b);
    }, backoff.at(b.attempts));
  }

  private void blobStored(Blob b) {
    List<Group> publish = new ArrayList<>();
    lock.lock();
    try {
      inFlightBlobs--;
      inFlightBytes -= b.size;
      b.bytes = null; // stored: the memory is free
      b.batch.pendingBlobs--;
      Group g = b.group;
      if (g != null) {
        g.pendingBlobs--;
        if (b.batch.closed && g.pendingBlobs == 0 && !g.publishing) {
          g.publishing = true;
          publish.add(g);
        }
      }
      maybeDone(b.batch);
      room.signalAll();
    } finally {
      lock.unlock();
    }
    publishAll(publish);
  }

  // ------------------------------------------------------------------------------ epoch PUTs

  private void publishAll(List<Group> groups) {
    for (Group g : groups) {
      g.body = EpochMembers.format(g.members);
      publish(g);
    }
  }

  private void publish(Group g) {
    if (closed) {
      return;
    }
    StoreNodeAddress node = g.lastNode == null ? nodes.pick() : nodes.pickOther(Set.of(g.lastNode));
    long t0 = System.nanoTime();
    String key = g.key.format();
    try {
      client.put(node, RelocatorMetrics.EPOCHS, key, query,
          Unpooled.wrappedBuffer(g.body.getBytes(StandardCharsets.UTF_8)), MEMBERS_TYPE)
          .whenComplete((resp, err) -> {
            try {
              onEpochAnswer(g, node, t0, resp, err);
            } catch (RuntimeException | Error e) {
              log.error("handling the answer to PUT epochs/{} failed", key, e);
            }
          });
    } catch (RuntimeException e) {
      onEpochAnswer(g, node, t0, null, e);
    }
  }

  private void onEpochAnswer(Group g, StoreNodeAddress node, long t0, StoreClient.Response resp, Throwable err) {
    metrics.putLatency(RelocatorMetrics.EPOCHS).record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
    String cause = outcome(resp, err);
    if (cause == null) {
      succeeded(node);
      metrics.epochWrites.increment();
      metrics.membersPublished.increment(g.members.size());
      long delayMs = clock.millis() - g.key.epoch() * 1000;
      metrics.publishDelay.record(Math.max(0, delayMs), TimeUnit.MILLISECONDS);
      groupPublished(g);
      return;
    }
    g.attempts++;
    failed(RelocatorMetrics.EPOCHS, g.key.format(), node, cause, g.attempts, err, resp);
    g.lastNode = node;
    retryLater(() -> {
      metrics.retries(RelocatorMetrics.EPOCHS).increment();
      publish(g);
    }, backoff.at(g.attempts));
  }

  private void groupPublished(Group g) {
    lock.lock();
    try {
      g.published = true;
      g.batch.unpublished--;
      pendingEpochs.computeIfPresent(g.key.epoch(), (e, n) -> n == 1 ? null : n - 1);
      newestPublishedEpoch = Math.max(newestPublishedEpoch, g.key.epoch());
      maybeDone(g.batch);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Marks a batch done when it is closed, stored and published, and moves the acknowledgement target
   * past every done batch at the head. Under the lock.
   *
   * @return whether the target moved
   */
  private boolean maybeDone(Batch b) {
    if (b.done || !b.closed || b.pendingBlobs > 0 || b.unpublished > 0) {
      return false;
    }
    b.done = true;
    boolean moved = false;
    while (!batches.isEmpty() && batches.peekFirst().done) {
      ackTarget = batches.pollFirst().end;
      moved = true;
    }
    if (moved) {
      room.signalAll();
      if (batches.isEmpty()) {
        drained.signalAll();
      }
      scheduleAck(); // only enqueues: the acknowledgement's fsyncs run on the ack thread
    }
    return moved;
  }

  // ------------------------------------------------------------------------------ acknowledging

  private void scheduleAck() {
    if (closed) {
      return;
    }
    try {
      acker.execute(this::acknowledgeNow);
    } catch (RejectedExecutionException e) {
      // Stopping: the final acknowledgement in doStop covers it.
    }
  }

  /** Acknowledges the source at the current target; on the ack thread (or in doStop). */
  private void acknowledgeNow() {
    long target = ackTarget;
    if (target <= lastAcked || target <= source.acknowledgedPosition()) {
      lastAcked = Math.max(lastAcked, target);
      return;
    }
    try {
      source.acknowledge(target);
      lastAcked = target;
      metrics.acknowledgements.increment();
    } catch (IOException | RuntimeException e) {
      metrics.spoolError("ack");
      rateLog.error("ack", "acknowledging spool position {} failed; retrying: {}", target, e.toString());
      retryLater(this::scheduleAck, config.retryBackoffMax());
    }
  }

  // ------------------------------------------------------------------------------ failures

  /** Null for success (2xx), else the failure cause label. Releases the response. */
  private static String outcome(StoreClient.Response resp, Throwable err) {
    if (resp != null) {
      int status = resp.status();
      resp.release();
      return status >= 200 && status < 300 ? null : "status_" + status;
    }
    Throwable t = err;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof TimeoutException) {
      return "timeout";
    }
    if (t instanceof StoreClient.OverloadedException) {
      return "overloaded";
    }
    if (t instanceof ConnectException || (t != null && t.getCause() instanceof ConnectException)
        || (t != null && String.valueOf(t.getMessage()).startsWith("cannot connect"))) {
      return "connect";
    }
    return "io";
  }

  /** Whether the cause is a fault of the node (or the path to it), so another node should be tried. */
  private static boolean nodeFault(String cause) {
    if (cause.startsWith("status_")) {
      int status = Integer.parseInt(cause.substring(7));
      return status >= 500 || status == 408 || status == 429;
    }
    return !cause.equals("overloaded");
  }

  private static boolean permanent(String cause) {
    if (!cause.startsWith("status_")) {
      return false;
    }
    int status = Integer.parseInt(cause.substring(7));
    return status >= 300 && status < 500 && status != 408 && status != 429;
  }

  private void failed(String bucket, String key, StoreNodeAddress node, String cause, int attempts, Throwable err,
      StoreClient.Response resp) {
    metrics.failure(bucket, cause);
    if (failingSinceMillis == 0) {
      failingSinceMillis = clock.millis();
    }
    if (nodeFault(cause)) {
      nodes.markDown(node);
    }
    if (permanent(cause)) {
      // A 4xx for our own PUT is a bug or a misconfiguration (w above n_val, value too large): never
      // skip the blob; keep retrying so the operator can fix it, and say so loudly.
      rateLog.error(bucket + "_" + cause, "PUT {}/{} on {} was rejected ({}, attempt {}); retrying, the spool is "
          + "not acknowledged past it until it is stored", bucket, key, node, cause, attempts);
    } else {
      rateLog.warn(bucket + "_" + cause, "PUT {}/{} on {} failed ({}{}, attempt {}); retrying on another node", bucket,
          key, node, cause, err == null ? "" : ": " + err.getMessage(), attempts);
    }
  }

  private void succeeded(StoreNodeAddress node) {
    nodes.markUp(node);
    failingSinceMillis = 0;
  }

  private void retryLater(Runnable task, Duration delay) {
    if (closed) {
      return;
    }
    try {
      retries.schedule(() -> {
        try {
          task.run();
        } catch (RuntimeException | Error e) {
          log.error("retry failed", e);
        }
      }, delay.toNanos(), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // Stopped: the work is left for the next start.
    }
  }

  private static void closeQuietly(SpoolReader r) {
    if (r == null) {
      return;
    }
    try {
      r.close();
    } catch (IOException | RuntimeException e) {
      log.warn("closing the spool reader failed: {}", e.toString());
    }
  }

  private void signalRoom() {
    lock.lock();
    try {
      room.signalAll();
    } finally {
      lock.unlock();
    }
  }

  // ------------------------------------------------------------------------------ state

  /** Health of the relocation: down if reading stopped, the spool cannot be read, or PUTs keep failing. */
  public Health health() {
    if (failure != null) {
      return Health.down("relocation stopped: " + failure);
    }
    String re = readError;
    if (re != null) {
      return Health.down("spool read failing: " + re);
    }
    long since = failingSinceMillis;
    if (since != 0 && clock.millis() - since >= STALL.toMillis()) {
      return Health.down("no PUT succeeded for " + (clock.millis() - since) / 1000 + " s; see epochal_relocator_put_failures");
    }
    return Health.up("backlog " + (source.durablePosition() - source.acknowledgedPosition()) + " bytes, "
        + inFlightBlobs() + " PUTs in flight");
  }

  /** The meters this relocator counts on. */
  public RelocatorMetrics metrics() {
    return metrics;
  }

  /** Whether relocation stopped for good (reading failed); see the log. */
  public boolean failed() {
    return failure != null;
  }

  /** The spool position after the last record read (for tests and status). */
  public long readPosition() {
    return readerPosition;
  }

  public int inFlightBlobs() {
    lock.lock();
    try {
      return inFlightBlobs;
    } finally {
      lock.unlock();
    }
  }

  public long inFlightBytes() {
    lock.lock();
    try {
      return inFlightBytes;
    } finally {
      lock.unlock();
    }
  }

  public int pendingBatches() {
    lock.lock();
    try {
      return batches.size();
    } finally {
      lock.unlock();
    }
  }

  double lagSeconds() {
    long newest;
    lock.lock();
    try {
      newest = newestPublishedEpoch;
    } finally {
      lock.unlock();
    }
    return newest == Long.MIN_VALUE ? Double.NaN : clock.millis() / 1000.0 - newest;
  }

  double pendingAgeSeconds() {
    Long oldest;
    lock.lock();
    try {
      oldest = pendingEpochs.isEmpty() ? null : pendingEpochs.firstKey();
    } finally {
      lock.unlock();
    }
    return oldest == null ? 0 : Math.max(0, clock.millis() / 1000.0 - oldest);
  }

  // ------------------------------------------------------------------------------ records

  /** Records from the spool up to {@link #end}; one spool acknowledgement. Guarded by lock. */
  private static final class Batch {
    final long seq;
    final Map<EpochKey, Group> groups = new LinkedHashMap<>();
    long end;
    int records;
    long bytes;
    int pendingBlobs;
    int unpublished;
    boolean closed;
    boolean done;

    Batch(long seq) {
      this.seq = seq;
    }

    @Override
    public String toString() {
      return "Batch[" + seq + ", end " + end + ", " + records + " records]";
    }
  }

  /** The blobs of one (epoch, dc) in a batch, published by one PUT to epochs/&lt;epoch&gt;-&lt;dc&gt;. */
  private static final class Group {
    final Batch batch;
    final EpochKey key;
    final List<EpochMember> members = new ArrayList<>();
    int pendingBlobs;
    boolean publishing;
    boolean published;
    // Owned by whichever thread handles the current attempt.
    volatile String body;
    volatile int attempts;
    volatile StoreNodeAddress lastNode;

    Group(Batch batch, EpochKey key) {
      this.batch = batch;
      this.key = key;
    }
  }

  /** One blob being stored. */
  private static final class Blob {
    final Batch batch;
    final Group group;
    final String key;
    final int size;
    volatile byte[] bytes;
    volatile int attempts;
    volatile StoreNodeAddress lastNode;

    Blob(Batch batch, Group group, String key, byte[] bytes) {
      this.batch = batch;
      this.group = group;
      this.key = key;
      this.bytes = bytes;
      this.size = bytes.length;
    }
  }
}
