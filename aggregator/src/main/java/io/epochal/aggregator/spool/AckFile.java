package io.epochal.aggregator.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * The {@code ack} file: the acknowledged position, replaced atomically. 16 bytes, little-endian:
 * magic "EPSA", u64 position, CRC32C of the first 12 bytes. The {@code durable} file ({@link
 * DurableFile}) has the same layout with another magic; both use {@link #encode} and {@link #decode}.
 */
final class AckFile {
  static final String NAME = "ack";
  /** The writer's temp file ({@link FileSpool}); deleted by its recovery. */
  static final String TEMP_NAME = "ack.tmp";
  /** The reader side's temp file ({@link SpoolTail}); its own name, so the writer's recovery never deletes it mid-write. */
  static final String READER_TEMP_NAME = "ack.reader.tmp";
  static final int MAGIC = 0x41535045; // "EPSA" read as a little-endian u32
  static final int BYTES = 16;

  /** What was found on disk: a position, or none (file missing) with a problem when the file was bad. */
  record Read(long position, boolean present, String problem) {}

  private AckFile() {}

  static Read read(Path dir) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(dir.resolve(NAME));
    } catch (NoSuchFileException e) {
      return new Read(-1, false, null);
    }
    return decode(bytes, bytes.length, MAGIC);
  }

  /** Checks and decodes the first {@code length} bytes of a 16-byte position file with this magic. */
  static Read decode(byte[] bytes, int length, int magic) {
    if (length != BYTES) {
      return new Read(-1, false, "size " + length + " instead of " + BYTES);
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (b.getInt(0) != magic) {
      return new Read(-1, false, String.format("bad magic 0x%08x", b.getInt(0)));
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, 12);
    if ((int) crc.getValue() != b.getInt(12)) {
      return new Read(-1, false, "CRC32C mismatch");
    }
    long position = b.getLong(4);
    if (position < 0) {
      return new Read(-1, false, "negative position " + position);
    }
    return new Read(position, true, null);
  }

  /** The 16 bytes of a position file: magic, position, CRC32C of the first 12; flipped for writing. */
  static ByteBuffer encode(int magic, long position) {
    ByteBuffer b = ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(magic).putLong(position);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, 12);
    b.putInt((int) crc.getValue()).flip();
    return b;
  }

  /** Writes the temp file, fsyncs it, renames it over {@code ack} and fsyncs the directory. */
  static void write(Path dir, long position) throws IOException {
    write(dir, position, TEMP_NAME);
  }

  /** Like {@link #write(Path, long)}, through the temp file {@code tempName}. */
  static void write(Path dir, long position, String tempName) throws IOException {
    ByteBuffer b = encode(MAGIC, position);
    Path temp = dir.resolve(tempName);
    try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    }
    Files.move(temp, dir.resolve(NAME), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    FileSpool.fsyncDirectory(dir);
  }
}
