package io.epochal.format.datagram;

import java.util.zip.CRC32C;

/** Constants of the datagram formats v1 and v2 (docs/wire-format.md). */
public final class DatagramFormat {
  /** First two bytes of every datagram: ASCII {@code "ED"}. */
  public static final int MAGIC_0 = 'E';
  public static final int MAGIC_1 = 'D';
  /** v1: records spell every string out (literals only). */
  public static final int VERSION = 1;
  /** v2: a string section after the header; records name its strings by index. */
  public static final int VERSION_2 = 2;
  /** magic (2) + version (1) + flags (1) + event count (u16 LE). */
  public static final int HEADER_BYTES = 6;
  /** CRC32C (u32 LE) of all preceding bytes. */
  public static final int TRAILER_BYTES = 4;
  /** Largest UDP payload over IPv4: 65535 - 20 (IP) - 8 (UDP). */
  public static final int MAX_DATAGRAM_BYTES = 65_507;
  /** Most events in one datagram (the count is a u16). */
  public static final int MAX_EVENTS = 65_535;

  private DatagramFormat() {}

  /** Writes {@code v} as an unsigned LEB128 varint at {@code buf[at]}; returns the position after it. */
  static int putVarInt(byte[] buf, int at, int v) {
    while ((v & ~0x7F) != 0) {
      buf[at++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    buf[at++] = (byte) v;
    return at;
  }

  /**
   * Writes the header (magic, {@code version}, flags 0, {@code count}) at {@code buf[0]} and the
   * CRC32C of {@code buf[0, end)} at {@code buf[end]}; returns the datagram's length, {@code end + 4}.
   */
  static int seal(byte[] buf, int version, int count, int end) {
    buf[0] = (byte) MAGIC_0;
    buf[1] = (byte) MAGIC_1;
    buf[2] = (byte) version;
    buf[3] = 0;
    buf[4] = (byte) count;
    buf[5] = (byte) (count >>> 8);
    CRC32C crc = new CRC32C();
    crc.update(buf, 0, end);
    int c = (int) crc.getValue();
    buf[end] = (byte) c;
    buf[end + 1] = (byte) (c >>> 8);
    buf[end + 2] = (byte) (c >>> 16);
    buf[end + 3] = (byte) (c >>> 24);
    return end + TRAILER_BYTES;
  }
}
