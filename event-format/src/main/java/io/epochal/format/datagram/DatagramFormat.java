package io.epochal.format.datagram;

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
}
