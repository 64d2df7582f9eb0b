package io.epochal.consumer.read;

import io.epochal.format.BlobKey;
import io.epochal.format.EpochKey;
import io.epochal.format.EpochMember;
import io.epochal.format.EpochMembers;
import io.epochal.format.FormatException;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletionException;

/**
 * The epochs of one {@link EpochReader#read(long, long) read}, in order, fetched ahead in
 * parallel within the reader's bounds. For one thread. Close it to stop fetching ahead; closing
 * the reader closes it too.
 *
 * <pre>{@code
 * try (EpochIterator epochs = reader.read(from, to)) {
 *   while (epochs.hasNext()) {
 *     handle(epochs.next());
 *   }
 * }
 * }</pre>
 */
public final class EpochIterator implements AutoCloseable {
  private final EpochReader reader;
  private final long to;
  private final Set<BlobKey> skip;
  private final Object lock = new Object();
  private final TreeMap<Long, Pending> window = new TreeMap<>(); // started, not yet delivered
  private long nextToStart;
  private long head; // next epoch to deliver
  private int fetchesInFlight;
  private long bufferedBytes;
  private boolean closed;
  private ReadException failure;

  /** One epoch on its way: metadata of each DC, then its blobs. */
  private final class Pending {
    final long epoch;
    final List<List<BlobKey>> perDc = new ArrayList<>();
    int metadataLeft;
    List<BlobKey> keys; // set once every DC's metadata is in
    Fetcher.Fetched[] blobs;
    int nextToFetch;
    int fetched;
    long bytes;
    ReadException error;

    Pending(long epoch) {
      this.epoch = epoch;
      for (int i = 0; i < reader.dcs().size(); i++) {
        perDc.add(null);
      }
      metadataLeft = reader.dcs().size();
    }

    boolean complete() {
      return keys != null && fetched == keys.size();
    }
  }

  EpochIterator(EpochReader reader, long from, long to, Set<BlobKey> skip) {
    this.reader = reader;
    this.to = to;
    this.skip = skip;
    this.nextToStart = from;
    this.head = from;
  }

  /** Whether an epoch is left to deliver. */
  public boolean hasNext() {
    synchronized (lock) {
      return head <= to && !closed && failure == null;
    }
  }

