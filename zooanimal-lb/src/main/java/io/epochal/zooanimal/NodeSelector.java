package io.epochal.zooanimal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks a store node for each request: a random one of the nodes not marked down. A node that
 * failed is {@link #markDown marked down} for a cool-down and skipped meanwhile; when every node
 * is down, the one whose cool-down ends first is picked (a client never stops trying).
 *
 * <p>The list comes from a static list or a text file of {@code host:port} lines ({@code #}
 * comments and blank lines ignored), reloaded when the file changes (checked at most once a
 * second, on {@link #pick()}); a file that becomes unreadable or empty keeps the last good list,
 * with a log line. (ZooKeeper-published lists come with the clustering issue.)
 *
 * <pre>{@code
 * NodeSelector nodes = NodeSelector.fromFile(Path.of("/etc/epochal/store-nodes"), Duration.ofSeconds(10));
 * StoreNodeAddress node = nodes.pick();
 * try { ... } catch (IOException e) { nodes.markDown(node); }   // then pick() another
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class NodeSelector {
  private static final Logger log = LoggerFactory.getLogger(NodeSelector.class);
  private static final long RELOAD_CHECK_MS = 1000;

  private final Path file;
  private final Duration coolDown;
  private final Clock clock;
  private volatile List<StoreNodeAddress> nodes;
  private final Map<StoreNodeAddress, Long> downUntil = new ConcurrentHashMap<>();
  private volatile long lastCheck;
  private volatile FileTime lastModified;

  private NodeSelector(Path file, List<StoreNodeAddress> nodes, Duration coolDown, Clock clock) {
    this.file = file;
    this.nodes = nodes;
    this.coolDown = coolDown;
    this.clock = clock;
  }

  /** A fixed list of nodes. */
  public static NodeSelector of(Collection<StoreNodeAddress> nodes, Duration coolDown) {
    if (nodes.isEmpty()) {
      throw new IllegalArgumentException("at least one store node is needed");
    }
    return new NodeSelector(null, List.copyOf(nodes), coolDown, Clock.systemUTC());
  }

  /** Parses a comma-separated {@code host:port} list. */
  public static NodeSelector parse(String commaSeparated, Duration coolDown) {
    List<StoreNodeAddress> list = new ArrayList<>();
    for (String s : commaSeparated.split(",")) {
      if (!s.isBlank()) {
        list.add(StoreNodeAddress.parse(s));
      }
    }
    return of(list, coolDown);
  }

  /** Nodes listed in {@code file}, reloaded when it changes. */
  public static NodeSelector fromFile(Path file, Duration coolDown) throws IOException {
    return fromFile(file, coolDown, Clock.systemUTC());
  }

  static NodeSelector fromFile(Path file, Duration coolDown, Clock clock) throws IOException {
    List<StoreNodeAddress> nodes = read(file);
    if (nodes.isEmpty()) {
      throw new IOException(file + " lists no store nodes");
    }
    NodeSelector s = new NodeSelector(file, nodes, coolDown, clock);
    s.lastModified = Files.getLastModifiedTime(file);
    s.lastCheck = clock.millis();
    return s;
  }

  static List<StoreNodeAddress> read(Path file) throws IOException {
    List<StoreNodeAddress> out = new ArrayList<>();
    int n = 0;
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      n++;
      String t = line.strip();
      int hash = t.indexOf('#');
      if (hash >= 0) {
        t = t.substring(0, hash).strip();
      }
      if (t.isEmpty()) {
        continue;
      }
      try {
        out.add(StoreNodeAddress.parse(t));
      } catch (IllegalArgumentException e) {
        throw new IOException(file + ":" + n + ": " + e.getMessage(), e);
      }
    }
    return out;
  }

  /** A random node that is not cooling down (or, if all are, the one that recovers first). */
  public StoreNodeAddress pick() {
    maybeReload();
    List<StoreNodeAddress> all = nodes;
    long now = clock.millis();
    List<StoreNodeAddress> up = new ArrayList<>(all.size());
    StoreNodeAddress soonest = null;
    long soonestAt = Long.MAX_VALUE;
    for (StoreNodeAddress a : all) {
      Long until = downUntil.get(a);
      if (until == null || until <= now) {
        up.add(a);
      } else if (until < soonestAt) {
        soonestAt = until;
        soonest = a;
      }
    }
    if (up.isEmpty()) {
      return soonest;
    }
    return up.get(ThreadLocalRandom.current().nextInt(up.size()));
  }

  /** A random node other than those in {@code exclude}, if any is up; else {@link #pick()}. */
  public StoreNodeAddress pickOther(Collection<StoreNodeAddress> exclude) {
    for (int i = 0; i < 8; i++) {
      StoreNodeAddress a = pick();
      if (!exclude.contains(a)) {
        return a;
      }
    }
    return pick();
  }

  /** Skips {@code node} for the cool-down. */
  public void markDown(StoreNodeAddress node) {
    downUntil.put(node, clock.millis() + coolDown.toMillis());
  }

  /** Clears a node's cool-down after a success. */
  public void markUp(StoreNodeAddress node) {
    if (!downUntil.isEmpty()) {
      downUntil.remove(node);
    }
  }

  /** The current list. */
  public List<StoreNodeAddress> nodes() {
    maybeReload();
    return nodes;
  }

  /** Whether {@code node} is cooling down now. */
  public boolean isDown(StoreNodeAddress node) {
    Long until = downUntil.get(node);
    return until != null && until > clock.millis();
  }

  private void maybeReload() {
    if (file == null) {
      return;
    }
    long now = clock.millis();
    if (now - lastCheck < RELOAD_CHECK_MS) {
      return;
    }
    synchronized (this) {
      if (now - lastCheck < RELOAD_CHECK_MS) {
        return;
      }
      lastCheck = now;
      try {
        FileTime m = Files.getLastModifiedTime(file);
        if (m.equals(lastModified)) {
          return;
        }
        List<StoreNodeAddress> fresh = read(file);
        lastModified = m;
        if (fresh.isEmpty()) {
          log.warn("{} lists no store nodes; keeping the last list {}", file, nodes);
          return;
        }
        if (!fresh.equals(nodes)) {
          log.info("store nodes from {}: {}", file, fresh);
          nodes = List.copyOf(fresh);
        }
      } catch (NoSuchFileException e) {
        log.warn("{} is gone; keeping the last list {}", file, nodes);
      } catch (IOException e) {
        log.warn("reading {} failed; keeping the last list {}: {}", file, nodes, e.getMessage());
      }
    }
  }

  /** Forces the next {@link #pick()} to check the file (tests). */
  void checkNow() {
    lastCheck = 0;
  }
}
