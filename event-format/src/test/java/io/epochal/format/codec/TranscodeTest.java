package io.epochal.format.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.epochal.format.FormatException;
import io.epochal.format.FormatException.Reason;
import io.epochal.format.FuzzTest;
import io.epochal.format.TestEvents;
import io.epochal.format.reference.ReferenceEvents;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * {@link EventEncoder#transcodeEvent} against the path it replaces, {@code
 * writeEvent(decoder.readEvent())}: the same bytes and string table for valid input, the same
 * {@link Reason} for invalid input, and nothing left behind by a rejected event.
 */
class TranscodeTest {
  private static final int CASES = Integer.getInteger("fuzz.cases", 100_000);
  private static final long SEED = Long.getLong("fuzz.seed", 0x7a5c_0de0L);

  /** Two encoders fed the same input, one through each path; they must never differ. */
  private static final class Pair {
    final EventEncoder old;
    final EventEncoder transcoded;
    final EventDecoder decoder = new EventDecoder(false);

    Pair(boolean dedupe) {
      old = new EventEncoder(64, -1, dedupe);
      transcoded = new EventEncoder(16, -1, dedupe);
    }

    /** Feeds {@code b}; returns the old path's failure reason, or null; asserts the new path agrees. */
    Reason feed(byte[] b) {
      Reason expected = null;
      Map<String, Object> event = null;
      try {
        decoder.reset(b, 0, b.length);
        event = decoder.readEvent();
        if (decoder.remaining() != 0) {
          throw new FormatException(Reason.TRAILING_BYTES, "left");
        }
      } catch (FormatException e) {
        expected = e.reason();
      }
      if (expected == null) {
        old.writeEvent(event);
      }
      Reason got = null;
      try {
        transcoded.transcodeEvent(b, 0, b.length);
      } catch (FormatException e) {
        got = e.reason();
      }
      assertThat(got).as("reason for %s", HexFormat.of().formatHex(b)).isEqualTo(expected);
      assertThat(transcoded.toBytes()).as("bytes after %s", HexFormat.of().formatHex(b)).isEqualTo(old.toBytes());
      assertThat(transcoded.distinctStrings()).isEqualTo(old.distinctStrings());
      return expected;
    }

    void reset() {
      old.reset();
      transcoded.reset();
    }
  }

  private static byte[] encode(Map<String, ?> event) {
    EventEncoder enc = new EventEncoder(64, -1, false);
    enc.writeEvent(event);
    return enc.toBytes();
  }

  @Provide
  Arbitrary<List<Map<String, Object>>> batches() {
    return TestEvents.maps(2).list().ofMinSize(1).ofMaxSize(40);
  }

  @Property(tries = 200)
  void randomEventsTranscodeToTheBytesOfTheMapPath(
      @ForAll("batches") List<Map<String, Object>> events, @ForAll boolean dedupe) {
    Pair p = new Pair(dedupe);
    for (Map<String, Object> e : events) {
      assertThat(p.feed(encode(e))).isNull();
    }
  }

  @Property(tries = 40)
  void theReferenceMixTranscodesToTheBytesOfTheMapPath(@ForAll long seed, @ForAll boolean dedupe) {
    ReferenceEvents gen = new ReferenceEvents(seed);
    Pair p = new Pair(dedupe);
    for (int i = 0; i < 200; i++) {
      assertThat(p.feed(encode(gen.next().fields()))).isNull();
    }
  }

