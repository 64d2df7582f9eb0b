package io.epochal.format.codec;

import com.esotericsoftware.kryo.io.Output;
import java.nio.charset.StandardCharsets;

/** Kryo's {@link Output} plus a string writer that copies ASCII strings without a temporary array. */
final class EventOutput extends Output {
  EventOutput(int bufferSize, int maxBufferSize) {
    super(bufferSize, maxBufferSize);
  }

  /** Writes a literal string item: varint(utf8Length << 1), then the UTF-8 bytes. */
  @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int): exact for ASCII, and fast
  void writeLiteral(String s) {
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
    } else {
      byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
      writeVarInt(utf8.length << 1, true);
      writeBytes(utf8);
    }
  }
}
