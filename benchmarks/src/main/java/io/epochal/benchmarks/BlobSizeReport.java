package io.epochal.benchmarks;

import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.BlobReader;
import io.epochal.format.blob.EventCursor;
import io.epochal.format.blob.SealedBlob;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Stored size per event of Epochal blobs in every configuration, against the JSON-lines + gzip
 * baseline ({@link JsonGzipBaseline}), printed as markdown tables on stdout. Not a JMH benchmark:
 * sizes are deterministic, so one run gives exact figures.
 *
 * <p>Inputs ({@link BenchmarkData}): the {@code WEB/app} batch of {@value BenchmarkData#BATCH_EVENTS}
 * events, and one second of the full reference mix ({@value BenchmarkData#MIX_EVENTS} events)
 * grouped by (type, subtype) as the aggregator groups it, each group stored separately (its own
 * blobs, its own gzip stream) and the sizes summed. Formats: JSON lines raw; JSON lines + gzip at
 * the default level (the baseline); Epochal without de-duplication or compression; de-duplication
 * only; zstd levels 1/3/6/9/19 without de-duplication; de-duplication + zstd 1/3/6/9/19. Epochal
 * sizes are whole blobs (header and CRC included, 500 KB limit), from a warmed-up encoder ({@link
 * BenchmarkData#steadyStateBlobs}); each blob set is read back to check it holds every event.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.epochal.benchmarks.BlobSizeReport
 * </pre>
 */
public final class BlobSizeReport {
  private static final int[] LEVELS = {1, 3, 6, 9, 19};

  /** One Epochal encoder configuration. */
  private record Config(String name, boolean dedupe, boolean compress, int level) {}

  /** Total stored bytes of a format over a set of batches, and the number of blobs or streams. */
  private record Size(long bytes, int pieces) {}

  private final JsonGzipBaseline json = new JsonGzipBaseline();

  private BlobSizeReport() {}

  public static void main(String[] args) throws FormatException {
    new BlobSizeReport().run();
  }

  private void run() throws FormatException {
    List<Config> configs = new ArrayList<>();
    configs.add(new Config("Epochal, no dedupe, no compression", false, false, 3));
    configs.add(new Config("Epochal, dedupe only (no compression)", true, false, 3));
    for (int level : LEVELS) {
      configs.add(new Config("Epochal, zstd " + level + " (no dedupe)", false, true, level));
    }
    for (int level : LEVELS) {
      configs.add(new Config("Epochal, dedupe + zstd " + level, true, true, level));
    }

    Map<Tags, List<Map<String, Object>>> web = Map.of(BenchmarkData.WEB_APP, BenchmarkData.webAppBatch());
    Map<Tags, List<Map<String, Object>>> mix = BenchmarkData.referenceMixBatches();
    int webEvents = events(web);
    int mixEvents = events(mix);

    // Rows in table order: name -> {WEB/app size, mix size}.
    Map<String, Size[]> rows = new LinkedHashMap<>();
    rows.put("JSON lines, raw", new Size[] {jsonRaw(web), jsonRaw(mix)});
    rows.put("JSON lines + gzip (baseline)", new Size[] {jsonGzip(web), jsonGzip(mix)});
    for (Config c : configs) {
      rows.put(c.name(), new Size[] {epochal(c, web), epochal(c, mix)});
    }
    Size[] baseline = rows.get("JSON lines + gzip (baseline)");

    StringBuilder out = new StringBuilder();
    out.append("## Blob size per event\n\n");
    out.append(
        String.format(
            Locale.ROOT,
            "Inputs: `WEB/app` batch = %,d events of `ReferenceEvents.web()`; reference mix = one second of"
                + " %,d events of `ReferenceEvents.next()` in %d (type, subtype) groups, each stored separately."
                + " Seed %d. Epochal sizes are whole blobs (header + CRC32C), max %,d bytes each, from a"
                + " warmed-up encoder. Ratio = size / size of JSON + gzip (lower is better).%n%n",
            webEvents, mixEvents, mix.size(), BenchmarkData.SEED, BenchmarkData.MAX_BLOB_BYTES));
    out.append("| Format | WEB/app bytes/event | vs JSON+gzip | blobs | Mix bytes/event | vs JSON+gzip | blobs |\n");
    out.append("|---|---:|---:|---:|---:|---:|---:|\n");
    for (Map.Entry<String, Size[]> r : rows.entrySet()) {
      Size w = r.getValue()[0];
      Size m = r.getValue()[1];
      out.append(
          String.format(
              Locale.ROOT,
              "| %s | %.1f | %.3f | %d | %.1f | %.3f | %d |%n",
              r.getKey(),
              (double) w.bytes() / webEvents,
              (double) w.bytes() / baseline[0].bytes(),
              w.pieces(),
              (double) m.bytes() / mixEvents,
              (double) m.bytes() / baseline[1].bytes(),
              m.pieces()));
    }
    out.append("\n(\"blobs\" counts gzip streams for the JSON rows: one per group.)\n\n");

    // The mix group by group, for the baseline and the default configuration.
    Config dflt = new Config("dedupe + zstd 3", true, true, 3);
    out.append("## Reference mix by group (default configuration: dedupe + zstd 3)\n\n");
    out.append(
        "| Group (type/subtype) | events | JSON raw bytes/event | JSON+gzip bytes/event"
            + " | Epochal bytes/event | vs JSON+gzip |\n");
    out.append("|---|---:|---:|---:|---:|---:|\n");
    for (Map.Entry<Tags, List<Map<String, Object>>> g : mix.entrySet()) {
      Map<Tags, List<Map<String, Object>>> one = Map.of(g.getKey(), g.getValue());
      int n = g.getValue().size();
      long gz = jsonGzip(one).bytes();
      long ep = epochal(dflt, one).bytes();
      out.append(
          String.format(
              Locale.ROOT,
              "| %s/%s | %,d | %.1f | %.1f | %.1f | %.3f |%n",
              g.getKey().type(),
              g.getKey().subtype().isEmpty() ? "(empty)" : g.getKey().subtype(),
              n,
              (double) jsonRaw(one).bytes() / n,
              (double) gz / n,
              (double) ep / n,
              (double) ep / gz));
    }
    System.out.print(out);
  }

  private static int events(Map<Tags, List<Map<String, Object>>> batches) {
    return batches.values().stream().mapToInt(List::size).sum();
  }

  private Size jsonRaw(Map<Tags, List<Map<String, Object>>> batches) {
    long bytes = 0;
    for (List<Map<String, Object>> events : batches.values()) {
      bytes += json.jsonLines(events).length;
    }
    return new Size(bytes, batches.size());
  }

  private Size jsonGzip(Map<Tags, List<Map<String, Object>>> batches) {
    long bytes = 0;
    for (List<Map<String, Object>> events : batches.values()) {
      byte[] gz = json.encode(events);
      if (json.decode(gz, e -> {}) != events.size()) {
        throw new IllegalStateException("JSON + gzip round trip lost events");
      }
      bytes += gz.length;
    }
    return new Size(bytes, batches.size());
  }

  private static Size epochal(Config c, Map<Tags, List<Map<String, Object>>> batches) throws FormatException {
    long bytes = 0;
    int blobs = 0;
    try (BlobReader reader = new BlobReader()) {
      for (Map.Entry<Tags, List<Map<String, Object>>> b : batches.entrySet()) {
        List<SealedBlob> sealed;
        try (BlobEncoder encoder = BenchmarkData.encoder(c.dedupe(), c.compress(), c.level())) {
          sealed = BenchmarkData.steadyStateBlobs(encoder, b.getKey(), b.getValue());
        }
        int read = 0;
        for (SealedBlob s : sealed) {
          bytes += s.bytes().length;
          blobs++;
          EventCursor cursor = reader.open(s.bytes()).cursor();
          while (cursor.hasNext()) {
            cursor.next();
            read++;
          }
        }
        if (read != b.getValue().size()) {
          throw new IllegalStateException(c.name() + ": read " + read + " of " + b.getValue().size() + " events");
        }
      }
    }
    return new Size(bytes, blobs);
  }
}
