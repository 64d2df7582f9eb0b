package io.epochal.consumer.read;

import io.epochal.format.BlobKey;
import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobHeader;
import io.epochal.format.blob.EventCursor;
import io.epochal.format.codec.EventVisitor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One fetched blob whose checksum and header were verified; its events are decoded only when
 * {@link #visitEvents}, {@link #cursor()} or {@link #events()} asks. Immutable and thread-safe (each cursor serves one
 * thread).
 */
public final class EpochBlob {
  private final BlobKey key;
  private final BlobHeader header;
  private final byte[] bytes;
  private final BlobReaders readers;

  EpochBlob(BlobKey key, BlobHeader header, byte[] bytes, BlobReaders readers) {
    this.key = key;
    this.header = header;
    this.bytes = bytes;
    this.readers = readers;
  }

  /** Its key in bucket {@code events}. */
  public BlobKey key() {
    return key;
  }

  /** Epoch, dc, type and subtype of every event in it. */
  public Tags tags() {
    return header.tags();
  }

  /** The verified header (event count, lengths, producer id). */
  public BlobHeader header() {
    return header;
  }

  public int eventCount() {
    return header.eventCount();
  }

  /** Size as stored, header and checksum included. */
  public int sizeBytes() {
    return bytes.length;
  }

  /** The stored bytes, e.g. to archive the blob as is. Shared, not copied: do not modify. */
  public byte[] bytes() {
    return bytes;
  }

  /**
   * Decompresses the payload and returns a cursor that decodes one event per {@code next()}.
   *
   * @throws ReadException {@code CORRUPT_BLOB} if the payload does not decompress; the cursor's
   *     own {@link FormatException} means an event does not decode (a faulty writer)
   */
  public EventCursor cursor() throws ReadException {
    try {
      return readers.cursor(bytes, header);
    } catch (FormatException e) {
      throw corrupt(e);
    }
  }

  /**
   * Decodes every event into {@code visitor}'s calls, in order, building no map: about half
   * the CPU of {@link #cursor()} or {@link #events()}. Each event is one {@code beginMap …
   * endMap} at depth 0; the blob's {@link #tags()} apply to all of them. Example, events per HTTP
   * status over a batch:
   *
   * <pre>{@code
   * long[] byStatus = new long[600];
   * EventVisitor v = new EventVisitor() {
   *   int depth;
   *   boolean atStatus;
   *   public void beginMap(int size) { depth++; }
   *   public void endMap() { depth--; }
   *   public void key(String key) { atStatus = depth == 1 && key.equals("status"); }
   *   public void longValue(long s) { if (atStatus && s >= 0 && s < 600) byStatus[(int) s]++; }
   * };
   * for (EpochBlob blob : batch.blobs()) {
   *   blob.visitEvents(v);
   * }
   * }</pre>
   *
   * @return the number of events visited
   * @throws ReadException {@code CORRUPT_BLOB} if the payload does not decompress or an event does
   *     not decode (a faulty writer: the checksum held); the visitor has seen the events before it
   */
  public int visitEvents(EventVisitor visitor) throws ReadException {
    try {
      return readers.visit(bytes, header, visitor);
    } catch (FormatException e) {
      throw corrupt(e);
    }
  }

  /** Decodes every event, with its tags. */
  public List<TaggedEvent> events() throws ReadException {
    EventCursor c = cursor();
    List<TaggedEvent> out = new ArrayList<>(header.eventCount());
    Tags tags = header.tags();
    try {
      while (c.hasNext()) {
        Map<String, Object> e = c.next();
        out.add(new TaggedEvent(tags, e));
      }
    } catch (FormatException e) {
      throw corrupt(e);
    }
    return out;
  }

  private ReadException corrupt(FormatException e) {
    return new ReadException(ReadException.Code.CORRUPT_BLOB, "events/" + key, "blob events/" + key
        + " does not decode: " + e.getMessage(), e);
  }

  @Override
  public String toString() {
    return key + " (" + header.eventCount() + " events, " + bytes.length + " bytes)";
  }
}
