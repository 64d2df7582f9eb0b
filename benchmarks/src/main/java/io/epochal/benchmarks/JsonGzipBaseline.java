package io.epochal.benchmarks;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The baseline Epochal blobs are compared with: a batch stored as JSON lines (Jackson {@link
 * ObjectMapper#writeValueAsBytes} of each event, one per line) compressed as one gzip stream with
 * {@link GZIPOutputStream} at its default level (Deflater level 6); read back by gunzipping the
 * whole stream and parsing each line with Jackson into a {@code Map}.
 *
 * <p>This is what a straightforward log-shipping pipeline writes. Shared by the benchmarks and
 * {@link BlobSizeReport} so that they measure exactly the same baseline. An instance holds a
 * configured {@link ObjectMapper} and reader (both thread-safe) and no per-call state.
 */
final class JsonGzipBaseline {
  /** Buffer of the gzip streams; affects only how often deflate/inflate is called, not the output. */
  private static final int GZIP_BUFFER_BYTES = 64 * 1024;

  private final ObjectMapper mapper = new ObjectMapper();
  private final ObjectReader mapReader = mapper.readerFor(new TypeReference<Map<String, Object>>() {});

  /** One event as a JSON line (without the newline). */
  byte[] json(Map<String, ?> event) {
    try {
      return mapper.writeValueAsBytes(event);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The events as JSON lines, uncompressed (each line ends with {@code '\n'}). */
  byte[] jsonLines(List<? extends Map<String, ?>> events) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(events.size() * 512);
    for (Map<String, ?> e : events) {
      out.writeBytes(json(e));
      out.write('\n');
    }
    return out.toByteArray();
  }

  /** The events as JSON lines in one gzip stream (default level): the baseline "blob". */
  byte[] encode(List<? extends Map<String, ?>> events) {
    // Rough guess of the compressed size (about 8x on these events) to avoid most array regrowth.
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(events.size() * 64);
    try (GZIPOutputStream gzip = new GZIPOutputStream(bytes, GZIP_BUFFER_BYTES)) {
      for (Map<String, ?> e : events) {
        gzip.write(mapper.writeValueAsBytes(e));
        gzip.write('\n');
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /**
   * Gunzips {@code gzipped}, parses every JSON line into a map and hands it to {@code sink}.
   *
   * @return number of events read
   */
  int decode(byte[] gzipped, Consumer<Map<String, Object>> sink) {
    byte[] lines;
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gzipped), GZIP_BUFFER_BYTES)) {
      lines = in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int count = 0;
    int start = 0;
    try {
      for (int i = 0; i < lines.length; i++) {
        if (lines[i] == '\n') {
          if (i > start) {
            Map<String, Object> event = mapReader.readValue(lines, start, i - start);
            sink.accept(event);
            count++;
          }
          start = i + 1;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return count;
  }
}
