package io.epochal.common.lifecycle;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A daemon as an ordered stack of {@link LifecycleComponent}s (after bookkeeper's {@code
 * LifecycleComponentStack}): {@link #start()} starts them in the order they were added, {@link
 * #close()} stops them in reverse, so a component can rely on everything added before it while it
 * runs and while it flushes on the way down.
 *
 * <pre>{@code
 * LifecycleStack stack = LifecycleStack.builder("aggregator")
 *     .add(spool)              // started first, stopped last: receives what the others flush
 *     .add(udpReceiver)
 *     .add(adminServer)
 *     .build();
 * stack.installShutdownHook(); // SIGTERM / SIGINT -> stack.close()
 * stack.start();               // throws if a component fails; the started ones are stopped again
 * stack.awaitTermination();    // the main thread parks here until the stack is closed
 * }</pre>
 *
 * <p>Failure handling: if a component's {@code start} throws, the stack stops that component (to
 * release what it acquired) and then every component started before it, in reverse, and rethrows
 * the original exception with failures of those stops attached as suppressed exceptions. The stack
 * is then closed. {@link #close()} never throws: a component whose {@code stop} throws is logged
 * and the remaining components are still stopped.
 *
 * <p>Thread-safe. {@code start} and {@code close} are serialised; a {@code close} that arrives
 * during {@code start} (SIGTERM while a store recovers its files) lets the component being started
 * finish, then stops everything started so far and makes {@code start} throw.
 */
public final class LifecycleStack implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LifecycleStack.class);

  private enum State {
    NEW,
    RUNNING,
    CLOSED
  }

  private final String name;
  private final List<LifecycleComponent> components;
  private final CountDownLatch terminated = new CountDownLatch(1);
  /** Set before taking the monitor, so a start in progress sees it between components. */
  private volatile boolean closeRequested;
  /** Guarded by this. */
  private State state = State.NEW;
  /** Guarded by hookLock. */
  private Thread shutdownHook;
  private final Object hookLock = new Object();

  private LifecycleStack(String name, List<LifecycleComponent> components) {
    this.name = name;
    this.components = List.copyOf(components);
  }

  /** Starts building a stack; {@code name} (e.g. the daemon's) prefixes its log lines. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** Collects the components of a stack in start order. Not thread-safe. */
  public static final class Builder {
    private final String name;
    private final List<LifecycleComponent> components = new ArrayList<>();

    private Builder(String name) {
      this.name = Objects.requireNonNull(name, "name");
    }

    /**
     * Appends a component; it starts after and stops before all components added earlier.
     *
     * @throws IllegalArgumentException if the same component instance was already added
     */
    public Builder add(LifecycleComponent component) {
      Objects.requireNonNull(component, "component");
      for (LifecycleComponent c : components) {
        if (c == component) {
          throw new IllegalArgumentException(name + ": " + component.name() + " added twice");
        }
      }
      components.add(component);
      return this;
    }

    public LifecycleStack build() {
      return new LifecycleStack(name, components);
    }
  }

  /** The stack's name. */
  public String name() {
    return name;
  }

  /** Names of the components in start order. */
  public List<String> componentNames() {
    List<String> names = new ArrayList<>(components.size());
    for (LifecycleComponent c : components) {
      names.add(c.name());
    }
    return names;
  }

  /**
   * Starts every component in order. Does nothing if the stack is already running.
   *
   * @throws IllegalStateException if the stack was closed (also when closed while starting)
   * @throws Exception the exception of the first component that failed to start, after the stack
   *     stopped it and the components started before it
   */
  public synchronized void start() throws Exception {
    if (state == State.RUNNING) {
      return;
    }
    if (state == State.CLOSED) {
      throw new IllegalStateException(name + ": closed stacks cannot be started");
    }
    long stackStart = System.nanoTime();
    for (int i = 0; i < components.size(); i++) {
      LifecycleComponent c = components.get(i);
      if (closeRequested) {
        IllegalStateException e =
            new IllegalStateException(name + ": closed while starting, before " + c.name());
        log.warn("{}: closed while starting; stopping the {} components started", name, i);
        rollBack(i - 1, e);
        throw e;
      }
      long t0 = System.nanoTime();
      log.debug("{}: starting {}", name, c.name());
      try {
        c.start();
      } catch (Exception | Error e) {
        log.error("{}: {} failed to start; stopping it and the {} components started before it",
            name, c.name(), i, e);
        rollBack(i, e);
        throw e;
      }
      log.info("{}: started {} in {} ms", name, c.name(), millisSince(t0));
    }
    state = State.RUNNING;
    log.info("{}: started {} components in {} ms", name, components.size(), millisSince(stackStart));
  }

  /** Stops components {@code last..0} after a failed start and closes the stack. */
  private void rollBack(int last, Throwable cause) {
    for (int j = last; j >= 0; j--) {
      Throwable stopFailure = stopQuietly(components.get(j));
      if (stopFailure != null && stopFailure != cause) {
        cause.addSuppressed(stopFailure);
      }
    }
    state = State.CLOSED;
    terminated.countDown();
    removeShutdownHook();
  }

  /**
   * Stops every component in reverse order; idempotent, never throws. The first call blocks until
   * all components have stopped; later calls return at once. Removes the shutdown hook unless called
   * from it.
   */
  @Override
  public void close() {
    closeRequested = true;
    synchronized (this) {
      if (state != State.CLOSED) {
        long t0 = System.nanoTime();
        state = State.CLOSED;
        // Stopping never-started components too is harmless by contract and covers components
        // that acquired resources in their constructor.
        for (int i = components.size() - 1; i >= 0; i--) {
          stopQuietly(components.get(i));
        }
        log.info("{}: stopped in {} ms", name, millisSince(t0));
        terminated.countDown();
      }
    }
    removeShutdownHook();
  }

  /** Stops one component; returns what its stop threw, after logging it. */
  private Throwable stopQuietly(LifecycleComponent c) {
    long t0 = System.nanoTime();
    try {
      c.stop();
      log.info("{}: stopped {} in {} ms", name, c.name(), millisSince(t0));
      return null;
    } catch (Throwable t) {
      // Keep going: the components below this one still hold data that must be flushed.
      log.error("{}: {} failed to stop cleanly; continuing with the others", name, c.name(), t);
      return t;
    }
  }

  /**
   * Installs the JVM shutdown hook that closes this stack on SIGTERM, SIGINT or {@code
   * System.exit}. This is the one place a daemon installs a shutdown hook. Idempotent.
   *
   * @return this stack
   */
  public LifecycleStack installShutdownHook() {
    synchronized (hookLock) {
      if (shutdownHook == null) {
        Thread hook = new Thread(this::close, name + "-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        shutdownHook = hook;
      }
    }
    return this;
  }

  /** The installed hook thread, or null; for tests. */
  Thread shutdownHook() {
    synchronized (hookLock) {
      return shutdownHook;
    }
  }

  private void removeShutdownHook() {
    synchronized (hookLock) {
      Thread hook = shutdownHook;
      if (hook == null || hook == Thread.currentThread()) {
        return;
      }
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shutdownInProgress) {
        // The JVM is exiting and the hook will run (or runs) close(), which is idempotent.
      }
      shutdownHook = null;
    }
  }

  /**
   * Blocks until the stack is closed, by {@link #close()}, the shutdown hook or a failed {@link
   * #start()}. Code after this call in {@code main} may not run when the JVM is exiting on a
   * signal; put cleanup in components.
   *
   * @throws InterruptedException if the waiting thread is interrupted
   */
  public void awaitTermination() throws InterruptedException {
    terminated.await();
  }

  /**
   * Waits up to {@code timeout} for the stack to be closed.
   *
   * @return whether the stack is closed
   * @throws InterruptedException if the waiting thread is interrupted
   */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    return terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  private static long millisSince(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
  }

  @Override
  public String toString() {
    return name + componentNames();
  }
}
