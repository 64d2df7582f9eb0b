package io.epochal.common.lifecycle;

import java.util.Objects;

/**
 * A long-running part of a daemon: a server, a flusher, a client pool. Daemons assemble components
 * into a {@link LifecycleStack} that starts them in order and stops them in reverse.
 *
 * <p>Contract every implementation keeps:
 *
 * <ul>
 *   <li>{@link #start()} is idempotent: a second call on a started component does nothing. It may
 *       throw; a component whose start failed must release whatever it acquired when {@link
 *       #stop()} is called afterwards.
 *   <li>{@link #stop()} is idempotent, safe to call on a component that was never started or whose
 *       start failed, and flushes what the component holds before returning. It should not throw;
 *       a stack logs an exception from {@code stop} and goes on stopping the other components.
 *   <li>A stopped component is not restarted; build a new one instead.
 * </ul>
 *
 * <p>{@link AbstractLifecycleComponent} implements this bookkeeping for subclasses.
 */
public interface LifecycleComponent {

  /** A short, stable name for logs, e.g. {@code "admin-server"} or {@code "udp-receiver"}. */
  String name();

  /**
   * Starts the component: binds ports, starts threads, opens files.
   *
   * @throws Exception when the component cannot start (the port is taken, the directory is not
   *     writable); the caller then calls {@link #stop()}
   */
  void start() throws Exception;

  /** Stops the component and releases its resources; idempotent, never fails for a second call. */
  void stop();

  /** A task that starts or stops something and may throw. */
  @FunctionalInterface
  interface Action {
    void run() throws Exception;
  }

  /**
   * Adapts a pair of actions into a component with the usual idempotence, e.g. to close a meter
   * registry as the last step of a daemon: {@code LifecycleComponent.of("metrics", () -> {},
   * registry::close)}. {@code stop} runs at most once, and only if {@code start} was called.
   */
  static LifecycleComponent of(String name, Action start, Runnable stop) {
    Objects.requireNonNull(start, "start");
    Objects.requireNonNull(stop, "stop");
    return new AbstractLifecycleComponent(name) {
      @Override
      protected void doStart() throws Exception {
        start.run();
      }

      @Override
      protected void doStop() {
        stop.run();
      }
    };
  }
}
