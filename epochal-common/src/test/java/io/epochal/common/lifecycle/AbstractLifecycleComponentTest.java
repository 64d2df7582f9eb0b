package io.epochal.common.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AbstractLifecycleComponentTest {
  private final List<String> calls = new ArrayList<>();

  private LifecycleComponent component(boolean failStart) {
    return LifecycleComponent.of(
        "c",
        () -> {
          calls.add("start");
          if (failStart) {
            throw new IllegalStateException("no");
          }
        },
        () -> calls.add("stop"));
  }

  @Test
  void startAndStopRunOnce() throws Exception {
    LifecycleComponent c = component(false);

    c.start();
    c.start();
    c.stop();
    c.stop();

    assertThat(calls).containsExactly("start", "stop");
    assertThatThrownBy(c::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("c: stopped components cannot be restarted");
  }

  @Test
  void stopAfterAFailedStartReleases() {
    LifecycleComponent c = component(true);

    assertThatThrownBy(c::start).hasMessage("no");
    assertThatThrownBy(c::start).hasMessageContaining("start failed before");
    c.stop();
    c.stop();

    assertThat(calls).containsExactly("start", "stop");
  }

  @Test
  void stopWithoutStartDoesNothing() {
    LifecycleComponent c = component(false);

    c.stop();

    assertThat(calls).isEmpty();
    assertThat(((AbstractLifecycleComponent) c).isRunning()).isFalse();
  }
}
