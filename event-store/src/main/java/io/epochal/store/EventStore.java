package io.epochal.store;

import io.epochal.common.lifecycle.LifecycleStack;
import io.epochal.store.http.StoreHttpServer;
import io.epochal.store.node.StoreMetrics;
import io.epochal.store.node.StoreNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;

/**
 * The event-store daemon: a {@link StoreNode} (the partitions' engines and the coordinator) behind
 * the Riak-compatible HTTP API. Parts start in that order and stop in reverse, so on shutdown the
 * HTTP server stops taking requests, then the node finishes its queued work, fsyncs and closes
 * every engine (hint files complete, so the next start reads no data file).
 *
 * <pre>{@code
 * EventStore store = new EventStore(config, Clock.systemUTC());
 * store.start();
 * int port = store.httpPort();     // curl http://127.0.0.1:<port>/ping
 * store.close();
 * }</pre>
 */
public final class EventStore implements AutoCloseable {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final StoreNode node;
  private final StoreHttpServer http;
  private final LifecycleStack stack;

  public EventStore(StoreConfig config, Clock clock) {
    registry.config().commonTags("node", config.nodeName());
    this.node = new StoreNode(config.node(), config.nodeName(), clock, new StoreMetrics(registry));
    this.http = new StoreHttpServer(config.http(), node, registry);
    this.stack = LifecycleStack.builder("store").add(node).add(http).build();
  }

  public void start() throws Exception {
    stack.start();
  }

  @Override
  public void close() {
    stack.close();
  }

  public LifecycleStack lifecycle() {
    return stack;
  }

  public int httpPort() {
    return http.boundPort();
  }

  public StoreNode node() {
    return node;
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }
}
