package io.epochal.format.blob;

import com.github.luben.zstd.ZstdDecompressCtx;
import io.epochal.format.FormatException;
import io.epochal.format.FormatException.Reason;
import io.epochal.format.TagRules;
import io.epochal.format.Tags;
import io.epochal.format.codec.ColumnarDecoder;
import io.epochal.format.codec.EventDecoder;
import io.epochal.format.codec.EventVisitor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.zip.CRC32C;

/**
 * Reads blobs (format v1, rows, and v2, columns) from untrusted bytes. {@link #open} verifies the
 * checksum before anything else and parses the header; events are decompressed and decoded only
 * when a cursor asks for them.
 *
 * <pre>{@code
 * try (BlobReader reader = new BlobReader()) {
 *   BlobReader.Blob blob = reader.open(bytes);          // checksum + header
 *   int n = blob.header().eventCount();                  // no decoding needed
 *   EventCursor cursor = blob.cursor();                  // decompresses once
 *   while (cursor.hasNext()) {
 *     Map<String, Object> event = cursor.next();
 *   }
 *   blob.visitAll(visitor);                              // or: no map per event, half the CPU
 * }
 * }</pre>
 *
 * <p>A reader holds a reusable zstd context and is used by one thread at a time; close it to free
 * the native context. Every failure is a {@link FormatException} whose reason names what failed.
 */
public final class BlobReader implements AutoCloseable {
  /** The largest decompression buffer a reader keeps between blobs. */
  public static final int KEEP_SCRATCH_BYTES = 4 << 20;

  private static final byte[] EMPTY = new byte[0];
  private final ZstdDecompressCtx zstd = new ZstdDecompressCtx();
  private final CRC32C crc = new CRC32C();
  private byte[] scratch = EMPTY;
  private EventDecoder deduped;
  private EventDecoder plain;
  private ColumnarDecoder columnar;

  private byte[] scratch(int n) {
    if (n <= scratch.length) {
      return scratch;
    }
    byte[] b = new byte[n];
    if (n <= KEEP_SCRATCH_BYTES) {
      scratch = b;
    }
    return b;
  }

  private EventDecoder decoder(boolean references) {
    if (references) {
      return deduped != null ? deduped : (deduped = new EventDecoder(true));
    }
    return plain != null ? plain : (plain = new EventDecoder(false));
  }

  /** Verifies the checksum and parses the header; does not decompress. */
  public Blob open(byte[] blob) throws FormatException {
    return open(blob, 0, blob.length);
  }

  /** Like {@link #open(byte[])} for {@code bytes[off, off+len)}, which must stay unchanged while used. */
  public Blob open(byte[] bytes, int off, int len) throws FormatException {
    if (len < BlobFormat.FIXED_HEADER_BYTES + 4 + BlobFormat.CHECKSUM_BYTES) {
      throw new FormatException(Reason.TRUNCATED, "blob of " + len + " bytes is shorter than a header");
    }
    for (int i = 0; i < 4; i++) {
      if (bytes[off + i] != BlobFormat.MAGIC[i]) {
        throw new FormatException(Reason.BAD_MAGIC, "not an Epochal blob (bad magic)");
      }
    }
    int end = off + len - BlobFormat.CHECKSUM_BYTES;
    crc.reset();
    crc.update(bytes, off, len - BlobFormat.CHECKSUM_BYTES);
    if ((int) crc.getValue() != intAt(bytes, end)) {
      throw new FormatException(Reason.CHECKSUM_MISMATCH, "blob checksum (CRC32C) mismatch over " + len + " bytes");
    }
    return new Blob(bytes, off, parseHeader(bytes, off, len));
  }

  /**
   * A blob whose checksum and header this process verified before ({@code header} is what {@link
   * #open} returned for these very bytes, unchanged since): skips the second CRC32C and header parse.
   */
  public Blob reopen(byte[] bytes, BlobHeader header) {
    return new Blob(bytes, 0, header);
  }

  /** Verifies the checksum and returns the header. */
  public BlobHeader header(byte[] blob) throws FormatException {
    return open(blob).header();
  }

