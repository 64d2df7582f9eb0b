package io.epochal.common.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.epochal.common.lifecycle.AbstractLifecycleComponent;
import io.epochal.common.log.RateLimitedLog;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin HTTP/1.1 endpoint of a daemon (Netty, one event-loop thread):
 *
 * <ul>
 *   <li>{@code GET /metrics} — the Prometheus registry in text format 0.0.4, or OpenMetrics 1.0
 *       when the {@code Accept} header asks for {@code application/openmetrics-text}; {@code
 *       name[]} query parameters restrict the output to those metric families (the name without
 *       {@code _total}, e.g. {@code name[]=epochal_aggregator_datagrams});
 *   <li>{@code GET /health} — {@code {"status":"UP","checks":{"spool":{"status":"UP"}}}} from
 *       the health supplier; 200 when every check is up, 503 when one is down or the supplier
 *       throws.
 * </ul>
 *
 * <p>{@code HEAD} is answered like {@code GET} without a body; other methods get 405, other paths
 * 404. Connections are kept alive; requests larger than {@link Builder#maxRequestBytes} get 413
 * and connections idle for {@link Builder#idleTimeout} are closed.
 *
 * <pre>{@code
 * AdminServer admin = AdminServer.builder(prometheusRegistry)
 *     .host("0.0.0.0").port(9100)            // port 0 picks a free port, see boundPort()
 *     .health(() -> Map.of("spool", spool.health()))
 *     .build();
 * stack.add(admin);                          // a LifecycleComponent; started/stopped by the stack
 * }</pre>
 *
 * <p>The health supplier and the scrape run on the event-loop thread: the supplier must return
 * quickly from state the components keep up to date, not perform I/O. Thread-safe.
 */
public final class AdminServer extends AbstractLifecycleComponent {
  /** Content type of the Prometheus text format 0.0.4. */
  public static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  /** Content type of OpenMetrics text 1.0.0. */
  public static final String OPENMETRICS_TEXT =
      "application/openmetrics-text; version=1.0.0; charset=utf-8";

  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ALLOWED_METHODS = "GET, HEAD";

  private final String host;
  private final int port;
  private final PrometheusMeterRegistry registry;
  private final Supplier<Map<String, Health>> health;
  private final Duration idleTimeout;
  private final int maxRequestBytes;
  private final RateLimitedLog healthLog = new RateLimitedLog(log);

  private EventLoopGroup group;
  private Channel serverChannel;
  private volatile InetSocketAddress boundAddress;

  private AdminServer(Builder b) {
    super(b.name);
    this.host = b.host;
    this.port = b.port;
    this.registry = b.registry;
    this.health = b.health;
    this.idleTimeout = b.idleTimeout;
    this.maxRequestBytes = b.maxRequestBytes;
  }

  /** Starts building a server that exposes {@code registry}. */
  public static Builder builder(PrometheusMeterRegistry registry) {
    return new Builder(registry);
  }

  /** Settings of an {@link AdminServer}. Not thread-safe. */
  public static final class Builder {
    private final PrometheusMeterRegistry registry;
    private String name = "admin-server";
    private String host = "0.0.0.0";
    private int port = 0;
    private Supplier<Map<String, Health>> health = Map::of;
    private Duration idleTimeout = Duration.ofSeconds(60);
    private int maxRequestBytes = 64 * 1024;

    private Builder(PrometheusMeterRegistry registry) {
      this.registry = Objects.requireNonNull(registry, "registry");
    }

    /** The component name in logs; default {@code admin-server}. */
    public Builder name(String name) {
      this.name = Objects.requireNonNull(name, "name");
      return this;
    }

    /** The address to bind; default {@code 0.0.0.0} (all interfaces). */
    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /** The port to bind, 0 (the default) for any free port; see {@link AdminServer#boundPort()}. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be in [0, 65535]: " + port);
      }
      this.port = port;
      return this;
    }

    /**
     * The health checks by name, asked on every {@code /health} request; default none (always
     * up). Must be fast and non-blocking.
     */
    public Builder health(Supplier<Map<String, Health>> checks) {
      this.health = Objects.requireNonNull(checks, "checks");
      return this;
    }

    /** Connections without traffic for this long are closed; default 60 s. */
    public Builder idleTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("idle timeout must be positive: " + timeout);
      }
      this.idleTimeout = timeout;
      return this;
    }

    /** The largest accepted request including body; default 64 KiB. */
    public Builder maxRequestBytes(int bytes) {
      if (bytes < 1024) {
        throw new IllegalArgumentException("max request bytes must be at least 1024: " + bytes);
      }
      this.maxRequestBytes = bytes;
      return this;
    }

    public AdminServer build() {
      return new AdminServer(this);
    }
  }

  /**
   * Binds the port and starts serving.
   *
   * @throws Exception if the address cannot be bound (e.g. {@link java.net.BindException})
   */
  @Override
  protected void doStart() throws Exception {
    group = new MultiThreadIoEventLoopGroup(
        1, new DefaultThreadFactory("epochal-admin", true), NioIoHandler.newFactory());
    Handler handler = new Handler();
    ServerBootstrap bootstrap =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(new IdleStateHandler(0, 0, idleTimeout.toMillis(), TimeUnit.MILLISECONDS))
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpServerKeepAliveHandler())
                        .addLast(new HttpObjectAggregator(maxRequestBytes))
                        .addLast(handler);
                  }
                });
    serverChannel = bootstrap.bind(host, port).sync().channel();
    boundAddress = (InetSocketAddress) serverChannel.localAddress();
    log.info("{} serving /metrics and /health on {}:{}", name(), host, boundAddress.getPort());
  }

  @Override
  protected void doStop() {
    if (serverChannel != null) {
      serverChannel.close().awaitUninterruptibly();
    }
    if (group != null) {
      // No quiet period: the admin endpoint holds no data worth finishing requests for.
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
  }

  /**
   * The bound port, the actual one when configured with 0.
   *
   * @throws IllegalStateException if the server has not been started
   */
  public int boundPort() {
    return boundAddress().getPort();
  }

  /**
   * The bound address.
   *
   * @throws IllegalStateException if the server has not been started
   */
  public InetSocketAddress boundAddress() {
    InetSocketAddress a = boundAddress;
    if (a == null) {
      throw new IllegalStateException(name() + " is not started");
    }
    return a;
  }

  @ChannelHandler.Sharable
  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      if (request.decoderResult().isFailure()) {
        FullHttpResponse response =
            text(request, HttpResponseStatus.BAD_REQUEST, "bad request\n");
        HttpUtil.setKeepAlive(response, false);
        ctx.writeAndFlush(response);
        return;
      }
      QueryStringDecoder uri = new QueryStringDecoder(request.uri());
      String path = uri.path();
      if (!path.equals("/metrics") && !path.equals("/health")) {
        ctx.writeAndFlush(text(request, HttpResponseStatus.NOT_FOUND, "not found: " + path + "\n"));
        return;
      }
      HttpMethod method = request.method();
      if (!method.equals(HttpMethod.GET) && !method.equals(HttpMethod.HEAD)) {
        FullHttpResponse response =
            text(request, HttpResponseStatus.METHOD_NOT_ALLOWED, "method not allowed\n");
        response.headers().set(HttpHeaderNames.ALLOW, ALLOWED_METHODS);
        ctx.writeAndFlush(response);
        return;
      }
      FullHttpResponse response =
          path.equals("/metrics") ? metrics(ctx, request, uri) : health(ctx, request);
      if (method.equals(HttpMethod.HEAD)) {
        // Content-Length stays that of the GET body; the codec sends no body for HEAD.
        FullHttpResponse head = response.replace(Unpooled.EMPTY_BUFFER);
        response.release();
        response = head;
      }
      ctx.writeAndFlush(response);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof IdleStateEvent) {
        ctx.close();
      } else {
        super.userEventTriggered(ctx, evt);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // Resets and half-sent requests from scrapers are routine; they only concern this connection.
      log.debug("{}: closing connection from {}", name(), ctx.channel().remoteAddress(), cause);
      ctx.close();
    }
  }

  private FullHttpResponse metrics(ChannelHandlerContext ctx, FullHttpRequest request, QueryStringDecoder uri) {
    String accept = request.headers().get(HttpHeaderNames.ACCEPT);
    String contentType =
        accept != null && accept.contains("application/openmetrics-text") ? OPENMETRICS_TEXT : PROMETHEUS_TEXT;
    List<String> names = uri.parameters().get("name[]");
    ByteBuf body = ctx.alloc().buffer(16 * 1024);
    try (ByteBufOutputStream out = new ByteBufOutputStream(body)) {
      registry.scrape(out, contentType, names == null ? null : Set.copyOf(names));
    } catch (IOException | RuntimeException e) {
      body.release();
      log.warn("{}: scraping the meter registry failed", name(), e);
      return text(request, HttpResponseStatus.INTERNAL_SERVER_ERROR, "scrape failed\n");
    }
    return response(request, HttpResponseStatus.OK, contentType, body);
  }

  private FullHttpResponse health(ChannelHandlerContext ctx, FullHttpRequest request) {
    ObjectNode root = JSON.createObjectNode();
    Map<String, Health> checks;
    String error = null;
    try {
      checks = new LinkedHashMap<>(health.get());
    } catch (RuntimeException e) {
      healthLog.warn("health-supplier-failed", "{}: the health supplier threw", name(), e);
      checks = Map.of();
      error = String.valueOf(e);
    }
    boolean up = error == null && checks.values().stream().allMatch(Health::healthy);
    root.put("status", up ? "UP" : "DOWN");
    ObjectNode checksNode = root.putObject("checks");
    checks.forEach(
        (checkName, h) -> {
          ObjectNode node = checksNode.putObject(checkName);
          node.put("status", h.healthy() ? "UP" : "DOWN");
          if (h.detail() != null) {
            node.put("detail", h.detail());
          }
        });
    if (error != null) {
      root.put("error", error);
    }
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise a JSON tree", e);
    }
    return response(
        request,
        up ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
        HttpHeaderValues.APPLICATION_JSON.toString(),
        Unpooled.wrappedBuffer(json));
  }

  private static FullHttpResponse text(FullHttpRequest request, HttpResponseStatus status, String body) {
    return response(
        request,
        status,
        "text/plain; charset=utf-8",
        Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
  }

  private static FullHttpResponse response(
      FullHttpRequest request, HttpResponseStatus status, String contentType, ByteBuf body) {
    HttpVersion version = request.protocolVersion();
    FullHttpResponse response = new DefaultFullHttpResponse(version, status, body);
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, contentType)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
        .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
    return response;
  }
}
