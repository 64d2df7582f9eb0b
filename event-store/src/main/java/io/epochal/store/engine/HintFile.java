package io.epochal.store.engine;

import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.zip.CRC32C;

/**
 * Hint files: a data file's index, so opening an engine reads a few bytes per record instead of
 * every value (docs/store-format.md). Written beside the data file as {@code .hint.tmp} while the
 * data file is written, completed with a trailer and renamed to {@code .hint} when the data file
 * is closed. A hint without a valid trailer, CRC or matching data-file size is ignored and the
 * data file is scanned instead.
 *
 * <pre>
 * header  "EPHT" u8 version(1)
 * entry*  i64 timestamp, u8 flags, u16 key length, u32 record size, i64 offset, key bytes
 * trailer "EPHE" i64 data-file size, u32 entry count, u32 CRC-32C of every preceding byte
 * </pre>
 */
final class HintFile {
  private static final int MAGIC = 0x45504854; // EPHT
  private static final int END = 0x45504845; // EPHE
  private static final int VERSION = 1;
  static final int ENTRY_HEADER = 8 + 1 + 2 + 4 + 8;
  private static final int TRAILER = 4 + 8 + 4 + 4;

  /** Receives each entry of a hint file or a scan. */
  interface Visitor {
    void entry(byte[] key, long offset, int size, long timestamp, boolean tombstone);
  }

  private HintFile() {}

  /** Appends entries of a data file being written. Not thread-safe (used under the write lock). */
  static final class Writer implements AutoCloseable {
    private final Path tmp;
    private final Path target;
    private final FileOutputStream file;
    private final OutputStream out;
    private final CRC32C crc = new CRC32C();
    private final byte[] head = new byte[ENTRY_HEADER];
    private final ByteBuffer headBuf = ByteBuffer.wrap(head);
    private long count;
    private boolean done;

    Writer(Path dir, long fileId) throws IOException {
      this.target = dir.resolve(DataFile.hintName(fileId));
      this.tmp = dir.resolve(DataFile.hintName(fileId) + ".tmp");
      this.file = new FileOutputStream(tmp.toFile());
      this.out = new BufferedOutputStream(file, 64 << 10);
      byte[] h = ByteBuffer.allocate(5).putInt(MAGIC).put((byte) VERSION).array();
      write(h);
    }

    void add(byte[] key, long offset, int size, long timestamp, boolean tombstone) throws IOException {
      headBuf.putLong(0, timestamp).put(8, (byte) (tombstone ? RecordFormat.FLAG_TOMBSTONE : 0))
          .putShort(9, (short) key.length).putInt(11, size).putLong(15, offset);
      write(head);
      write(key);
      count++;
    }

    private void write(byte[] b) throws IOException {
      out.write(b);
      crc.update(b);
    }

    /** Writes the trailer, fsyncs and renames the hint into place. */
    void finish(long dataFileSize) throws IOException {
      ByteBuffer t = ByteBuffer.allocate(TRAILER).putInt(END).putLong(dataFileSize).putInt((int) count);
      crc.update(t.array(), 0, TRAILER - 4);
      t.putInt((int) crc.getValue());
      out.write(t.array());
      out.flush();
      file.getFD().sync();
      out.close();
      done = true;
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Abandons an unfinished hint. */
    @Override
    public void close() throws IOException {
      if (!done) {
        done = true;
        out.close();
        Files.deleteIfExists(tmp);
      }
    }
  }

  /**
   * Reads the hint of a data file of {@code dataFileSize} bytes, feeding each entry to {@code
   * visitor}. Returns false (having fed nothing) when the hint is missing, corrupt, or written for
   * another size of the data file.
   */
  static boolean load(Path hint, long dataFileSize, Visitor visitor) throws IOException {
    byte[] all;
    try {
      all = Files.readAllBytes(hint);
    } catch (NoSuchFileException e) {
      return false;
    }
    if (all.length < 5 + TRAILER) {
      return false;
    }
    ByteBuffer b = ByteBuffer.wrap(all);
    int t = all.length - TRAILER;
    CRC32C crc = new CRC32C();
    crc.update(all, 0, all.length - 4);
    if (b.getInt(0) != MAGIC || b.get(4) != VERSION || b.getInt(t) != END || b.getLong(t + 4) != dataFileSize
        || b.getInt(all.length - 4) != (int) crc.getValue()) {
      return false;
    }
    long expected = b.getInt(t + 12) & 0xFFFFFFFFL;
    // Validate every entry before feeding any, so a bad hint leaves the caller's state untouched.
    for (int pass = 0; pass < 2; pass++) {
      int p = 5;
      long n = 0;
      while (p < t) {
        if (t - p < ENTRY_HEADER) {
          return false;
        }
        long ts = b.getLong(p);
        boolean tomb = (b.get(p + 8) & RecordFormat.FLAG_TOMBSTONE) != 0;
        int keyLength = b.getShort(p + 9) & 0xFFFF;
        int size = b.getInt(p + 11);
        long offset = b.getLong(p + 15);
        if (keyLength == 0 || t - p - ENTRY_HEADER < keyLength || size < RecordFormat.HEADER + keyLength
            || offset < 0 || offset + size > dataFileSize) {
          return false;
        }
        if (pass == 1) {
          byte[] key = new byte[keyLength];
          System.arraycopy(all, p + ENTRY_HEADER, key, 0, keyLength);
          visitor.entry(key, offset, size, ts, tomb);
        }
        p += ENTRY_HEADER + keyLength;
        n++;
      }
      if (n != expected) {
        return false;
      }
    }
    return true;
  }
}
