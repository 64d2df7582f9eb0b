package io.epochal.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.epochal.format.Tags;
import io.epochal.format.blob.BlobEncoder;
import io.epochal.format.blob.BlobReader;
import io.epochal.format.blob.EventCursor;
import io.epochal.format.blob.SealedBlob;
import io.epochal.format.reference.ReferenceEvents;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link JsonLines} writes, from the encoded events, exactly what Jackson writes for the decoded maps. */
class JsonLinesTest {
  private static final Tags TAGS = new Tags(1_700_000_000L, "1", "WEB", "app");

  private static List<Map<String, Object>> events() {
    List<Map<String, Object>> events = new ArrayList<>();
    ReferenceEvents gen = new ReferenceEvents(3);
    for (int i = 0; i < 500; i++) {
      events.add(gen.next().fields());
    }
    Map<String, Object> odd = new LinkedHashMap<>();
    odd.put("bytes", new byte[] {0, 1, 2, (byte) 0xff});
    odd.put("nan", Double.NaN);
    odd.put("inf", Double.NEGATIVE_INFINITY);
    odd.put("pi", Math.PI);
    odd.put("half", 0.5);
    odd.put("min", Long.MIN_VALUE);
    odd.put("nothing", null);
    odd.put("yes", true);
    odd.put("text", "quote \" backslash \\ newline \n tab \t é 日本 😀 \u0001");
    odd.put("list", Arrays.asList(1L, "two", null, List.of(), Map.of("k", List.of(false))));
    odd.put("empty", Map.of());
    events.add(odd);
    events.add(new LinkedHashMap<>());
    return events;
  }

  private static String expected(List<SealedBlob> blobs, boolean envelope) throws Exception {
    ObjectMapper json = new ObjectMapper().disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (BlobReader reader = new BlobReader(); JsonGenerator g = json.getFactory().createGenerator(out)) {
      g.setRootValueSeparator(null);
      for (SealedBlob b : blobs) {
        EventCursor c = reader.open(b.bytes()).cursor();
        while (c.hasNext()) {
          Map<String, Object> e = c.next();
          if (envelope) {
            g.writeStartObject();
            g.writeNumberField("epoch", TAGS.epoch());
            g.writeStringField("dc", TAGS.dc());
            g.writeStringField("type", TAGS.type());
            g.writeStringField("subtype", TAGS.subtype());
            g.writeFieldName("event");
          }
          json.writeValue(g, e);
          if (envelope) {
            g.writeEndObject();
          }
          g.writeRaw('\n');
        }
      }
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void linesAreWhatJacksonWritesForTheDecodedMaps() throws Exception {
    for (boolean dedupe : List.of(true, false)) {
      List<SealedBlob> blobs;
      try (BlobEncoder enc = BlobEncoder.builder().producerId("test-1").dedupeStrings(dedupe).maxBlobBytes(20_000).build()) {
        blobs = enc.encode(TAGS, events());
      }
      assertThat(blobs).hasSizeGreaterThan(1);
      for (boolean envelope : List.of(true, false)) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JsonLines lines = new JsonLines(out, envelope);
        long n = 0;
        try (BlobReader reader = new BlobReader()) {
          for (SealedBlob b : blobs) {
            BlobReader.Blob blob = reader.open(b.bytes());
            n += lines.write(blob.tags(), blob::visitAll);
          }
        }
        lines.flush();
        String got = out.toString(StandardCharsets.UTF_8);
        assertThat(n).isEqualTo(events().size());
        assertThat(got.lines().count()).isEqualTo(n);
        assertThat(got).isEqualTo(expected(blobs, envelope));
      }
    }
  }
}
