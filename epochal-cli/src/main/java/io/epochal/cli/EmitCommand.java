package io.epochal.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.epochal.emitter.EmitterStats;
import io.epochal.emitter.EventEmitter;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code epochal emit}: sends events given as JSON objects (arguments, or JSON lines from a file or
 * standard input) to an aggregator over UDP, through the real {@link EventEmitter}.
 */
@Command(
    name = "emit",
    description = {
      "Send events, given as JSON objects, to an aggregator over UDP.",
      "Events come from the arguments, else from --file, else from standard input (one JSON object a line)."
    },
    mixinStandardHelpOptions = true)
final class EmitCommand implements Callable<Integer> {
  private static final ObjectMapper JSON =
      JsonMapper.builder().disable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

  @Spec CommandSpec spec;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Aggregator host (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--port", defaultValue = "5140", description = "Aggregator UDP port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--dc", defaultValue = "1", description = "Data center tag (default: ${DEFAULT-VALUE}).")
  String dc;

  @Option(names = "--type", required = true, description = "Event type tag.")
  String type;

  @Option(names = "--subtype", defaultValue = "", description = "Event subtype tag (default: empty).")
  String subtype;

  @Option(names = "--datagram-version", defaultValue = "0",
      description = "Datagram format: 2, 1 (for aggregators older than v2), or 0 for the emitter's choice by datagram size (default: ${DEFAULT-VALUE}).")
  int datagramVersion;

  @Option(names = {"-f", "--file"}, description = "Read JSON lines from FILE ('-' for standard input).")
  String file;

  @Parameters(arity = "0..*", paramLabel = "JSON", description = "Events as JSON objects.")
  List<String> events;

  @Override
  public Integer call() throws IOException {
    if (port < 1 || port > 65_535) {
      throw new UserException(ExitCodes.USAGE, "--port " + port + " is outside 1..65535");
    }
    InetSocketAddress target;
    try {
      target = new InetSocketAddress(InetAddress.getByName(host), port);
    } catch (UnknownHostException e) {
      throw new UserException(ExitCodes.UNAVAILABLE, "unknown host " + host, e);
    }
    PrintWriter err = spec.commandLine().getErr();
    EventEmitter emitter;
    try {
      emitter = EventEmitter.builder().aggregator(target).dc(dc).type(type).subtype(subtype)
          .datagramVersion(datagramVersion).build();
    } catch (IllegalArgumentException e) {
      throw new UserException(ExitCodes.USAGE, e.getMessage(), e);
    }
    int rejected = 0;
    try (emitter) {
      if (events != null && !events.isEmpty()) {
        int n = 0;
        for (String json : events) {
          rejected += emitOne(emitter, json, "argument " + (++n), err);
        }
      } else if (file != null && !file.equals("-")) {
        try (BufferedReader in = Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8)) {
          rejected = emitLines(emitter, in, file, err);
        } catch (NoSuchFileException e) {
          throw new UserException(ExitCodes.UNAVAILABLE, "no such file: " + file, e);
        }
      } else {
        rejected = emitLines(emitter, new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)), "stdin", err);
      }
    }
    EmitterStats s = emitter.stats();
    err.printf(
        "emitted %d event(s) in %d datagram(s), %d bytes, to %s:%d; dropped %d; rejected %d%n",
        s.emitted(), s.datagrams(), s.bytes(), host, port, s.droppedTotal(), rejected);
    if (s.droppedTotal() > 0) {
      err.println("dropped by reason: " + s.dropped());
    }
    err.flush();
    return rejected > 0 || s.droppedTotal() > 0 ? ExitCodes.PARTIAL : ExitCodes.OK;
  }

  private int emitLines(EventEmitter emitter, BufferedReader in, String source, PrintWriter err) throws IOException {
    int rejected = 0;
    int lineNo = 0;
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      lineNo++;
      if (line.isBlank()) {
        continue;
      }
      rejected += emitOne(emitter, line, source + ":" + lineNo, err);
    }
    return rejected;
  }

  /** Emits one JSON object; returns 1 if it was rejected (and says why on stderr), else 0. */
  private int emitOne(EventEmitter emitter, String json, String where, PrintWriter err) {
    Object parsed;
    try {
      parsed = JSON.readValue(json, Object.class);
    } catch (JsonProcessingException e) {
      err.println("epochal emit: " + where + ": not valid JSON: " + e.getOriginalMessage());
      return 1;
    }
    if (!(parsed instanceof Map)) {
      err.println("epochal emit: " + where + ": expected a JSON object, got " + describe(parsed));
      return 1;
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> event = (Map<String, Object>) parsed;
    try {
      emitter.emit(event);
      return 0;
    } catch (IllegalArgumentException e) {
      err.println("epochal emit: " + where + ": " + e.getMessage());
      return 1;
    }
  }

  private static String describe(Object o) {
    if (o == null) {
      return "null";
    }
    if (o instanceof List) {
      return "an array";
    }
    return "a " + o.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT);
  }
}
