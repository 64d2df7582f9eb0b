package io.epochal.consumer.http;

import io.epochal.zooanimal.StoreNodeAddress;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.pool.AbstractChannelPoolHandler;
import io.netty.channel.pool.ChannelHealthChecker;
import io.netty.channel.pool.FixedChannelPool;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An asynchronous HTTP/1.1 client for store nodes (Netty): a keep-alive connection pool per node,
 * connect and request timeouts, and a bound on requests in flight over all nodes (callers beyond
 * it wait in a bounded queue; beyond that they fail at once with {@link OverloadedException}).
 * Node choice and retries belong to the caller (see {@code NodeSelector}).
 *
 * <pre>{@code
 * try (StoreClient client = StoreClient.builder().maxInFlight(64).build()) {
 *   StoreClient.Response r = client.get(node, "events", "1413813813:1:WEB:app:a7.0", "r=1").join();
 *   try {
 *     if (r.status() == 200) { ByteBuf blob = r.body(); ... }
 *   } finally {
 *     r.release();
 *   }
 * }
 * }</pre>
 *
 * <p>Thread-safe. Futures complete on a Netty event-loop thread: do not block in callbacks.
 */
public final class StoreClient implements AutoCloseable {
  private static final AttributeKey<CompletableFuture<Response>> PENDING = AttributeKey.valueOf("epochal.pending");

  /**
   * An answer: status, headers and body. The caller owns {@code body} and must {@link #release()}.
   */
  public record Response(int status, HttpHeaders headers, ByteBuf body) {
    public String text() {
      return body.toString(StandardCharsets.UTF_8);
    }

    public void release() {
      body.release();
    }
  }

  /** The client's bound on queued requests was reached. */
  public static final class OverloadedException extends IOException {
    private static final long serialVersionUID = 1L;

    OverloadedException(String message) {
      super(message);
    }
  }

  private final EventLoopGroup group;
  private final Bootstrap bootstrap;
  private final int maxConnectionsPerNode;
  private final Duration requestTimeout;
  private final int maxResponseBytes;
  private final int maxInFlight;
  private final int maxQueued;
  private final Map<StoreNodeAddress, FixedChannelPool> pools = new ConcurrentHashMap<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final ConcurrentLinkedQueue<Runnable> waiting = new ConcurrentLinkedQueue<>();
  private final AtomicInteger waitingCount = new AtomicInteger();
  private volatile boolean closed;

