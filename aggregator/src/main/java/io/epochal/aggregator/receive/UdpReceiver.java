package io.epochal.aggregator.receive;

import io.epochal.aggregator.AggregatorMetrics;
import io.epochal.aggregator.batch.EpochBatcher;
import io.epochal.format.FormatException;
import io.epochal.format.datagram.DatagramFormat;
import io.epochal.format.datagram.DatagramReader;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The aggregator's UDP server: {@code channels} Netty datagram channels on one port (SO_REUSEPORT,
 * epoll transport with recvmmsg when available, NIO otherwise), each on its own event-loop thread
 * with its own {@link EpochBatcher}, so receiving, decoding and batching take no locks. Each thread
 * also runs its batcher's {@link EpochBatcher#tick()} every {@code tickInterval}.
 *
 * <p>Malformed datagrams are counted by reason and logged at a limited rate with the sender's
 * address; they never affect other datagrams.
 */
public final class UdpReceiver implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(UdpReceiver.class);
  private static final long WARN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final ReceiverConfig config;
  private final Supplier<EpochBatcher> batchers;
  private final AggregatorMetrics metrics;
  private final List<Channel> channels = new ArrayList<>();
  private final List<EpochBatcher> started = new ArrayList<>();
  private EventLoopGroup group;
  private boolean epoll;
  private int boundPort;
  private volatile long lastWarn;
  private volatile boolean stopped;

  public UdpReceiver(ReceiverConfig config, Supplier<EpochBatcher> batchers, AggregatorMetrics metrics) {
    this.config = config;
    this.batchers = batchers;
    this.metrics = metrics;
  }

  /** Binds the channels; returns once they receive. */
  public synchronized void start() throws InterruptedException {
    if (group != null) {
      return;
    }
    epoll = config.preferEpoll() && Epoll.isAvailable();
    int n = epoll ? config.channels() : 1;
    group = new MultiThreadIoEventLoopGroup(n, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    int port = config.port();
    try {
      for (int i = 0; i < n; i++) {
        EpochBatcher batcher = batchers.get();
        Bootstrap b = new Bootstrap()
            .group(group)
            .channel(epoll ? EpollDatagramChannel.class : NioDatagramChannel.class)
            .option(ChannelOption.SO_RCVBUF, config.receiveBufferBytes())
            .handler(new Handler(batcher));
        if (epoll) {
          b.option(EpollChannelOption.SO_REUSEPORT, true)
              .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, DatagramFormat.MAX_DATAGRAM_BYTES)
              .option(ChannelOption.RCVBUF_ALLOCATOR,
                  new FixedRecvByteBufAllocator(DatagramFormat.MAX_DATAGRAM_BYTES * config.datagramsPerRead()));
        } else {
          b.option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(65_536));
        }
        Channel ch = b.bind(new InetSocketAddress(config.host(), port)).sync().channel();
        if (port == 0) {
          port = ((InetSocketAddress) ch.localAddress()).getPort();
        }
        channels.add(ch);
        started.add(batcher);
        long ms = config.tickInterval().toMillis();
        ch.eventLoop().scheduleAtFixedRate(batcher::tick, ms, ms, TimeUnit.MILLISECONDS);
        checkReceiveBuffer(ch);
      }
    } catch (RuntimeException | InterruptedException e) {
      close();
      throw e;
    }
    boundPort = port;
    log.info("receiving UDP on {}:{} with {} {} channel(s)", config.host(), port, n, epoll ? "epoll" : "NIO");
  }

  private void checkReceiveBuffer(Channel ch) {
    int granted = ch.config().getOption(ChannelOption.SO_RCVBUF);
    // Linux reports twice the usable size it granted.
    if (granted / 2 < config.receiveBufferBytes() && granted < config.receiveBufferBytes()) {
      log.warn("SO_RCVBUF: asked for {} bytes, the kernel granted {}; raise net.core.rmem_max to absorb bursts",
          config.receiveBufferBytes(), granted);
    }
  }

  /** The bound UDP port. */
  public int port() {
    return boundPort;
  }

  /** Whether the native epoll transport is in use. */
  public boolean epoll() {
    return epoll;
  }

  /** Open batches over all channels (approximate: read from another thread). */
  public int openBatches() {
    int n = 0;
    for (EpochBatcher b : started) {
      n += b.openBatches();
    }
    return n;
  }

  /** Bytes of open batches over all channels (approximate: read from another thread). */
  public long openBytes() {
    long n = 0;
    for (EpochBatcher b : started) {
      n += b.openBytes();
    }
    return n;
  }

  /**
   * Stops receiving, then seals every open batch on its own thread and waits for that. Idempotent.
   */
  @Override
  public synchronized void close() {
    if (stopped || group == null) {
      return;
    }
    stopped = true;
    for (Channel ch : channels) {
      ch.close().awaitUninterruptibly();
    }
    for (int i = 0; i < channels.size(); i++) {
      EpochBatcher batcher = started.get(i);
      channels.get(i).eventLoop().submit(batcher::sealAll).awaitUninterruptibly();
    }
    group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly();
  }

  private final class Handler extends SimpleChannelInboundHandler<DatagramPacket> {
    private final EpochBatcher batcher;
    private final DatagramReader reader = new DatagramReader();
    private final byte[] scratch = new byte[65_536];

    Handler(EpochBatcher batcher) {
      this.batcher = batcher;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
      ByteBuf buf = packet.content();
      int len = buf.readableBytes();
      metrics.datagrams.increment();
      metrics.datagramBytes.increment(len);
      byte[] bytes;
      int off;
      if (buf.hasArray()) {
        bytes = buf.array();
        off = buf.arrayOffset() + buf.readerIndex();
      } else {
        buf.getBytes(buf.readerIndex(), scratch, 0, len);
        bytes = scratch;
        off = 0;
      }
      try {
        reader.read(bytes, off, len, batcher);
      } catch (FormatException e) {
        metrics.malformed(e.reason().label());
        warn("malformed datagram of {} bytes from {}: {}", len, packet.sender(), e.getMessage());
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A bug in batching must not stop the receive loop; it is logged and counted.
      metrics.malformed("internal_error");
      log.error("error while handling a datagram (receiving continues)", cause);
    }
  }

  private void warn(String format, Object... args) {
    long now = System.nanoTime();
    long last = lastWarn;
    if (last == 0 || now - last > WARN_INTERVAL_NANOS) {
      lastWarn = now;
      log.warn(format + " (logged at most every 10 s; see epochal.aggregator.datagrams.malformed)", args);
    }
  }
}
