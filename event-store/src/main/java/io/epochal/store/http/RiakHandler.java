package io.epochal.store.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.epochal.store.StoreErrorCode;
import io.epochal.store.StoreException;
import io.epochal.store.node.BucketProps;
import io.epochal.store.node.Quorum;
import io.epochal.store.node.RiakObject;
import io.epochal.store.node.StoreNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.AttributeKey;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Riak's HTTP API for one connection (docs/http-api.md): routes a whole request, runs it on the
 * {@link StoreNode} (off the event loop) and writes the answer. One request at a time: reads
 * pause until the answer is written.
 */
final class RiakHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(RiakHandler.class);
  /**
   * Body-budget reservations of this connection's requests, oldest first, one per request decoded
   * (0 for one without a body): pipelined requests each hold theirs until answered. Event loop only.
   */
  static final AttributeKey<java.util.ArrayDeque<Long>> RESERVED = AttributeKey.valueOf("epochal.reserved");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TEXT = "text/plain";
  private static final String APPLICATION_JSON = "application/json";
  private static final String OBJECT_METHODS = "GET, HEAD, PUT, POST, DELETE";
  /** RFC 9110 IMF-fixdate: two-digit day, GMT. */
  static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'",
      java.util.Locale.US);

  /** Pipelined requests decoded while one is being served; answered in order. */
  private static final int MAX_PIPELINED = 16;

  private final StoreNode node;
  private final PrometheusMeterRegistry registry;
  private final LongConsumer releaseBytes;
  /** Decoded while one is served: {@link FullHttpRequest}s and {@link Rejection}s, in arrival order. */
  private final java.util.ArrayDeque<Object> pipelined = new java.util.ArrayDeque<>();
  private boolean inFlight;
  /**
   * After a closing answer to a {@link Rejection}: output shut down, the rest of the client's bytes
   * read and dropped until it closes (or the idle timeout does), so the answer is not lost to a
   * reset from closing with unread input.
   */
  private boolean lingering;

  /**
   * A request answered before it reached this handler (its body over max-value-bytes, or over the
   * bytes-in-flight budget), passed down the pipeline in its place so that its answer takes its
   * turn among the pipelined requests. It holds no body and no budget reservation.
   *
   * @param keepAlive whether the connection stays open after the answer (else it closes)
   */
  record Rejection(HttpMethod method, HttpResponseStatus status, String text, boolean keepAlive) {}

  RiakHandler(StoreNode node, PrometheusMeterRegistry registry, LongConsumer releaseBytes,
      java.util.concurrent.ConcurrentMap<String, Counter> requestCounters) {
    this.node = node;
    this.registry = registry;
    this.releaseBytes = releaseBytes;
    this.requestCounters = requestCounters;
  }

  /** A parsed request: method, decoded path segments, query, and the request itself. */
  private record Call(ChannelHandlerContext ctx, FullHttpRequest req, HttpMethod method, List<byte[]> path,
      Map<String, List<String>> query, boolean keepAlive) {
    String param(String name) {
      List<String> v = query.get(name);
      return v == null || v.isEmpty() ? null : v.get(0);
    }

    String segment(int i) {
      return new String(path.get(i), StandardCharsets.UTF_8);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (lingering || !(msg instanceof FullHttpRequest) && !(msg instanceof Rejection)) {
      io.netty.util.ReferenceCountUtil.release(msg);
      return;
    }
    ctx.channel().config().setAutoRead(false);
    if (inFlight) {
      if (pipelined.size() >= MAX_PIPELINED) {
        io.netty.util.ReferenceCountUtil.release(msg);
        ctx.close();
        return;
      }
      pipelined.add(msg);
      return;
    }
    serve(ctx, msg);
  }

  private void serve(ChannelHandlerContext ctx, Object msg) {
    inFlight = true;
    if (msg instanceof Rejection r) {
      text(new Call(ctx, null, r.method(), List.of(), Map.of(), r.keepAlive()), r.status(), r.text());
      return;
    }
    FullHttpRequest req = (FullHttpRequest) msg;
    DecoderResult dr = req.decoderResult();
    if (dr.isFailure()) {
      Throwable cause = dr.cause();
      HttpResponseStatus status = cause instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
          : cause instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
              : HttpResponseStatus.BAD_REQUEST;
      Call call = new Call(ctx, req, req.method(), List.of(), Map.of(), false);
      text(call, status, "malformed request: " + cause.getMessage() + "\n");
      return;
    }
    Call call;
    try {
      QueryStringDecoder q = new QueryStringDecoder(req.uri());
      call = new Call(ctx, req, req.method(), segments(q.rawPath()), q.parameters(), HttpUtil.isKeepAlive(req));
    } catch (IllegalArgumentException e) {
      text(new Call(ctx, req, req.method(), List.of(), Map.of(), false), HttpResponseStatus.BAD_REQUEST,
          "malformed URL: " + e.getMessage() + "\n");
      return;
    }
    try {
      route(call);
    } catch (StoreException e) {
      error(call, e);
    } catch (RuntimeException e) {
      log.error("{} {} failed", req.method(), req.uri(), e);
      text(call, HttpResponseStatus.INTERNAL_SERVER_ERROR, "Error:\n" + e + "\n");
    }
  }

  // ----------------------------------------------------------------------------------- routing

  private void route(Call c) throws StoreException {
    List<byte[]> p = c.path();
    int n = p.size();
    String first = n > 0 ? c.segment(0) : "";
    if (n == 1 && first.equals("ping")) {
      allow(c, "GET, HEAD");
      text(c, HttpResponseStatus.OK, "OK");
    } else if (n == 1 && first.equals("health")) {
      allow(c, "GET, HEAD");
      List<Integer> failed = node.failedPartitions();
      ObjectNode body = JSON.createObjectNode();
      body.put("status", failed.isEmpty() ? "UP" : "DOWN");
      body.put("partitions", node.partitions());
      body.set("failed_partitions", JSON.valueToTree(failed));
      body.put("queued_requests", node.queuedRequests());
      json(c, failed.isEmpty() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, body);
    } else if (n == 1 && first.equals("stats")) {
      allow(c, "GET, HEAD");
      json(c, HttpResponseStatus.OK, JSON.valueToTree(node.riakStats()));
    } else if (n == 1 && first.equals("metrics")) {
      allow(c, "GET, HEAD");
      send(c, HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
          Unpooled.copiedBuffer(registry.scrape(), StandardCharsets.UTF_8), null);
    } else if (first.equals("buckets") && n == 3 && c.segment(2).equals("props")) {
      props(c, bucket(c, 1));
    } else if (first.equals("buckets") && n == 3 && c.segment(2).equals("keys")) {
      if (c.method().equals(HttpMethod.POST)) {
        put(c, bucket(c, 1), randomKey(), true);
      } else {
        allow(c, "POST");
      }
    } else if (first.equals("buckets") && n == 4 && c.segment(2).equals("keys")) {
      object(c, bucket(c, 1), key(c, 3));
    } else if (first.equals("riak") && n == 2) {
      props(c, bucket(c, 1));
    } else if (first.equals("riak") && n == 3) {
      object(c, bucket(c, 1), key(c, 2));
    } else {
      text(c, HttpResponseStatus.NOT_FOUND, "not found\n");
    }
  }

  /** Throws 405 (with Allow) unless the method is one of {@code allowed}. */
  private static void allow(Call c, String allowed) throws StoreException {
    for (String m : allowed.split(", ")) {
      if (m.equals(c.method().name())) {
        return;
      }
    }
    throw new MethodNotAllowed(allowed);
  }

  private static final class MethodNotAllowed extends StoreException {
    private static final long serialVersionUID = 1L;
    final String allowed;

    MethodNotAllowed(String allowed) {
      super(StoreErrorCode.BAD_REQUEST, "method not allowed; allowed: " + allowed + "\n");
      this.allowed = allowed;
    }
  }

  private void object(Call c, String bucket, byte[] key) throws StoreException {
    HttpMethod m = c.method();
    if (m.equals(HttpMethod.GET) || m.equals(HttpMethod.HEAD)) {
      get(c, bucket, key);
    } else if (m.equals(HttpMethod.PUT) || m.equals(HttpMethod.POST)) {
      put(c, bucket, key, false);
    } else if (m.equals(HttpMethod.DELETE)) {
      delete(c, bucket, key);
    } else {
      allow(c, OBJECT_METHODS);
    }
  }

  // ----------------------------------------------------------------------------------- objects

  private void get(Call c, String bucket, byte[] key) throws StoreException {
    StoreNode.ReadOptions o = new StoreNode.ReadOptions(quorum(c, "r"), quorum(c, "pr"), bool(c, "notfound_ok"),
        bool(c, "basic_quorum"), timeout(c));
    node.get(bucket, key, o).whenComplete((obj, e) -> {
      if (e != null) {
        failed(c, e);
      } else if (obj == null) {
        text(c, HttpResponseStatus.NOT_FOUND, "not found\n");
      } else if (notModified(c, obj)) {
        FullHttpResponse r = response(HttpResponseStatus.NOT_MODIFIED, Unpooled.EMPTY_BUFFER);
        objectHeaders(r.headers(), obj);
        r.headers().remove(HttpHeaderNames.CONTENT_TYPE);
        obj.release();
        write(c, r);
      } else {
        sendObject(c, HttpResponseStatus.OK, obj, null);
      }
    });
  }

  private static boolean notModified(Call c, RiakObject.Stored obj) {
    String inm = c.req().headers().get(HttpHeaderNames.IF_NONE_MATCH);
    if (inm != null) {
      String etag = "\"" + obj.get(RiakObject.VTAG) + "\"";
      for (String t : inm.split(",")) {
        String tag = t.trim();
        if (tag.equals("*") || tag.equals(etag) || tag.equals("W/" + etag)) {
          return true;
        }
      }
      return false;
    }
    String ims = c.req().headers().get(HttpHeaderNames.IF_MODIFIED_SINCE);
    if (ims != null) {
      try {
        long since = ZonedDateTime.parse(ims, DateTimeFormatter.RFC_1123_DATE_TIME).toEpochSecond();
        return obj.lastModified() / 1000 <= since;
      } catch (DateTimeParseException ignored) {
        return false; // RFC 9110: an invalid date is ignored
      }
    }
    return false;
  }

  private void put(Call c, String bucket, byte[] key, boolean created) throws StoreException {
    String ctype = c.req().headers().get(HttpHeaderNames.CONTENT_TYPE);
    if (ctype == null) {
      throw new UnsupportedMedia("Missing Content-Type request header");
    }
    String media = ctype.split(";", 2)[0].trim();
    if (media.split("/", -1).length != 2 || media.startsWith("/") || media.endsWith("/")) {
      throw new UnsupportedMedia("\"" + media + "\" is not a valid media type for the Content-type header.\n");
    }
    boolean returnBody = "true".equalsIgnoreCase(c.param("returnbody"));
    StoreNode.WriteOptions o = new StoreNode.WriteOptions(quorum(c, "w"), quorum(c, "dw"), quorum(c, "pw"),
        returnBody, timeout(c));
    HttpHeaders h = c.req().headers();
    List<RiakObject.Meta> meta = new ArrayList<>();
    meta.add(new RiakObject.Meta(RiakObject.CONTENT_TYPE, ctype));
    String enc = h.get(HttpHeaderNames.CONTENT_ENCODING);
    if (enc != null) {
      meta.add(new RiakObject.Meta(RiakObject.CONTENT_ENCODING, enc));
    }
    String link = h.get("Link");
    if (link != null) {
      meta.add(new RiakObject.Meta(RiakObject.LINK, link));
    }
    for (Map.Entry<String, String> e : h) {
      if (e.getKey().regionMatches(true, 0, RiakObject.USER_META_PREFIX, 0, RiakObject.USER_META_PREFIX.length())) {
        meta.add(new RiakObject.Meta(e.getKey(), e.getValue()));
      }
    }
    StoreNode.ObjectWrite w = new StoreNode.ObjectWrite(meta, h.get("X-Riak-Vclock"), c.req().content());
    node.put(bucket, key, w, o).whenComplete((obj, e) -> {
      if (e != null) {
        failed(c, e);
        return;
      }
      String location = created ? "/buckets/" + encode(bucket.getBytes(StandardCharsets.UTF_8)) + "/keys/"
          + encode(key) : null;
      HttpResponseStatus status = created ? HttpResponseStatus.CREATED
          : obj != null ? HttpResponseStatus.OK : HttpResponseStatus.NO_CONTENT;
      if (obj != null) {
        sendObject(c, status, obj, location);
      } else {
        FullHttpResponse r = response(status, Unpooled.EMPTY_BUFFER);
        if (location != null) {
          r.headers().set(HttpHeaderNames.LOCATION, location);
        }
        write(c, r);
      }
    });
  }

  private static final class UnsupportedMedia extends StoreException {
    private static final long serialVersionUID = 1L;

    UnsupportedMedia(String message) {
      super(StoreErrorCode.BAD_REQUEST, message);
    }
  }

  private void delete(Call c, String bucket, byte[] key) throws StoreException {
    Quorum w = c.param("rw") != null && c.param("w") == null ? quorum(c, "rw") : quorum(c, "w");
    StoreNode.WriteOptions o = new StoreNode.WriteOptions(w, quorum(c, "dw"), quorum(c, "pw"), false, timeout(c));
    node.delete(bucket, key, o).whenComplete((existed, e) -> {
      if (e != null) {
        failed(c, e);
      } else if (existed) {
        write(c, response(HttpResponseStatus.NO_CONTENT, Unpooled.EMPTY_BUFFER));
      } else {
        text(c, HttpResponseStatus.NOT_FOUND, "not found\n");
      }
    });
  }

  private void sendObject(Call c, HttpResponseStatus status, RiakObject.Stored obj, String location) {
    boolean head = c.method().equals(HttpMethod.HEAD);
    FullHttpResponse r = response(status, head ? Unpooled.EMPTY_BUFFER : obj.data());
    HttpHeaders h = r.headers();
    objectHeaders(h, obj);
    if (location != null) {
      h.set(HttpHeaderNames.LOCATION, location);
    }
    h.setInt(HttpHeaderNames.CONTENT_LENGTH, obj.data().readableBytes());
    if (head) {
      obj.release();
    }
    write(c, r, !head);
  }

  private static void objectHeaders(HttpHeaders h, RiakObject.Stored obj) {
    String ctype = obj.get(RiakObject.CONTENT_TYPE);
    h.set(HttpHeaderNames.CONTENT_TYPE, ctype != null ? ctype : "application/octet-stream");
    for (RiakObject.Meta m : obj.meta()) {
      switch (m.name()) {
        case RiakObject.CONTENT_TYPE -> { }
        case RiakObject.CONTENT_ENCODING -> h.set(HttpHeaderNames.CONTENT_ENCODING, m.value());
        case RiakObject.VTAG -> h.set(HttpHeaderNames.ETAG, "\"" + m.value() + "\"");
        case RiakObject.VCLOCK -> h.set("X-Riak-Vclock", m.value());
        case RiakObject.LINK -> h.set("Link", m.value());
        default -> h.add(m.name(), m.value());
      }
    }
    h.set(HttpHeaderNames.LAST_MODIFIED, HTTP_DATE.format(Instant.ofEpochMilli(obj.lastModified()).atZone(ZoneOffset.UTC)));
  }

  // ------------------------------------------------------------------------------------- props

  private void props(Call c, String bucket) throws StoreException {
    HttpMethod m = c.method();
    if (m.equals(HttpMethod.GET) || m.equals(HttpMethod.HEAD)) {
      json(c, HttpResponseStatus.OK, wrap(node.buckets().get(bucket)));
      return;
    }
    if (m.equals(HttpMethod.PUT) || m.equals(HttpMethod.POST)) {
      String ctype = c.req().headers().get(HttpHeaderNames.CONTENT_TYPE);
      if (ctype == null || !ctype.split(";", 2)[0].trim().equalsIgnoreCase(APPLICATION_JSON)) {
        throw new UnsupportedMedia("bucket properties must be sent as application/json\n");
      }
      JsonNode body;
      try {
        body = JSON.readTree(new ByteBufInputStream(c.req().content().duplicate()));
      } catch (java.io.IOException e) {
        throw new StoreException(StoreErrorCode.BAD_REQUEST, "malformed JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()) + "\n");
      }
      if (body == null || !body.isObject() || !body.has("props") || !body.get("props").isObject()) {
        throw new StoreException(StoreErrorCode.BAD_REQUEST, "expected {\"props\":{...}}\n");
      }
      try {
        node.buckets().set(bucket, body.get("props"));
      } catch (java.io.IOException e) {
        throw new StoreException(StoreErrorCode.IO_ERROR, "saving bucket properties failed: " + e.getMessage(), e);
      }
      write(c, response(HttpResponseStatus.NO_CONTENT, Unpooled.EMPTY_BUFFER));
      return;
    }
    if (m.equals(HttpMethod.DELETE)) {
      try {
        node.buckets().reset(bucket);
      } catch (java.io.IOException e) {
        throw new StoreException(StoreErrorCode.IO_ERROR, "saving bucket properties failed: " + e.getMessage(), e);
      }
      write(c, response(HttpResponseStatus.NO_CONTENT, Unpooled.EMPTY_BUFFER));
      return;
    }
    allow(c, "GET, HEAD, PUT, POST, DELETE");
  }

  private static ObjectNode wrap(BucketProps p) {
    ObjectNode o = JSON.createObjectNode();
    o.set("props", p.toJson());
    return o;
  }

  // -------------------------------------------------------------------------------- parameters

  private static Quorum quorum(Call c, String name) throws StoreException {
    String v = c.param(name);
    return v == null ? Quorum.DEFAULT : Quorum.parse(name, v);
  }

  private static Boolean bool(Call c, String name) throws StoreException {
    String v = c.param(name);
    if (v == null || v.equalsIgnoreCase("default")) {
      return null;
    }
    if (v.equalsIgnoreCase("true")) {
      return true;
    }
    if (v.equalsIgnoreCase("false")) {
      return false;
    }
    throw new StoreException(StoreErrorCode.BAD_REQUEST, name + " query parameter must be true or false\n");
  }

  private static Duration timeout(Call c) throws StoreException {
    String v = c.param("timeout");
    if (v == null) {
      return null;
    }
    try {
      long ms = Long.parseLong(v);
      if (ms > 0) {
        return Duration.ofMillis(ms);
      }
    } catch (NumberFormatException e) {
      // Riak's message below
    }
    throw new StoreException(StoreErrorCode.BAD_REQUEST, "Bad timeout value \"" + v + "\"\n");
  }

  private static String bucket(Call c, int i) throws StoreException {
    byte[] b = c.path().get(i);
    String s = new String(b, StandardCharsets.UTF_8);
    if (b.length == 0 || b.length > 255 || !java.util.Arrays.equals(s.getBytes(StandardCharsets.UTF_8), b)) {
      throw new StoreException(StoreErrorCode.BAD_REQUEST, "bucket must be 1 to 255 bytes of UTF-8\n");
    }
    return s;
  }

  private static byte[] key(Call c, int i) throws StoreException {
    byte[] k = c.path().get(i);
    int max = 0xFFFF - 1 - c.path().get(1).length;
    if (k.length == 0 || k.length > max) {
      throw new StoreException(StoreErrorCode.BAD_REQUEST, "key must be 1 to " + max + " bytes\n");
    }
    return k;
  }

  private static byte[] randomKey() {
    String digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    ThreadLocalRandom r = ThreadLocalRandom.current();
    StringBuilder b = new StringBuilder(22);
    for (int i = 0; i < 22; i++) {
      b.append(digits.charAt(r.nextInt(62)));
    }
    return b.toString().getBytes(StandardCharsets.US_ASCII);
  }

  /** Splits a raw path on '/' and percent-decodes each segment to bytes. */
  static List<byte[]> segments(String rawPath) {
    List<byte[]> out = new ArrayList<>();
    for (String s : rawPath.split("/")) {
      if (!s.isEmpty()) {
        out.add(percentDecode(s));
      }
    }
    return out;
  }

  static byte[] percentDecode(String s) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch == '%') {
        if (i + 2 >= s.length()) {
          throw new IllegalArgumentException("truncated escape in \"" + s + "\"");
        }
        int hi = Character.digit(s.charAt(i + 1), 16);
        int lo = Character.digit(s.charAt(i + 2), 16);
        if (hi < 0 || lo < 0) {
          throw new IllegalArgumentException("bad escape in \"" + s + "\"");
        }
        out.write(hi << 4 | lo);
        i += 2;
      } else if (ch == '+') {
        out.write(' ');
      } else {
        byte[] b = String.valueOf(ch).getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
      }
    }
    return out.toByteArray();
  }

  static String encode(byte[] b) {
    StringBuilder s = new StringBuilder(b.length);
    for (byte x : b) {
      int c = x & 0xFF;
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
          || c == '.' || c == '~' || c == ':') {
        s.append((char) c);
      } else {
        s.append('%').append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 15, 16));
      }
    }
    return s.toString();
  }

  // ---------------------------------------------------------------------------------- answers

  private void failed(Call c, Throwable e) {
    Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    if (t instanceof StoreException se) {
      error(c, se);
    } else {
      log.error("{} {} failed", c.method(), c.req().uri(), t);
      text(c, HttpResponseStatus.INTERNAL_SERVER_ERROR, "Error:\n" + t + "\n");
    }
  }

  private void error(Call c, StoreException e) {
    if (e instanceof MethodNotAllowed m) {
      FullHttpResponse r = response(HttpResponseStatus.METHOD_NOT_ALLOWED,
          Unpooled.copiedBuffer("method not allowed\n", StandardCharsets.UTF_8));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, TEXT).set(HttpHeaderNames.ALLOW, m.allowed);
      write(c, r);
    } else if (e instanceof UnsupportedMedia) {
      text(c, HttpResponseStatus.UNSUPPORTED_MEDIA_TYPE, e.getMessage());
    } else {
      text(c, ErrorMapping.status(e.code()), e.getMessage());
    }
  }

  private void text(Call c, HttpResponseStatus status, String body) {
    send(c, status, TEXT, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8), null);
  }

  private void json(Call c, HttpResponseStatus status, JsonNode body) {
    byte[] b;
    try {
      b = JSON.writeValueAsBytes(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    send(c, status, APPLICATION_JSON, Unpooled.wrappedBuffer(b), null);
  }

  private void send(Call c, HttpResponseStatus status, String contentType, ByteBuf body, String location) {
    boolean head = c.method().equals(HttpMethod.HEAD);
    int length = body.readableBytes();
    FullHttpResponse r = response(status, head ? Unpooled.EMPTY_BUFFER : body);
    if (head) {
      body.release();
    }
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType).setInt(HttpHeaderNames.CONTENT_LENGTH, length);
    write(c, r, false);
  }

  private static FullHttpResponse response(HttpResponseStatus status, ByteBuf body) {
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
    r.headers().set(HttpHeaderNames.SERVER, "epochal-store");
    return r;
  }

  private void write(Call c, FullHttpResponse r) {
    write(c, r, false);
  }

  /** Writes the answer, releases the request, and resumes reading (or closes). From any thread. */
  private void write(Call c, FullHttpResponse r, boolean lengthSet) {
    if (!lengthSet && !r.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
      r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
    }
    boolean keepAlive = c.req() == null ? c.keepAlive() // a Rejection decided it
        : c.keepAlive() && r.status().code() < 500 || c.keepAlive()
            && r.status().equals(HttpResponseStatus.SERVICE_UNAVAILABLE);
    if (keepAlive) {
      r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
    } else {
      r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    requestCounters.computeIfAbsent(methodTag(c.method()) + " " + r.status().code(), k -> Counter
        .builder("epochal.store.http.requests").description("HTTP requests answered")
        .tag("method", methodTag(c.method())).tag("status", Integer.toString(r.status().code())).register(registry))
        .increment();
    ChannelHandlerContext ctx = c.ctx();
    ChannelFuture f = ctx.writeAndFlush(r);
    f.addListener(done -> {
      if (c.req() != null) { // a Rejection has neither a body nor a reservation
        c.req().release();
        releaseReserved(ctx);
      }
      if (!keepAlive || !done.isSuccess()) {
        if (done.isSuccess() && c.req() == null && ctx.channel() instanceof io.netty.channel.socket.DuplexChannel d) {
          lingering = true;
          inFlight = false;
          for (Object p; (p = pipelined.poll()) != null; ) {
            io.netty.util.ReferenceCountUtil.release(p);
          }
          d.shutdownOutput();
          ctx.channel().config().setAutoRead(true);
          ctx.read();
          return;
        }
        ctx.close();
        return;
      }
      inFlight = false;
      Object next = pipelined.poll();
      if (next != null) {
        serve(ctx, next);
        return;
      }
      ctx.channel().config().setAutoRead(true);
      ctx.read();
    });
  }

  /** Counters by "METHOD status", so answering does not build a meter id each time. */
  private final java.util.concurrent.ConcurrentMap<String, Counter> requestCounters;

  private static final java.util.Set<String> KNOWN_METHODS = java.util.Set.of("GET", "HEAD", "PUT", "POST", "DELETE",
      "OPTIONS", "PATCH");

  /** The method as a metric tag; unknown ones share one tag, so clients cannot grow the series. */
  private static String methodTag(HttpMethod m) {
    return KNOWN_METHODS.contains(m.name()) ? m.name() : "other";
  }

  /** Releases the reservation of the oldest request: the one just answered. */
  private void releaseReserved(ChannelHandlerContext ctx) {
    java.util.ArrayDeque<Long> q = ctx.channel().attr(RESERVED).get();
    Long reserved = q == null ? null : q.pollFirst();
    if (reserved != null) {
      releaseBytes.accept(reserved);
    }
  }

  private void releaseAllReserved(ChannelHandlerContext ctx) {
    java.util.ArrayDeque<Long> q = ctx.channel().attr(RESERVED).get();
    Long reserved;
    while (q != null && (reserved = q.pollFirst()) != null) {
      releaseBytes.accept(reserved);
    }
  }


  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent && !inFlight) {
      ctx.close();
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    releaseAllReserved(ctx);
    Object r;
    while ((r = pipelined.poll()) != null) {
      io.netty.util.ReferenceCountUtil.release(r);
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof java.io.IOException) {
      log.debug("connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
    } else {
      log.warn("connection {} failed", ctx.channel().remoteAddress(), cause);
    }
    ctx.close();
  }
}
