package io.epochal.store.engine;

import io.netty.buffer.ByteBuf;

/**
 * A value read from an engine: its bytes and write time. The caller owns {@code bytes} (a slice of
 * the off-heap buffer the record was read into, CRC already verified) and must release it.
 *
 * @param bytes the value, readable bytes; release when done
 * @param timestamp the record's write time, ms since the Unix epoch
 */
public record StoredValue(ByteBuf bytes, long timestamp) {
  public void release() {
    bytes.release();
  }
}
