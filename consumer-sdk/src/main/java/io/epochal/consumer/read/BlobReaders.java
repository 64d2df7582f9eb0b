package io.epochal.consumer.read;

import io.epochal.format.FormatException;
import io.epochal.format.blob.BlobReader;
import io.epochal.format.blob.EventCursor;
import io.epochal.format.BlobKey;
import io.epochal.format.blob.BlobHeader;
import io.epochal.format.codec.EventVisitor;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A pool of {@link BlobReader}s (each holds a native zstd context and serves one thread at a
 * time, and a decompression buffer of up to {@link BlobReader#KEEP_SCRATCH_BYTES}), so verification
 * on I/O threads and decoding on callers' threads never share one. After
 * {@link #close()}, each use gets a reader of its own that is closed right away.
 */
final class BlobReaders implements AutoCloseable {
  private final ConcurrentLinkedQueue<BlobReader> idle = new ConcurrentLinkedQueue<>();
  private final int maxIdle;
  private volatile boolean closed;

  BlobReaders(int maxIdle) {
    this.maxIdle = maxIdle;
  }

  /** Verifies the checksum and header of {@code bytes} and that its tags are those of {@code key}. */
  BlobHeader verify(BlobKey key, byte[] bytes) throws FormatException {
    BlobReader r = borrow();
    try {
      BlobHeader h = r.open(bytes).header();
      if (!h.tags().equals(key.tags())) {
        throw new FormatException(FormatException.Reason.INVALID_TAG, "blob holds events tagged " + h.tags()
            + ", not those of its key");
      }
      return h;
    } finally {
      giveBack(r);
    }
  }

  /** Decompresses {@code bytes} (verified before, giving {@code header}) and returns a cursor over its events. */
  EventCursor cursor(byte[] bytes, BlobHeader header) throws FormatException {
    BlobReader r = borrow();
    try {
      // cursor() decompresses the whole payload at once; the cursor does not use the reader after.
      return r.reopen(bytes, header).cursor();
    } finally {
      giveBack(r);
    }
  }

  /** Decodes every event of {@code bytes} (verified before, giving {@code header}) into {@code visitor}. */
  int visit(byte[] bytes, BlobHeader header, EventVisitor visitor) throws FormatException {
    BlobReader r = borrow();
    try {
      return r.reopen(bytes, header).visitAll(visitor);
    } finally {
      giveBack(r);
    }
  }

  private BlobReader borrow() {
    BlobReader r = idle.poll();
    return r != null ? r : new BlobReader();
  }

  private void giveBack(BlobReader r) {
    if (closed || idle.size() >= maxIdle) {
      r.close();
      return;
    }
    idle.add(r);
    if (closed && idle.remove(r)) {
      r.close(); // raced with close()
    }
  }

  @Override
  public void close() {
    closed = true;
    for (BlobReader r; (r = idle.poll()) != null; ) {
      r.close();
    }
  }
}
