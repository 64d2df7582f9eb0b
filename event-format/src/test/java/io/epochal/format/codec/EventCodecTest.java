package io.epochal.format.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.format.FormatException;
import io.epochal.format.TestEvents;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Arbitrary;
import org.junit.jupiter.api.Test;

class EventCodecTest {
  @Provide
  Arbitrary<Map<String, Object>> events() {
    return TestEvents.maps(3);
  }

  @Property(tries = 1000)
  void roundTripsWithAndWithoutDedupe(@ForAll("events") Map<String, Object> event, @ForAll boolean dedupe)
      throws FormatException {
    EventEncoder enc = new EventEncoder(64, -1, dedupe);
    enc.writeEvent(event);
    enc.writeEvent(event);
    EventDecoder dec = new EventDecoder(dedupe);
    dec.reset(enc.buffer(), 0, enc.position());
    assertThat(TestEvents.deepEquals(dec.readEvent(), event)).isTrue();
    assertThat(TestEvents.deepEquals(dec.readEvent(), event)).isTrue();
    assertThat(dec.remaining()).isZero();
  }

  @Property(tries = 500)
  void encodingIsDeterministic(@ForAll("events") Map<String, Object> event) {
    EventEncoder a = new EventEncoder(64, -1, true);
    EventEncoder b = new EventEncoder(16, -1, true);
    a.writeEvent(event);
    b.writeEvent(new LinkedHashMap<>(event));
    assertThat(a.toBytes()).isEqualTo(b.toBytes());
  }

  @Test
  void exactBytesOfASmallEvent() {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("a", "x");
    e.put("n", -2);
    e.put("b", "x");
    EventEncoder enc = new EventEncoder(64, -1, true);
    enc.writeEvent(e);
    // MAP, 3 entries; "a" literal; STRING "x" literal; "n" literal; LONG zigzag(-2)=3; "b" literal; STRING ref #1
    assertThat(HexFormat.of().formatHex(enc.toBytes())).isEqualTo("0803026105027802" + "6e0303" + "0262" + "0503");
  }

  @Test
  void numbersNormalise() throws FormatException {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("i", 7);
    e.put("s", (short) -3);
    e.put("b", (byte) 1);
    e.put("f", 1.5f);
    e.put("big", BigInteger.valueOf(Long.MIN_VALUE));
    e.put("sb", new StringBuilder("chars"));
    Map<String, Object> back = roundTrip(e);
    assertThat(back).containsEntry("i", 7L).containsEntry("s", -3L).containsEntry("b", 1L)
        .containsEntry("f", 1.5d).containsEntry("big", Long.MIN_VALUE).containsEntry("sb", "chars");
  }

  @Test
  void doublesComeBackBitExact() throws FormatException {
    double[] values = {24.533, 0.1, 0.5, -0.0, 0.0, 1200.0, -3.25, 1e-7, 123456.1234567, Double.NaN,
        Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.MIN_VALUE, Double.MAX_VALUE, 1e300, 0.1 + 0.2,
        Math.PI, 9.007199254740993E15, -1e17};
    for (double d : values) {
      Object back = roundTrip(Map.of("d", d)).get("d");
      assertThat(back).isInstanceOf(Double.class);
      assertThat(Double.doubleToRawLongBits((Double) back)).as("%s", d).isEqualTo(Double.doubleToRawLongBits(d));
    }
    // A short decimal takes the compact form: tag 9 and one varint, instead of 9 bytes.
    EventEncoder enc = new EventEncoder(64, -1, false);
    enc.writeEvent(Map.of("d", 24.533));
    assertThat(HexFormat.of().formatHex(enc.toBytes())).isEqualTo("0801026409d3fa17");
  }

  @Property(tries = 2000)
  void anyDoubleRoundTrips(@ForAll double d) throws FormatException {
    Object back = roundTrip(Map.of("d", d)).get("d");
    assertThat(Double.doubleToRawLongBits((Double) back)).isEqualTo(Double.doubleToRawLongBits(d));
  }

  @Test
  void unsupportedValuesNameTheField() {
    Map<String, Object> inner = new LinkedHashMap<>();
    inner.put("when", new java.util.Date());
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("timing", inner);
    EventEncoder enc = new EventEncoder(64, -1, false);
    assertThatThrownBy(() -> enc.writeEvent(e))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'timing.when'")
        .hasMessageContaining("java.util.Date");
    assertThat(enc.position()).isZero();

    Map<String, Object> list = Map.of("xs", List.of(1, new Object()));
    assertThatThrownBy(() -> enc.writeEvent(list)).hasMessageContaining("'xs[1]'");

    Map<Object, Object> badKey = new LinkedHashMap<>();
    badKey.put(1, "x");
    @SuppressWarnings({"unchecked", "rawtypes"})
    Map<String, Object> bad = (Map) Map.of("m", badKey);
    assertThatThrownBy(() -> enc.writeEvent(bad)).hasMessageContaining("keys must be strings");

    assertThatThrownBy(() -> enc.writeEvent(Map.of("big", BigInteger.ONE.shiftLeft(64))))
        .hasMessageContaining("does not fit in a long");
  }

