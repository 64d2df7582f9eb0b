package io.epochal.format.blob;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdException;
import io.epochal.format.TagRules;
import io.epochal.format.Tags;
import io.epochal.format.codec.ColumnarEncoder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Turns batches of events into blobs: format v2 (columns, the default) or v1 (rows), strings
 * de-duplicated across the blob, payload compressed with a reused zstd context, CRC32C postfix, each
 * blob at most {@code maxBlobBytes}. Batches hold their open chunk as a row payload (v1) whatever
 * the version; a v2 blob's payload is made from those rows when the chunk is built.
 *
 * <pre>{@code
 * BlobEncoder encoder = BlobEncoder.builder().producerId("a7").build();
 * BlobBatch batch = encoder.newBatch(new Tags(epoch, "1", "WEB", "app"));
 * for (Map<String, Object> event : events) {
 *   batch.add(event);
 * }
 * List<SealedBlob> blobs = batch.seal(); // one or more chunks, each under 500 KB
 * }</pre>
 *
 * <p>Not thread-safe: an encoder and the batches it made are used by one thread at a time. Close it
 * to free the native zstd context.
 */
public final class BlobEncoder implements AutoCloseable {
  private final String producerId;
  private final byte[] producerIdUtf8;
  private final int maxBlobBytes;
  private final int level;
  private final boolean dedupe;
  private final boolean compress;
  private final int version;
  /** Rows to columns, for version 2. */
  private final ColumnarEncoder columns;
  private final ZstdCompressCtx zstd;
  private final CRC32C crc = new CRC32C();
  private byte[] scratch = new byte[0];
  /**
   * Running estimates of uncompressed/compressed, used to cut chunks near the size limit, one per
   * (dc, type, subtype): events of one kind compress alike, different kinds do not, and one shared
   * estimate made chunks of the better-compressing kinds overflow (and split) while the others were
   * cut too small. Kinds beyond {@link #MAX_RATIO_KINDS} share {@link #otherKinds}.
   */
  private final Map<String, Ratio> ratios = new HashMap<>();
  private final Ratio otherKinds = new Ratio();
  private long compressions;

  /** Most (dc, type, subtype) kinds with an estimate of their own. */
  static final int MAX_RATIO_KINDS = 4096;

  /** A running compression ratio estimate (see {@link BlobEncoder#ratios}). */
  static final class Ratio {
    private double estimate = 1.0;
    private boolean measured;

    void measured(double ratio) {
      estimate = measured ? (estimate + ratio) / 2 : ratio;
      measured = true;
    }
  }

