package io.epochal.emitter;

import java.util.Locale;

/** Why the emitter dropped events; {@link #label()} is the {@code reason} tag of {@code epochal.emitter.dropped}. */
public enum DropReason {
  /** The bounded buffer of datagrams waiting to be sent was full. */
  BUFFER_FULL,
  /** The event does not fit in one datagram (64 KB) even on its own. */
  OVERSIZE,
  /** The socket's send buffer was full; the datagram was not sent. */
  SOCKET_FULL,
  /** The aggregator's port answered "unreachable" (nobody listening). */
  UNREACHABLE,
  /** Any other I/O error while sending. */
  SEND_ERROR,
  /** {@code emit} was called after {@code close}. */
  CLOSED;

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
