package io.epochal.consumer.stream;

import io.epochal.format.BlobKey;
import io.epochal.format.FormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.zip.CRC32C;

/**
 * The streaming consumer's durable position: the next epoch to deliver and, for the epochs still
 * watched for late members, the blobs already delivered. Written as a temporary file, fsynced,
 * renamed over the old one atomically, then the directory fsynced, so a crash leaves the old or
 * the new checkpoint, never a mix.
 *
 * <pre>
 * epochal-consumer-checkpoint 1
 * next 1413813814
 * delivered 1413813812 1413813812:1:WEB:app:a7.0|1413813812:1:WEB:app:a7.1
 * delivered 1413813813
 * crc32c 5d1f2a3b
 * </pre>
 */
record Checkpoint(long next, SortedMap<Long, Set<BlobKey>> delivered) {
  private static final String MAGIC = "epochal-consumer-checkpoint 1";

  /** The checkpoint in {@code file}, or null if there is none. */
  static Checkpoint load(Path file) throws IOException {
    if (!Files.exists(file)) {
      return null;
    }
    String text = Files.readString(file, StandardCharsets.UTF_8);
    int crcAt = text.lastIndexOf("crc32c ");
    if (!text.startsWith(MAGIC + "\n") || crcAt < 0 || !text.endsWith("\n")) {
      throw new IOException(file + " is not a consumer checkpoint (or is truncated)");
    }
    String body = text.substring(0, crcAt);
    String crc = text.substring(crcAt + 7, text.length() - 1);
    if (!crc.equals(crcOf(body))) {
      throw new IOException(file + ": checksum mismatch, the checkpoint is damaged");
    }
    long next = -1;
    SortedMap<Long, Set<BlobKey>> delivered = new TreeMap<>();
    String[] lines = body.split("\n");
    for (int i = 1; i < lines.length; i++) {
      String[] parts = lines[i].split(" ", 3);
      try {
        if (parts[0].equals("next") && parts.length == 2) {
          next = Long.parseLong(parts[1]);
        } else if (parts[0].equals("delivered") && parts.length >= 2) {
          Set<BlobKey> keys = new TreeSet<>(Checkpoint::compare);
          if (parts.length == 3 && !parts[2].isEmpty()) {
            for (String k : parts[2].split("\\|")) {
              keys.add(BlobKey.parse(k));
            }
          }
          delivered.put(Long.parseLong(parts[1]), keys);
        } else {
          throw new IOException(file + ":" + (i + 1) + ": unexpected line \"" + lines[i] + "\"");
        }
      } catch (NumberFormatException | FormatException e) {
        throw new IOException(file + ":" + (i + 1) + ": " + e.getMessage(), e);
      }
    }
    if (next < 0) {
      throw new IOException(file + " has no next epoch");
    }
    return new Checkpoint(next, delivered);
  }

  /** Replaces {@code file} with this checkpoint, durably. */
  void store(Path file) throws IOException {
    StringBuilder b = new StringBuilder(128).append(MAGIC).append('\n').append("next ").append(next).append('\n');
    for (Map.Entry<Long, Set<BlobKey>> e : delivered.entrySet()) {
      b.append("delivered ").append(e.getKey());
      String sep = " ";
      for (BlobKey k : e.getValue()) {
        b.append(sep).append(k.format());
        sep = "|";
      }
      b.append('\n');
    }
    String body = b.toString();
    byte[] bytes = (body + "crc32c " + crcOf(body) + "\n").getBytes(StandardCharsets.UTF_8);
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = dir.resolve(file.getFileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buf = ByteBuffer.wrap(bytes);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("cannot replace " + file + " atomically: " + e.getMessage(), e);
    }
    // the rename is durable only once the directory entry is
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }

  static int compare(BlobKey a, BlobKey b) {
    return a.format().compareTo(b.format());
  }

  private static String crcOf(String body) {
    CRC32C crc = new CRC32C();
    crc.update(body.getBytes(StandardCharsets.UTF_8));
    return String.format("%08x", crc.getValue());
  }
}
