package io.epochal.consumer.read;

import io.epochal.consumer.http.StoreClient;
import io.epochal.format.BlobKey;
import io.epochal.format.EpochKey;
import io.epochal.format.FormatException;
import io.epochal.format.blob.BlobHeader;
import io.epochal.zooanimal.NodeSelector;
import io.epochal.zooanimal.StoreNodeAddress;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * GETs with the read path's retry rules. A connect error, timeout or 5xx marks the node down and
 * retries on another after an exponential backoff, until the request's deadline. A blob that is
 * not found (or fails verification) is asked for again on other nodes, with every replica read
 * ({@link #ASK_EVERY_REPLICA}), and only then reported. Deadlines and backoff use the monotonic
 * clock ({@link System#nanoTime()}), never the injected wall clock.
 */
final class Fetcher {
  private static final Logger log = LoggerFactory.getLogger(Fetcher.class);

  /**
   * Reads replicas until one has the value: notfound answers do not count towards r=1, and
   * basic_quorum must not stop the read after a majority said not found. ({@code r=all} with
   * {@code notfound_ok=false} would need every replica to hold the blob and answers 503 when one
   * lacks it, which is exactly the case this query is for.)
   */
  static final String ASK_EVERY_REPLICA = "r=1&notfound_ok=false&basic_quorum=false";

  /** A blob that passed verification. */
  record Fetched(BlobKey key, BlobHeader header, byte[] bytes) {}

  private final StoreClient client;
  private final NodeSelector nodes;
  private final ScheduledExecutorService scheduler;
  private final BlobReaders readers;
  private final long deadlineNanos;
  private final long backoffInitialMs;
  private final long backoffMaxMs;
  private final int notFoundAttempts;
  private volatile boolean closed;

  Fetcher(StoreClient client, NodeSelector nodes, ScheduledExecutorService scheduler, BlobReaders readers,
      long deadlineMs, long backoffInitialMs, long backoffMaxMs, int notFoundAttempts) {
    this.client = client;
    this.nodes = nodes;
    this.scheduler = scheduler;
    this.readers = readers;
    this.deadlineNanos = TimeUnit.MILLISECONDS.toNanos(deadlineMs);
    this.backoffInitialMs = backoffInitialMs;
    this.backoffMaxMs = backoffMaxMs;
    this.notFoundAttempts = notFoundAttempts;
  }

  void close() {
    closed = true;
  }

  /** The members value of {@code key}, or null when nothing was published for it (404). */
  CompletableFuture<String> members(EpochKey key) {
    Attempt<String> a = new Attempt<>("epochs", key.format(), null);
    a.run();
    return a.result;
  }

  /** The verified blob {@code key}; fails with {@link ReadException}. */
  CompletableFuture<Fetched> blob(BlobKey key) {
    Attempt<Fetched> a = new Attempt<>("events", key.format(), key);
    a.run();
    return a.result;
  }

  /** One logical GET across its retries. */
  private final class Attempt<T> {
    final String bucket;
    final String key;
    final BlobKey blobKey; // null for metadata
    final CompletableFuture<T> result = new CompletableFuture<>();
    final long started = System.nanoTime();
    final Set<StoreNodeAddress> tried = new LinkedHashSet<>();
    final List<String> problems = new ArrayList<>();
    int attempts;
    int failures;
    int notFound;
    int corrupt;
    FormatException lastCorruption;

    Attempt(String bucket, String key, BlobKey blobKey) {
      this.bucket = bucket;
      this.key = key;
      this.blobKey = blobKey;
    }

    String name() {
      return bucket + "/" + key;
    }

    void run() {
      if (closed) {
        fail(new ReadException(ReadException.Code.CLOSED, name(), "reader closed while reading " + name()));
        return;
      }
      StoreNodeAddress node = tried.isEmpty() ? nodes.pick() : nodes.pickOther(tried);
      tried.add(node);
      attempts++;
      String query = blobKey != null && (notFound > 0 || corrupt > 0) ? ASK_EVERY_REPLICA : null;
      CompletableFuture<StoreClient.Response> f;
      try {
        f = client.get(node, bucket, key, query);
      } catch (RuntimeException e) {
        fail(new ReadException(ReadException.Code.CLOSED, name(), "cannot send " + name() + ": " + e, e));
        return;
      }
      f.whenComplete((r, e) -> {
        try {
          if (e != null) {
            onError(node, e);
          } else {
            onAnswer(node, r);
          }
        } catch (RuntimeException unexpected) {
          fail(new ReadException(ReadException.Code.UNAVAILABLE, name(), "reading " + name() + " failed: "
              + unexpected, unexpected));
        }
      });
    }

    private void onError(StoreNodeAddress node, Throwable e) {
      Throwable cause = e instanceof CompletionException || e instanceof ExecutionException ? e.getCause() : e;
      if (cause instanceof StoreClient.OverloadedException) {
        retryLater(node + ": " + cause.getMessage());
        return;
      }
      nodes.markDown(node);
      String what = cause instanceof TimeoutException ? "timed out" : String.valueOf(cause.getMessage());
      retryLater(node + ": " + what);
    }

    @SuppressWarnings("unchecked")
    private void onAnswer(StoreNodeAddress node, StoreClient.Response r) {
      int status = r.status();
      byte[] body;
      try {
        body = ByteBufUtil.getBytes(r.body());
      } finally {
        r.release();
      }
      if (status == 200) {
        nodes.markUp(node);
        if (blobKey == null) {
          result.complete((T) new String(body, StandardCharsets.UTF_8));
          return;
        }
        BlobHeader h;
        try {
          h = readers.verify(blobKey, body);
        } catch (FormatException fe) {
          corrupt++;
          lastCorruption = fe;
          problems.add(node + ": " + fe.getMessage());
          log.warn("blob {} from {} fails verification: {}", name(), node, fe.getMessage());
          if (corrupt + notFound >= notFoundAttempts) {
            fail(new ReadException(ReadException.Code.CORRUPT_BLOB, name(), "blob " + name()
                + " fails verification on " + tried + ": " + fe.getMessage(), fe));
          } else {
            run();
          }
          return;
        }
        result.complete((T) new Fetched(blobKey, h, body));
      } else if (status == 404) {
        nodes.markUp(node);
        if (blobKey == null) {
          result.complete(null);
          return;
        }
        notFound++;
        problems.add(node + (attempts == 1 ? ": not found" : ": not found on any replica"));
        if (corrupt + notFound >= notFoundAttempts) {
          fail(new ReadException(corrupt > 0 ? ReadException.Code.CORRUPT_BLOB : ReadException.Code.MISSING_BLOB,
              name(), "blob " + name() + " is listed in epochs/" + blobKey.epochKey() + " but was not found ("
                  + String.join("; ", problems) + ")", lastCorruption));
        } else {
          run(); // another node, asking every replica
        }
      } else if (status >= 500) {
        nodes.markDown(node);
        retryLater(node + ": " + status + " " + new String(body, StandardCharsets.UTF_8).strip());
      } else {
        fail(new ReadException(ReadException.Code.REJECTED, name(), node + " rejected GET " + name() + ": " + status
            + " " + new String(body, StandardCharsets.UTF_8).strip()));
      }
    }

    private void retryLater(String problem) {
      failures++;
      problems.add(problem);
      long exp = backoffInitialMs << Math.min(failures - 1, 20);
      long delay = Math.min(backoffMaxMs, exp);
      delay = delay / 2 + ThreadLocalRandom.current().nextLong(delay / 2 + 1); // jitter: [d/2, d]
      long elapsed = System.nanoTime() - started;
      if (elapsed + TimeUnit.MILLISECONDS.toNanos(delay) > deadlineNanos) {
        fail(new ReadException(ReadException.Code.UNAVAILABLE, name(), "gave up on " + name() + " after " + attempts
            + " attempts in " + TimeUnit.NANOSECONDS.toMillis(elapsed) + " ms: " + summary()));
        return;
      }
      log.debug("retrying {} in {} ms after: {}", name(), delay, problem);
      try {
        scheduler.schedule(this::run, delay, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        fail(new ReadException(ReadException.Code.CLOSED, name(), "reader closed while retrying " + name()));
      }
    }

    private String summary() {
      // the last few problems say enough; a long outage would make the message unreadable
      List<String> last = problems.size() <= 6 ? problems : problems.subList(problems.size() - 6, problems.size());
      return (problems.size() > last.size() ? "..., " : "") + String.join("; ", last);
    }

    private void fail(ReadException e) {
      result.completeExceptionally(e);
    }
  }
}
