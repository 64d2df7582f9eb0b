package io.epochal.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.BlobReader;
import io.epochal.format.blob.EventCursor;
import io.epochal.format.datagram.DatagramFormat;
import io.epochal.format.datagram.DatagramReader;
import io.epochal.format.datagram.DatagramWriter;
import io.epochal.format.reference.ReferenceEvents;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Random and mutated datagrams and blobs: decoding may only ever fail with {@link FormatException}.
 * Mutated inputs get their checksum recomputed half of the time, so the decoders behind the
 * checksum are exercised too. {@code -Dfuzz.cases=N} sets the number of cases per input kind
 * (100,000 by default; {@code -Pfuzz} runs 10 million).
 */
public class FuzzTest {
  private static final int CASES = Integer.getInteger("fuzz.cases", 100_000);
  private static final long SEED = Long.getLong("fuzz.seed", 0x5eed_e90c_a1L);

  private final DatagramReader datagramReader = new DatagramReader();
  private final DatagramReader.Sink sink =
      new DatagramReader.Sink() {
        @Override
        public void event(Tags tags, Map<String, Object> event) {}

        @Override
        public void invalidEvent(FormatException e) {}
      };

  @Test
  @Timeout(value = 30, unit = TimeUnit.MINUTES)
  void datagrams() {
    List<byte[]> seeds = validDatagrams();
    SplittableRandom r = new SplittableRandom(SEED);
    for (int i = 0; i < CASES; i++) {
      byte[] input = i % 10 == 0 ? randomBytes(r, 0, 2048) : mutate(r, seeds.get(r.nextInt(seeds.size())));
      if (i % 10 != 0 && r.nextBoolean()) {
        fixCrc(input);
      }
      try {
        datagramReader.read(input, 0, input.length, sink);
      } catch (FormatException expected) {
        // the only allowed failure
      } catch (Throwable t) {
        fail("datagram case " + i + " (seed " + SEED + ") threw " + t + " for " + Arrays.toString(input), t);
      }
    }
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.MINUTES)
  void blobs() {
    List<byte[]> seeds = validBlobs();
    SplittableRandom r = new SplittableRandom(SEED + 1);
    int decoded = 0;
    try (BlobReader reader = new BlobReader()) {
      for (int i = 0; i < CASES; i++) {
        byte[] input = i % 10 == 0 ? randomBytes(r, 0, 4096) : mutate(r, seeds.get(r.nextInt(seeds.size())));
        if (i % 10 != 0 && r.nextInt(4) != 0) {
          fixCrc(input);
        }
        try {
          if (i % 2 == 0) {
            EventCursor c = reader.open(input).cursor();
            while (c.hasNext()) {
              c.next();
            }
          } else {
            reader.open(input).visitAll(new io.epochal.format.codec.EventVisitor() {});
          }
          decoded++;
        } catch (FormatException expected) {
          // the only allowed failure
        } catch (Throwable t) {
          fail("blob case " + i + " (seed " + SEED + ") threw " + t + " for " + Arrays.toString(input), t);
        }
      }
    }
    // Some mutations are harmless (e.g. inside a string); the fuzzer must reach the decoder.
    assertThat(decoded).isPositive();
  }

  private static List<byte[]> validDatagrams() {
    return datagramSeeds(new ReferenceEvents(7), 64, 600, 1400, 8192);
  }

  /**
   * For each size, four datagrams of each version filled with reference events as the emitter fills
   * them (epochs 1413813813 + 0..3); a size smaller than any event gives one event alone in a
   * datagram of its own, as the emitter sends it.
   */
  public static List<byte[]> datagramSeeds(ReferenceEvents gen, int... sizes) {
    List<byte[]> out = new ArrayList<>();
    for (int size : sizes) {
      for (int k = 0; k < 4; k++) {
        for (int version : new int[] {DatagramFormat.VERSION, DatagramFormat.VERSION_2}) {
          DatagramWriter w = new DatagramWriter(size, version);
          ReferenceEvents.Event e = gen.next();
          while (w.tryAdd(1413813813L + k, "1", e.type(), e.subtype(), e.fields())) {
            e = gen.next();
          }
          if (w.isEmpty()) {
            w = new DatagramWriter(DatagramFormat.MAX_DATAGRAM_BYTES, version);
            w.tryAdd(1413813813L + k, "1", e.type(), e.subtype(), e.fields());
          }
          out.add(Arrays.copyOf(w.buffer(), w.finish()));
        }
      }
    }
    return out;
  }

  private static List<byte[]> validBlobs() {
    ReferenceEvents gen = new ReferenceEvents(8);
    List<byte[]> out = new ArrayList<>();
    Tags tags = new Tags(1413813813L, "1", "WEB", "app");
    for (int version : new int[] {1, 2}) {
      for (boolean compress : new boolean[] {true, false}) {
        for (int n : new int[] {1, 3, 20}) {
          List<Map<String, Object>> events = new ArrayList<>();
          for (int i = 0; i < n; i++) {
            events.add(gen.next().fields());
          }
          events.add(TestEvents.nested(10));
          events.add(Map.of("bytes", new byte[] {1, 2, 3}, "list", List.of(1.5, true, "x", "x")));
          try (BlobEncoder enc = BlobEncoder.builder().producerId("fz").version(version).compress(compress).build()) {
            out.add(enc.encode(tags, events).get(0).bytes());
          }
        }
      }
    }
    return out;
  }

  private static byte[] randomBytes(SplittableRandom r, int min, int max) {
    byte[] b = new byte[min + r.nextInt(max - min + 1)];
    r.nextBytes(b);
    return b;
  }

  private static final int[] INTERESTING = {0, 1, 0x7F, 0x80, 0xFF, 0xFE, 8, 7, 5, 6};

  /** One to four random edits of {@code seed} (bit flips, interesting bytes, truncation, deleted or repeated ranges). */
  public static byte[] mutate(SplittableRandom r, byte[] seed) {
    byte[] b = seed.clone();
    int edits = 1 + r.nextInt(4);
    for (int e = 0; e < edits && b.length > 0; e++) {
      int at = r.nextInt(b.length);
      switch (r.nextInt(6)) {
        case 0 -> b[at] ^= (byte) (1 << r.nextInt(8));
        case 1 -> b[at] = (byte) INTERESTING[r.nextInt(INTERESTING.length)];
        case 2 -> b[at] = (byte) r.nextInt(256);
        case 3 -> b = Arrays.copyOf(b, at); // truncate
        case 4 -> { // delete a range
          int n = Math.min(b.length - at, 1 + r.nextInt(16));
          byte[] c = new byte[b.length - n];
          System.arraycopy(b, 0, c, 0, at);
          System.arraycopy(b, at + n, c, at, b.length - at - n);
          b = c;
        }
        default -> { // duplicate a range
          int n = Math.min(b.length - at, 1 + r.nextInt(16));
          byte[] c = new byte[b.length + n];
          System.arraycopy(b, 0, c, 0, at + n);
          System.arraycopy(b, at, c, at + n, b.length - at);
          b = c;
        }
      }
    }
    return b;
  }

  /** Recomputes the CRC32C postfix of {@code b} (datagram or blob), so mutations reach the decoders behind it. */
  public static void fixCrc(byte[] b) {
    if (b.length < 4) {
      return;
    }
    CRC32C crc = new CRC32C();
    crc.update(b, 0, b.length - 4);
    int c = (int) crc.getValue();
    for (int i = 0; i < 4; i++) {
      b[b.length - 4 + i] = (byte) (c >>> (8 * i));
    }
  }
}
