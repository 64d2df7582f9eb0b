package io.epochal.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SettingsTest {
  private static final String P = "epochal.aggregator";
  private static final ConfigKey PORT = ConfigKey.of("udp-port", "UDP port to receive datagrams on.");
  private static final ConfigKey SEAL = ConfigKey.of("seal-after", "How long an epoch stays open.");
  private static final ConfigKey MAX_BLOB = ConfigKey.of("max-blob-size", "Largest sealed blob.");

  @TempDir Path dir;

  private Path file(String content) throws IOException {
    Path f = dir.resolve("aggregator.properties");
    Files.writeString(f, content, StandardCharsets.UTF_8);
    return f;
  }

  private static Settings flag(String key, String value) {
    return ConfigSources.builder().flags(Map.of(P + "." + key, value)).build().settings(P);
  }

  private static Settings env(String name, String value) {
    return ConfigSources.builder().env(Map.of(name, value)).build().settings(P);
  }

  // ------------------------------------------------------------------------------ precedence

  @Test
  void flagsBeatEnvBeatFileBeatDefaultsBeatDeclaredDefault() throws IOException {
    Path f = file("epochal.aggregator.udp-port = 3003\n");
    Map<String, String> defaults = Map.of("epochal.aggregator.udp-port", "4004");
    Map<String, String> env = Map.of("EPOCHAL_AGGREGATOR_UDP_PORT", "2002");
    Map<String, String> flags = Map.of("epochal.aggregator.udp-port", "1001");

    assertThat(read(ConfigSources.builder().defaults(defaults).file(f).env(env).flags(flags)))
        .isEqualTo("1001 flag --udp-port");
    assertThat(read(ConfigSources.builder().defaults(defaults).file(f).env(env)))
        .isEqualTo("2002 env EPOCHAL_AGGREGATOR_UDP_PORT");
    assertThat(read(ConfigSources.builder().defaults(defaults).file(f)))
        .isEqualTo("3003 file " + f);
    assertThat(read(ConfigSources.builder().defaults(defaults))).isEqualTo("4004 defaults");
    assertThat(read(ConfigSources.builder())).isEqualTo("5140 default");
  }

  private static String read(ConfigSources.Builder sources) {
    Settings s = sources.build().settings(P);
    int port = s.getInt(PORT, 5140, 1, 65535);
    Settings.Entry e = s.entries().get(0);
    assertThat(e.value()).isEqualTo(Integer.toString(port));
    return port + " " + e.origin();
  }

  @Test
  void entriesDescribeSourceDefaultFormAndEnvironmentName() {
    Settings s = flag("udp-port", " 5141 ");
    s.getInt(PORT, 5140, 1, 65535);

    assertThat(s.entries())
        .containsExactly(
            new Settings.Entry(
                "epochal.aggregator.udp-port",
                "5141",
                Settings.Source.FLAG,
                "flag --udp-port",
                "5140",
                "an integer in [1, 65535]",
                "UDP port to receive datagrams on.",
                "EPOCHAL_AGGREGATOR_UDP_PORT"));
  }

  // ----------------------------------------------------------------------------- environment

  @Test
  void environmentNamesAreUpperCaseWithUnderscores() {
    assertThat(ConfigSources.envName("epochal.aggregator.udp-port"))
        .isEqualTo("EPOCHAL_AGGREGATOR_UDP_PORT");
    assertThat(ConfigSources.envName("epochal.store.engine.merge-interval"))
        .isEqualTo("EPOCHAL_STORE_ENGINE_MERGE_INTERVAL");
  }

  @Test
  void environmentIsMatchedThroughTheKeysRead() {
    Settings s = env("EPOCHAL_AGGREGATOR_SPOOL_MAX_BYTES", "2GiB");

    long bytes = s.sub("spool").getBytes(ConfigKey.of("max-bytes", "Spool size."), 1L << 30, 0, 1L << 40);

    assertThat(bytes).isEqualTo(2L << 30);
    assertThat(s.entries().get(0).key()).isEqualTo("epochal.aggregator.spool.max-bytes");
    s.requireNoUnknownKeys();
  }

  @Test
  void twoKeysWithTheSameEnvironmentNameAreAProgrammingError() {
    Settings s = ConfigSources.empty().settings(P);
    s.getInt(ConfigKey.of("spool.size", "a"), 1, 0, 10);

    assertThatThrownBy(() -> s.getInt(ConfigKey.of("spool-size", "b"), 1, 0, 10))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "keys epochal.aggregator.spool.size and epochal.aggregator.spool-size share the"
                + " environment variable EPOCHAL_AGGREGATOR_SPOOL_SIZE");
  }

  // ----------------------------------------------------------------------------- unknown keys

  @Test
  void unknownKeyInFileIsAnError() throws IOException {
    Path f = file("epochal.aggregator.udp-prot=5141\nepochal.store.http-port=8098\n");
    Settings s = ConfigSources.builder().file(f).build().settings(P);
    s.getInt(PORT, 5140, 1, 65535);
    s.getDuration(SEAL, Duration.ofSeconds(2), Duration.ofMillis(100), Duration.ofMinutes(5));

    assertThatThrownBy(s::requireNoUnknownKeys)
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "unknown configuration key under epochal.aggregator: epochal.aggregator.udp-prot (from file "
                + f
                + "); known keys: epochal.aggregator.seal-after, epochal.aggregator.udp-port")
        .extracting(e -> ((ConfigException) e).key())
        .isEqualTo(java.util.Optional.of("epochal.aggregator.udp-prot"));
  }

  @Test
  void unknownEnvironmentVariableWithThePrefixIsAnError() {
    Settings s =
        ConfigSources.builder()
            .env(
                Map.of(
                    "EPOCHAL_AGGREGATOR_UDP_PROT", "5141",
                    "EPOCHAL_AGGREGATOR_UDP_PORT", "5142",
                    "EPOCHAL_HOME", "/opt/epochal",
                    "EPOCHAL_STORE_PORT", "8098",
                    "PATH", "/usr/bin"))
            .build()
            .settings(P);
    assertThat(s.getInt(PORT, 5140, 1, 65535)).isEqualTo(5142);

    assertThatThrownBy(s::requireNoUnknownKeys)
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "unknown configuration key under epochal.aggregator: EPOCHAL_AGGREGATOR_UDP_PROT (from env);"
                + " known keys: epochal.aggregator.udp-port");
  }

  @Test
  void unknownFlagIsAnError() {
    Settings s =
        ConfigSources.builder()
            .flags(Map.of("epochal.aggregator.udp-prot", "1", "epochal.aggregator.spool.dri", "/x"))
            .build()
            .settings(P);

    assertThatThrownBy(s::requireNoUnknownKeys)
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "unknown configuration keys under epochal.aggregator:"
                + " epochal.aggregator.spool.dri (from flag --spool.dri),"
                + " epochal.aggregator.udp-prot (from flag --udp-prot); known keys: none");
  }

  @Test
  void keysReadThroughASubViewAreKnown() {
    Settings s = flag("spool.dir", "/var/spool/epochal");

    Path spoolDir = s.sub("spool").getPath(ConfigKey.of("dir", "Spool directory."), Path.of("spool"));

    assertThat(spoolDir).isEqualTo(Path.of("/var/spool/epochal"));
    s.requireNoUnknownKeys();
  }

  // ---------------------------------------------------------------------------------- integers

  @Test
  void intOutOfRangeNamesKeyValueSourceAndRange() {
    assertThatThrownBy(() -> flag("udp-port", "70000").getInt(PORT, 5140, 1, 65535))
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "epochal.aggregator.udp-port = 70000 (from flag --udp-port): must be an integer in [1, 65535]");
  }

  @Test
  void flagNamedByTheCliIsReportedAsTyped() {
    Settings s =
        ConfigSources.builder().flag("epochal.aggregator.udp-port", "0", "-p").build().settings(P);

    assertThatThrownBy(() -> s.getInt(PORT, 5140, 1, 65535))
        .hasMessage("epochal.aggregator.udp-port = 0 (from flag -p): must be an integer in [1, 65535]");
  }

  @Test
  void intThatIsNotANumberFromEnvironment() {
    assertThatThrownBy(() -> env("EPOCHAL_AGGREGATOR_UDP_PORT", "fifty").getInt(PORT, 5140, 1, 65535))
        .hasMessage(
            "epochal.aggregator.udp-port = fifty (from env EPOCHAL_AGGREGATOR_UDP_PORT):"
                + " must be an integer in [1, 65535]");
  }

  @Test
  void intFromFile() throws IOException {
    Path f = file("epochal.aggregator.udp-port=99999999999\n");
    Settings s = ConfigSources.builder().file(f).build().settings(P);

    assertThatThrownBy(() -> s.getInt(PORT, 5140, 1, 65535))
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "epochal.aggregator.udp-port = 99999999999 (from file " + f + "): must be an integer in [1, 65535]");
  }

  @Test
  void emptyValueIsShownQuoted() {
    assertThatThrownBy(() -> env("EPOCHAL_AGGREGATOR_UDP_PORT", "").getInt(PORT, 5140, 1, 65535))
        .hasMessage(
            "epochal.aggregator.udp-port = \"\" (from env EPOCHAL_AGGREGATOR_UDP_PORT):"
                + " must be an integer in [1, 65535]");
  }

  @Test
  void longsAcceptTheFullRange() {
    ConfigKey k = ConfigKey.of("offset", "o");
    assertThat(flag("offset", "-9223372036854775808").getLong(k, 0, Long.MIN_VALUE, Long.MAX_VALUE))
        .isEqualTo(Long.MIN_VALUE);
    assertThatThrownBy(() -> flag("offset", "-1").getLong(k, 0, 0, 10))
        .hasMessage("epochal.aggregator.offset = -1 (from flag --offset): must be an integer in [0, 10]");
  }

  @Test
  void defaultOutsideItsRangeIsAProgrammingError() {
    Settings s = ConfigSources.empty().settings(P);
    assertThatThrownBy(() -> s.getInt(PORT, 0, 1, 65535))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("config key udp-port: default 0 is not an integer in [1, 65535]");
    assertThatThrownBy(() -> s.getBytes(MAX_BLOB, 10, 1024, 2048))
        .isInstanceOf(IllegalArgumentException.class);
  }

  // --------------------------------------------------------------------------------- durations

  @ParameterizedTest
  @CsvSource({
    "250ms, PT0.25S",
    "2s, PT2S",
    "5m, PT5M",
    "1h, PT1H",
    "1d, PT24H",
    "0, PT0S",
    "2 s, PT2S",
    "PT2S, PT2S",
    "pt1.5s, PT1.5S",
    "P1DT1H, PT25H"
  })
  void durationForms(String text, String iso) {
    Duration d =
        flag("seal-after", text).getDuration(SEAL, Duration.ofSeconds(2), Duration.ZERO, Duration.ofDays(2));
    assertThat(d).isEqualTo(Duration.parse(iso));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "2      | must be a duration in [100ms, 5m], e.g. 250ms, 2s, 5m, 1h, 1d or ISO-8601 PT2S",
        "2 sec  | must be a duration in [100ms, 5m], e.g. 250ms, 2s, 5m, 1h, 1d or ISO-8601 PT2S",
        "-5s    | must be a duration in [100ms, 5m], e.g. 250ms, 2s, 5m, 1h, 1d or ISO-8601 PT2S",
        "1.5s   | must be a duration in [100ms, 5m], e.g. 250ms, 2s, 5m, 1h, 1d or ISO-8601 PT2S",
        "PTX    | must be a duration in [100ms, 5m], e.g. 250ms, 2s, 5m, 1h, 1d or ISO-8601 PT2S",
        "99ms   | must be a duration in [100ms, 5m]",
        "6m     | must be a duration in [100ms, 5m]",
        "PT-2S  | must be a duration in [100ms, 5m]",
        "999999999999999999d | must be a duration in [100ms, 5m]",
        "99999999999999999999h | must be a duration in [100ms, 5m]"
      })
  void durationErrors(String text, String requirement) {
    Settings s = env("EPOCHAL_AGGREGATOR_SEAL_AFTER", text);
    assertThatThrownBy(
            () -> s.getDuration(SEAL, Duration.ofSeconds(2), Duration.ofMillis(100), Duration.ofMinutes(5)))
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "epochal.aggregator.seal-after = " + text + " (from env EPOCHAL_AGGREGATOR_SEAL_AFTER): " + requirement);
  }

  // -------------------------------------------------------------------------------- byte sizes

  @ParameterizedTest
  @CsvSource({
    "1048576, 1048576",
    "64KiB, 65536",
    "512MiB, 536870912",
    "4GiB, 4294967296",
    "500KB, 500000",
    "1kb, 1000",
    "2 MB, 2000000",
    "3GB, 3000000000",
    "1TiB, 1099511627776",
    "7B, 7",
    "0, 0"
  })
  void byteSizeForms(String text, long bytes) {
    assertThat(flag("max-blob-size", text).getBytes(MAX_BLOB, 500_000, 0, Long.MAX_VALUE)).isEqualTo(bytes);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "-1             | must be a byte size in [1KiB, 4GiB], e.g. 1048576, 64KiB, 512MiB, 4GiB or 500KB",
        "10XB           | must be a byte size in [1KiB, 4GiB], e.g. 1048576, 64KiB, 512MiB, 4GiB or 500KB",
        "1.5MiB         | must be a byte size in [1KiB, 4GiB], e.g. 1048576, 64KiB, 512MiB, 4GiB or 500KB",
        "KiB            | must be a byte size in [1KiB, 4GiB], e.g. 1048576, 64KiB, 512MiB, 4GiB or 500KB",
        "1023           | must be a byte size in [1KiB, 4GiB]",
        "4097MiB        | must be a byte size in [1KiB, 4GiB]",
        "9999999999GiB  | must be a byte size in [1KiB, 4GiB]",
        "99999999999999999999 | must be a byte size in [1KiB, 4GiB]"
      })
  void byteSizeErrors(String text, String requirement) {
    Settings s = flag("max-blob-size", text);
    assertThatThrownBy(() -> s.getBytes(MAX_BLOB, 500_000, 1024, 4L << 30))
        .isInstanceOf(ConfigException.class)
        .hasMessage("epochal.aggregator.max-blob-size = " + text + " (from flag --max-blob-size): " + requirement);
  }

  // ------------------------------------------------------------------------------ other types

  @Test
  void booleans() {
    ConfigKey k = ConfigKey.of("fsync", "Fsync every blob.");
    assertThat(flag("fsync", "TRUE").getBoolean(k, false)).isTrue();
    assertThat(flag("fsync", "false").getBoolean(k, true)).isFalse();
    assertThat(ConfigSources.empty().settings(P).getBoolean(k, true)).isTrue();
    assertThatThrownBy(() -> flag("fsync", "yes").getBoolean(k, false))
        .hasMessage("epochal.aggregator.fsync = yes (from flag --fsync): must be true or false");
  }

  enum Handoff {
    LOCAL_SPOOL,
    KAFKA
  }

  @Test
  void enums() {
    ConfigKey k = ConfigKey.of("handoff", "Where sealed blobs go.");
    assertThat(flag("handoff", "KAFKA").getEnum(k, Handoff.class, Handoff.LOCAL_SPOOL)).isEqualTo(Handoff.KAFKA);
    assertThat(flag("handoff", "local-spool").getEnum(k, Handoff.class, Handoff.KAFKA))
        .isEqualTo(Handoff.LOCAL_SPOOL);
    assertThatThrownBy(() -> flag("handoff", "pigeon").getEnum(k, Handoff.class, Handoff.KAFKA))
        .hasMessage("epochal.aggregator.handoff = pigeon (from flag --handoff): must be one of local-spool, kafka");
  }

  @Test
  void strings() {
    ConfigKey dc = ConfigKey.of("dc", "Data-center id.");
    assertThat(flag("dc", " 7 ").getString(dc, "1")).isEqualTo("7");
    assertThat(ConfigSources.empty().settings(P).getString(dc, null)).isNull();
    assertThat(flag("dc", "7").getString(dc, "1", Pattern.compile("[0-9]+"))).isEqualTo("7");
    assertThatThrownBy(() -> flag("dc", "x7").getString(dc, "1", Pattern.compile("[0-9]+")))
        .hasMessage("epochal.aggregator.dc = x7 (from flag --dc): must be a string matching [0-9]+");
    assertThatThrownBy(() -> flag("dc", "x").getString(dc, "1", "a data-center number", s -> s.equals("1")))
        .hasMessage("epochal.aggregator.dc = x (from flag --dc): must be a data-center number");
  }

  @Test
  void paths() {
    ConfigKey k = ConfigKey.of("spool-dir", "Spool directory.");
    assertThat(flag("spool-dir", "/var/spool").getPath(k, null)).isEqualTo(Path.of("/var/spool"));
    assertThat(ConfigSources.empty().settings(P).getPath(k, null)).isNull();
    assertThatThrownBy(() -> flag("spool-dir", " ").getPath(k, null))
        .hasMessage("epochal.aggregator.spool-dir = \"\" (from flag --spool-dir): must be a file system path");
    assertThatThrownBy(() -> flag("spool-dir", "a\0b").getPath(k, null))
        .hasMessage("epochal.aggregator.spool-dir = a\0b (from flag --spool-dir): must be a file system path");
  }

  @Test
  void lists() {
    ConfigKey k = ConfigKey.of("peers", "Peers.");
    assertThat(flag("peers", "a:1, b:2,,c:3 ,").getList(k, List.of())).containsExactly("a:1", "b:2", "c:3");
    assertThat(flag("peers", "").getList(k, List.of("x"))).isEmpty();
    assertThat(ConfigSources.empty().settings(P).getList(k, List.of("x", "y"))).containsExactly("x", "y");
  }

  @Test
  void secretsAreMasked() {
    ConfigKey k = ConfigKey.secret("sasl-password", "Kafka SASL password.");
    Settings s = flag("sasl-password", "hunter2");

    assertThatThrownBy(() -> s.getString(k, null, Pattern.compile(".{8,}")))
        .hasMessage("epochal.aggregator.sasl-password = **** (from flag --sasl-password): must be a string matching .{8,}");
    assertThat(s.renderEffective()).doesNotContain("hunter2").contains("= ****");
  }

  @Test
  void crossKeyChecksUseTheSameForm() {
    Settings s = flag("max-blob-size", "1KiB");
    long min = s.getBytes(ConfigKey.of("min-blob-size", "Smallest blob."), 4096, 0, 1L << 30);
    long max = s.getBytes(MAX_BLOB, 500_000, 0, 1L << 30);
    assertThat(max).isLessThan(min);

    assertThat(s.invalid(MAX_BLOB, "must be at least min-blob-size (4KiB)"))
        .hasMessage("epochal.aggregator.max-blob-size = 1KiB (from flag --max-blob-size): must be at least min-blob-size (4KiB)");
    assertThat(s.invalid(ConfigKey.of("min-blob-size", "x"), "must be small"))
        .hasMessage("epochal.aggregator.min-blob-size = 4KiB (default): must be small");
    assertThatThrownBy(() -> s.invalid(PORT, "x")).isInstanceOf(IllegalStateException.class);
  }

  // ----------------------------------------------------------------------------------- output

  @Test
  void rendersEffectiveConfiguration() {
    Settings s =
        ConfigSources.builder()
            .flags(Map.of("epochal.aggregator.udp-port", "5141"))
            .env(Map.of("EPOCHAL_AGGREGATOR_SEAL_AFTER", "PT3S"))
            .build()
            .settings(P);
    s.getInt(PORT, 5140, 1, 65535);
    s.getDuration(SEAL, Duration.ofSeconds(2), Duration.ofMillis(100), Duration.ofMinutes(5));
    s.getBytes(MAX_BLOB, 500_000, 1024, 4L << 30);
    s.getString(ConfigKey.of("kafka.bootstrap", "Kafka bootstrap servers; unset: local spool."), null);

    assertThat(s.renderEffective())
        .isEqualTo(
            "epochal.aggregator.udp-port = 5141 (from flag --udp-port)\n"
                + "epochal.aggregator.seal-after = PT3S (from env EPOCHAL_AGGREGATOR_SEAL_AFTER)\n"
                + "epochal.aggregator.max-blob-size = 500KB (default)\n"
                + "epochal.aggregator.kafka.bootstrap = (none) (default)\n");
  }

  @Test
  void rendersDocumentationAsAPropertiesTemplate() {
    Settings s = ConfigSources.empty().settings(P);
    s.getInt(PORT, 5140, 1, 65535);
    s.getDuration(SEAL, Duration.ofSeconds(2), Duration.ofMillis(100), Duration.ofMinutes(5));
    s.getString(ConfigKey.of("kafka.bootstrap", "Kafka bootstrap servers; unset: local spool."), null);

    assertThat(s.renderDocumentation())
        .isEqualTo(
            "# UDP port to receive datagrams on.\n"
                + "# Allowed: an integer in [1, 65535]. Environment: EPOCHAL_AGGREGATOR_UDP_PORT.\n"
                + "#epochal.aggregator.udp-port=5140\n"
                + "\n"
                + "# How long an epoch stays open.\n"
                + "# Allowed: a duration in [100ms, 5m]. Environment: EPOCHAL_AGGREGATOR_SEAL_AFTER.\n"
                + "#epochal.aggregator.seal-after=2s\n"
                + "\n"
                + "# Kafka bootstrap servers; unset: local spool.\n"
                + "# Allowed: a string; no default. Environment: EPOCHAL_AGGREGATOR_KAFKA_BOOTSTRAP.\n"
                + "#epochal.aggregator.kafka.bootstrap=\n");
  }

  // ------------------------------------------------------------------------------ the sources

  @Test
  void unreadableFileIsAConfigException() {
    Path missing = dir.resolve("missing.properties");
    assertThatThrownBy(() -> ConfigSources.builder().file(missing).build())
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("config file " + missing + " cannot be read: java.nio.file.NoSuchFileException");
  }

  @Test
  void keyAndPrefixNamesAreValidated() {
    assertThatThrownBy(() -> ConfigKey.of("UDP_PORT", "x")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ConfigKey.of("udp-port", " ")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ConfigSources.empty().settings("epochal.")).isInstanceOf(IllegalArgumentException.class);
  }
}
