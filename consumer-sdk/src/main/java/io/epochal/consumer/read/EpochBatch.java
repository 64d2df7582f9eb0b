package io.epochal.consumer.read;

import io.epochal.format.BlobKey;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What one epoch (one second) holds for a read's DCs and type filter: its verified blobs, ordered
 * by the DCs as configured, then by member (type, subtype, chunk). No order of events across blobs
 * is implied. A {@linkplain #late() late} batch holds only members published after the epoch was
 * first delivered. Immutable and thread-safe.
 */
public final class EpochBatch {
  private final long epoch;
  private final boolean late;
  private final List<EpochBlob> blobs;

  EpochBatch(long epoch, boolean late, List<EpochBlob> blobs) {
    this.epoch = epoch;
    this.late = late;
    this.blobs = Collections.unmodifiableList(blobs);
  }

  /** The same blobs flagged as a late follow-up (used by the streaming consumer). */
  public EpochBatch asLate() {
    return new EpochBatch(epoch, true, blobs);
  }

  /** UTC Unix second. */
  public long epoch() {
    return epoch;
  }

  /** Whether this is a follow-up with members published after the epoch's first delivery. */
  public boolean late() {
    return late;
  }

  /** The blobs; empty when nothing matching was published for this second. */
  public List<EpochBlob> blobs() {
    return blobs;
  }

  /** The keys of {@link #blobs()}, in their order. */
  public Set<BlobKey> keys() {
    Set<BlobKey> out = new LinkedHashSet<>();
    blobs.forEach(b -> out.add(b.key()));
    return out;
  }

  public boolean isEmpty() {
    return blobs.isEmpty();
  }

  /** Events over all blobs, from the headers (nothing is decoded). */
  public long eventCount() {
    long n = 0;
    for (EpochBlob b : blobs) {
      n += b.eventCount();
    }
    return n;
  }

  /** Bytes of all blobs as stored. */
  public long sizeBytes() {
    long n = 0;
    for (EpochBlob b : blobs) {
      n += b.sizeBytes();
    }
    return n;
  }

  /** Decodes every event of every blob, in blob order. For lazy decoding use {@link EpochBlob#cursor()}. */
  public List<TaggedEvent> events() throws ReadException {
    List<TaggedEvent> out = new ArrayList<>((int) Math.min(Integer.MAX_VALUE - 8, eventCount()));
    for (EpochBlob b : blobs) {
      out.addAll(b.events());
    }
    return out;
  }

  @Override
  public String toString() {
    return "epoch " + epoch + (late ? " (late)" : "") + ": " + blobs.size() + " blobs, " + eventCount() + " events";
  }
}
