package io.epochal.aggregator.receive;

import io.epochal.aggregator.AggregatorMetrics;
import io.epochal.aggregator.batch.EpochBatcher;
import io.epochal.common.log.RateLimitedLog;
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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The aggregator's UDP server: {@code channels} Netty datagram channels on one port (SO_REUSEPORT,
 * epoll transport with recvmmsg when available, NIO otherwise). Each channel's event-loop thread
 * only copies datagrams into a queue bounded in bytes; a worker thread per channel decodes them
 * into its own {@link EpochBatcher} and runs its {@link EpochBatcher#tick()} every {@code
 * tickInterval}. Neither thread is woken per datagram: each channel reads what the kernel queued
 * every {@code readInterval} (auto-read off, a scheduled read), and a worker that empties its queue
 * looks again {@code drainInterval} later (a wake-up per datagram cost epoll and futex calls and a
 * context switch for nearly every datagram). So the receive loop never waits for decoding, compression or a JIT warming up:
 * bursts land in the queue rather than overflowing the kernel's socket buffer, and batching takes
 * no locks. A full queue drops datagrams and counts them ({@code datagrams.dropped}).
 *
 * <p>Malformed datagrams are counted by reason and logged at a limited rate with the sender's
 * address; they never affect other datagrams.
 */
public final class UdpReceiver implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(UdpReceiver.class);
  /** Malformed input and drops: at most one line per reason every 10 s, with the count suppressed. */
  private static final RateLimitedLog limited = new RateLimitedLog(log);

  private final ReceiverConfig config;
  private final Supplier<EpochBatcher> batchers;
  private final AggregatorMetrics metrics;
  private final List<Channel> channels = new ArrayList<>();
  private final List<EpochBatcher> started = new ArrayList<>();
  private final List<Worker> workers = new ArrayList<>();
  private EventLoopGroup group;
  private boolean epoll;
  private int boundPort;
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
        Worker worker = new Worker(batcher, i);
        workers.add(worker);
        started.add(batcher);
        worker.start();
        Bootstrap b = new Bootstrap()
            .group(group)
            .channel(epoll ? EpollDatagramChannel.class : NioDatagramChannel.class)
            .option(ChannelOption.SO_RCVBUF, config.receiveBufferBytes())
            .option(ChannelOption.AUTO_READ, !pacedReads())
            .handler(new Handler(worker));
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
        checkReceiveBuffer(ch);
        if (pacedReads()) {
          // The first read waits for the first datagram; each completed read schedules the next.
          ch.read();
        }
      }
    } catch (RuntimeException | InterruptedException e) {
      close();
      throw e;
    }
    boundPort = port;
    log.info("receiving UDP on {}:{} with {} {} channel(s)", config.host(), port, n, epoll ? "epoll" : "NIO");
  }

  /** Whether channels read every {@code readInterval} rather than as datagrams arrive. */
  private boolean pacedReads() {
    return !config.readInterval().isZero();
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
    group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly();
    // Now nothing enters the queues: each worker decodes what is queued, seals everything, ends.
    for (Worker w : workers) {
      w.finish();
    }
  }

  /** On the event loop: count, copy, queue. Nothing that can take long. */
  private final class Handler extends SimpleChannelInboundHandler<DatagramPacket> {
    /** With paced reads: a read that took this many datagrams may have left more; read again at once. */
    private static final int FULL_READ = 64;
    private final Worker worker;
    private int readThisCycle;

    Handler(Worker worker) {
      this.worker = worker;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
      ByteBuf buf = packet.content();
      int len = buf.readableBytes();
      readThisCycle++;
      metrics.datagrams.increment();
      metrics.datagramBytes.increment(len);
      if (!worker.offer(buf, packet.sender())) {
        metrics.datagramsDropped.increment();
        metrics.dropped(AggregatorMetrics.DropReason.RECEIVE_QUEUE_FULL, declaredEvents(buf));
        limited.warn("queue_full", "dropped a datagram of {} bytes from {}: the batching queue is full ({} bytes)",
            len, packet.sender(), config.queueBytes());
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (pacedReads()) {
        if (readThisCycle >= FULL_READ) {
          // A read cycle is bounded (Netty's messages per read): after a full one the kernel may
          // hold more, so read on now.
          ctx.read();
        } else {
          // The next read a readInterval from now. If nothing has come by then, that read waits
          // for the next datagram: an idle channel wakes for nothing.
          ctx.executor().schedule(ctx::read, config.readInterval().toNanos(), TimeUnit.NANOSECONDS);
        }
      }
      readThisCycle = 0;
      ctx.fireChannelReadComplete();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      metrics.malformed("internal_error");
      log.error("error while receiving a datagram (receiving continues)", cause);
    }
  }

  /**
   * The event count a datagram's header declares, read without decoding it (0 if it does not start
   * like an Epochal datagram): what a dropped datagram costs in events.
   */
  static int declaredEvents(ByteBuf buf) {
    int i = buf.readerIndex();
    if (buf.readableBytes() < DatagramFormat.HEADER_BYTES + DatagramFormat.TRAILER_BYTES
        || buf.getUnsignedByte(i) != DatagramFormat.MAGIC_0 || buf.getUnsignedByte(i + 1) != DatagramFormat.MAGIC_1) {
      return 0;
    }
    return buf.getUnsignedShortLE(i + 4);
  }

  private record Datagram(byte[] bytes, InetSocketAddress sender) {}

  private static final Datagram FINISH = new Datagram(new byte[0], null);

  /**
   * Owns one batcher: decodes queued datagrams into it and ticks it. The queue is bounded in bytes
   * ({@code queueBytes}); datagrams are copied out of Netty's buffers so that the receive buffers
   * are released at once.
   */
  private final class Worker implements Runnable {
    private final EpochBatcher batcher;
    private final DatagramReader reader = new DatagramReader();
    private final ConcurrentLinkedQueue<Datagram> queue = new ConcurrentLinkedQueue<>();
    private final AtomicLong queued = new AtomicLong();
    private final long tickNanos = config.tickInterval().toNanos();
    private final long drainNanos = config.drainInterval().toNanos();
    /** The worker is parked (or about to be) on an empty queue until a datagram wakes it. */
    private volatile boolean waiting;
    private final Thread thread;

    Worker(EpochBatcher batcher, int index) {
      this.batcher = batcher;
      this.thread = new Thread(this, "epochal-batcher-" + index);
      thread.setDaemon(true);
    }

    void start() {
      thread.start();
    }

    boolean offer(ByteBuf buf, InetSocketAddress sender) {
      int len = buf.readableBytes();
      if (queued.addAndGet(len) > config.queueBytes()) {
        queued.addAndGet(-len);
        return false;
      }
      byte[] bytes = new byte[len];
      buf.getBytes(buf.readerIndex(), bytes);
      queue.add(new Datagram(bytes, sender));
      // Under load the worker finds the datagram when it next looks (at most drainInterval
      // later): no wake-up, and so no futex calls and context switches, per datagram. Only a
      // worker that found its queue empty twice in a row (idle) waits to be woken.
      if (waiting) {
        LockSupport.unpark(thread);
      }
      return true;
    }

    /** Called after the channels closed: drain, seal everything, stop. */
    void finish() {
      queue.add(FINISH);
      LockSupport.unpark(thread);
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public void run() {
      long nextTick = System.nanoTime() + tickNanos;
      boolean lookedEmpty = false;
      while (true) {
        Datagram d = queue.poll();
        if (d == null) {
          long now = System.nanoTime();
          if (now - nextTick >= 0) {
            tick();
            nextTick = System.nanoTime() + tickNanos;
            continue;
          }
          long wait = nextTick - now;
          if (drainNanos > 0 && !lookedEmpty) {
            lookedEmpty = true;
            LockSupport.parkNanos(this, Math.min(wait, drainNanos));
          } else {
            waiting = true;
            if (queue.isEmpty()) {
              LockSupport.parkNanos(this, wait);
            }
            waiting = false;
          }
          if (Thread.interrupted()) {
            log.warn("{} interrupted; sealing what it holds", thread.getName());
            batcher.sealAll();
            return;
          }
          continue;
        }
        if (d == FINISH) {
          batcher.tick();
          batcher.sealAll();
          return;
        }
        lookedEmpty = false;
        queued.addAndGet(-d.bytes().length);
        handle(d);
        if (System.nanoTime() - nextTick >= 0) {
          tick();
          nextTick = System.nanoTime() + tickNanos;
        }
      }
    }

    private void tick() {
      try {
        batcher.tick();
      } catch (RuntimeException e) {
        log.error("error while sealing (batching continues)", e);
      }
    }

    private void handle(Datagram d) {
      try {
        reader.readRecords(d.bytes(), 0, d.bytes().length, batcher);
      } catch (FormatException e) {
        metrics.malformed(e.reason().label());
        limited.warn(e.reason().label(), "malformed datagram of {} bytes from {}: {}", d.bytes().length, d.sender(),
            e.getMessage());
      } catch (RuntimeException e) {
        // A bug in batching must not stop the worker; it is logged and counted.
        metrics.malformed("internal_error");
        log.error("error while batching a datagram from {} (batching continues)", d.sender(), e);
      }
    }
  }

}
