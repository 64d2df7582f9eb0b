package io.epochal.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.epochal.consumer.read.EpochBlob;
import io.epochal.consumer.read.ReadException;
import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.codec.EventVisitor;
import java.io.Flushable;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * Writes a blob's events as JSON lines straight from its encoded payload ({@link
 * EpochBlob#visitEvents}: no map per event). With the envelope, one line per event is {@code
 * {"epoch":…,"dc":"…","type":"…","subtype":"…","event":{…}}} (cli.md); without it, the event object
 * alone. Values are written as Jackson writes the decoded maps: integers and doubles as JSON numbers
 * (NaN and infinities as strings), BYTES as base64 strings. Not thread-safe.
 */
final class JsonLines implements Flushable {
  private final JsonGenerator g;
  private final boolean envelope;
  private final Writer writer = new Writer();

  JsonLines(OutputStream out, boolean envelope) throws IOException {
    this.g = new JsonFactory().createGenerator(out).disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
    this.g.setRootValueSeparator(null);
    this.envelope = envelope;
  }

  /** Writes every event of {@code blob}; returns how many. */
  long write(EpochBlob blob) throws IOException, ReadException {
    try {
      return write(blob.tags(), blob::visitEvents);
    } catch (FormatException e) {
      throw new AssertionError("EpochBlob reports decoding faults as ReadException", e);
    }
  }

  /** Something that hands a blob's events to a visitor (a blob of the SDK, or of a BlobReader). */
  interface Events {
    int visit(EventVisitor visitor) throws ReadException, FormatException;
  }

  /** Writes the events {@code events} visits, tagged {@code tags}; returns how many. */
  long write(Tags tags, Events events) throws IOException, ReadException, FormatException {
    writer.tags = tags;
    writer.depth = 0;
    try {
      return events.visit(writer);
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  @Override
  public void flush() throws IOException {
    g.flush();
  }

  /** A generator call that may fail. */
  private interface Io {
    void run() throws IOException;
  }

  /** Runs {@code call}, its IOException unchecked (visitor methods throw none; {@link #write} unwraps it). */
  private static void io(Io call) {
    try {
      call.run();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** JsonGenerator calls per visited value; an event is the map at depth 0. */
  private final class Writer implements EventVisitor {
    Tags tags;
    private int depth;

    @Override
    public void beginMap(int size) {
      io(() -> {
        if (depth++ == 0 && envelope) {
          g.writeStartObject();
          g.writeNumberField("epoch", tags.epoch());
          g.writeStringField("dc", tags.dc());
          g.writeStringField("type", tags.type());
          g.writeStringField("subtype", tags.subtype());
          g.writeFieldName("event");
        }
        g.writeStartObject();
      });
    }

    @Override
    public void endMap() {
      io(() -> {
        g.writeEndObject();
        if (--depth == 0) {
          if (envelope) {
            g.writeEndObject();
          }
          g.writeRaw('\n');
        }
      });
    }

    @Override
    public void key(String key) {
      io(() -> g.writeFieldName(key));
    }

    @Override
    public void beginList(int size) {
      io(g::writeStartArray);
    }

    @Override
    public void endList() {
      io(g::writeEndArray);
    }

    @Override
    public void nullValue() {
      io(g::writeNull);
    }

    @Override
    public void booleanValue(boolean value) {
      io(() -> g.writeBoolean(value));
    }

    @Override
    public void longValue(long value) {
      io(() -> g.writeNumber(value));
    }

    @Override
    public void doubleValue(double value) {
      io(() -> g.writeNumber(value));
    }

    @Override
    public void stringValue(String value) {
      io(() -> g.writeString(value));
    }

    @Override
    public void bytesValue(byte[] bytes, int off, int len) {
      io(() -> g.writeBinary(bytes, off, len));
    }
  }
}
