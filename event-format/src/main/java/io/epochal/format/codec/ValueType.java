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

  private ValueType() {}
}
