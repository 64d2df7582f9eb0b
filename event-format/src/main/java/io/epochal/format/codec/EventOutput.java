package io.epochal.format.codec;

import com.esotericsoftware.kryo.io.Output;
import java.nio.charset.StandardCharsets;

/** Kryo's {@link Output} plus a string writer that copies ASCII strings without a temporary array. */
final class EventOutput extends Output {
  EventOutput(int bufferSize, int maxBufferSize) {
    super(bufferSize, maxBufferSize);
  }

  /**
   * Writes a literal string item: varint(utf8Length << 1), then the UTF-8 bytes; returns the number
   * of UTF-8 bytes (they end at {@link #position()}).
   */
  @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int): exact for ASCII, and fast
  int writeLiteral(String s) {
    int n = s.length();
    boolean ascii = true;
    for (int i = 0; i < n; i++) {
      if (s.charAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      writeVarInt(n << 1, true);
      require(n);
      s.getBytes(0, n, buffer, position);
      position += n;
      return n;
    }
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    writeVarInt(utf8.length << 1, true);
    writeBytes(utf8);
    return utf8.length;
  }

  /** Writes a literal string item of the UTF-8 bytes {@code b[off, off+len)}. */
  void writeLiteral(byte[] b, int off, int len) {
    writeVarInt(len << 1, true);
    writeBytes(b, off, len);
  }
}