  private StoreClient(Builder b) {
    this.group = new MultiThreadIoEventLoopGroup(b.ioThreads, new DefaultThreadFactory("store-client", true),
        NioIoHandler.newFactory());
    this.maxConnectionsPerNode = b.maxConnectionsPerNode;
    this.requestTimeout = b.requestTimeout;
    this.maxResponseBytes = b.maxResponseBytes;
    this.maxInFlight = b.maxInFlight;
    this.maxQueued = b.maxQueued;
    this.bootstrap = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) b.connectTimeout.toMillis());
  }

  public static Builder builder() {
    return new Builder();
  }

  /** {@code GET /buckets/{bucket}/keys/{key}?{query}}; query may be null. */
  public CompletableFuture<Response> get(StoreNodeAddress node, String bucket, String key, String query) {
    return request(node, HttpMethod.GET, objectPath(bucket, key, query), null, null);
  }

  /**
   * {@code PUT /buckets/{bucket}/keys/{key}?{query}} with {@code body} (the client takes
   * ownership and releases it).
   */
  public CompletableFuture<Response> put(StoreNodeAddress node, String bucket, String key, String query, ByteBuf body,
      String contentType) {
    return request(node, HttpMethod.PUT, objectPath(bucket, key, query), body, contentType);
  }

  /** The path of an object, bucket and key percent-encoded. */
  public static String objectPath(String bucket, String key, String query) {
    return "/buckets/" + encode(bucket) + "/keys/" + encode(key) + (query == null || query.isEmpty() ? "" : "?" + query);
  }

  /** Percent-encodes everything but unreserved characters and ':' (so blob keys stay readable). */
  public static String encode(String s) {
    StringBuilder b = new StringBuilder(s.length() + 8);
    for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
      int c = x & 0xFF;
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
          || c == '.' || c == '~' || c == ':') {
        b.append((char) c);
      } else {
        b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
      }
    }
    return b.toString();
  }

  /**
   * Sends one request. {@code body} (may be null) is owned by the client from here on. Fails with
   * {@link TimeoutException} after the request timeout, {@link IOException} on connection trouble,
   * {@link OverloadedException} when too many requests wait.
   */
  public CompletableFuture<Response> request(StoreNodeAddress node, HttpMethod method, String pathAndQuery,
      ByteBuf body, String contentType) {
    CompletableFuture<Response> result = new CompletableFuture<>();
    if (closed) {
      release(body);
      result.completeExceptionally(new IOException("client is closed"));
      return result;
    }
    Runnable send = () -> send(node, method, pathAndQuery, body, contentType, result);
    if (inFlight.incrementAndGet() <= maxInFlight) {
      send.run();
    } else {
      inFlight.decrementAndGet();
      if (waitingCount.incrementAndGet() > maxQueued) {
        waitingCount.decrementAndGet();
        release(body);
        result.completeExceptionally(new OverloadedException(maxInFlight + " requests in flight and " + maxQueued
            + " waiting"));
        return result;
      }
      waiting.add(send);
      drain();
    }
    return result;
  }

  private void drain() {
    while (true) {
      if (inFlight.incrementAndGet() > maxInFlight) {
        inFlight.decrementAndGet();
        return;
      }
      Runnable next = waiting.poll();
      if (next == null) {
        inFlight.decrementAndGet();
        return;
      }
      waitingCount.decrementAndGet();
      next.run();
    }
  }

  private void done() {
    inFlight.decrementAndGet();
    if (!waiting.isEmpty()) {
      drain();
    }
  }

  private void send(StoreNodeAddress node, HttpMethod method, String path, ByteBuf body, String contentType,
      CompletableFuture<Response> result) {
    result.whenComplete((r, e) -> done());
    FixedChannelPool pool = pools.computeIfAbsent(node, this::newPool);
    Future<Channel> acquired = pool.acquire();
    acquired.addListener(f -> {
      if (!f.isSuccess()) {
        release(body);
        result.completeExceptionally(new IOException("cannot connect to " + node + ": " + f.cause().getMessage(),
            f.cause()));
        return;
      }
      Channel ch = (Channel) f.getNow();
      FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, path,
          body == null ? Unpooled.EMPTY_BUFFER : body);
      req.headers().set(HttpHeaderNames.HOST, node.toString())
          .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE)
          .setInt(HttpHeaderNames.CONTENT_LENGTH, req.content().readableBytes());
      if (contentType != null) {
        req.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
      }
      CompletableFuture<Response> pending = new CompletableFuture<>();
      ch.attr(PENDING).set(pending);
      var timer = ch.eventLoop().schedule(() -> {
        if (pending.completeExceptionally(new TimeoutException(method + " " + path + " on " + node + ": no answer in "
            + requestTimeout.toMillis() + " ms"))) {
          ch.close(); // a late answer must not be read as the next request's
        }
      }, requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
      pending.whenComplete((r, e) -> {
        timer.cancel(false);
        ch.attr(PENDING).set(null);
        boolean reusable = e == null && !r.headers().contains(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE, true);
        if (!reusable) {
          ch.close();
        }
        pool.release(ch);
        if (e != null) {
          result.completeExceptionally(e);
        } else if (!result.complete(r)) {
          r.release();
        }
      });
      ch.writeAndFlush(req).addListener(w -> {
        if (!w.isSuccess()) {
          pending.completeExceptionally(new IOException("sending to " + node + " failed: " + w.cause().getMessage(),
              w.cause()));
        }
      });
    });
  }

  private FixedChannelPool newPool(StoreNodeAddress node) {
    Bootstrap b = bootstrap.clone().remoteAddress(new InetSocketAddress(node.host(), node.port()));
    return new FixedChannelPool(b, new AbstractChannelPoolHandler() {
      @Override
      public void channelCreated(Channel ch) {
        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(maxResponseBytes), new AnswerHandler());
      }
    }, ChannelHealthChecker.ACTIVE, FixedChannelPool.AcquireTimeoutAction.FAIL, requestTimeout.toMillis(),
        maxConnectionsPerNode, Integer.MAX_VALUE, true, true);
  }

  private static void release(ByteBuf body) {
    if (body != null && body.refCnt() > 0) {
      body.release();
    }
  }

  /** Completes the channel's pending request with its answer. */
  private static final class AnswerHandler extends SimpleChannelInboundHandler<FullHttpResponse> {
    AnswerHandler() {
      super(false);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse msg) {
      CompletableFuture<Response> p = ctx.channel().attr(PENDING).get();
      if (p == null || !msg.decoderResult().isSuccess()) {
        msg.release();
        ctx.close();
        if (p != null) {
          p.completeExceptionally(new IOException("malformed answer: " + msg.decoderResult().cause()));
        }
        return;
      }
      HttpHeaders h = msg.headers();
      if (!HttpUtil.isKeepAlive(msg)) {
        h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
      if (!p.complete(new Response(msg.status().code(), h, msg.content()))) {
        msg.release();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      CompletableFuture<Response> p = ctx.channel().attr(PENDING).get();
      if (p != null) {
        p.completeExceptionally(new IOException("connection closed by " + ctx.channel().remoteAddress()));
      }
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      CompletableFuture<Response> p = ctx.channel().attr(PENDING).get();
      if (p != null) {
        p.completeExceptionally(cause instanceof IOException ? cause : new IOException(cause));
      }
      ctx.close();
    }
  }

  @Override
  public void close() {
    closed = true;
    pools.values().forEach(FixedChannelPool::close);
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Settings; {@link #build()} creates the client. Not thread-safe. */
  public static final class Builder {
    private int ioThreads = 2;
    private int maxConnectionsPerNode = 8;
    private Duration connectTimeout = Duration.ofSeconds(2);
    private Duration requestTimeout = Duration.ofSeconds(10);
    private int maxResponseBytes = 64 << 20;
    private int maxInFlight = 64;
    private int maxQueued = 10_000;

    public Builder ioThreads(int n) {
      this.ioThreads = n;
      return this;
    }

    /** Keep-alive connections per node (default 8). */
    public Builder maxConnectionsPerNode(int n) {
      this.maxConnectionsPerNode = n;
      return this;
    }

    public Builder connectTimeout(Duration d) {
      this.connectTimeout = d;
      return this;
    }

    /** From sending to the whole answer, waiting for a connection included (default 10 s). */
    public Builder requestTimeout(Duration d) {
      this.requestTimeout = d;
      return this;
    }

    public Builder maxResponseBytes(int n) {
      this.maxResponseBytes = n;
      return this;
    }

    /** Requests in flight over all nodes (default 64). */
    public Builder maxInFlight(int n) {
      this.maxInFlight = n;
      return this;
    }

    /** Requests waiting for an in-flight slot before new ones fail (default 10,000). */
    public Builder maxQueued(int n) {
      this.maxQueued = n;
      return this;
    }

    public StoreClient build() {
      if (ioThreads < 1 || maxConnectionsPerNode < 1 || maxInFlight < 1 || maxQueued < 0 || maxResponseBytes < 1) {
        throw new IllegalArgumentException("client limits must be positive");
      }
      return new StoreClient(this);
    }
  }
}
