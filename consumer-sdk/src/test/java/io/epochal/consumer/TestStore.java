package io.epochal.consumer;

import io.epochal.common.config.ConfigSources;
import io.epochal.consumer.http.StoreClient;
import io.epochal.format.BlobKey;
import io.epochal.format.EpochKey;
import io.epochal.format.EpochMember;
import io.epochal.format.EpochMembers;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.SealedBlob;
import io.epochal.store.EventStore;
import io.epochal.store.StoreConfig;
import io.epochal.zooanimal.StoreNodeAddress;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real store node in-process, written to the way the relocator writes: blobs first
 * ({@code PUT events/<key>?w=all}), then the members ({@code PUT epochs/<epoch>-<dc>}, set union).
 */
public final class TestStore implements AutoCloseable {
  private final EventStore store;
  private final StoreClient client;
  private final StoreNodeAddress node;
  private final AtomicLong sequence = new AtomicLong();
  private final SplittableRandom random = new SplittableRandom(7);

  public TestStore(Path dir) throws Exception {
    StoreConfig config = StoreConfig.from(ConfigSources.builder().flags(Map.of(
        "epochal.store.data-dir", dir.toString(), "epochal.store.http-port", "0",
        "epochal.store.ring-partitions", "8")).build().settings(StoreConfig.PREFIX));
    store = new EventStore(config, Clock.systemUTC());
    store.start();
    node = new StoreNodeAddress("127.0.0.1", store.httpPort());
    client = StoreClient.builder().build();
  }

  public StoreNodeAddress node() {
    return node;
  }

  /** A simple event whose fields decode to equal values: {@code n} is unique per store, {@code session}
   * is random (so blobs do not compress to nothing). Not thread-safe. */
  public Map<String, Object> event(Tags tags) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("n", sequence.incrementAndGet());
    e.put("url", "/users/" + (sequence.get() % 97));
    e.put("where", tags.dc() + "/" + tags.type() + "/" + tags.subtype());
    e.put("session", Long.toHexString(random.nextLong()) + Long.toHexString(random.nextLong()));
    return e;
  }

  /**
   * Encodes {@code events} into blobs (small ones, so several chunks), stores them and lists them.
   * Returns each blob's key and the events it holds.
   */
  public Map<BlobKey, List<Map<String, Object>>> publish(Tags tags, String producer,
      List<Map<String, Object>> events, int maxBlobBytes) {
    Map<BlobKey, List<Map<String, Object>>> out = new LinkedHashMap<>();
    try (BlobEncoder enc = BlobEncoder.builder().producerId(producer).maxBlobBytes(maxBlobBytes).build()) {
      List<SealedBlob> blobs = enc.encode(tags, events);
      int i = 0;
      List<EpochMember> members = new ArrayList<>();
      for (SealedBlob b : blobs) {
        BlobKey key = tags.blobKey(producer + "." + out.size());
        putBlob(key, b.bytes());
        members.add(key.member());
        out.put(key, new ArrayList<>(events.subList(i, i + b.eventCount())));
        i += b.eventCount();
      }
      listMembers(tags.epochKey(), members);
    }
    return out;
  }

  public void putBlob(BlobKey key, byte[] bytes) {
    StoreClient.Response r = client.put(node, "events", key.format(), "w=all", Unpooled.wrappedBuffer(bytes),
        "application/x-epochal-blob").join();
    try {
      if (r.status() != 204) {
        throw new IllegalStateException("PUT events/" + key + ": " + r.status() + " " + r.text());
      }
    } finally {
      r.release();
    }
  }

  public void listMembers(EpochKey key, Collection<EpochMember> members) {
    byte[] value = EpochMembers.format(members).getBytes(StandardCharsets.UTF_8);
    StoreClient.Response r = client.put(node, "epochs", key.format(), "w=all", Unpooled.wrappedBuffer(value),
        "text/plain").join();
    try {
      if (r.status() != 204) {
        throw new IllegalStateException("PUT epochs/" + key + ": " + r.status() + " " + r.text());
      }
    } finally {
      r.release();
    }
  }

  @Override
  public void close() {
    client.close();
    store.close();
  }
}
