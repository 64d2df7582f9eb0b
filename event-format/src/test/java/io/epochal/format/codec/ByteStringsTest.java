package io.epochal.format.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ByteStringsTest {
  /** Every length up to 40 and every position of one non-ASCII byte, at offsets 0 and 3. */
  @Test
  void isAsciiFindsANonAsciiByteAnywhere() {
    for (int off : new int[] {0, 3}) {
      for (int len = 0; len <= 40; len++) {
        byte[] b = new byte[off + len + 5];
        Arrays.fill(b, (byte) 'a');
        // Non-ASCII bytes around the range must not count.
        if (off > 0) {
          b[off - 1] = (byte) 0xC3;
        }
        b[off + len] = (byte) 0x80;
        assertThat(ByteStrings.isAscii(b, off, len)).as("len %d", len).isTrue();
        for (int i = 0; i < len; i++) {
          byte[] c = b.clone();
          c[off + i] = (byte) (i % 2 == 0 ? 0x80 : 0xFF);
          assertThat(ByteStrings.isAscii(c, off, len)).as("len %d, byte %d", len, i).isFalse();
        }
      }
    }
  }
}
