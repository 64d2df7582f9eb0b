package io.epochal.store.http;

import io.epochal.common.lifecycle.AbstractLifecycleComponent;
import io.epochal.store.node.StoreNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's HTTP/1.1 server (Netty; epoll when available): Riak's HTTP API over a {@link
 * StoreNode} (docs/http-api.md). Keep-alive; one request at a time per connection (reads pause
 * while a request is served, so pipelined requests are answered in order and a connection holds
 * at most one body). Limits, each with a defined answer: connections ({@code 503} and close),
 * request line ({@code 414}), headers ({@code 431}), body ({@code 413}), bodies in flight over
 * all connections ({@code 503}), a request not received whole in time ({@code 408} and close),
 * idle connections (closed).
 */
public final class StoreHttpServer extends AbstractLifecycleComponent {
  private static final Logger log = LoggerFactory.getLogger(StoreHttpServer.class);

  private final HttpConfig config;
  private final StoreNode node;
  private final PrometheusMeterRegistry registry;
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicLong inflightBytes = new AtomicLong();
  private final java.util.concurrent.ConcurrentMap<String, Counter> requestCounters =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final Counter rejectedConnections;
  private final Counter requestTimeouts;
  private EventLoopGroup boss;
  private EventLoopGroup workers;
  private Channel serverChannel;
  private volatile int boundPort = -1;

  public StoreHttpServer(HttpConfig config, StoreNode node, PrometheusMeterRegistry registry) {
    super("store-http");
    this.config = config;
    this.node = node;
    this.registry = registry;
    this.rejectedConnections = Counter.builder("epochal.store.http.connections.rejected")
        .description("Connections closed at once because max-connections were open").register(registry);
    this.requestTimeouts = Counter.builder("epochal.store.http.request.timeouts")
        .description("Requests not received whole within request-timeout (408)").register(registry);
    Gauge.builder("epochal.store.http.connections", connections, AtomicInteger::get)
        .description("Open HTTP connections").register(registry);
    Gauge.builder("epochal.store.http.inflight.bytes", inflightBytes, AtomicLong::get)
        .description("Request body bytes held by requests being received or served").baseUnit("bytes")
        .register(registry);
  }

