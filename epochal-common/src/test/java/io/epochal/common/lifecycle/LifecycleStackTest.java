package io.epochal.common.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import io.epochal.common.testing.LogCapture;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LifecycleStackTest {
  private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

  /** Records calls; optionally fails start or stop. Deliberately not idempotent itself. */
  private final class Part implements LifecycleComponent {
    final String name;
    Exception startFailure;
    RuntimeException stopFailure;
    CountDownLatch startGate;
    final CountDownLatch startEntered = new CountDownLatch(1);

    Part(String name) {
      this.name = name;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public void start() throws Exception {
      calls.add("start " + name);
      startEntered.countDown();
      if (startGate != null) {
        assertThat(startGate.await(10, TimeUnit.SECONDS)).isTrue();
      }
      if (startFailure != null) {
        throw startFailure;
      }
    }

    @Override
    public void stop() {
      calls.add("stop " + name);
      if (stopFailure != null) {
        throw stopFailure;
      }
    }
  }

  @Test
  void startsInOrderAndClosesInReverse() throws Exception {
    LifecycleStack stack =
        LifecycleStack.builder("d").add(new Part("a")).add(new Part("b")).add(new Part("c")).build();

    stack.start();
    assertThat(calls).containsExactly("start a", "start b", "start c");
    assertThat(stack.componentNames()).containsExactly("a", "b", "c");

    stack.close();
    assertThat(calls).containsExactly("start a", "start b", "start c", "stop c", "stop b", "stop a");
    assertThat(stack.awaitTermination(Duration.ZERO)).isTrue();
  }

  @Test
  void startAndCloseAreIdempotent() throws Exception {
    LifecycleStack stack = LifecycleStack.builder("d").add(new Part("a")).add(new Part("b")).build();

    stack.start();
    stack.start();
    stack.close();
    stack.close();

    assertThat(calls).containsExactly("start a", "start b", "stop b", "stop a");
    assertThatThrownBy(stack::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("d: closed stacks cannot be started");
  }

  @Test
  void failedStartStopsTheFailedAndTheStartedComponentsInReverseAndRethrows() throws Exception {
    Part a = new Part("a");
    Part b = new Part("b");
    Part c = new Part("c");
    Part d = new Part("d");
    IOException boom = new IOException("port taken");
    c.startFailure = boom;
    RuntimeException stopBoom = new IllegalStateException("b cannot flush");
    b.stopFailure = stopBoom;
    LifecycleStack stack = LifecycleStack.builder("daemon").add(a).add(b).add(c).add(d).build();

    assertThatThrownBy(stack::start).isSameAs(boom);

    assertThat(calls).containsExactly("start a", "start b", "start c", "stop c", "stop b", "stop a");
    assertThat(boom.getSuppressed()).containsExactly(stopBoom);
    assertThat(stack.awaitTermination(Duration.ZERO)).isTrue();
    stack.close(); // nothing left to stop
    assertThat(calls).hasSize(6);
  }

  @Test
  void closeLogsAFailingStopAndStopsTheRest() throws Exception {
    Part a = new Part("a");
    Part b = new Part("b");
    b.stopFailure = new IllegalStateException("disk gone");
    LifecycleStack stack = LifecycleStack.builder("daemon").add(a).add(b).add(new Part("c")).build();
    stack.start();

    try (LogCapture logs = LogCapture.of(LifecycleStack.class)) {
      stack.close();

      assertThat(calls).endsWith("stop c", "stop b", "stop a");
      assertThat(logs.events())
          .anySatisfy(
              e -> {
                assertThat(e.getLevel()).isEqualTo(Level.ERROR);
                assertThat(e.getFormattedMessage())
                    .isEqualTo("daemon: b failed to stop cleanly; continuing with the others");
                assertThat(e.getThrowableProxy().getMessage()).isEqualTo("disk gone");
              });
    }
  }

  @Test
  void closeBeforeStartStopsEverythingAndPreventsStart() {
    LifecycleStack stack = LifecycleStack.builder("d").add(new Part("a")).add(new Part("b")).build();

    stack.close();

    assertThat(calls).containsExactly("stop b", "stop a");
    assertThatThrownBy(stack::start).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void closeDuringStartLetsTheCurrentComponentFinishThenRollsBack() throws Exception {
    Part a = new Part("a");
    Part b = new Part("b");
    b.startGate = new CountDownLatch(1);
    Part c = new Part("c");
    LifecycleStack stack = LifecycleStack.builder("d").add(a).add(b).add(c).build();

    CompletableFuture<Void> starting =
        CompletableFuture.runAsync(
            () -> {
              try {
                stack.start();
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            });
    assertThat(b.startEntered.await(10, TimeUnit.SECONDS)).isTrue();
    Thread closer = new Thread(stack::close, "closer");
    closer.start();
    awaitState(closer, Thread.State.BLOCKED); // close() flagged the stack and waits for start
    b.startGate.countDown();
    closer.join(10_000);

    assertThat(closer.isAlive()).isFalse();
    assertThatThrownBy(starting::join)
        .hasRootCauseInstanceOf(IllegalStateException.class)
        .hasRootCauseMessage("d: closed while starting, before c");
    assertThat(calls).containsExactly("start a", "start b", "stop b", "stop a");
  }

  @Test
  void awaitTerminationReturnsWhenClosed() throws Exception {
    LifecycleStack stack = LifecycleStack.builder("d").add(new Part("a")).build();
    stack.start();
    CompletableFuture<Void> waiter =
        CompletableFuture.runAsync(
            () -> {
              try {
                stack.awaitTermination();
              } catch (InterruptedException e) {
                throw new RuntimeException(e);
              }
            });

    assertThat(stack.awaitTermination(Duration.ofMillis(20))).isFalse();
    assertThat(waiter).isNotDone();
    stack.close();

    waiter.get(10, TimeUnit.SECONDS);
    assertThat(calls).containsExactly("start a", "stop a");
  }

  @Test
  void shutdownHookClosesTheStackAndIsRemovedByAnOrdinaryClose() throws Exception {
    LifecycleStack hooked = LifecycleStack.builder("hooked").add(new Part("a")).build();
    hooked.installShutdownHook().installShutdownHook();
    Thread hook = hooked.shutdownHook();
    assertThat(hook).isNotNull();
    hooked.start();

    hook.run(); // what the JVM does on SIGTERM

    assertThat(calls).containsExactly("start a", "stop a");
    assertThat(hooked.awaitTermination(Duration.ZERO)).isTrue();
    assertThat(hooked.shutdownHook()).isNull();
    assertThat(Runtime.getRuntime().removeShutdownHook(hook)).as("already removed").isFalse();
  }

  @Test
  void rejectsTheSameComponentTwice() {
    Part a = new Part("a");
    LifecycleStack.Builder builder = LifecycleStack.builder("d").add(a);

    assertThatThrownBy(() -> builder.add(a))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("d: a added twice");
  }

  private static void awaitState(Thread t, Thread.State state) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (t.getState() != state) {
      assertThat(System.nanoTime()).as("%s never reached %s", t.getName(), state).isLessThan(deadline);
      Thread.onSpinWait();
    }
  }
}