  private BlobEncoder(Builder b) {
    this.producerId = TagRules.requireValid("producerId", b.producerId, false);
    this.producerIdUtf8 = producerId.getBytes(StandardCharsets.UTF_8);
    this.maxBlobBytes = b.maxBlobBytes;
    this.level = b.level;
    this.dedupe = b.dedupeStrings;
    this.compress = b.compress;
    this.version = b.version;
    this.columns = version == BlobFormat.VERSION_COLUMNS ? new ColumnarEncoder() : null;
    if (compress) {
      this.zstd = new ZstdCompressCtx();
      zstd.setLevel(level);
      zstd.setChecksum(false);
      zstd.setContentSize(true);
    } else {
      this.zstd = null;
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Starts a batch of events that share {@code tags}. */
  public BlobBatch newBatch(Tags tags) {
    return new BlobBatch(this, tags);
  }

  /** Convenience: all {@code events} as blobs. */
  public List<SealedBlob> encode(Tags tags, Iterable<? extends Map<String, ?>> events) {
    BlobBatch batch = newBatch(tags);
    for (Map<String, ?> e : events) {
      batch.add(e);
    }
    return batch.seal();
  }

  public String producerId() {
    return producerId;
  }

  public int maxBlobBytes() {
    return maxBlobBytes;
  }

  public int zstdLevel() {
    return level;
  }

  /** The blob format version written: {@link BlobFormat#VERSION_COLUMNS} (default) or {@link BlobFormat#VERSION_ROWS}. */
  public int version() {
    return version;
  }

  boolean dedupeStrings() {
    return dedupe;
  }

  /** Number of payload compressions run so far (a split costs extra ones). */
  public long compressions() {
    return compressions;
  }

  /** The ratio estimate of the kind of {@code tags}. */
  Ratio ratio(Tags tags) {
    String kind = tags.dc() + ':' + tags.type() + ':' + tags.subtype();
    Ratio r = ratios.get(kind);
    if (r == null) {
      if (ratios.size() >= MAX_RATIO_KINDS) {
        return otherKinds;
      }
      r = new Ratio();
      ratios.put(kind, r);
    }
    return r;
  }

  /** Uncompressed bytes at which a batch whose kind has the estimate {@code ratio} cuts its open chunk. */
  int cutThreshold(Ratio ratio) {
    double budget = maxBlobBytes - BlobFormat.MAX_HEADER_BYTES - BlobFormat.CHECKSUM_BYTES;
    double t = compress ? budget * ratio.estimate * 0.9 : budget;
    return (int) Math.min(BlobFormat.MAX_UNCOMPRESSED_BYTES, Math.max(1, t));
  }

  /**
   * Builds the blob for the row payload {@code rows[0, rowLength)}; returns null if the result
   * would be larger than {@code maxBlobBytes}. A compression of a large payload updates {@code
   * ratio}, which is kept in row bytes per blob byte (the unit the batches cut chunks in).
   */
  byte[] build(Tags tags, Ratio ratio, byte[] rows, int rowLength, int eventCount) {
    byte[] payload = rows;
    int length = rowLength;
    if (columns != null) {
      length = columns.convert(rows, rowLength, eventCount);
      payload = columns.output();
      if (length > BlobFormat.MAX_UNCOMPRESSED_BYTES) {
        return null;
      }
    }
    byte[] dc = tags.dc().getBytes(StandardCharsets.UTF_8);
    byte[] type = tags.type().getBytes(StandardCharsets.UTF_8);
    byte[] subtype = tags.subtype().getBytes(StandardCharsets.UTF_8);
    int headerLength =
        BlobFormat.FIXED_HEADER_BYTES + 4 + dc.length + type.length + subtype.length + producerIdUtf8.length;
    int stored;
    byte[] out;
    if (compress) {
      int bound = (int) Zstd.compressBound(length);
      int need = headerLength + bound + BlobFormat.CHECKSUM_BYTES;
      if (scratch.length < need) {
        scratch = new byte[Math.max(need, scratch.length * 3 / 2)];
      }
      try {
        stored = zstd.compressByteArray(scratch, headerLength, bound, payload, 0, length);
      } catch (ZstdException e) {
        throw new IllegalStateException("zstd compression failed: " + e.getMessage(), e);
      }
      compressions++;
      // Small payloads compress worse than full chunks and would drag the estimate down.
      if (rowLength >= 64 * 1024) {
        ratio.measured(Math.max(1.0, Math.min(64.0, (double) rowLength / Math.max(1, stored))));
      }
      if (headerLength + stored + BlobFormat.CHECKSUM_BYTES > maxBlobBytes) {
        return null;
      }
      out = Arrays.copyOf(scratch, headerLength + stored + BlobFormat.CHECKSUM_BYTES);
    } else {
      stored = length;
      if (headerLength + stored + BlobFormat.CHECKSUM_BYTES > maxBlobBytes) {
        return null;
      }
      out = new byte[headerLength + stored + BlobFormat.CHECKSUM_BYTES];
      System.arraycopy(payload, 0, out, headerLength, length);
    }
    ByteBuffer h = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    h.put(BlobFormat.MAGIC);
    h.put((byte) version);
    h.put((byte) (compress ? BlobFormat.CODEC_ZSTD : BlobFormat.CODEC_NONE));
    h.put((byte) (dedupe ? BlobFormat.FLAG_DEDUPED_STRINGS : 0));
    h.put((byte) 0);
    h.putInt(0); // dictionary id: none
    h.putInt(eventCount);
    h.putInt(length);
    h.putInt(stored);
    h.putLong(tags.epoch());
    putString(h, dc);
    putString(h, type);
    putString(h, subtype);
    putString(h, producerIdUtf8);
    int end = headerLength + stored;
    crc.reset();
    crc.update(out, 0, end);
    h.putInt(end, (int) crc.getValue());
    return out;
  }

  private static void putString(ByteBuffer h, byte[] s) {
    h.put((byte) s.length);
    h.put(s);
  }

  @Override
  public void close() {
    if (zstd != null) {
      zstd.close();
    }
  }

  /** Builder of {@link BlobEncoder}; see the class Javadoc for an example. */
  public static final class Builder {
    private String producerId;
    private int maxBlobBytes = BlobFormat.DEFAULT_MAX_BLOB_BYTES;
    private int level = 3;
    private boolean dedupeStrings = true;
    private boolean compress = true;
    private int version = BlobFormat.DEFAULT_VERSION;

    private Builder() {}

    /**
     * Blob format version: {@link BlobFormat#VERSION_COLUMNS} (2, the default: column payload,
     * fewer bytes and faster to read and to compress) or {@link BlobFormat#VERSION_ROWS} (1, for
     * readers that predate v2). Readers read both.
     */
    public Builder version(int version) {
      if (version != BlobFormat.VERSION_ROWS && version != BlobFormat.VERSION_COLUMNS) {
        throw new IllegalArgumentException("blob version " + version + " is not 1 or 2");
      }
      this.version = version;
      return this;
    }

    /** Writer id stored in every blob header (the aggregator id); required. */
    public Builder producerId(String producerId) {
      this.producerId = producerId;
      return this;
    }

    /** Largest blob, in bytes, including header and checksum; default 500,000. Minimum 4096. */
    public Builder maxBlobBytes(int maxBlobBytes) {
      if (maxBlobBytes < 4096) {
        throw new IllegalArgumentException("maxBlobBytes " + maxBlobBytes + " is below the minimum 4096");
      }
      this.maxBlobBytes = maxBlobBytes;
      return this;
    }

    /** zstd level, 1 to 19 (negative levels trade ratio for speed); default 3. */
    public Builder zstdLevel(int level) {
      if (level < -7 || level > 19 || level == 0) {
        throw new IllegalArgumentException("zstdLevel " + level + " outside [-7, 19] without 0");
      }
      this.level = level;
      return this;
    }

    /** Whether repeated strings become back-references; default true. */
    public Builder dedupeStrings(boolean dedupeStrings) {
      this.dedupeStrings = dedupeStrings;
      return this;
    }

    /** Whether the payload is zstd-compressed; default true (false exists for measurements). */
    public Builder compress(boolean compress) {
      this.compress = compress;
      return this;
    }

    public BlobEncoder build() {
      return new BlobEncoder(this);
    }
  }
}
