package io.epochal.aggregator.receive;

import java.time.Duration;

/**
 * How the aggregator receives datagrams.
 *
 * @param host address to bind (e.g. {@code 0.0.0.0})
 * @param port UDP port; 0 picks a free one
 * @param channels receive channels (each with its own thread and batcher) sharing the port through
 *     SO_REUSEPORT; 1 without the epoll transport
 * @param receiveBufferBytes SO_RCVBUF to request per channel; a warning is logged when the kernel
 *     grants less ({@code net.core.rmem_max})
 * @param datagramsPerRead datagrams read per recvmmsg call (epoll only)
 * @param preferEpoll use the native epoll transport when it is available
 * @param tickInterval how often each batcher checks for epochs to seal
 * @param queueBytes datagram bytes each channel may hold between its receive thread and its
 *     worker; beyond it datagrams are dropped and counted ({@code queue_full})
 * @param drainInterval how long a worker that found its queue empty waits before it looks again;
 *     the receive thread does not wake it per datagram, so under load a wake-up finds several
 *     datagrams (a worker that finds its queue empty twice in a row waits to be woken, so an idle
 *     one does not poll). Zero: the receive thread wakes the worker for every datagram
 * @param readInterval the least time from one read of a receive channel to its next (one read
 *     cycle of the event loop takes what the kernel queued; after a cycle of 64 datagrams or more
 *     the next read follows at once), instead of reading as each datagram arrives; the socket
 *     buffer holds what arrives in between. A read that finds nothing waits for the next datagram,
 *     so an idle channel does not poll. Zero: read as datagrams arrive
 */
public record ReceiverConfig(
    String host,
    int port,
    int channels,
    int receiveBufferBytes,
    int datagramsPerRead,
    boolean preferEpoll,
    Duration tickInterval,
    long queueBytes,
    Duration drainInterval,
    Duration readInterval) {
  public ReceiverConfig {
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port " + port + " outside [0, 65535]");
    }
    if (channels < 1 || channels > 64) {
      throw new IllegalArgumentException("channels " + channels + " outside [1, 64]");
    }
    if (datagramsPerRead < 1 || datagramsPerRead > 256) {
      throw new IllegalArgumentException("datagramsPerRead " + datagramsPerRead + " outside [1, 256]");
    }
    if (queueBytes < 1 << 20) {
      throw new IllegalArgumentException("queueBytes " + queueBytes + " is below 1 MiB");
    }
    if (drainInterval.isNegative() || drainInterval.compareTo(tickInterval) > 0) {
      throw new IllegalArgumentException("drainInterval " + drainInterval + " outside [0, tickInterval " + tickInterval + "]");
    }
    if (readInterval.isNegative() || readInterval.toMillis() > 100) {
      throw new IllegalArgumentException("readInterval " + readInterval + " outside [0, 100ms]");
    }
    if (tickInterval.toMillis() < 1) {
      throw new IllegalArgumentException("tickInterval " + tickInterval + " below 1 ms");
    }
  }

  public static ReceiverConfig defaults() {
    return new ReceiverConfig("0.0.0.0", 5140, Math.max(1, Runtime.getRuntime().availableProcessors() / 2),
        32 << 20, 16, true, Duration.ofMillis(20), 128L << 20, Duration.ofMillis(2), Duration.ofMillis(1));
  }
}
