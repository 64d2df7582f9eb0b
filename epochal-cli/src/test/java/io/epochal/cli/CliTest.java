package io.epochal.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.epochal.format.FormatException;
import io.epochal.format.Tags;
import io.epochal.format.datagram.DatagramReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CliTest {
  private DatagramSocket receiver;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @BeforeEach
  void bind() throws IOException {
    receiver = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    receiver.setSoTimeout(200);
  }

  @AfterEach
  void unbind() {
    receiver.close();
  }

  private int run(String... args) {
    CommandLine cli = Epochal.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  private List<Map.Entry<Tags, Map<String, Object>>> receive(int n) throws IOException, FormatException {
    List<Map.Entry<Tags, Map<String, Object>>> got = new ArrayList<>();
    DatagramReader reader = new DatagramReader();
    byte[] buf = new byte[65_536];
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (got.size() < n && System.nanoTime() < deadline) {
      DatagramPacket p = new DatagramPacket(buf, buf.length);
      try {
        receiver.receive(p);
      } catch (SocketTimeoutException e) {
        continue;
      }
      reader.read(p.getData(), 0, p.getLength(), new DatagramReader.Sink() {
        @Override
        public void event(Tags tags, Map<String, Object> event) {
          got.add(Map.entry(tags, event));
        }

        @Override
        public void invalidEvent(FormatException e) {
          throw new AssertionError(e);
        }
      });
    }
    assertThat(got).hasSize(n);
    return got;
  }

  @Test
  void emitsArguments() throws Exception {
    int code = run("emit", "--port", "" + receiver.getLocalPort(), "--dc", "east", "--type", "WEB", "--subtype", "app",
        "{\"url\":\"/a\",\"status\":200,\"t\":{\"db\":1.5}}", "{\"big\":12345678901234,\"tags\":[\"x\",null,true]}");
    assertThat(code).as(err.toString()).isZero();
    var got = receive(2);
    assertThat(got.get(0).getKey().dc()).isEqualTo("east");
    assertThat(got.get(0).getKey().type()).isEqualTo("WEB");
    assertThat(got.get(0).getValue()).isEqualTo(Map.of("url", "/a", "status", 200L, "t", Map.of("db", 1.5)));
    assertThat(got.get(1).getValue().get("big")).isEqualTo(12345678901234L);
    assertThat(err.toString()).contains("emitted 2 event(s)");
  }

  @Test
  void emitsJsonLinesAndReportsBadOnesByLine(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("events.jsonl");
    Files.writeString(file, "{\"n\":1}\nnot json\n[1,2]\n\n{\"n\":2}\n");
    int code = run("emit", "--port", "" + receiver.getLocalPort(), "--type", "CRON", "--file", file.toString());
    assertThat(code).isEqualTo(ExitCodes.PARTIAL);
    var got = receive(2);
    assertThat(got).extracting(e -> e.getValue().get("n")).containsExactly(1L, 2L);
    assertThat(err.toString())
        .contains("events.jsonl:2: not valid JSON")
        .contains("events.jsonl:3: expected a JSON object, got an array")
        .contains("rejected 2");
  }

  @Test
  void badArgumentsGiveOneLineAndUsageExitCode() {
    assertThat(run("emit", "--port", "5140", "{}")).isEqualTo(ExitCodes.USAGE); // --type missing
    assertThat(err.toString()).contains("Missing required option: '--type").doesNotContain("Exception");
    err.getBuffer().setLength(0);
    assertThat(run("emit", "--type", "BAD TYPE", "{}")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("invalid type \"BAD TYPE\"").doesNotContain("\tat ");
    err.getBuffer().setLength(0);
    assertThat(run("emit", "--type", "WEB", "--file", "/nonexistent/x.jsonl")).isEqualTo(ExitCodes.UNAVAILABLE);
    assertThat(err.toString()).contains("no such file");
    err.getBuffer().setLength(0);
    assertThat(run("frobnicate")).isEqualTo(ExitCodes.USAGE);
    assertThat(run("emit", "--type", "WEB", "--port", "70000", "{}")).isEqualTo(ExitCodes.USAGE);
    err.getBuffer().setLength(0);
    assertThat(run("emit", "--type", "WEB", "--datagram-version", "3", "{}")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("datagramVersion 3 is not 1, 2 or 0").doesNotContain("\tat ");
  }

  @Test
  void verboseShowsTheStackTrace() {
    assertThat(run("emit", "--verbose", "--type", "WEB", "--file", "/nonexistent/x.jsonl")).isEqualTo(ExitCodes.UNAVAILABLE);
    assertThat(err.toString()).contains("\tat ");
  }

  @Test
  void demoRunsAndChecksItsCounts() {
    int code = run("demo", "--seconds", "1", "--rate", "5000");
    assertThat(code).as(out + "\n" + err).isZero();
    assertThat(out.toString()).contains("check              OK");
  }

  @Test
  void storePrintsItsConfigAndRejectsBadValuesNamingTheKey(@TempDir Path dir) {
    assertThat(run("store", "--data-dir", dir.toString(), "--http-port", "0", "--print-config")).isEqualTo(0);
    assertThat(out.toString()).contains("epochal.store.data-dir", dir.toString(), "epochal.store.engine.sync");
    assertThat(run("store", "--http-port", "70000")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("epochal.store.http-port", "70000");
    assertThat(run("store", "-D", "epochal.store.engine.sync=sometimes")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("epochal.store.engine.sync");
    assertThat(run("store", "-D", "epochal.store.no-such-key=1")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("epochal.store.no-such-key");
  }
}
