package io.epochal.cli;

import io.epochal.consumer.read.EpochReader;
import io.epochal.zooanimal.NodeSelector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** What {@code fetch} and {@code tail} share: where to read and which events to keep. */
final class ReaderOptions {
  @Option(names = "--nodes", defaultValue = "127.0.0.1:8098", description = "Store nodes, host:port,... (default: ${DEFAULT-VALUE}).")
  String nodes;

  @Option(names = "--dc", description = "Data center (repeatable; default 1).")
  List<String> dcs = new ArrayList<>();

  @Option(names = "--type", description = "Event type to keep (repeatable; default: all).")
  List<String> types = new ArrayList<>();

  @Option(names = "--subtype", description = "Subtype to keep, for every --type given.")
  String subtype;

  /** A reader builder for these options; bad values are usage errors. */
  EpochReader.Builder readerBuilder() {
    if (subtype != null && types.isEmpty()) {
      throw new UserException(ExitCodes.USAGE, "--subtype needs --type");
    }
    NodeSelector selector;
    try {
      selector = NodeSelector.parse(nodes, Duration.ofSeconds(5));
    } catch (IllegalArgumentException e) {
      throw new UserException(ExitCodes.USAGE, "--nodes: " + e.getMessage());
    }
    try {
      EpochReader.Builder b = EpochReader.builder().nodes(selector).dcs(dcs.isEmpty() ? List.of("1") : dcs);
      for (String t : types) {
        if (subtype == null) {
          b.include(t);
        } else {
          b.include(t, subtype);
        }
      }
      return b;
    } catch (IllegalArgumentException e) {
      throw new UserException(ExitCodes.USAGE, e.getMessage(), e); // a bad --dc, --type or --subtype
    }
  }
}