  @Override
  protected void doStart() throws Exception {
    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    Class<? extends ServerChannel> channel = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("store-http-accept", true), io);
    workers = new MultiThreadIoEventLoopGroup(config.ioThreads(), new DefaultThreadFactory("store-http", true), io);
    ConnectionLimit limit = new ConnectionLimit();
    ServerBootstrap b = new ServerBootstrap()
        .group(boss, workers)
        .channel(channel)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            RequestDeadline deadline = new RequestDeadline();
            ch.pipeline()
                .addLast("limit", limit)
                .addLast("idle", new IdleStateHandler(0, 0, config.idleTimeout().toMillis(), TimeUnit.MILLISECONDS))
                .addLast("deadline", deadline)
                .addLast("codec", new HttpServerCodec(new HttpDecoderConfig()
                    .setMaxInitialLineLength(config.maxInitialLineBytes())
                    .setMaxHeaderSize(config.maxHeaderBytes())
                    .setMaxChunkSize(64 << 10)))
                .addLast("end", new RequestEnd(deadline))
                .addLast("budget", new BodyBudget())
                .addLast("aggregate", new Aggregator(config.maxValueBytes()))
                .addLast("riak", new RiakHandler(node, registry, StoreHttpServer.this::release, requestCounters));
          }
        });
    serverChannel = b.bind(config.host(), config.port()).sync().channel();
    boundPort = ((InetSocketAddress) serverChannel.localAddress()).getPort();
    log.info("store HTTP API on http://{}:{}/ ({})", config.host(), boundPort, epoll ? "epoll" : "nio");
  }

  @Override
  protected void doStop() {
    if (serverChannel != null) {
      serverChannel.close().syncUninterruptibly();
    }
    if (workers != null) {
      workers.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    }
    if (boss != null) {
      boss.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /** The bound port, after start. */
  public int boundPort() {
    return boundPort;
  }

  private void release(long bytes) {
    if (bytes > 0) {
      inflightBytes.addAndGet(-bytes);
    }
  }

  static ByteBuf raw(int status, String reason, String body) {
    String text = "HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: text/plain\r\nContent-Length: "
        + body.getBytes(StandardCharsets.UTF_8).length + "\r\nConnection: close\r\n\r\n" + body;
    return Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
  }

  /** Closes connections beyond max-connections with a 503. */
  @ChannelHandler.Sharable
  private final class ConnectionLimit extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      int open = connections.incrementAndGet();
      if (open > config.maxConnections()) {
        rejectedConnections.increment();
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(raw(503, "Service Unavailable", "too many connections (max " + config.maxConnections()
            + ")\n")).addListener(ChannelFutureListener.CLOSE);
        return;
      }
      ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      connections.decrementAndGet();
      ctx.fireChannelInactive();
    }
  }

  /**
   * Starts a timer at the first byte of a request; {@link #received()} (at the request's last
   * content, seen after the codec) stops it. If it fires first, the client is too slow: 408 and
   * close.
   */
  final class RequestDeadline extends ChannelDuplexHandler {
    private ScheduledFuture<?> timer;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (timer == null) {
        timer = ctx.executor().schedule(() -> expire(ctx), config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
      }
      ctx.fireChannelRead(msg);
    }

    private void expire(ChannelHandlerContext ctx) {
      timer = null;
      if (ctx.channel().isActive()) {
        requestTimeouts.increment();
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(raw(408, "Request Timeout", "request not received within "
            + config.requestTimeout().toMillis() + " ms\n")).addListener(ChannelFutureListener.CLOSE);
      }
    }

    /** The request is whole: stop the timer; the next bytes start the next request's. */
    void received() {
      if (timer != null) {
        timer.cancel(false);
        timer = null;
      }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      received();
    }
  }

  /** Tells the deadline when a request's last content has been decoded (also for discarded bodies). */
  private static final class RequestEnd extends ChannelInboundHandlerAdapter {
    private final RequestDeadline deadline;

    RequestEnd(RequestDeadline deadline) {
      this.deadline = deadline;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof io.netty.handler.codec.http.LastHttpContent) {
        deadline.received();
      }
      ctx.fireChannelRead(msg);
    }
  }

  /**
   * Reserves a request's body bytes (its Content-Length, or max-value-bytes when chunked) from the
   * node-wide in-flight budget before it is aggregated; when the budget is spent, 503 in the
   * request's turn, its body read and dropped.
   * The reservation is released when the response is written (or the connection closes first).
   */
  private final class BodyBudget extends ChannelInboundHandlerAdapter {
    /** Dropping the body of a request refused for the budget, up to its last content. */
    private boolean discarding;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (discarding && msg instanceof io.netty.handler.codec.http.HttpContent c && !(msg instanceof HttpMessage)) {
        discarding = !(c instanceof io.netty.handler.codec.http.LastHttpContent);
        c.release();
        return;
      }
      if (msg instanceof HttpMessage m) {
        long reserve = 0;
        if (m.decoderResult().isSuccess()) {
          long length = io.netty.handler.codec.http.HttpUtil.getContentLength(m, -1L);
          reserve = length >= 0 ? Math.min(length, config.maxValueBytes())
              : io.netty.handler.codec.http.HttpUtil.isTransferEncodingChunked(m) ? config.maxValueBytes() : 0;
        }
        if (reserve > 0 && inflightBytes.addAndGet(reserve) > config.maxInflightBytes()) {
          inflightBytes.addAndGet(-reserve);
          // Answered by RiakHandler in its turn (after the requests before it). The body is read and
          // dropped, never held, so a keep-alive client gets the answer (closing with its body unread
          // would reset the connection and lose it) and can retry on the same connection.
          boolean keepAlive = io.netty.handler.codec.http.HttpUtil.isKeepAlive(m);
          discarding = !(msg instanceof io.netty.handler.codec.http.LastHttpContent);
          io.netty.util.ReferenceCountUtil.release(msg);
          ctx.fireChannelRead(new RiakHandler.Rejection(m instanceof io.netty.handler.codec.http.HttpRequest q
              ? q.method() : io.netty.handler.codec.http.HttpMethod.GET,
              io.netty.handler.codec.http.HttpResponseStatus.SERVICE_UNAVAILABLE,
              "too many request bytes in flight; retry later\n", keepAlive));
          return;
        }
        java.util.ArrayDeque<Long> q = ctx.channel().attr(RiakHandler.RESERVED).get();
        if (q == null) {
          q = new java.util.ArrayDeque<>();
          ctx.channel().attr(RiakHandler.RESERVED).set(q);
        }
        q.addLast(reserve); // held until this request is answered (or the connection closes)
      }
      ctx.fireChannelRead(msg);
    }
  }

  /**
   * Aggregates bodies up to max-value-bytes. A larger one gets 413; on a keep-alive connection its
   * body is read and discarded (closing with unread bytes would reset the connection and lose the
   * answer), otherwise the connection closes.
   */
  private final class Aggregator extends HttpObjectAggregator {
    private final int max;

    Aggregator(int max) {
      super(max, true);
      this.max = max;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
      // the aggregator releases `oversized` after this returns
      java.util.ArrayDeque<Long> q = ctx.channel().attr(RiakHandler.RESERVED).get();
      Long reserved = q == null ? null : q.pollLast(); // the oversized request's, which RiakHandler never sees
      release(reserved == null ? 0 : reserved);
      boolean keepAlive = io.netty.handler.codec.http.HttpUtil.isKeepAlive(oversized)
          && !(oversized instanceof io.netty.handler.codec.http.FullHttpMessage);
      // Answered by RiakHandler in its turn, after the pipelined requests before it; the aggregator
      // drops the body as it arrives, and without keep-alive RiakHandler lingers after the answer.
      ctx.fireChannelRead(new RiakHandler.Rejection(oversized instanceof io.netty.handler.codec.http.HttpRequest req
          ? req.method() : io.netty.handler.codec.http.HttpMethod.PUT,
          io.netty.handler.codec.http.HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
          "value too large: at most " + max + " bytes\n", keepAlive));
    }
  }
}
