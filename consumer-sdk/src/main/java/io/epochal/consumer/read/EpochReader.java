package io.epochal.consumer.read;

import io.epochal.consumer.http.StoreClient;
import io.epochal.format.BlobKey;
import io.epochal.format.EpochMember;
import io.epochal.format.TagRules;
import io.epochal.zooanimal.NodeSelector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * Reads ranges of epochs from the store: for each second, the epoch metadata of every configured
 * DC ({@code epochs/<epoch>-<dc>}), then, in parallel, the blobs of the members that pass the
 * type filter, each verified (checksum, header, tags matching its key) before it is delivered.
 * Epochs come out in order, one {@link EpochBatch} each, while later ones are fetched ahead.
 *
 * <pre>{@code
 * NodeSelector nodes = NodeSelector.parse("store1:8098,store2:8098", Duration.ofSeconds(10));
 * try (EpochReader reader = EpochReader.builder()
 *         .nodes(nodes)
 *         .dcs("1", "2")
 *         .include("WEB")             // every WEB subtype
 *         .include("LB", "haproxy")   // and exactly LB:haproxy
 *         .build();
 *     EpochIterator epochs = reader.read(1413813800L, 1413813859L)) {
 *   while (epochs.hasNext()) {
 *     EpochBatch batch = epochs.next();          // epoch order; throws ReadException
 *     for (EpochBlob blob : batch.blobs()) {
 *       EventCursor c = blob.cursor();           // decompress once, decode lazily
 *       while (c.hasNext()) {
 *         Map<String, Object> event = c.next();  // tags: blob.tags()
 *       }
 *     }
 *   }
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> Every member listed (when its metadata was read) that matches the filter
 * is delivered exactly once per read, or the read fails with a {@link ReadException} naming the
 * key: a blob that is not found is asked for again on other nodes, reading every replica, and then
 * reported as {@code MISSING_BLOB}; it is never skipped. A node failing (connect error, 5xx,
 * timeout) is marked down in the {@link NodeSelector} and the request retried on another node with
 * exponential backoff until {@link Builder#deadline(Duration) deadline}, then {@code
 * UNAVAILABLE}.
 *
 * <p><b>Memory.</b> An iterator reads metadata at most {@link Builder#readAheadEpochs} epochs
 * ahead, keeps at most {@link Builder#maxConcurrentFetches} blob GETs in flight, and starts no blob
 * of a later epoch while {@link Builder#maxBufferedBytes} of fetched blobs wait for the caller (the
 * next epoch to deliver is always fetched, however large).
 *
 * <p>Thread-safe; iterators are for one thread each. {@link #close()} fails open iterators with
 * {@code CLOSED} and closes the {@link StoreClient} if the reader created it.
 */
public final class EpochReader implements AutoCloseable {
  private final NodeSelector nodes;
  private final List<String> dcs;
  private final List<Filter> filters;
  final int maxConcurrentFetches;
  final int readAheadEpochs;
  final long maxBufferedBytes;
  private final StoreClient client;
  private final boolean ownsClient;
  private final ScheduledExecutorService scheduler;
  final BlobReaders readers;
  final Fetcher fetcher;
  private final Set<EpochIterator> open = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  /** type, subtype (null: any). */
  private record Filter(String type, String subtype) {
    boolean matches(EpochMember m) {
      return type.equals(m.type()) && (subtype == null || subtype.equals(m.subtype()));
    }
  }

  private EpochReader(Builder b) {
    this.nodes = b.nodes;
    this.dcs = List.copyOf(b.dcs);
    this.filters = List.copyOf(b.filters);
    this.maxConcurrentFetches = b.maxConcurrentFetches;
    this.readAheadEpochs = b.readAheadEpochs;
    this.maxBufferedBytes = b.maxBufferedBytes;
    this.ownsClient = b.client == null;
    this.client = b.client != null ? b.client : StoreClient.builder().maxInFlight(Math.max(64, b.maxConcurrentFetches
        + 2 * b.dcs.size() * b.readAheadEpochs)).requestTimeout(b.requestTimeout).build();
    ScheduledThreadPoolExecutor s = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "epoch-reader-retry");
      t.setDaemon(true);
      return t;
    });
    s.setRemoveOnCancelPolicy(true);
    this.scheduler = s;
    this.readers = new BlobReaders(Runtime.getRuntime().availableProcessors() * 2 + 4);
    this.fetcher = new Fetcher(client, nodes, scheduler, readers, b.deadline.toMillis(), b.backoffInitial.toMillis(),
        b.backoffMax.toMillis(), b.notFoundAttempts);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Reads epochs {@code from} to {@code to}, both included, in order. Close the iterator when done
   * early, to stop fetching ahead.
   */
  public EpochIterator read(long from, long to) {
    if (from < 0 || to < from) {
      throw new IllegalArgumentException("epoch range [" + from + ", " + to + "] is empty or negative");
    }
    return iterator(from, to, Set.of());
  }

  /** Reads one epoch, waiting for it. */
  public EpochBatch readEpoch(long epoch) throws ReadException {
    return readEpoch(epoch, Set.of());
  }

  /**
   * Reads one epoch but fetches none of the blobs in {@code skip}: to pick up members published
   * since an earlier read of it (what the streaming consumer does for late chunks).
   */
  public EpochBatch readEpoch(long epoch, Set<BlobKey> skip) throws ReadException {
    if (epoch < 0) {
      throw new IllegalArgumentException("epoch " + epoch + " is negative");
    }
    try (EpochIterator it = iterator(epoch, epoch, Set.copyOf(skip))) {
      return it.next();
    }
  }

  private EpochIterator iterator(long from, long to, Set<BlobKey> skip) {
    if (closed) {
      throw new IllegalStateException("reader is closed");
    }
    EpochIterator it = new EpochIterator(this, from, to, skip);
    open.add(it);
    return it;
  }

  void closed(EpochIterator it) {
    open.remove(it);
  }

  /** The DCs read, in the order their blobs appear in a batch. */
  public List<String> dcs() {
    return dcs;
  }

  boolean matches(EpochMember m) {
    if (filters.isEmpty()) {
      return true;
    }
    for (Filter f : filters) {
      if (f.matches(m)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    fetcher.close();
    for (EpochIterator it : List.copyOf(open)) {
      it.close();
    }
    scheduler.shutdownNow();
    if (ownsClient) {
      client.close();
    }
    readers.close();
  }

  /**
   * Settings; {@link #build()} validates them and creates the reader. Required: {@link #nodes}
   * and at least one DC. Not thread-safe.
   */
  public static final class Builder {
    private NodeSelector nodes;
    private final Set<String> dcs = new LinkedHashSet<>();
    private final List<Filter> filters = new ArrayList<>();
    private StoreClient client;
    private int maxConcurrentFetches = 16;
    private int readAheadEpochs = 4;
    private long maxBufferedBytes = 64L << 20;
    private Duration deadline = Duration.ofSeconds(30);
    private Duration backoffInitial = Duration.ofMillis(50);
    private Duration backoffMax = Duration.ofSeconds(2);
    private Duration requestTimeout = Duration.ofSeconds(5);
    private int notFoundAttempts = 3;

    private Builder() {}

    /** The store nodes to read from (required). */
    public Builder nodes(NodeSelector nodes) {
      this.nodes = Objects.requireNonNull(nodes, "nodes");
      return this;
    }

    /** DCs to read (at least one); a batch lists their blobs in this order. */
    public Builder dcs(String... dcs) {
      return dcs(List.of(dcs));
    }

    public Builder dcs(Collection<String> dcs) {
      for (String dc : dcs) {
        TagRules.requireValid("dc", dc, false);
        this.dcs.add(dc);
      }
      return this;
    }

    /** Reads events of {@code type}, any subtype. Without any include, every type is read. */
    public Builder include(String type) {
      TagRules.requireValid("type", type, false);
      filters.add(new Filter(type, null));
      return this;
    }

    /** Reads events of exactly {@code type} and {@code subtype} (which may be empty). */
    public Builder include(String type, String subtype) {
      TagRules.requireValid("type", type, false);
      TagRules.requireValid("subtype", subtype, true);
      filters.add(new Filter(type, subtype));
      return this;
    }

    /**
     * A client to share (not closed by the reader). Without one the reader creates its own with
     * {@link #requestTimeout} and enough in-flight slots for its fetches.
     */
    public Builder client(StoreClient client) {
      this.client = client;
      return this;
    }

    /** Blob GETs in flight per iterator (default 16, range 1..1024). */
    public Builder maxConcurrentFetches(int n) {
      this.maxConcurrentFetches = n;
      return this;
    }

    /** Epochs whose metadata is read ahead of the one being delivered, that one included (default 4, 1..256). */
    public Builder readAheadEpochs(int n) {
      this.readAheadEpochs = n;
      return this;
    }

    /** Fetched blob bytes an iterator may hold beyond the epoch being delivered (default 64 MiB, >= 1 MiB). */
    public Builder maxBufferedBytes(long n) {
      this.maxBufferedBytes = n;
      return this;
    }

    /** How long one GET is retried over node failures before {@code UNAVAILABLE} (default 30 s). */
    public Builder deadline(Duration d) {
      this.deadline = d;
      return this;
    }

    /** Backoff between retries: doubling from {@code initial} up to {@code max}, with jitter (default 50 ms, 2 s). */
    public Builder backoff(Duration initial, Duration max) {
      this.backoffInitial = initial;
      this.backoffMax = max;
      return this;
    }

    /** Timeout of one request, for the reader's own client (default 5 s). */
    public Builder requestTimeout(Duration d) {
      this.requestTimeout = d;
      return this;
    }

    /**
     * Answers of not found (or of bytes that fail verification) for a listed blob before it is
     * reported: the first from a normal read, the rest from other nodes reading every replica
     * (default 3, range 2..16).
     */
    public Builder notFoundAttempts(int n) {
      this.notFoundAttempts = n;
      return this;
    }

    public EpochReader build() {
      if (nodes == null) {
        throw new IllegalArgumentException("nodes: a NodeSelector is required");
      }
      if (dcs.isEmpty()) {
        throw new IllegalArgumentException("dcs: at least one DC is required");
      }
      range("maxConcurrentFetches", maxConcurrentFetches, 1, 1024);
      range("readAheadEpochs", readAheadEpochs, 1, 256);
      range("maxBufferedBytes", maxBufferedBytes, 1 << 20, Long.MAX_VALUE);
      range("notFoundAttempts", notFoundAttempts, 2, 16);
      positive("deadline", deadline);
      positive("backoff initial", backoffInitial);
      positive("requestTimeout", requestTimeout);
      if (backoffMax.compareTo(backoffInitial) < 0) {
        throw new IllegalArgumentException("backoff max " + backoffMax + " is less than initial " + backoffInitial);
      }
      return new EpochReader(this);
    }

    private static void range(String name, long v, long min, long max) {
      if (v < min || v > max) {
        throw new IllegalArgumentException(name + " = " + v + " is out of range [" + min + ", " + max + "]");
      }
    }

    private static void positive(String name, Duration d) {
      if (d == null || d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " = " + d + " must be positive");
      }
    }
  }
}
