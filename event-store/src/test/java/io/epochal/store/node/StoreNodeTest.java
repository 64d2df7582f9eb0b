package io.epochal.store.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.epochal.store.StoreErrorCode;
import io.epochal.store.StoreException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Coordinator semantics over real engines: quorums, replica failure, read repair, set union. */
class StoreNodeTest {
  @TempDir Path dir;
  StoreNode node;
  StoreMetrics metrics;
  static final byte[] KEY = "1413813813:1:WEB:app:a7.0".getBytes(StandardCharsets.UTF_8);

  @BeforeEach
  void start() throws Exception {
    metrics = new StoreMetrics(new SimpleMeterRegistry());
    node = new StoreNode(NodeConfig.defaults(dir).withPartitions(8, 3), "test@node", Clock.systemUTC(), metrics);
    node.start();
  }

  @AfterEach
  void stop() {
    node.stop();
  }

  StoreNode.ObjectWrite write(String value) {
    ByteBuf data = Unpooled.copiedBuffer(value, StandardCharsets.UTF_8);
    return new StoreNode.ObjectWrite(List.of(new RiakObject.Meta(RiakObject.CONTENT_TYPE, "text/plain")), null, data);
  }

  String read(String bucket, StoreNode.ReadOptions o) {
    RiakObject.Stored s = node.get(bucket, KEY, o).join();
    if (s == null) {
      return null;
    }
    try {
      return s.data().toString(StandardCharsets.UTF_8);
    } finally {
      s.release();
    }
  }

  static StoreNode.WriteOptions w(Quorum w, Quorum dw) {
    return new StoreNode.WriteOptions(w, dw, Quorum.DEFAULT, false, null);
  }

  static StoreNode.ReadOptions r(Quorum r, Boolean notfoundOk) {
    return new StoreNode.ReadOptions(r, Quorum.DEFAULT, notfoundOk, null, null);
  }

  static StoreErrorCode code(Throwable t) {
    Throwable c = t instanceof CompletionException ? t.getCause() : t;
    return ((StoreException) c).code();
  }

  @Test
  void writesReachEveryReplicaAndDurableAtDw() throws Exception {
    StoreNode.ObjectWrite v = write("blob");
    node.put("events", KEY, v, w(Quorum.ALL, Quorum.ALL)).join();
    v.data().release();
    int[] prefs = node.ring().preferenceList("events", KEY, 3);
    assertThat(prefs).doesNotHaveDuplicates().hasSize(3);
    for (int p : prefs) {
      assertThat(node.engine(p).contains("events", KEY)).as("replica on partition %d", p).isTrue();
      assertThat(node.engine(p).dirty()).as("fsynced at dw=all").isFalse();
    }
    assertThat(read("events", r(Quorum.ALL, false))).isEqualTo("blob");
  }

  @Test
  void unmetWriteQuorumFailsWithoutLyingAndSmallerQuorumsSucceed() throws Exception {
    int[] prefs = node.ring().preferenceList("events", KEY, 3);
    node.engine(prefs[2]).close(); // one replica's engine is gone
    StoreNode.ObjectWrite v = write("blob");
    assertThatThrownBy(() -> node.put("events", KEY, v, w(Quorum.ALL, Quorum.of(0))).join())
        .satisfies(t -> assertThat(code(t)).isEqualTo(StoreErrorCode.QUORUM_UNMET))
        .hasMessageContaining("Too Many write failures to satisfy W/DW");
    node.put("events", KEY, v, w(Quorum.QUORUM, Quorum.QUORUM)).join();
    v.data().release();
    assertThat(read("events", r(Quorum.QUORUM, false))).isEqualTo("blob");
    assertThatThrownBy(() -> node.get("events", KEY, r(Quorum.ALL, false)).join())
        .satisfies(t -> assertThat(code(t)).isEqualTo(StoreErrorCode.QUORUM_UNMET))
        .hasMessageContaining("R-value unsatisfied: 2/3");
  }

  @Test
  void quorumsLargerThanNValAreRefused() {
    StoreNode.ObjectWrite v = write("x");
    assertThatThrownBy(() -> node.put("b", KEY, v, w(Quorum.of(4), Quorum.DEFAULT)).join())
        .satisfies(t -> assertThat(code(t)).isEqualTo(StoreErrorCode.N_VAL_VIOLATION))
        .hasMessageContaining("n value of 3");
    v.data().release();
  }

  @Test
  void readRepairRestoresAMissingReplicaWithItsOriginalTimestamp() throws Exception {
    StoreNode.ObjectWrite v = write("blob");
    node.put("b", KEY, v, w(Quorum.ALL, Quorum.DEFAULT)).join();
    v.data().release();
    int[] prefs = node.ring().preferenceList("b", KEY, 3);
    long original = node.engine(prefs[0]).timestampOf("b", KEY);
    node.engine(prefs[1]).delete("b", KEY); // the replica loses it (tombstone older than nothing else)
    // the tombstone is newer than the value: a reader must not resurrect the value
    assertThat(read("b", r(Quorum.ALL, true))).isNull();
    // now a replica that simply lacks the key (never had it): write to two, then read all
    byte[] other = "other-key".getBytes(StandardCharsets.UTF_8);
    int[] op = node.ring().preferenceList("b", other, 3);
    ByteBuf value = RiakObject.encode(io.netty.buffer.ByteBufAllocator.DEFAULT,
        List.of(new RiakObject.Meta(RiakObject.CONTENT_TYPE, "text/plain")), Unpooled.copiedBuffer("v1",
            StandardCharsets.UTF_8));
    node.engine(op[0]).putIfNewer("b", other, value, original, false);
    value.release();
    assertThat(node.engine(op[1]).contains("b", other)).isFalse();
    RiakObject.Stored s = node.get("b", other, r(Quorum.ONE, null)).join();
    assertThat(s.data().toString(StandardCharsets.UTF_8)).isEqualTo("v1");
    s.release();
    for (int p : op) {
      assertThat(node.engine(p).timestampOf("b", other)).as("repaired on %d with the original time", p)
          .isEqualTo(original);
    }
    assertThat(metrics.readRepairs.count()).isEqualTo(2);
  }

  @Test
  void setUnionMergesAcrossWritesAndRepairsReplicas() throws Exception {
    for (String members : List.of("WEB:app:a7.1|WEB:app:a7.0", "EMK::a7.0")) {
      StoreNode.ObjectWrite v = write(members);
      node.put("epochs", KEY, v, w(Quorum.ALL, Quorum.DEFAULT)).join();
      v.data().release();
    }
    int[] prefs = node.ring().preferenceList("epochs", KEY, 3);
    node.engine(prefs[2]).delete("epochs", KEY);
    StoreNode.ObjectWrite more = write("LB:haproxy:b2.0");
    node.put("epochs", KEY, more, w(Quorum.ALL, Quorum.DEFAULT)).join();
    more.data().release();
    // partition prefs[2] now holds only the last member; a read unions and repairs it
    assertThat(read("epochs", r(Quorum.ONE, null))).isEqualTo("EMK::a7.0|LB:haproxy:b2.0|WEB:app:a7.0|WEB:app:a7.1");
    var direct = node.engine(prefs[2]).get("epochs", KEY);
    RiakObject.Stored s = RiakObject.decode(direct.bytes(), direct.timestamp());
    assertThat(s.data().toString(StandardCharsets.UTF_8)).isEqualTo("EMK::a7.0|LB:haproxy:b2.0|WEB:app:a7.0|WEB:app:a7.1");
    s.release();
  }
}