  private static BlobHeader parseHeader(byte[] b, int off, int len) throws FormatException {
    int version = b[off + 4] & 0xFF;
    if (version != BlobFormat.VERSION_ROWS && version != BlobFormat.VERSION_COLUMNS) {
      throw new FormatException(Reason.BAD_VERSION, "blob version " + version + " is not supported");
    }
    int codec = b[off + 5] & 0xFF;
    if (codec != BlobFormat.CODEC_NONE && codec != BlobFormat.CODEC_ZSTD) {
      throw new FormatException(Reason.BAD_HEADER, "unknown blob codec " + codec);
    }
    int flags = b[off + 6] & 0xFF;
    if ((flags & ~BlobFormat.FLAG_DEDUPED_STRINGS) != 0 || b[off + 7] != 0) {
      throw new FormatException(Reason.BAD_HEADER, "reserved blob header bits set");
    }
    int dictionaryId = intAt(b, off + 8);
    if (dictionaryId != 0) {
      throw new FormatException(Reason.BAD_HEADER, "blob needs zstd dictionary " + dictionaryId + ", which this reader lacks");
    }
    int count = intAt(b, off + 12);
    int uncompressed = intAt(b, off + 16);
    int stored = intAt(b, off + 20);
    long epoch = longAt(b, off + 24);
    if (count < 0 || uncompressed < 0 || uncompressed > BlobFormat.MAX_UNCOMPRESSED_BYTES) {
      throw new FormatException(
          Reason.BAD_LENGTH, "blob declares " + count + " events in " + (uncompressed & 0xFFFFFFFFL) + " bytes");
    }
    if (count == 0) {
      throw new FormatException(Reason.COUNT_MISMATCH, "blob declares no events");
    }
    if (count > uncompressed) {
      throw new FormatException(Reason.BAD_LENGTH, "blob declares " + count + " events in " + uncompressed + " bytes");
    }
    int[] p = {off + BlobFormat.FIXED_HEADER_BYTES};
    int limit = off + len - BlobFormat.CHECKSUM_BYTES;
    String dc = string(b, p, limit);
    String type = string(b, p, limit);
    String subtype = string(b, p, limit);
    String producer = string(b, p, limit);
    Tags tags = Tags.checked(epoch, dc, type, subtype);
    TagRules.checkValid("producer id", producer, false);
    int headerLength = p[0] - off;
    if (stored < 0 || stored != len - headerLength - BlobFormat.CHECKSUM_BYTES) {
      throw new FormatException(
          Reason.BAD_LENGTH,
          "blob declares a payload of " + (stored & 0xFFFFFFFFL) + " bytes, has "
              + (len - headerLength - BlobFormat.CHECKSUM_BYTES));
    }
    if (codec == BlobFormat.CODEC_NONE && stored != uncompressed) {
      throw new FormatException(Reason.BAD_LENGTH, "uncompressed blob with differing payload lengths");
    }
    return new BlobHeader(version, codec, flags, dictionaryId, count, uncompressed, stored, tags, producer, headerLength);
  }

  private static String string(byte[] b, int[] p, int limit) throws FormatException {
    if (p[0] >= limit) {
      throw new FormatException(Reason.TRUNCATED, "blob header ends early");
    }
    int n = b[p[0]++] & 0xFF;
    if (n > limit - p[0]) {
      throw new FormatException(Reason.TRUNCATED, "blob header ends early");
    }
    String s = new String(b, p[0], n, StandardCharsets.UTF_8);
    p[0] += n;
    return s;
  }

