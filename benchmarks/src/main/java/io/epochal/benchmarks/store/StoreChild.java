package io.epochal.benchmarks.store;

import io.epochal.common.config.ConfigSources;
import io.epochal.store.EventStore;
import io.epochal.store.StoreConfig;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One {@link EventStore} node in a JVM of its own for {@link StoreHttpLoad}: every argument is a
 * {@code key=value} setting under {@code epochal.store.} (as the node's flags); prints {@code
 * port <n>} on stdout once it listens and runs until its stdin closes (the harness exits or kills
 * it), then closes the node (fsyncs every partition).
 */
public final class StoreChild {
  private StoreChild() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> flags = new LinkedHashMap<>();
    for (String a : args) {
      int eq = a.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("expected key=value, got '" + a + "'");
      }
      flags.put(StoreConfig.PREFIX + "." + a.substring(0, eq), a.substring(eq + 1));
    }
    StoreConfig config = StoreConfig.from(ConfigSources.builder().flags(flags).build().settings(StoreConfig.PREFIX));
    EventStore store = new EventStore(config, Clock.systemUTC());
    store.start();
    System.out.println("port " + store.httpPort());
    System.out.flush();
    byte[] sink = new byte[64];
    while (System.in.read(sink) >= 0) {
      // until the harness closes our stdin
    }
    store.close();
    System.out.println("closed " + new String(sink, 0, 0, StandardCharsets.US_ASCII));
  }
}
