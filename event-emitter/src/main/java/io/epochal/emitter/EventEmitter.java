package io.epochal.emitter;

import io.epochal.format.TagRules;
import io.epochal.format.codec.EventTooLargeException;
import io.epochal.format.datagram.DatagramFormat;
import io.epochal.format.datagram.DatagramWriter;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.DatagramChannel;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends schema-less events over UDP to Epochal aggregators. {@code emit} encodes the event straight
 * into the open datagram (so the caller may reuse the map afterwards) and returns; a background
 * thread sends datagrams when they are full or after {@code linger}. Datagrams of 4 KB and more are
 * format v2 by default: each string (key, value, tag) travels once per datagram and records refer
 * to it, which takes 42% off the bytes of typical events in 8 KB datagrams; smaller datagrams hold
 * too few events for that to pay for the aggregator's work per datagram, so they stay v1 (every
 * string spelled out). {@link Builder#datagramVersion} chooses explicitly, e.g. 1 for aggregators
 * older than v2. Encoding into the shared datagram happens under the emitter's lock, so
 * threads emitting at once take turns for the encoding (about a microsecond per event).
 *
 * <pre>{@code
 * try (EventEmitter emitter = EventEmitter.builder()
 *     .aggregator("127.0.0.1", 5140)
 *     .dc("1")
 *     .type("WEB")
 *     .subtype("app")
 *     .build()) {
 *   emitter.emit(Map.of("url", "/users/42", "status", 200, "duration_ms", 12.5));
 *   emitter.emit("CRON", "", Map.of("job", "cleanup", "ok", true));
 * }
 * }</pre>
 *
 * <p>Contract: {@code emit} never blocks on the network and never throws for network trouble or a
 * full buffer; such events are dropped and counted by {@link DropReason} ({@link #stats()}, and
 * {@code epochal.emitter.dropped} when a Micrometer registry is given). Programming errors — an
 * unsupported value type, an invalid type or subtype — throw {@link IllegalArgumentException}
 * naming the field. The epoch of an event is the second of the {@code emit} call, from the
 * configured {@link Clock}. Thread-safe. {@link #close()} sends what is buffered.
 */
public final class EventEmitter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EventEmitter.class);
  private static final long WARN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
  /** Largest record that fits alone in a datagram. */
  private static final int MAX_RECORD_BYTES = DatagramWriter.MAX_RECORD_BYTES;
  /**
   * Smallest datagram budget that is v2 unless told otherwise. Measured (docs/benchmarks.md,
   * 2026-12-02): with the reference mix, v2 costs the aggregator's batcher about the same as v1 in
   * 8 KB datagrams, 5% more in 4 KB ones (for 34% fewer bytes), 12-18% more in 1,400-byte ones
   * (for 17% fewer bytes), where the whole aggregator took 13-33% more CPU.
   */
  public static final int V2_MIN_DATAGRAM_BYTES = 4096;

  private final String dc;
  private final String defaultType;
  private final String defaultSubtype;
  private final Clock clock;
  private final long lingerNanos;
  private final int budgetBytes;
  private final int version;
  private final List<DatagramChannel> channels;
  private final List<SocketAddress> targets;
  /** Checks events that go nowhere (closed, no buffer free); guarded by lock. */
  private DatagramWriter scratch;

  private final ReentrantLock lock = new ReentrantLock();
  /** Signalled (under {@link #lock}) when a datagram is queued, a first event opens one, or on close. */
  private final Condition wakeup = lock.newCondition();
  /** Free datagram buffers; together with {@link #queue} and {@link #open} they are all there is. */
  private final ArrayBlockingQueue<DatagramWriter> free;
  /** Full datagrams waiting for the sender thread. */
  private final ArrayBlockingQueue<DatagramWriter> queue;
  /** The datagram being filled (guarded by lock); null when none is free. */
  private DatagramWriter open;
  private long openSince;
  private volatile boolean closed;
  private final Thread sender;
  private int nextTarget;

  private final LongAdder emitted = new LongAdder();
  private final LongAdder sent = new LongAdder();
  private final LongAdder datagrams = new LongAdder();
  private final LongAdder bytes = new LongAdder();
  private final EnumMap<DropReason, LongAdder> dropped = new EnumMap<>(DropReason.class);
  private final EnumMap<DropReason, Long> lastWarned = new EnumMap<>(DropReason.class);

  private EventEmitter(Builder b) throws IOException {
    this.dc = TagRules.requireValid("dc", b.dc, false);
    this.defaultType = TagRules.requireValid("type", b.type, false);
    this.defaultSubtype = TagRules.requireValid("subtype", b.subtype, true);
    this.clock = b.clock;
    this.lingerNanos = b.linger.toNanos();
    this.budgetBytes = b.datagramBytes;
    this.version = b.datagramVersion != 0 ? b.datagramVersion
        : b.datagramBytes >= V2_MIN_DATAGRAM_BYTES ? DatagramFormat.VERSION_2 : DatagramFormat.VERSION;
    for (DropReason r : DropReason.values()) {
      dropped.put(r, new LongAdder());
    }
    this.free = new ArrayBlockingQueue<>(b.maxBufferedDatagrams);
    this.queue = new ArrayBlockingQueue<>(b.maxBufferedDatagrams);
    for (int i = 0; i < b.maxBufferedDatagrams - 1; i++) {
      free.add(new DatagramWriter(b.datagramBytes, version));
    }
    this.open = new DatagramWriter(b.datagramBytes, version);
    this.channels = new ArrayList<>();
    this.targets = List.copyOf(b.aggregators);
    try {
      for (SocketAddress target : targets) {
        DatagramChannel ch = DatagramChannel.open();
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.SO_SNDBUF, b.sendBufferBytes);
        ch.connect(target);
        channels.add(ch);
      }
    } catch (IOException | RuntimeException e) {
      for (DatagramChannel ch : channels) {
        ch.close();
      }
      throw e;
    }
    this.sender = new Thread(this::sendLoop, "epochal-emitter-sender");
    sender.setDaemon(true);
    sender.start();
    if (b.meterRegistry != null) {
      EmitterMeters.bind(b.meterRegistry, this);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The datagram format this emitter writes (1 or 2). */
  public int datagramVersion() {
    return version;
  }

  /** Emits {@code event} with the default type and subtype. */
  public void emit(Map<String, ?> event) {
    emitRecord(defaultType, defaultSubtype, event);
  }

  /** Emits {@code event} with the given type and subtype (which are validated). */
  public void emit(String type, String subtype, Map<String, ?> event) {
    TagRules.requireValid("type", type, false);
    TagRules.requireValid("subtype", subtype, true);
    emitRecord(type, subtype, event);
  }

  private void emitRecord(String type, String subtype, Map<String, ?> event) {
    long epoch = Math.floorDiv(clock.millis(), 1000L);
    boolean wake = false;
    lock.lock();
    try {
      wake = append(epoch, type, subtype, event);
    } finally {
      if (wake) {
        wakeup.signal();
      }
      lock.unlock();
    }
  }

  /**
   * Encodes the event into the open datagram, or the next one, or a datagram of its own; or counts
   * it dropped. Every valid event counts as emitted and then ends up sent or dropped with a reason;
   * an invalid one throws {@link IllegalArgumentException} and counts nothing. Caller holds the
   * lock; returns whether the sender must be woken.
   */
  private boolean append(long epoch, String type, String subtype, Map<String, ?> event) {
    if (closed || (open == null && (open = free.poll()) == null)) {
      boolean fits = check(epoch, type, subtype, event);
      emitted.increment();
      if (!fits) {
        drop(DropReason.OVERSIZE, 1, oversize(type));
      } else {
        drop(closed ? DropReason.CLOSED : DropReason.BUFFER_FULL, 1, null);
      }
      return false;
    }
    boolean wake = false;
    try {
      if (open.tryAdd(epoch, dc, type, subtype, event)) {
        emitted.increment();
        return opened();
      }
      if (!open.isEmpty()) {
        enqueueOpen();
        wake = true;
        if (open != null && open.tryAdd(epoch, dc, type, subtype, event)) {
          emitted.increment();
          opened();
          return true;
        }
      }
    } catch (EventTooLargeException e) {
      emitted.increment();
      drop(DropReason.OVERSIZE, 1, oversize(type));
      return wake;
    }
    if (open == null) {
      // The datagram just queued was the last free one.
      boolean fits = check(epoch, type, subtype, event);
      emitted.increment();
      drop(fits ? DropReason.BUFFER_FULL : DropReason.OVERSIZE, 1, fits ? null : oversize(type));
      return wake;
    }
    // Larger than the datagram budget: the event travels alone, in up to 64 KB.
    DatagramWriter alone = new DatagramWriter(DatagramFormat.MAX_DATAGRAM_BYTES, version);
    boolean fits;
    try {
      fits = alone.tryAdd(epoch, dc, type, subtype, event);
    } catch (EventTooLargeException e) {
      fits = false;
    }
    emitted.increment();
    if (!fits) {
      drop(DropReason.OVERSIZE, 1, oversize(type));
    } else if (!queue.offer(alone)) {
      drop(DropReason.BUFFER_FULL, 1, null);
    } else {
      wake = true;
    }
    return wake;
  }

  /** An event went into the open datagram; starts its linger if it is the first. Returns whether to wake the sender. */
  private boolean opened() {
    if (open.count() == 1) {
      openSince = System.nanoTime();
      return true;
    }
    return false;
  }

  /**
   * Encodes an event that will not be sent, for its {@link IllegalArgumentException}; returns
   * whether it would fit in a datagram at all. Caller holds the lock.
   */
  private boolean check(long epoch, String type, String subtype, Map<String, ?> event) {
    if (scratch == null) {
      scratch = new DatagramWriter(DatagramFormat.MAX_DATAGRAM_BYTES, version);
    }
    try {
      return scratch.tryAdd(epoch, dc, type, subtype, event);
    } catch (EventTooLargeException e) {
      return false;
    } finally {
      scratch.clear();
    }
  }

  private static String oversize(String type) {
    return "event of type " + type + " exceeds " + MAX_RECORD_BYTES + " bytes";
  }

  /**
   * The sender waits on a condition of the same lock that guards every enqueue, and re-checks the
   * queue under it, so no wake-up is lost. (It used LockSupport permits before, which the lock's own
   * parking could consume, leaving datagrams queued behind a sleeping sender.)
   */
  private void sendLoop() {
    while (true) {
      DatagramWriter d = queue.poll();
      if (d == null) {
        lock.lock();
        try {
          if (!queue.isEmpty()) {
            continue;
          }
          if (open != null && !open.isEmpty()) {
            long age = System.nanoTime() - openSince;
            if (age >= lingerNanos || closed) {
              d = open;
              open = free.poll();
            } else {
              wakeup.awaitNanos(lingerNanos - age);
            }
          } else if (closed) {
            return;
          } else {
            wakeup.await();
          }
        } catch (InterruptedException e) {
          // Not a way to stop the sender (close() is): keep sending.
        } finally {
          lock.unlock();
        }
      }
      if (d != null) {
        send(d);
        release(d);
      }
    }
  }

  private void release(DatagramWriter d) {
    d.clear();
    // One-off datagrams for events larger than the budget are not pooled.
    if (d.capacity() == budgetBytes) {
      free.offer(d);
    }
  }

  /** Queues the open datagram for the sender and takes a fresh one; caller holds the lock. */
  private void enqueueOpen() {
    if (queue.offer(open)) {
      open = free.poll();
    } else {
      drop(DropReason.BUFFER_FULL, open.count(), "send queue full");
      open.clear();
    }
  }

  private void send(DatagramWriter d) {
    int n = d.count();
    int idx = nextTarget;
    nextTarget = (idx + 1) % channels.size();
    DatagramChannel ch = channels.get(idx);
    try {
      int written = ch.write(d.asByteBuffer());
      if (written == 0) {
        drop(DropReason.SOCKET_FULL, n, "socket send buffer full towards " + targets.get(idx));
        return;
      }
      sent.add(n);
      datagrams.increment();
      bytes.add(written);
    } catch (PortUnreachableException e) {
      drop(DropReason.UNREACHABLE, n, "aggregator " + targets.get(idx) + " is unreachable");
    } catch (IOException e) {
      drop(DropReason.SEND_ERROR, n, "sending to " + targets.get(idx) + " failed: " + e);
    }
  }

  private void drop(DropReason reason, long n, String why) {
    dropped.get(reason).add(n);
    if (why != null) {
      long now = System.nanoTime();
      synchronized (lastWarned) {
        Long last = lastWarned.get(reason);
        if (last != null && now - last < WARN_INTERVAL_NANOS) {
          return;
        }
        lastWarned.put(reason, now);
      }
      log.warn("dropped {} event(s), reason {}: {} (logged at most every 10 s per reason)", n, reason.label(), why);
    }
  }

  long dropped(DropReason reason) {
    return dropped.get(reason).sum();
  }

  /** A snapshot of the counters. */
  public EmitterStats stats() {
    EnumMap<DropReason, Long> d = new EnumMap<>(DropReason.class);
    for (Map.Entry<DropReason, LongAdder> e : dropped.entrySet()) {
      d.put(e.getKey(), e.getValue().sum());
    }
    return new EmitterStats(emitted.sum(), sent.sum(), datagrams.sum(), bytes.sum(), Map.copyOf(d));
  }

  /** Buffer occupancy and the sender's state, for diagnostics. */
  @Override
  public String toString() {
    lock.lock();
    try {
      return "EventEmitter[queued=" + queue.size() + ", free=" + free.size() + ", open="
          + (open == null ? "none" : open.count() + " events") + ", sender=" + sender.getState() + "]";
    } finally {
      lock.unlock();
    }
  }

  /** Hands the open datagram to the sender now instead of after the linger. */
  public void flush() {
    lock.lock();
    try {
      if (open != null && !open.isEmpty()) {
        enqueueOpen();
      }
      wakeup.signal();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops accepting events, sends everything buffered (waiting at most 5 seconds for the sender) and
   * closes the sockets. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    flush();
    try {
      sender.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (sender.isAlive()) {
      log.warn("emitter sender did not finish within 5 s; closing sockets anyway");
    }
    // Events appended by an emit() that raced with close() after the sender finished.
    lock.lock();
    try {
      long left = open == null ? 0 : open.count();
      for (DatagramWriter d : queue) {
        left += d.count();
      }
      if (left > 0 && !sender.isAlive()) {
        drop(DropReason.CLOSED, left, "events arrived while closing");
        queue.clear();
        if (open != null) {
          open.clear();
        }
      }
    } finally {
      lock.unlock();
    }
    for (DatagramChannel ch : channels) {
      try {
        ch.close();
      } catch (IOException e) {
        log.debug("closing emitter socket failed", e);
      }
    }
  }

  /** Builder of {@link EventEmitter}; see the class Javadoc for an example. */
  public static final class Builder {
    private final List<InetSocketAddress> aggregators = new ArrayList<>();
    private String dc;
    private String type;
    private String subtype = "";
    private int datagramBytes = 8192;
    /** 0: by the budget ({@link #V2_MIN_DATAGRAM_BYTES}). */
    private int datagramVersion;
    private Duration linger = Duration.ofMillis(5);
    private int maxBufferedDatagrams = 1024;
    private int sendBufferBytes = 4 << 20;
    private Clock clock = Clock.systemUTC();
    private Object meterRegistry;

    private Builder() {}

    /** Adds an aggregator; datagrams go round-robin to all that were added. At least one. */
    public Builder aggregator(String host, int port) {
      return aggregator(new InetSocketAddress(host, port));
    }

    public Builder aggregator(InetSocketAddress address) {
      if (address.isUnresolved()) {
        throw new IllegalArgumentException("aggregator address " + address + " does not resolve");
      }
      aggregators.add(address);
      return this;
    }

    /** Data center tag of every event; required. */
    public Builder dc(String dc) {
      this.dc = dc;
      return this;
    }

    /** Type used by {@link EventEmitter#emit(Map)}; required. */
    public Builder type(String type) {
      this.type = type;
      return this;
    }

    /** Subtype used by {@link EventEmitter#emit(Map)}; default empty. */
    public Builder subtype(String subtype) {
      this.subtype = subtype;
      return this;
    }

    /**
     * Largest datagram the emitter builds from several events, in bytes; default 8192. Use 1400 or
     * less where IP fragmentation is unreliable. An event larger than this travels alone (up to 64
     * KB).
     */
    public Builder datagramBytes(int datagramBytes) {
      if (datagramBytes < 512 || datagramBytes > DatagramFormat.MAX_DATAGRAM_BYTES) {
        throw new IllegalArgumentException(
            "datagramBytes " + datagramBytes + " outside [512, " + DatagramFormat.MAX_DATAGRAM_BYTES + "]");
      }
      this.datagramBytes = datagramBytes;
      return this;
    }

    /**
     * Datagram format: 2 (strings once per datagram), 1 (every string in every record, which
     * aggregators older than v2 need; they read only v1, so upgrade aggregators first), or 0, the
     * default: 2 when {@code datagramBytes} is at least {@link #V2_MIN_DATAGRAM_BYTES}, else 1.
     */
    public Builder datagramVersion(int version) {
      if (version != 0 && version != DatagramFormat.VERSION && version != DatagramFormat.VERSION_2) {
        throw new IllegalArgumentException("datagramVersion " + version + " is not 1, 2 or 0 (by the datagram size)");
      }
      this.datagramVersion = version;
      return this;
    }

    /** Longest an event waits for more events to share its datagram; default 5 ms. */
    public Builder linger(Duration linger) {
      if (linger.isNegative() || linger.compareTo(Duration.ofSeconds(10)) > 0) {
        throw new IllegalArgumentException("linger " + linger + " outside [0, 10 s]");
      }
      this.linger = linger;
      return this;
    }

    /**
     * Datagrams buffered while the sender catches up (memory: up to twice this times datagramBytes); default
     * 1024. When all are in use, new events are dropped with reason {@code buffer_full}.
     */
    public Builder maxBufferedDatagrams(int n) {
      if (n < 2 || n > 1 << 20) {
        throw new IllegalArgumentException("maxBufferedDatagrams " + n + " outside [2, 1048576]");
      }
      this.maxBufferedDatagrams = n;
      return this;
    }

    /** SO_SNDBUF requested for the sockets; default 4 MiB (the kernel may cap it). */
    public Builder sendBufferBytes(int bytes) {
      if (bytes < 65_536) {
        throw new IllegalArgumentException("sendBufferBytes " + bytes + " is below 65536");
      }
      this.sendBufferBytes = bytes;
      return this;
    }

    /** Clock that dates events; default {@link Clock#systemUTC()}. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Micrometer registry ({@code io.micrometer.core.instrument.MeterRegistry}) to publish {@code
     * epochal.emitter.*} counters to; optional. Typed as Object so that applications without
     * Micrometer on the class path can use the emitter.
     */
    public Builder meterRegistry(Object registry) {
      if (registry != null && !isMeterRegistry(registry)) {
        throw new IllegalArgumentException("meterRegistry must be a io.micrometer.core.instrument.MeterRegistry");
      }
      this.meterRegistry = registry;
      return this;
    }

    private static boolean isMeterRegistry(Object o) {
      for (Class<?> c = o.getClass(); c != null; c = c.getSuperclass()) {
        if (c.getName().equals("io.micrometer.core.instrument.MeterRegistry")) {
          return true;
        }
      }
      return false;
    }

    /**
     * Opens the sockets and starts the sender thread.
     *
     * @throws IllegalArgumentException a required setting is missing or invalid
     * @throws IOException a socket could not be opened
     */
    public EventEmitter build() throws IOException {
      if (aggregators.isEmpty()) {
        throw new IllegalArgumentException("at least one aggregator address is required");
      }
      if (dc == null) {
        throw new IllegalArgumentException("dc is required");
      }
      if (type == null) {
        throw new IllegalArgumentException("type is required (the default for emit(Map))");
      }
      return new EventEmitter(this);
    }
  }
}