  static int intAt(byte[] b, int i) {
    return (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8 | (b[i + 2] & 0xFF) << 16 | (b[i + 3] & 0xFF) << 24;
  }

  static long longAt(byte[] b, int i) {
    return (intAt(b, i) & 0xFFFFFFFFL) | ((long) intAt(b, i + 4)) << 32;
  }

  @Override
  public void close() {
    zstd.close();
  }

  /** A verified blob: header parsed, payload not yet decompressed. */
  public final class Blob {
    private final byte[] bytes;
    private final int off;
    private final BlobHeader header;

    private Blob(byte[] bytes, int off, BlobHeader header) {
      this.bytes = bytes;
      this.off = off;
      this.header = header;
    }

    public BlobHeader header() {
      return header;
    }

    public Tags tags() {
      return header.tags();
    }

    public int eventCount() {
      return header.eventCount();
    }

    /** Decompresses the payload and returns a cursor over its events. */
    public EventCursor cursor() throws FormatException {
      int n = header.uncompressedLength();
      byte[] payload = payload(false);
      int at = payloadOffset();
      if (header.version() == BlobFormat.VERSION_COLUMNS) {
        ColumnarDecoder columns = new ColumnarDecoder();
        columns.reset(payload, at, n, header.eventCount());
        return new ColumnCursor(columns);
      }
      EventDecoder decoder = new EventDecoder(header.dedupedStrings());
      decoder.reset(payload, at, n);
      return new Cursor(decoder, header.eventCount());
    }

    /**
     * Decodes every event into {@code visitor}'s calls (see {@link EventVisitor}), in order: the
     * fastest way to read a whole blob. The payload is decompressed into a buffer the reader keeps
     * for the next blob (one of up to {@value #KEEP_SCRATCH_BYTES} bytes; larger payloads get a
     * buffer of their own), so nothing is allocated per blob but the strings it holds.
     *
     * @return the number of events (the header's count, which the payload was checked to hold)
     * @throws FormatException the payload does not decompress or an event does not decode; the
     *     visitor has seen the events before the fault
     */
    public int visitAll(EventVisitor visitor) throws FormatException {
      int n = header.uncompressedLength();
      byte[] payload = payload(true);
      int at = payloadOffset();
      if (header.version() == BlobFormat.VERSION_COLUMNS) {
        ColumnarDecoder columns = columnar != null ? columnar : (columnar = new ColumnarDecoder());
        try {
          columns.reset(payload, at, n, header.eventCount());
          while (columns.hasNext()) {
            columns.visitEvent(visitor);
          }
        } finally {
          columns.clear();
        }
        return header.eventCount();
      }
      EventDecoder decoder = decoder(header.dedupedStrings());
      decoder.reset(payload, at, n);
      try {
        Cursor c = new Cursor(decoder, header.eventCount());
        while (c.hasNext()) {
          c.visitNext(visitor);
        }
      } finally {
        decoder.reset(EMPTY, 0, 0); // drop references to the payload and its strings
      }
      return header.eventCount();
    }

    /**
     * The uncompressed payload, at {@link #payloadOffset()}: the blob's own bytes for codec 0, else
     * decompressed into the reader's kept buffer ({@code shared}) or a buffer of its own.
     */
    private byte[] payload(boolean shared) throws FormatException {
      if (header.codec() != BlobFormat.CODEC_ZSTD) {
        return bytes;
      }
      int n = header.uncompressedLength();
      byte[] payload = shared ? scratch(n) : new byte[n];
      decompress(payload);
      return payload;
    }

    private int payloadOffset() {
      return header.codec() == BlobFormat.CODEC_ZSTD ? 0 : off + header.headerLength();
    }

    private void decompress(byte[] payload) throws FormatException {
      int n = header.uncompressedLength();
      int got;
      try {
        got = zstd.decompressByteArray(payload, 0, n, bytes, off + header.headerLength(), header.storedLength());
      } catch (RuntimeException e) {
        throw new FormatException(Reason.DECOMPRESSION_FAILED, "zstd: " + e.getMessage(), e);
      }
      if (got != n) {
        throw new FormatException(
            Reason.DECOMPRESSION_FAILED, "payload decompressed to " + got + " bytes, header says " + n);
      }
    }

    /** Decodes every event into a list. */
    public List<Map<String, Object>> readAll() throws FormatException {
      List<Map<String, Object>> out = new ArrayList<>(header.eventCount());
      EventCursor c = cursor();
      while (c.hasNext()) {
        out.add(c.next());
      }
      return out;
    }
  }

  private static final class ColumnCursor implements EventCursor {
    private final ColumnarDecoder columns;

    ColumnCursor(ColumnarDecoder columns) {
      this.columns = columns;
    }

    @Override
    public boolean hasNext() {
      return columns.hasNext();
    }

    @Override
    public Map<String, Object> next() throws FormatException {
      return columns.readEvent();
    }

    @Override
    public void visitNext(EventVisitor visitor) throws FormatException {
      columns.visitEvent(visitor);
    }
  }

  private static final class Cursor implements EventCursor {
    private final EventDecoder decoder;
    private final int count;
    private int read;

    Cursor(EventDecoder decoder, int count) {
      this.decoder = decoder;
      this.count = count;
    }

    @Override
    public boolean hasNext() {
      return read < count;
    }

    @Override
    public Map<String, Object> next() throws FormatException {
      if (read >= count) {
        throw new NoSuchElementException("all " + count + " events were read");
      }
      Map<String, Object> e = decoder.readEvent();
      checkEnd();
      return e;
    }

    @Override
    public void visitNext(EventVisitor visitor) throws FormatException {
      if (read >= count) {
        throw new NoSuchElementException("all " + count + " events were read");
      }
      decoder.visitEvent(visitor);
      checkEnd();
    }

    private void checkEnd() throws FormatException {
      read++;
      if (read == count && decoder.remaining() != 0) {
        throw new FormatException(
            Reason.COUNT_MISMATCH, decoder.remaining() + " payload bytes left after the declared " + count + " events");
      }
      if (read < count && decoder.remaining() == 0) {
        throw new FormatException(Reason.COUNT_MISMATCH, "payload ends after " + read + " of " + count + " events");
      }
    }
  }
}
