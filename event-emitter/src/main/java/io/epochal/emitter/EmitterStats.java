package io.epochal.emitter;

import java.util.Map;

/**
 * A snapshot of an emitter's counters.
 *
 * @param emitted valid events passed to {@code emit}; each is eventually either sent or dropped, so
 *     after {@code close()} {@code emitted == sent + droppedTotal()}
 * @param sent events in datagrams handed to the socket
 * @param datagrams datagrams handed to the socket
 * @param bytes datagram bytes handed to the socket
 * @param dropped events dropped, by reason
 */
public record EmitterStats(long emitted, long sent, long datagrams, long bytes, Map<DropReason, Long> dropped) {
  /** Events dropped for any reason. */
  public long droppedTotal() {
    long n = 0;
    for (long v : dropped.values()) {
      n += v;
    }
    return n;
  }
}
