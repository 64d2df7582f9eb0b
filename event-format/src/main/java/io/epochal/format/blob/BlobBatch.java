package io.epochal.format.blob;

import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.codec.DatagramStrings;
import io.epochal.format.codec.EventDecoder;
import io.epochal.format.codec.EventEncoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The open events of one (epoch, dc, type, subtype), encoded as they arrive and cut into chunks on
 * event boundaries so that every sealed blob is at most the encoder's {@code maxBlobBytes}. Chunks
 * that fill up are sealed (compressed) at once, so only the open chunk is held uncompressed.
 *
 * <p>Made by {@link BlobEncoder#newBatch}; used by one thread at a time, with its encoder.
 */
public final class BlobBatch {
  private final BlobEncoder encoder;
  private final Tags tags;
  /** The compression ratio estimate of this batch's kind (dc, type, subtype), shared across its batches. */
  private final BlobEncoder.Ratio ratio;
  private final EventEncoder events;
  private int[] ends = new int[256];
  private int count;
  private int totalEvents;
  private final List<SealedBlob> sealed = new ArrayList<>(2);
  private long sealedBytes;
  /** Open-chunk size at which to compress next, when a probe found room for more. */
  private int probeAt;

  BlobBatch(BlobEncoder encoder, Tags tags) {
    this.encoder = encoder;
    this.tags = tags;
    this.ratio = encoder.ratio(tags);
    this.events = new EventEncoder(4096, -1, encoder.dedupeStrings());
  }

  public Tags tags() {
    return tags;
  }

  /**
   * Adds one event.
   *
   * @throws IllegalArgumentException the event holds an unsupported value (the message names the
   *     field), or is too large to fit in a blob on its own; the batch is unchanged
   */
  public void add(Map<String, ?> event) {
    int before = events.position();
    events.writeEvent(event);
    int size = events.position() - before;
    if (size > encoder.maxBlobBytes() / 2 && !fitsAlone(event)) {
      // Only an event too large to be sure of (over half a blob) pays for this check; rejecting
      // it now keeps every accepted event sealable.
      events.unwriteLastEvent();
      throw new IllegalArgumentException(
          "event of " + size + " bytes does not fit in a blob of " + encoder.maxBlobBytes() + " bytes");
    }
    if (events.position() > BlobFormat.MAX_UNCOMPRESSED_BYTES) {
      // The event fits alone (checked above) but not after the open chunk: seal that first.
      events.unwriteLastEvent();
      sealOpenChunk();
      add(event);
      return;
    }
    added();
  }

  /** Records the event just written into the open chunk; probes the chunk if it is full enough. */
  private void added() {
    if (count == ends.length) {
      ends = Arrays.copyOf(ends, count * 2);
    }
    ends[count++] = events.position();
    totalEvents++;
    if (events.position() >= Math.max(probeAt, encoder.cutThreshold(ratio))) {
      probe();
    }
  }

  /**
   * Adds one event that is already encoded, without decoding it: {@code buf[off, off+len)} must hold
   * exactly one MAP value without string references, e.g. a datagram record's event (from {@link
   * io.epochal.format.datagram.DatagramReader#readRecords}). The blob bytes are exactly those {@link
   * #add} gives for the event as {@link io.epochal.format.codec.EventDecoder} decodes it; the input
   * is validated as strictly ({@link EventEncoder#transcodeEvent}).
   *
   * @throws FormatException the bytes are not a valid event (the decoder's reason); the batch is
   *     unchanged
   * @throws IllegalArgumentException the event is too large to fit in a blob on its own; the batch
   *     is unchanged
   */
  public void addEncoded(byte[] buf, int off, int len) throws FormatException {
    addEncoded(buf, off, len, null);
  }

  /**
   * {@link #addEncoded(byte[], int, int)} for the event of a v2 datagram record, whose string items
   * may reference {@code strings}, the datagram's string section (null: none allowed). The blob
   * bytes are those {@link #add} gives for the event as {@link EventDecoder#useStrings} decodes it.
   */
  public void addEncoded(byte[] buf, int off, int len, DatagramStrings strings) throws FormatException {
    int before = events.position();
    events.transcodeEvent(buf, off, len, strings);
    int size = events.position() - before;
    if (size > encoder.maxBlobBytes() / 2 && !fitsAlone(buf, off, len, strings)) {
      events.unwriteLastEvent();
      throw new IllegalArgumentException(
          "event of " + size + " bytes does not fit in a blob of " + encoder.maxBlobBytes() + " bytes");
    }
    if (events.position() > BlobFormat.MAX_UNCOMPRESSED_BYTES) {
      events.unwriteLastEvent();
      sealOpenChunk();
      addEncoded(buf, off, len, strings);
      return;
    }
    added();
  }

  /** Events added so far, sealed or not. */
  public int eventCount() {
    return totalEvents;
  }

  /** Uncompressed bytes held in the open chunk (plus its buffer's slack, see {@link #retainedBytes}). */
  public int openBytes() {
    return events.position();
  }

  /** Memory this batch holds: the open chunk's buffer and the sealed chunks not yet drained. */
  public long retainedBytes() {
    return events.buffer().length + sealedBytes;
  }

  /** Whether chunks that filled up are waiting in {@link #drainSealed()}. */
  public boolean hasSealed() {
    return !sealed.isEmpty();
  }

  /** Chunks sealed because they filled up, not yet drained; removes them from the batch. */
  public List<SealedBlob> drainSealed() {
    List<SealedBlob> out = new ArrayList<>(sealed);
    sealed.clear();
    sealedBytes = 0;
    return out;
  }

  /** Seals the open chunk and returns every chunk not yet drained, in order. The batch is then empty. */
  public List<SealedBlob> seal() {
    // A split re-adds the events that did not fit, so the open chunk may need sealing again.
    while (count > 0) {
      sealOpenChunk();
    }
    return drainSealed();
  }

  /**
   * The open chunk reached the size that should compress to about 90% of the limit: compress it.
   * If it compressed much smaller than expected (the ratio estimate was low, e.g. on a new encoder),
   * keep filling it up to where the measured ratio says it will be full; otherwise seal it.
   */
  private void probe() {
    byte[] blob = encoder.build(tags, ratio, events.buffer(), events.position(), count);
    if (blob == null) {
      split();
      return;
    }
    double target = encoder.maxBlobBytes() * 0.9;
    if (blob.length < target * 0.85 && events.position() < BlobFormat.MAX_UNCOMPRESSED_BYTES / 2) {
      probeAt = (int) Math.min(BlobFormat.MAX_UNCOMPRESSED_BYTES, (long) (events.position() * (target / blob.length)));
      return;
    }
    sealWith(blob);
  }

  private void sealOpenChunk() {
    byte[] blob = encoder.build(tags, ratio, events.buffer(), events.position(), count);
    if (blob != null) {
      sealWith(blob);
      return;
    }
    split();
  }

  private void sealWith(byte[] blob) {
    emit(blob, count);
    events.reset();
    count = 0;
    probeAt = 0;
  }

  /** Whether {@code event} alone makes a blob within the limit. */
  private boolean fitsAlone(Map<String, ?> event) {
    EventEncoder alone = new EventEncoder(4096, -1, encoder.dedupeStrings());
    alone.writeEvent(event);
    return alone.position() <= BlobFormat.MAX_UNCOMPRESSED_BYTES
        && encoder.build(tags, ratio, alone.buffer(), alone.position(), 1) != null;
  }

  /** Whether the encoded event {@code buf[off, off+len)} (already validated) alone makes a blob within the limit. */
  private boolean fitsAlone(byte[] buf, int off, int len, DatagramStrings strings) {
    EventEncoder alone = new EventEncoder(4096, -1, encoder.dedupeStrings());
    try {
      alone.transcodeEvent(buf, off, len, strings);
    } catch (FormatException e) {
      throw new IllegalStateException("an event that transcoded once failed the second time", e);
    }
    return alone.position() <= BlobFormat.MAX_UNCOMPRESSED_BYTES
        && encoder.build(tags, ratio, alone.buffer(), alone.position(), 1) != null;
  }

  /** The open chunk compressed too large: seal the longest prefix that fits, re-add the rest. */
  private void split() {
    byte[] payload = events.buffer();
    int lo = 1;
    int hi = count - 1;
    byte[] best = null;
    int bestK = 0;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      byte[] b = encoder.build(tags, ratio, payload, ends[mid - 1], mid);
      if (b != null) {
        best = b;
        bestK = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (best == null) {
      // add() checked every event over half a blob alone, so the first event fits by itself.
      throw new IllegalStateException("the first event of a chunk does not fit in a blob on its own");
    }
    emit(best, bestK);
    // Back-references only point backwards, so the suffix is re-encoded with its own string table.
    List<Map<String, Object>> rest = new ArrayList<>(count - bestK);
    EventDecoder decoder = new EventDecoder(encoder.dedupeStrings());
    decoder.reset(payload, 0, events.position());
    try {
      for (int i = 0; i < count; i++) {
        Map<String, Object> e = decoder.readEvent();
        if (i >= bestK) {
          rest.add(e);
        }
      }
    } catch (FormatException e) {
      throw new IllegalStateException("re-reading our own payload failed", e);
    }
    events.reset();
    count = 0;
    probeAt = 0;
    totalEvents -= rest.size();
    for (Map<String, Object> e : rest) {
      add(e);
    }
  }

  private void emit(byte[] blob, int events) {
    // The header's uncompressed length: the row bytes for v1, the column payload's for v2.
    sealed.add(new SealedBlob(tags, blob, events, BlobReader.intAt(blob, 16)));
    sealedBytes += blob.length;
  }
}
