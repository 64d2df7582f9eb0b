package io.epochal.format.codec;

/** Type tags of the value encoding (docs/wire-format.md, "Values"). */
final class ValueType {
  static final int NULL = 0;
  static final int FALSE = 1;
  static final int TRUE = 2;
  static final int LONG = 3;
  static final int DOUBLE = 4;
  static final int STRING = 5;
  static final int BYTES = 6;
  static final int LIST = 7;
  static final int MAP = 8;
  /** A double that is a short decimal: varlong of zigzag(mantissa) << 3 | scale, value mantissa / 10^scale. */
  static final int DECIMAL = 9;

  /** Exact powers of ten for {@link #DECIMAL} scales 0..7. */
  static final double[] POW10 = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7};

  private ValueType() {}
}