  @Test
  void aRejectedEventLeavesNoDanglingReferences() throws FormatException {
    EventEncoder enc = new EventEncoder(64, -1, true);
    enc.writeEvent(Map.of("a", "first"));
    Map<String, Object> bad = new LinkedHashMap<>();
    bad.put("fresh-key", "fresh-value");
    bad.put("oops", new Object());
    assertThatThrownBy(() -> enc.writeEvent(bad)).hasMessageContaining("'oops'");
    assertThat(enc.distinctStrings()).isEqualTo(2);
    enc.writeEvent(Map.of("fresh-key", "fresh-value", "a", "first"));
    EventDecoder dec = new EventDecoder(true);
    dec.reset(enc.buffer(), 0, enc.position());
    assertThat(dec.readEvent()).isEqualTo(Map.of("a", "first"));
    assertThat(dec.readEvent()).isEqualTo(Map.of("fresh-key", "fresh-value", "a", "first"));
  }

  @Test
  void manyDistinctStringsKeepTheirIndexes() throws FormatException {
    EventEncoder enc = new EventEncoder(64, -1, true);
    List<Map<String, Object>> events = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      events.add(Map.of("k" + (i % 7), "v" + i, "again", "v" + (i / 2)));
    }
    for (Map<String, Object> e : events) {
      enc.writeEvent(e);
    }
    EventDecoder dec = new EventDecoder(true);
    dec.reset(enc.buffer(), 0, enc.position());
    for (Map<String, Object> e : events) {
      assertThat(dec.readEvent()).isEqualTo(e);
    }
  }

  @Test
  void depthIsBoundedOnBothSides() throws FormatException {
    assertThat(roundTrip(TestEvents.nested(EventEncoder.MAX_DEPTH))).isEqualTo(TestEvents.nested(32));
    EventEncoder enc = new EventEncoder(64, -1, false);
    assertThatThrownBy(() -> enc.writeEvent(TestEvents.nested(EventEncoder.MAX_DEPTH + 1)))
        .hasMessageContaining("nested deeper than 32");

    Map<String, Object> cyclic = new LinkedHashMap<>();
    cyclic.put("self", cyclic);
    assertThatThrownBy(() -> enc.writeEvent(cyclic)).hasMessageContaining("nested deeper");

    // Hand-made input nested 10,000 lists deep.
    byte[] deep = new byte[3 + 2 * 10_000];
    deep[0] = 8;
    deep[1] = 1;
    deep[2] = 2; // key "a"? no: literal of length 1 needs a byte; use empty key instead
    deep[2] = 0;
    for (int i = 0; i < 10_000; i++) {
      deep[3 + 2 * i] = 7;
      deep[4 + 2 * i] = 1;
    }
    EventDecoder dec = new EventDecoder(false);
    dec.reset(deep, 0, deep.length);
    assertThatThrownBy(dec::readEvent)
        .isInstanceOf(FormatException.class)
        .extracting(e -> ((FormatException) e).reason())
        .isEqualTo(FormatException.Reason.TOO_DEEP);
  }

  @Test
  void lyingLengthsDoNotAllocate() {
    // MAP with 2^31-1 entries; a string claiming 1 GB; a byte array claiming 1 GB; a list of 2^30.
    for (String hex : List.of("08ffffffff07", "080100fe" + "ffffff07", "08010006ffffffff03", "08010007ffffffff03",
        "0801000580808080", "0801010500", "08", "")) {
      byte[] b = HexFormat.of().parseHex(hex);
      EventDecoder dec = new EventDecoder(true);
      dec.reset(b, 0, b.length);
      assertThatThrownBy(dec::readEvent).as(hex).isInstanceOf(FormatException.class);
    }
  }

  @Test
  void tooManyValuesIsRejected() {
    List<Object> many = new ArrayList<>();
    for (int i = 0; i < EventEncoder.MAX_VALUES_PER_EVENT; i++) {
      many.add(i);
    }
    EventEncoder enc = new EventEncoder(64, -1, false);
    assertThatThrownBy(() -> enc.writeEvent(Map.of("many", many))).hasMessageContaining("more than 65536 values");
  }

  @Test
  void encoderLimitGivesEventTooLarge() {
    EventEncoder enc = new EventEncoder(64, 1000, false);
    assertThatThrownBy(() -> enc.writeEvent(Map.of("big", "x".repeat(2000))))
        .isInstanceOf(EventTooLargeException.class);
    assertThat(enc.position()).isZero();
    enc.writeEvent(Map.of("small", "ok"));
    assertThat(enc.position()).isPositive();
  }

  private static Map<String, Object> roundTrip(Map<String, ?> e) throws FormatException {
    EventEncoder enc = new EventEncoder(64, -1, true);
    enc.writeEvent(e);
    EventDecoder dec = new EventDecoder(true);
    dec.reset(enc.buffer(), 0, enc.position());
    return dec.readEvent();
  }
}
