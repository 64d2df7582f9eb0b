package io.epochal.store.node;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The consistent-hashing ring: {@code partitions} (a power of two) equal arcs of the 160-bit SHA-1
 * space. A key's partition is the arc its hash falls in: the top bits of SHA-1(bucket UTF-8, 0x00,
 * key). Its preference list is that partition and the next {@code n_val - 1} (on one node, all
 * local; the clustering issue maps partitions to distinct nodes). Immutable, thread-safe.
 */
public final class Ring {
  private static final ThreadLocal<MessageDigest> SHA1 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-1");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  });

  private final int partitions;
  private final int bits;

  public Ring(int partitions) {
    if (partitions < 1 || Integer.bitCount(partitions) != 1 || partitions > 1024) {
      throw new IllegalArgumentException("ring-partitions = " + partitions + " must be a power of two in [1, 1024]");
    }
    this.partitions = partitions;
    this.bits = Integer.numberOfTrailingZeros(partitions);
  }

  public int partitions() {
    return partitions;
  }

  /** The partition that owns {@code key} in {@code bucket}. */
  public int partition(String bucket, byte[] key) {
    MessageDigest d = SHA1.get();
    d.reset();
    d.update(bucket.getBytes(StandardCharsets.UTF_8));
    d.update((byte) 0);
    d.update(key);
    byte[] h = d.digest();
    long top = 0;
    for (int i = 0; i < 8; i++) {
      top = (top << 8) | (h[i] & 0xFF);
    }
    return bits == 0 ? 0 : (int) (top >>> (64 - bits));
  }

  /** The {@code n} partitions that hold replicas of the key, primary first. */
  public int[] preferenceList(String bucket, byte[] key, int n) {
    int first = partition(bucket, key);
    int[] list = new int[Math.min(n, partitions)];
    for (int i = 0; i < list.length; i++) {
      list[i] = (first + i) & (partitions - 1);
    }
    return list;
  }
}