  @Provide
  Arbitrary<byte[]> utf8ish() {
    Arbitrary<Byte> bytes = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(3, Arbitraries.bytes().between((byte) 0x80, (byte) 0xBF)),
        net.jqwik.api.Tuple.of(3, Arbitraries.bytes().between((byte) 0xC0, (byte) 0xFF)),
        net.jqwik.api.Tuple.of(1, Arbitraries.bytes().between((byte) 0x00, (byte) 0x7F)));
    return bytes.array(byte[].class).ofMaxSize(24);
  }

  @Property(tries = 3000)
  void wellFormedUtf8IsExactlyWhatJavaDecodesAndEncodesBack(@ForAll("utf8ish") byte[] b) {
    byte[] back = new String(b, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8);
    assertThat(ByteStrings.isWellFormedUtf8(b, 0, b.length)).isEqualTo(Arrays.equals(back, b));
  }

  @Provide
  Arbitrary<Long> mantissas() {
    return Arbitraries.oneOf(
        Arbitraries.longs().between(-100_000, 100_000),
        Arbitraries.longs().between(-(1L << 52), 1L << 52),
        Arbitraries.longs(),
        Arbitraries.of(0L, 10L, -10L, 1000L, (1L << 51) - 1, (1L << 51) - 10, -(1L << 51) + 1, 1L << 51, 1L << 53));
  }

  @Property(tries = 2000)
  void decimalsAreCopiedOnlyWhenTheWriterWouldWriteThemAlike(
      @ForAll("mantissas") long m, @ForAll @net.jqwik.api.constraints.IntRange(max = 7) int k) {
    // DECIMAL(m, k) as any writer may have sent it; the shortcut must agree with the full search.
    long v = (((m << 1) ^ (m >> 63)) << 3) | k;
    EventEncoder raw = new EventEncoder(64, -1, false);
    raw.writeVarLong(v);
    byte[] value = raw.toBytes();
    byte[] event = new byte[4 + 1 + value.length];
    event[0] = 0x08;
    event[1] = 0x01;
    event[2] = 0x02;
    event[3] = 'd';
    event[4] = (byte) ValueType.DECIMAL;
    System.arraycopy(value, 0, event, 5, value.length);
    assertThat(new Pair(false).feed(event)).isNull();
    if (EventTranscoder.writerKeeps(m, k)) {
      EventOutput full = new EventOutput(16, -1);
      EventEncoder.writeDouble(full, m / ValueType.POW10[k]);
      assertThat(Arrays.copyOf(full.getBuffer(), full.position())).isEqualTo(Arrays.copyOfRange(event, 4, event.length));
    }
  }

  @Property(tries = 1000)
  void byteRangesCompareEqualExactlyWhenEqual(
      @ForAll("utf8ish") byte[] a, @ForAll @net.jqwik.api.constraints.IntRange(max = 3) int shift, @ForAll boolean flip,
      @ForAll int at) {
    byte[] b = new byte[a.length + shift];
    System.arraycopy(a, 0, b, shift, a.length);
    if (flip && a.length > 0) {
      b[shift + Math.floorMod(at, a.length)] ^= 1;
    }
    assertThat(ByteStrings.equal(a, 0, b, shift, a.length)).isEqualTo(!flip || a.length == 0);
  }

  @Test
  void whatTheRoundTripNormalisesIsNormalisedTheSameWay() {
    Pair p = new Pair(true);
    String[] cases = {
      "0801046b3104000000000000f43f", // DOUBLE 1.25 becomes DECIMAL
      "0801046b31090a", // DECIMAL -0.01
      "0801046b3109a101", // DECIMAL 10 / 10^1 is 1.0, written with scale 0
      "0801046b3104010000000000f87f", // a NaN payload becomes the canonical NaN
      "0801046b3104000000000000f0ff", // -infinity stays DOUBLE
      "0801046b31040000000000000080", // -0.0 stays DOUBLE
      "088100046b31038100", // overlong varints: map size, LONG
      "0801046b310502ff", // malformed UTF-8 becomes U+FFFD
      "0801046b310506eda080", // an encoded surrogate is malformed too
      "0801046b310508f0908080", // U+10000, well-formed
      "0801046b3106820004ca", // BYTES with an overlong length
      "0802046b310502ff046b320502fe", // two values that both decode to U+FFFD share one entry
      "0802046b310801046b3102046b3202", // the same key in a map and in the map inside it
    };
    for (String c : cases) {
      assertThat(p.feed(HexFormat.of().parseHex(c))).as(c).isNull();
    }
  }

  @Test
  void invalidInputFailsWithTheDecodersReason() {
    Pair p = new Pair(true);
    p.feed(encode(Map.of("k1", "v", "k2", 2)));
    Object[][] cases = {
      {"", Reason.TRUNCATED},
      {"05026b", Reason.BAD_TYPE},
      {"0801046b3105", Reason.TRUNCATED},
      {"0801046b310a", Reason.BAD_TYPE},
      {"0801016b31", Reason.BAD_REFERENCE},
      {"0801046b31050c6b", Reason.BAD_LENGTH},
      {"0802046b3102046b3102", Reason.BAD_LENGTH}, // a repeated key
      {"0802046b3102046b3101", Reason.BAD_LENGTH},
      {"080202ff0202fe02", Reason.BAD_LENGTH}, // keys equal after U+FFFD replacement
      {"0801046b310200", Reason.TRAILING_BYTES},
      {"0801046b3107ffffffff0f", Reason.BAD_LENGTH}, // varint with bit 31 set
      {"08ffffffff07", Reason.BAD_LENGTH},
      {"0801046b3103ffffffffffffffff", Reason.TRUNCATED},
      {"0801046b3104000000", Reason.TRUNCATED},
      {"0802046b310801026102046b3102", Reason.BAD_LENGTH}, // outer key repeated around a nested map
      {"0802046b3102046b3105", Reason.TRUNCATED}, // a repeated key, but truncation comes first
    };
    for (Object[] c : cases) {
      assertThat(p.feed(HexFormat.of().parseHex((String) c[0]))).as((String) c[0]).isEqualTo(c[1]);
    }
    // Nothing of the rejected events stayed: the next event still matches byte for byte.
    assertThat(p.feed(encode(Map.of("k1", "v", "fresh", "v")))).isNull();
  }

  @Test
  void depthAndValueLimitsAreTheDecoders() {
    Pair p = new Pair(true);
    for (int depth : new int[] {31, 32, 33}) {
      StringBuilder hex = new StringBuilder();
      for (int d = 1; d < depth; d++) {
        hex.append("0801026b");
      }
      hex.append("0800");
      assertThat(p.feed(HexFormat.of().parseHex(hex.toString()))).isEqualTo(depth > 32 ? Reason.TOO_DEEP : null);
    }
    Map<String, Object> big = new LinkedHashMap<>();
    List<Object> list = new ArrayList<>();
    for (int i = 0; i < EventEncoder.MAX_VALUES_PER_EVENT - 3; i++) {
      list.add(i);
    }
    big.put("l", list);
    byte[] ok = encode(big);
    assertThat(p.feed(ok)).isNull();
    // One more item, written by hand: the list count grows by one and a LONG 0 is appended.
    byte[] tooMany = Arrays.copyOf(ok, ok.length + 2);
    tooMany[ok.length] = (byte) ValueType.LONG;
    tooMany[ok.length + 1] = 0;
    int countAt = 5; // 08 01 02 6c 07 [varint count]
    assertThat(ok[countAt - 1]).isEqualTo((byte) ValueType.LIST);
    int count = EventEncoder.MAX_VALUES_PER_EVENT - 2;
    tooMany[countAt] = (byte) (count & 0x7F | 0x80);
    tooMany[countAt + 1] = (byte) ((count >>> 7) & 0x7F | 0x80);
    tooMany[countAt + 2] = (byte) (count >>> 14);
    assertThat(p.feed(tooMany)).isEqualTo(Reason.TOO_LARGE);
  }

  @Test
  void mutatedEventsFailAsTheDecoderFailsAndNeverCorruptTheEncoder() {
    ReferenceEvents gen = new ReferenceEvents(11);
    List<byte[]> seeds = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      seeds.add(encode(gen.next().fields()));
    }
    seeds.add(encode(TestEvents.nested(30)));
    seeds.add(encode(Map.of("bytes", new byte[] {1, 2, 3}, "list", List.of(1.5, true, "x", "x"), "d", 0.1)));
    seeds.add(encode(Map.of("é", "日本語", "😀x", List.of("é", Map.of("é", 1)))));
    SplittableRandom r = new SplittableRandom(SEED);
    int invalid = 0;
    for (boolean dedupe : new boolean[] {true, false}) {
      Pair p = new Pair(dedupe);
      for (int i = 0; i < CASES / 2; i++) {
        byte[] seed = seeds.get(r.nextInt(seeds.size()));
        byte[] input = r.nextInt(8) == 0 ? seed : FuzzTest.mutate(r, seed);
        if (p.feed(input) != null) {
          invalid++;
        }
        if (r.nextInt(200) == 0) {
          p.reset();
        }
      }
    }
    // The mutations must reach both outcomes.
    assertThat(invalid).isBetween(CASES / 10, CASES - CASES / 10);
  }
}