  /**
   * The next epoch, waiting until all its blobs are fetched and verified.
   *
   * @throws ReadException naming the key that could not be read; the iterator is then finished
   * @throws NoSuchElementException when the range is exhausted
   */
  public EpochBatch next() throws ReadException {
    Pending p;
    List<Runnable> start;
    synchronized (lock) {
      checkUsable();
      start = pump();
    }
    runOutside(start);
    synchronized (lock) {
      checkUsable();
      p = window.get(head);
      try {
        while (p.error == null && !p.complete() && !closed) {
          lock.wait();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ReadException(ReadException.Code.INTERRUPTED, null, "interrupted waiting for epoch " + head, e);
      }
      if (p.error != null) {
        failure = p.error;
        closeLocked();
        throw failure;
      }
      checkUsable();
      window.remove(head);
      head++;
      bufferedBytes -= p.bytes;
      start = pump();
    }
    runOutside(start);
    List<EpochBlob> blobs = new ArrayList<>(p.blobs.length);
    for (Fetcher.Fetched f : p.blobs) {
      blobs.add(new EpochBlob(f.key(), f.header(), f.bytes(), reader.readers));
    }
    if (head > to) {
      close();
    }
    return new EpochBatch(p.epoch, false, blobs);
  }

  private void checkUsable() throws ReadException {
    if (failure != null) {
      throw failure;
    }
    if (head > to) {
      throw new NoSuchElementException("epochs up to " + to + " were all delivered");
    }
    if (closed) {
      throw new ReadException(ReadException.Code.CLOSED, null, "the epoch iterator is closed");
    }
  }

  // Tasks start requests whose callbacks take the lock; they run after the lock is released, so
  // a callback that completes at once never changes the window while pump() walks it.
  private void runOutside(List<Runnable> tasks) {
    for (Runnable r : tasks) {
      r.run();
    }
  }

  /** Decides what to start next (under the lock); the caller runs the tasks. */
  private List<Runnable> pump() {
    List<Runnable> start = new ArrayList<>();
    if (closed) {
      return start;
    }
    while (nextToStart <= to && nextToStart < head + reader.readAheadEpochs) {
      Pending p = new Pending(nextToStart);
      window.put(nextToStart, p);
      nextToStart++;
      for (int i = 0; i < reader.dcs().size(); i++) {
        int dc = i;
        start.add(() -> readMetadata(p, dc));
      }
    }
    for (Pending p : window.values()) {
      if (p.keys == null || p.error != null) {
        continue;
      }
      while (p.nextToFetch < p.keys.size() && fetchesInFlight < reader.maxConcurrentFetches
          && (p.epoch == head || bufferedBytes < reader.maxBufferedBytes)) {
        int index = p.nextToFetch++;
        fetchesInFlight++;
        start.add(() -> fetchBlob(p, index));
      }
      if (fetchesInFlight >= reader.maxConcurrentFetches) {
        break;
      }
    }
    return start;
  }

  private void readMetadata(Pending p, int dc) {
    EpochKey key = new EpochKey(p.epoch, reader.dcs().get(dc));
    reader.fetcher.members(key).whenComplete((value, e) -> {
      List<Runnable> start;
      synchronized (lock) {
        if (closed || window.get(p.epoch) != p) {
          return;
        }
        try {
          if (e != null) {
            fail(p, e);
            return;
          }
          List<EpochMember> members = new ArrayList<>(value == null ? List.of() : EpochMembers.parse(value));
          members.sort(null); // the stored set is sorted already; do not rely on it
          List<BlobKey> keys = new ArrayList<>();
          for (EpochMember m : members) {
            BlobKey k = m.blobKey(key);
            if (reader.matches(m) && !skip.contains(k) && (keys.isEmpty() || !keys.get(keys.size() - 1).equals(k))) {
              keys.add(k);
            }
          }
          p.perDc.set(dc, keys);
          if (--p.metadataLeft == 0) {
            List<BlobKey> all = new ArrayList<>();
            p.perDc.forEach(all::addAll);
            p.keys = all;
            p.blobs = new Fetcher.Fetched[all.size()];
            lock.notifyAll();
          }
        } catch (FormatException fe) {
          fail(p, new ReadException(ReadException.Code.BAD_METADATA, "epochs/" + key, "epochs/" + key
              + " does not hold a member list: " + fe.getMessage(), fe));
          return;
        } catch (RuntimeException bug) {
          fail(p, bug); // never leave the reader waiting for a callback that died
          return;
        }
        start = pump();
      }
      runOutside(start);
    });
  }

  private void fetchBlob(Pending p, int index) {
    reader.fetcher.blob(p.keys.get(index)).whenComplete((blob, e) -> {
      List<Runnable> start;
      synchronized (lock) {
        fetchesInFlight--;
        if (closed || window.get(p.epoch) != p) {
          return; // closed: drop
        }
        if (e != null) {
          fail(p, e);
        } else {
          p.blobs[index] = blob;
          p.fetched++;
          p.bytes += blob.bytes().length;
          bufferedBytes += blob.bytes().length;
          if (p.complete()) {
            lock.notifyAll();
          }
        }
        start = pump();
      }
      runOutside(start);
    });
  }

  private void fail(Pending p, Throwable e) {
    Throwable cause = e instanceof CompletionException ? e.getCause() : e;
    if (p.error == null) {
      p.error = cause instanceof ReadException re ? re
          : new ReadException(ReadException.Code.UNAVAILABLE, null, "epoch " + p.epoch + ": " + cause, cause);
    }
    lock.notifyAll();
  }

  /** Stops fetching ahead; blobs in flight are dropped when they arrive. Idempotent. */
  @Override
  public void close() {
    synchronized (lock) {
      closeLocked();
    }
  }

  private void closeLocked() {
    if (closed) {
      return;
    }
    closed = true;
    window.clear();
    bufferedBytes = 0;
    lock.notifyAll();
    reader.closed(this);
  }
}
