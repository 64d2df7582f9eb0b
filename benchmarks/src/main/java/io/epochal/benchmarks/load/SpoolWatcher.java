package io.epochal.benchmarks.load;

import io.epochal.format.BlobKey;
import io.epochal.format.FormatException;
import io.epochal.format.blob.BlobReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32C;

/**
 * Follows the segment files of a spool that another process (the aggregator) is appending to, read
 * only and without the spool's lock, and notes when each blob appears: the harness's own measure of
 * "a sealed second visible in the spool". It parses the record layout of docs/spool-format.md, checks
 * each record's CRC32C and the blob's checksum, and counts events per epoch from the blob header.
 *
 * <p>A record counts as appeared once all its bytes are in the file (the page cache), which is at
 * most {@code spool.sync-interval} (50 ms) plus one fsync before {@code FileSpool} readers see it as
 * durable. The authoritative count is the harness's read of the spool through {@code FileSpool} after
 * the aggregator stopped; this watcher's counts are checked against it.
 *
 * <p>Runs one daemon thread polling every {@code pollMillis}; the query methods are thread-safe.
 */
final class SpoolWatcher implements AutoCloseable {
  private static final int MAGIC = 0x52535045; // "EPSR" as a little-endian u32
  private static final int HEADER = 14;

  /** What was seen of one epoch: events and blobs, and when its first and last blob appeared. */
  static final class EpochSeen {
    long events;
    long blobs;
    long firstSeenMillis = Long.MAX_VALUE;
    long lastSeenMillis;
  }

  private final Path dir;
  private final long pollNanos;
  private final Map<Long, EpochSeen> epochs = new HashMap<>();
  private final Thread thread;
  private final BlobReader blobs = new BlobReader();
  private final CRC32C crc = new CRC32C();
  private final ByteBuffer header = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
  private volatile boolean stop;
  private volatile long position; // absolute spool position up to which records were parsed
  private volatile long records;
  private volatile long errors;
  private volatile String lastError;
  private FileChannel channel;
  private long base;
  private long offset;

  SpoolWatcher(Path dir, long pollMillis) throws IOException {
    this.dir = dir;
    this.pollNanos = pollMillis * 1_000_000L;
    long first = Long.MAX_VALUE;
    try (var files = Files.newDirectoryStream(dir, "*.spool")) {
      for (Path p : files) {
        first = Math.min(first, Long.parseLong(p.getFileName().toString().replace(".spool", "")));
      }
    }
    if (first == Long.MAX_VALUE) {
      throw new IOException("no spool segment in " + dir);
    }
    open(first);
    thread = new Thread(this::run, "spool-watcher");
    thread.setDaemon(true);
    thread.start();
  }

  private void open(long segmentBase) throws IOException {
    if (channel != null) {
      channel.close();
    }
    channel = FileChannel.open(dir.resolve(String.format("%020d.spool", segmentBase)), StandardOpenOption.READ);
    base = segmentBase;
    offset = 0;
    position = base;
  }

  private void run() {
    while (!stop) {
      try {
        poll();
      } catch (IOException | RuntimeException e) {
        errors++;
        lastError = e.toString();
      }
      LockSupport.parkNanos(pollNanos);
    }
  }

  /** Parses every complete record written so far; moves on to the next segment when one exists. */
  synchronized void poll() throws IOException {
    while (true) {
      long size = channel.size();
      while (offset + HEADER <= size) {
        header.clear();
        readFully(header, offset);
        if (header.getInt(0) != MAGIC) {
          throw new IOException("bad magic at position " + (base + offset));
        }
        int length = header.getInt(8);
        int keyLength = header.getShort(12) & 0xFFFF;
        if (offset + 12 + length > size) {
          break; // still being written
        }
        ByteBuffer body = ByteBuffer.allocate(length - 2);
        readFully(body, offset + HEADER);
        byte[] b = body.array();
        crc.reset();
        crc.update(header.array(), 8, 6);
        crc.update(b, 0, b.length);
        if ((int) crc.getValue() != header.getInt(4)) {
          throw new IOException("CRC32C mismatch at position " + (base + offset));
        }
        String key = new String(b, 0, keyLength, StandardCharsets.UTF_8);
        long now = System.currentTimeMillis();
        try {
          BlobKey k = BlobKey.parse(key);
          int events = blobs.open(b, keyLength, b.length - keyLength).eventCount();
          EpochSeen e = epochs.computeIfAbsent(k.epoch(), x -> new EpochSeen());
          e.events += events;
          e.blobs++;
          e.firstSeenMillis = Math.min(e.firstSeenMillis, now);
          e.lastSeenMillis = Math.max(e.lastSeenMillis, now);
        } catch (FormatException ex) {
          throw new IOException("record at position " + (base + offset) + " (" + key + "): " + ex.getMessage(), ex);
        }
        offset += 12 + length;
        position = base + offset;
        records++;
      }
      if (offset < size) {
        return;
      }
      Path next = dir.resolve(String.format("%020d.spool", base + offset));
      if (!Files.exists(next)) {
        return;
      }
      open(base + offset);
    }
  }

  private void readFully(ByteBuffer b, long at) throws IOException {
    while (b.hasRemaining()) {
      int n = channel.read(b, at + b.position());
      if (n < 0) {
        throw new IOException("unexpected end of segment at " + (base + at));
      }
    }
  }

  /** Absolute spool position up to which records were parsed. */
  long position() {
    return position;
  }

  long records() {
    return records;
  }

  long errors() {
    return errors;
  }

  String lastError() {
    return lastError;
  }

  /** A copy of what was seen of the epochs in [from, to]. */
  synchronized Map<Long, EpochSeen> epochs(long from, long to) {
    Map<Long, EpochSeen> m = new HashMap<>();
    for (Map.Entry<Long, EpochSeen> e : epochs.entrySet()) {
      if (e.getKey() >= from && e.getKey() <= to) {
        EpochSeen c = new EpochSeen();
        c.events = e.getValue().events;
        c.blobs = e.getValue().blobs;
        c.firstSeenMillis = e.getValue().firstSeenMillis;
        c.lastSeenMillis = e.getValue().lastSeenMillis;
        m.put(e.getKey(), c);
      }
    }
    return m;
  }

  /** Epochs seen outside every range in {@code ranges} ({from, to} pairs). */
  synchronized List<Long> epochsOutside(List<long[]> ranges) {
    List<Long> out = new ArrayList<>();
    for (Long epoch : epochs.keySet()) {
      boolean in = false;
      for (long[] r : ranges) {
        in |= epoch >= r[0] && epoch <= r[1];
      }
      if (!in) {
        out.add(epoch);
      }
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    stop = true;
    LockSupport.unpark(thread);
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (this) {
      channel.close();
      blobs.close();
    }
  }
}
