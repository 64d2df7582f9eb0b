package io.epochal.zooanimal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.common.time.ManualClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeSelectorTest {
  static final StoreNodeAddress A = StoreNodeAddress.parse("10.0.0.1:8098");
  static final StoreNodeAddress B = StoreNodeAddress.parse("10.0.0.2:8098");
  static final StoreNodeAddress C = StoreNodeAddress.parse("[::1]:8099");

  @Test
  void parsesAddresses() {
    assertThat(C.host()).isEqualTo("::1");
    assertThat(C.baseUrl()).isEqualTo("http://[::1]:8099");
    assertThatThrownBy(() -> StoreNodeAddress.parse("nohost")).hasMessageContaining("not host:port");
    assertThatThrownBy(() -> StoreNodeAddress.parse("h:99999")).hasMessageContaining("out of range");
  }

  @Test
  void picksEveryUpNodeAndSkipsDownOnesUntilTheirCoolDownEnds() {
    ManualClock clock = new ManualClock(1_000_000);
    NodeSelector s = new NodeSelectorBuilder(clock).of(List.of(A, B, C));
    Set<StoreNodeAddress> seen = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      seen.add(s.pick());
    }
    assertThat(seen).containsExactlyInAnyOrder(A, B, C);
    s.markDown(A);
    s.markDown(B);
    for (int i = 0; i < 50; i++) {
      assertThat(s.pick()).isEqualTo(C);
    }
    s.markDown(C);
    assertThat(s.pick()).as("all down: the one that recovers first").isEqualTo(A);
    clock.advance(10_001);
    seen.clear();
    for (int i = 0; i < 200; i++) {
      seen.add(s.pick());
    }
    assertThat(seen).containsExactlyInAnyOrder(A, B, C);
    s.markDown(B);
    s.markUp(B);
    assertThat(s.isDown(B)).isFalse();
  }

  @Test
  void reloadsTheFileWhenItChangesAndKeepsTheLastGoodList(@TempDir Path dir) throws IOException {
    ManualClock clock = new ManualClock(1_000_000);
    Path f = dir.resolve("nodes");
    Files.writeString(f, "# store nodes\n10.0.0.1:8098\n\n10.0.0.2:8098  # rack 2\n");
    NodeSelector s = NodeSelector.fromFile(f, Duration.ofSeconds(10), clock);
    assertThat(s.nodes()).containsExactly(A, B);
    Files.writeString(f, "[::1]:8099\n");
    Files.setLastModifiedTime(f, FileTime.fromMillis(Files.getLastModifiedTime(f).toMillis() + 5000));
    clock.advance(1001);
    assertThat(s.nodes()).containsExactly(C);
    Files.writeString(f, "\n");
    Files.setLastModifiedTime(f, FileTime.fromMillis(Files.getLastModifiedTime(f).toMillis() + 10_000));
    clock.advance(1001);
    assertThat(s.nodes()).as("an empty file keeps the last list").containsExactly(C);
    Files.delete(f);
    clock.advance(1001);
    assertThat(s.pick()).isEqualTo(C);
    Files.writeString(f, "bad line\n");
    assertThatThrownBy(() -> NodeSelector.fromFile(f, Duration.ofSeconds(1))).hasMessageContaining("nodes:1");
  }

  /** Builds selectors on a manual clock (package access to the clocked factory). */
  record NodeSelectorBuilder(ManualClock clock) {
    NodeSelector of(List<StoreNodeAddress> nodes) {
      try {
        Path f = Files.createTempFile("nodes", "");
        Files.write(f, nodes.stream().map(StoreNodeAddress::toString).toList());
        NodeSelector s = NodeSelector.fromFile(f, Duration.ofSeconds(10), clock);
        Files.delete(f);
        return s;
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }
}
