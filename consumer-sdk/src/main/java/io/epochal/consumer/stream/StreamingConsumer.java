package io.epochal.consumer.stream;

import io.epochal.consumer.read.EpochBatch;
import io.epochal.consumer.read.EpochIterator;
import io.epochal.consumer.read.EpochReader;
import io.epochal.format.BlobKey;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A daemon that follows the present: once the second {@code e} is {@link Builder#lag lag} old
 * (the clock reads at least {@code (e + 1) s + lag}), it reads that epoch through an {@link
 * EpochReader} and calls the {@link EpochHandler}; after the handler returns it records the
 * progress in a checkpoint file, durably. It then keeps re-reading the epoch's metadata until
 * {@link Builder#lateWindow lateWindow} after it became due, and delivers members that appeared
 * since as a follow-up batch flagged {@link EpochBatch#late() late}.
 *
 * <pre>{@code
 * try (EpochReader reader = EpochReader.builder().nodes(nodes).dcs("1").include("WEB").build();
 *     StreamingConsumer consumer = StreamingConsumer.builder()
 *         .reader(reader)
 *         .checkpoint(Path.of("/var/lib/my-consumer/checkpoint"))
 *         .handler(batch -> {
 *           for (TaggedEvent e : batch.events()) {
 *             index(e);                          // idempotent: deliveries can repeat
 *           }
 *         })
 *         .build()) {
 *   consumer.start();                            // resumes from the checkpoint, if there is one
 *   awaitShutdown();
 * }                                              // close: finishes the running call, checkpoints
 * }</pre>
 *
 * <p><b>Guarantees.</b> At-least-once: an epoch is checkpointed only after the handler returned
 * for it, so after a crash or restart delivery resumes at the first epoch not checkpointed (the
 * last one may be delivered twice). First deliveries come in epoch order with no gaps: a handler
 * that throws, or a read that fails (a missing blob, the store unreachable), is retried with
 * exponential backoff, forever, and later epochs wait. The handler is called for every second,
 * also for seconds with nothing in them (an empty batch). Late members are delivered once each
 * (again at-least-once across restarts: the delivered keys of watched epochs are checkpointed
 * too); members published after an epoch's late window closed are not seen by this consumer.
 *
 * <p><b>Time.</b> Due times use the injected {@link Clock}; the consumer waits on a scheduled
 * executor until the next epoch or late check is due, re-checking the clock at least every
 * {@link Builder#idlePoll idlePoll} (so a clock that jumps, or a manual clock in tests, is noticed).
 * Backoff delays are real time. One daemon thread runs everything, the handler included.
 */
public final class StreamingConsumer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StreamingConsumer.class);

  private final EpochReader reader;
  private final EpochHandler handler;
  private final Path checkpointFile;
  private final Clock clock;
  private final long lagMs;
  private final long lateWindowMs;
  private final long lateCheckMs;
  private final long idlePollMs;
  private final long backoffInitialMs;
  private final long backoffMaxMs;
  private final Long startEpoch;
  private final Duration closeTimeout;
  private final ScheduledThreadPoolExecutor scheduler;

  // confined to the scheduler thread once started
  private final SortedMap<Long, Set<BlobKey>> watched = new TreeMap<>();
  private final Map<Long, Long> nextLateCheck = new HashMap<>();
  private boolean dirty;
  private int failures;

  private volatile long next = -1;
  private volatile Exception lastFailure;
  private volatile boolean stopping;
  private boolean started;

  private StreamingConsumer(Builder b) {
    this.reader = b.reader;
    this.handler = b.handler;
    this.checkpointFile = b.checkpoint;
    this.clock = b.clock;
    this.lagMs = b.lag.toMillis();
    this.lateWindowMs = b.lateWindow.toMillis();
    this.lateCheckMs = b.lateCheckInterval.toMillis();
    this.idlePollMs = b.idlePoll.toMillis();
    this.backoffInitialMs = b.backoffInitial.toMillis();
    this.backoffMaxMs = b.backoffMax.toMillis();
    this.startEpoch = b.startEpoch;
    this.closeTimeout = b.closeTimeout;
    this.scheduler = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "epochal-consumer");
      t.setDaemon(true);
      return t;
    });
    scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    scheduler.setRemoveOnCancelPolicy(true);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Loads the checkpoint (if the file exists) and starts following. Without a checkpoint it
   * starts at {@link Builder#startEpoch}, or else at the newest epoch already due.
   *
   * @throws IOException the checkpoint exists but cannot be read or is damaged (the consumer does
   *     not silently start elsewhere)
   * @throws IllegalStateException if started before or closed
   */
  public synchronized void start() throws IOException {
    if (started || stopping) {
      throw new IllegalStateException("a StreamingConsumer starts once");
    }
    Checkpoint cp = Checkpoint.load(checkpointFile);
    long now = clock.millis();
    if (cp != null) {
      next = cp.next();
      cp.delivered().forEach((epoch, keys) -> {
        if (epoch < next && now < lateWindowEnd(epoch)) {
          watched.put(epoch, keys);
        }
      });
      log.info("consumer resumes at epoch {} from {} ({} epochs watched for late members)", next, checkpointFile,
          watched.size());
    } else {
      next = startEpoch != null ? startEpoch : Math.max(0, lastDue(now));
      log.info("consumer starts at epoch {} (no checkpoint at {})", next, checkpointFile);
    }
    started = true;
    scheduler.execute(this::tick);
  }

  /** The next epoch to be delivered for the first time (-1 before {@link #start()}). */
  public long nextEpoch() {
    return next;
  }

  /** The failure the consumer is retrying on now, or null while all goes well. */
  public Exception lastFailure() {
    return lastFailure;
  }

  /** The newest epoch due at {@code nowMs}: its second ended at least lag ago. */
  private long lastDue(long nowMs) {
    return Math.floorDiv(nowMs - lagMs, 1000) - 1;
  }

  private long dueAt(long epoch) {
    return (epoch + 1) * 1000 + lagMs;
  }

  private long lateWindowEnd(long epoch) {
    return dueAt(epoch) + lateWindowMs;
  }

  private void tick() {
    if (stopping) {
      return;
    }
    long delay;
    try {
      step();
      if (failures > 0) {
        log.info("consumer recovered after {} failed attempts", failures);
      }
      failures = 0;
      lastFailure = null;
      delay = idleDelay();
    } catch (Exception e) {
      failures++;
      lastFailure = e;
      long d = Math.min(backoffMaxMs, backoffInitialMs << Math.min(failures - 1, 20));
      delay = d / 2 + ThreadLocalRandom.current().nextLong(d / 2 + 1);
      // every failure is logged: they are spaced by the backoff, so the rate is bounded
      log.warn("consumer at epoch {}: attempt {} failed, retrying in {} ms: {}", next, failures, delay, e.toString());
    }
    if (!stopping) {
      try {
        scheduler.schedule(this::tick, delay, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        // closing: nothing more to schedule
      }
    }
  }

  private void step() throws Exception {
    if (dirty) {
      writeCheckpoint();
    }
    while (!stopping) {
      long lastDue = lastDue(clock.millis());
      if (next > lastDue) {
        break;
      }
      // one iterator over everything due, so a consumer catching up fetches ahead in parallel
      try (EpochIterator epochs = reader.read(next, lastDue)) {
        while (!stopping && epochs.hasNext()) {
          EpochBatch batch = epochs.next();
          handler.handle(batch);
          next = batch.epoch() + 1;
          if (lateWindowMs > 0 && clock.millis() < lateWindowEnd(batch.epoch())) {
            Set<BlobKey> keys = new TreeSet<>(Checkpoint::compare);
            keys.addAll(batch.keys());
            watched.put(batch.epoch(), keys);
            nextLateCheck.put(batch.epoch(), clock.millis() + lateCheckMs);
          }
          dirty = true;
          writeCheckpoint();
        }
      }
    }
    checkLate();
  }

  /** Re-reads the metadata of watched epochs whose check is due; delivers new members as late. */
  private void checkLate() throws Exception {
    for (Long epoch : new ArrayList<>(watched.keySet())) {
      if (stopping) {
        return;
      }
      long now = clock.millis();
      Long at = nextLateCheck.get(epoch);
      if (at != null && at > now) {
        continue;
      }
      Set<BlobKey> delivered = watched.get(epoch);
      EpochBatch batch = reader.readEpoch(epoch, delivered);
      if (!batch.isEmpty()) {
        log.info("epoch {}: {} late blobs", epoch, batch.blobs().size());
        handler.handle(batch.asLate());
        delivered.addAll(batch.keys());
        dirty = true;
      }
      if (now >= lateWindowEnd(epoch)) {
        // this check ran after the window closed: it was the last one
        watched.remove(epoch);
        nextLateCheck.remove(epoch);
        dirty = true;
      } else {
        nextLateCheck.put(epoch, now + lateCheckMs);
      }
      if (dirty) {
        writeCheckpoint();
      }
    }
  }

  private void writeCheckpoint() throws IOException {
    SortedMap<Long, Set<BlobKey>> copy = new TreeMap<>(watched);
    new Checkpoint(next, copy).store(checkpointFile);
    dirty = false;
  }

  private long idleDelay() {
    long now = clock.millis();
    long wake = dueAt(next);
    for (long at : nextLateCheck.values()) {
      wake = Math.min(wake, at);
    }
    return Math.max(1, Math.min(idlePollMs, wake - now));
  }

  /**
   * Stops: lets a running handler call finish (up to the close timeout, then interrupts it),
   * writes the checkpoint, and stops the thread. Does not close the reader. Idempotent.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (stopping) {
        return;
      }
      stopping = true;
    }
    scheduler.shutdown();
    try {
      if (!scheduler.awaitTermination(closeTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("consumer handler still running after {}; interrupting it", closeTimeout);
        scheduler.shutdownNow();
        scheduler.awaitTermination(closeTimeout.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      scheduler.shutdownNow();
      Thread.currentThread().interrupt();
    }
    if (started && dirty && scheduler.isTerminated()) {
      try {
        writeCheckpoint();
      } catch (IOException e) {
        log.warn("final checkpoint to {} failed; the consumer will resume from the previous one: {}", checkpointFile,
            e.toString());
      }
    }
  }

  /**
   * Settings; {@link #build()} validates them. Required: {@link #reader}, {@link #handler},
   * {@link #checkpoint}. Not thread-safe.
   */
  public static final class Builder {
    private EpochReader reader;
    private EpochHandler handler;
    private Path checkpoint;
    private Clock clock = Clock.systemUTC();
    private Duration lag = Duration.ofSeconds(3);
    private Duration lateWindow = Duration.ofSeconds(30);
    private Duration lateCheckInterval = Duration.ofSeconds(1);
    private Duration idlePoll = Duration.ofSeconds(1);
    private Duration backoffInitial = Duration.ofMillis(100);
    private Duration backoffMax = Duration.ofSeconds(30);
    private Duration closeTimeout = Duration.ofSeconds(30);
    private Long startEpoch;

    private Builder() {}

    /** Where epochs come from: its DCs and type filter apply (required; not closed by the consumer). */
    public Builder reader(EpochReader reader) {
      this.reader = Objects.requireNonNull(reader, "reader");
      return this;
    }

    /** Called per epoch (required). */
    public Builder handler(EpochHandler handler) {
      this.handler = Objects.requireNonNull(handler, "handler");
      return this;
    }

    /** The checkpoint file (required); its directory must exist. A temporary {@code <name>.tmp} sits beside it. */
    public Builder checkpoint(Path file) {
      this.checkpoint = Objects.requireNonNull(file, "checkpoint");
      return this;
    }

    /** Time source for due times and late windows (default the system UTC clock). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * How long after a second ends it is read (default 3 s, range 0..1 h). The aggregator seals a
     * second 2 s after it ends (its default grace) and the relocator then stores the blobs and
     * lists them; 3 s lets a healthy pipeline finish, so nearly every member is there on first
     * delivery and few come as late follow-ups. Less lag means more late batches, not lost ones.
     */
    public Builder lag(Duration lag) {
      this.lag = lag;
      return this;
    }

    /**
     * How long after an epoch became due its metadata is still re-read for late members (default
     * 30 s, range 0..1 h; 0 disables late delivery). Members listed later are not delivered.
     */
    public Builder lateWindow(Duration window) {
      this.lateWindow = window;
      return this;
    }

    /** How often a watched epoch's metadata is re-read (default 1 s, range 1 ms..1 h). */
    public Builder lateCheckInterval(Duration interval) {
      this.lateCheckInterval = interval;
      return this;
    }

    /** Longest wait before the clock is looked at again (default 1 s, range 1 ms..1 min). */
    public Builder idlePoll(Duration poll) {
      this.idlePoll = poll;
      return this;
    }

    /** Backoff after a failed read, handler call or checkpoint: doubling, with jitter (default 100 ms up to 30 s). */
    public Builder backoff(Duration initial, Duration max) {
      this.backoffInitial = initial;
      this.backoffMax = max;
      return this;
    }

    /** The first epoch when there is no checkpoint yet (default: the newest epoch due at start). */
    public Builder startEpoch(long epoch) {
      if (epoch < 0) {
        throw new IllegalArgumentException("startEpoch = " + epoch + " must be >= 0");
      }
      this.startEpoch = epoch;
      return this;
    }

    /** How long {@link #close()} waits for a running handler call (default 30 s). */
    public Builder closeTimeout(Duration timeout) {
      this.closeTimeout = timeout;
      return this;
    }

    public StreamingConsumer build() {
      if (reader == null || handler == null || checkpoint == null) {
        throw new IllegalArgumentException("reader, handler and checkpoint are required");
      }
      Duration hour = Duration.ofHours(1);
      range("lag", lag, Duration.ZERO, hour);
      range("lateWindow", lateWindow, Duration.ZERO, hour);
      range("lateCheckInterval", lateCheckInterval, Duration.ofMillis(1), hour);
      range("idlePoll", idlePoll, Duration.ofMillis(1), Duration.ofMinutes(1));
      range("backoff initial", backoffInitial, Duration.ofMillis(1), hour);
      range("backoff max", backoffMax, backoffInitial, hour);
      range("closeTimeout", closeTimeout, Duration.ofMillis(1), hour);
      return new StreamingConsumer(this);
    }

    private static void range(String name, Duration d, Duration min, Duration max) {
      if (d == null || d.compareTo(min) < 0 || d.compareTo(max) > 0) {
        throw new IllegalArgumentException(name + " = " + d + " is out of range [" + min + ", " + max + "]");
      }
    }
  }
}
