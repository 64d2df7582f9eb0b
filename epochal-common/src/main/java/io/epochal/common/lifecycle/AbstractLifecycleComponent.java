package io.epochal.common.lifecycle;

import java.util.Objects;

/**
 * Base class that gives a component the {@link LifecycleComponent} guarantees: {@link #doStart()}
 * runs at most once, {@link #doStop()} runs at most once and only if {@code doStart} was entered
 * (so it also runs after a failed start, to release what was acquired), and a stopped component
 * refuses to start again.
 *
 * <p>Thread-safe: {@code start} and {@code stop} are serialised on this object, so {@code stop}
 * called during a slow {@code start} waits for it to finish.
 */
public abstract class AbstractLifecycleComponent implements LifecycleComponent {
  private enum State {
    NEW,
    STARTED,
    FAILED,
    STOPPED
  }

  private final String name;
  private State state = State.NEW;

  protected AbstractLifecycleComponent(String name) {
    this.name = Objects.requireNonNull(name, "name");
  }

  @Override
  public final String name() {
    return name;
  }

  /**
   * Starts the component once.
   *
   * @throws IllegalStateException if the component was stopped or its earlier start failed
   * @throws Exception whatever {@link #doStart()} throws
   */
  @Override
  public final synchronized void start() throws Exception {
    switch (state) {
      case STARTED:
        return;
      case FAILED:
        throw new IllegalStateException(name + ": start failed before; stop it and build a new one");
      case STOPPED:
        throw new IllegalStateException(name + ": stopped components cannot be restarted");
      default:
        break;
    }
    try {
      doStart();
      state = State.STARTED;
    } catch (Exception | Error e) {
      state = State.FAILED;
      throw e;
    }
  }

  @Override
  public final synchronized void stop() {
    State was = state;
    state = State.STOPPED;
    if (was == State.STARTED || was == State.FAILED) {
      doStop();
    }
  }

  /** Whether {@link #start()} completed and {@link #stop()} has not been called. */
  public final synchronized boolean isRunning() {
    return state == State.STARTED;
  }

  /** Acquires resources; on failure it may leave them half-acquired for {@link #doStop()}. */
  protected abstract void doStart() throws Exception;

  /**
   * Releases resources; must cope with a partially completed {@link #doStart()} (null fields).
   */
  protected abstract void doStop();

  @Override
  public String toString() {
    return name;
  }
}
