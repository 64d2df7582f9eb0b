package io.epochal.store.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.epochal.store.StoreException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The bucket properties of a node: built-in defaults per bucket name, overridden by what clients
 * set with {@code PUT /buckets/{b}/props}. Overrides are kept durably in {@code buckets.json} in
 * the data directory (written to a temporary file, fsynced, renamed). Reads are lock-free.
 */
public final class BucketRegistry {
  static final String FILE = "buckets.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private final int defaultNVal;
  private final int maxNVal;
  /** Effective props of buckets read or set so far. */
  private final Map<String, BucketProps> effective = new ConcurrentHashMap<>();
  /** Client-set fields per bucket, as given; guarded by this. */
  private final ObjectNode overrides;

  public BucketRegistry(Path dataDir, int defaultNVal, int maxNVal) throws IOException {
    this.file = dataDir.resolve(FILE);
    this.defaultNVal = defaultNVal;
    this.maxNVal = maxNVal;
    if (Files.exists(file)) {
      JsonNode n = JSON.readTree(file.toFile());
      if (n == null || !n.isObject()) {
        throw new IOException(file + " is not a JSON object");
      }
      this.overrides = (ObjectNode) n;
    } else {
      this.overrides = JSON.createObjectNode();
    }
  }

  /** The effective properties of {@code bucket}. */
  public BucketProps get(String bucket) {
    BucketProps p = effective.get(bucket);
    return p != null ? p : effective.computeIfAbsent(bucket, this::compute);
  }

  private synchronized BucketProps compute(String bucket) {
    BucketProps base = BucketProps.builtIn(bucket, defaultNVal);
    JsonNode o = overrides.get(bucket);
    if (o == null) {
      return base;
    }
    try {
      return base.with(o, maxNVal);
    } catch (StoreException e) {
      throw new IllegalStateException(file + ": stored props of " + bucket + " are invalid: " + e.getMessage(), e);
    }
  }

  /** Applies {@code props} (a Riak {@code props} object) to {@code bucket}, durably. */
  public synchronized BucketProps set(String bucket, JsonNode props) throws StoreException, IOException {
    BucketProps next = get(bucket).with(props, maxNVal);
    ObjectNode merged = overrides.has(bucket) ? ((ObjectNode) overrides.get(bucket)).deepCopy()
        : JSON.createObjectNode();
    for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      merged.set(f.getKey(), f.getValue());
    }
    ObjectNode all = overrides.deepCopy();
    all.set(bucket, merged);
    write(all);
    overrides.set(bucket, merged);
    effective.put(bucket, next);
    return next;
  }

  /** Drops what clients set for {@code bucket}: back to the built-in defaults, durably. */
  public synchronized BucketProps reset(String bucket) throws IOException {
    if (overrides.has(bucket)) {
      ObjectNode all = overrides.deepCopy();
      all.remove(bucket);
      write(all);
      overrides.remove(bucket);
    }
    effective.remove(bucket);
    return get(bucket);
  }

  private void write(ObjectNode all) throws IOException {
    Path tmp = file.resolveSibling(FILE + ".tmp");
    byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(all);
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(ByteBuffer.wrap(bytes));
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel d = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
      d.force(true);
    }
  }
}
