package io.epochal.store.node;

import io.epochal.store.StoreErrorCode;
import io.epochal.store.StoreException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * How a Riak object is stored as an engine value (docs/store-format.md): its metadata (content
 * type, encoding, vtag, vclock, links, user metadata) ahead of the data, so that a read can answer
 * with the data as a slice of the buffer it was read into.
 *
 * <pre>
 * u8 version (1) · u16 count · count × (u16 name length, name, u16 value length, value) · data
 * </pre>
 *
 * Names and values are UTF-8; names are lower case ({@code content-type}, {@code
 * content-encoding}, {@code vtag}, {@code vclock}, {@code link}) except user metadata, kept as
 * {@code X-Riak-Meta-*} in the case the client sent.
 */
public final class RiakObject {
  public static final String CONTENT_TYPE = "content-type";
  public static final String CONTENT_ENCODING = "content-encoding";
  public static final String VTAG = "vtag";
  public static final String VCLOCK = "vclock";
  public static final String LINK = "link";
  public static final String USER_META_PREFIX = "x-riak-meta-";
  private static final int VERSION = 1;

  /** One metadata entry. */
  public record Meta(String name, String value) {}

  /**
   * A stored object as read: metadata, data (a slice of the read buffer; owned by this object)
   * and the write time.
   */
  public record Stored(List<Meta> meta, ByteBuf data, long lastModified) {
    public String get(String name) {
      for (Meta m : meta) {
        if (m.name().equalsIgnoreCase(name)) {
          return m.value();
        }
      }
      return null;
    }

    public void release() {
      data.release();
    }
  }

  private RiakObject() {}

  /** The engine value: a composite of the encoded metadata and {@code data} (retained). */
  public static ByteBuf encode(ByteBufAllocator alloc, List<Meta> meta, ByteBuf data) {
    ByteBuf head = alloc.heapBuffer(64 + meta.size() * 32);
    head.writeByte(VERSION);
    head.writeShort(meta.size());
    for (Meta m : meta) {
      writeString(head, m.name());
      writeString(head, m.value());
    }
    CompositeByteBuf c = alloc.compositeBuffer(2);
    c.addComponent(true, head);
    c.addComponent(true, data.retainedSlice());
    return c;
  }

  private static void writeString(ByteBuf b, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    if (bytes.length > 0xFFFF) {
      throw new IllegalArgumentException("metadata longer than 65535 bytes");
    }
    b.writeShort(bytes.length);
    b.writeBytes(bytes);
  }

  /** Decodes an engine value; takes ownership of {@code value}. */
  public static Stored decode(ByteBuf value, long timestamp) throws StoreException {
    try {
      int p = value.readerIndex();
      if (value.readableBytes() < 3 || value.getByte(p) != VERSION) {
        throw new StoreException(StoreErrorCode.CORRUPT_RECORD, "stored object has an unknown layout");
      }
      int count = value.getUnsignedShort(p + 1);
      p += 3;
      List<Meta> meta = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        int nl = value.getUnsignedShort(p);
        String name = value.toString(p + 2, nl, StandardCharsets.UTF_8);
        p += 2 + nl;
        int vl = value.getUnsignedShort(p);
        String v = value.toString(p + 2, vl, StandardCharsets.UTF_8);
        p += 2 + vl;
        meta.add(new Meta(name, v));
      }
      ByteBuf data = value.retainedSlice(p, value.writerIndex() - p);
      return new Stored(meta, data, timestamp);
    } catch (IndexOutOfBoundsException e) {
      throw new StoreException(StoreErrorCode.CORRUPT_RECORD, "stored object metadata is truncated", e);
    } finally {
      value.release();
    }
  }
}
