package io.epochal.aggregator.spool;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bytes docs/spool-format.md shows are the bytes the code writes. */
class SpoolFormatTest {
  /** docs/spool-format.md, "Example": key "1413813813:1:WEB:app:a7.0", blob "hello, spool". */
  static final String EXAMPLE_RECORD = "45505352" + "ee52f8ef" + "27000000" + "1900"
      + "313431333831333831333a313a5745423a6170703a61372e30" + "68656c6c6f2c2073706f6f6c";

  /** The ack file after acknowledging that record (position 51). */
  static final String EXAMPLE_ACK = "45505341" + "3300000000000000" + "ccf22d0a";

  @TempDir
  Path dir;

  @Test
  void exampleRecordAndAckFileMatchTheDocumentation() throws Exception {
    try (FileSpool spool = FileSpool.open(SpoolConfig.builder(dir).build())) {
      long end = spool.append("1413813813:1:WEB:app:a7.0", "hello, spool".getBytes(StandardCharsets.US_ASCII));
      spool.sync();
      spool.acknowledge(end);
    }
    String record = HexFormat.of().formatHex(Files.readAllBytes(dir.resolve("00000000000000000000.spool")));
    String ack = HexFormat.of().formatHex(Files.readAllBytes(dir.resolve("ack")));
    assertThat(record).isEqualTo(EXAMPLE_RECORD);
    assertThat(ack).isEqualTo(EXAMPLE_ACK);
  }
}
