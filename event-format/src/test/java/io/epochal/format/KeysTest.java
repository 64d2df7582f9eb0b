package io.epochal.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class KeysTest {
  @Test
  void blobKeyFormatsAndParsesTheDesignExample() throws FormatException {
    BlobKey key = BlobKey.parse("1413813813:1:WEB:app:a7.0");
    assertThat(key).isEqualTo(new BlobKey(1413813813L, "1", "WEB", "app", "a7.0"));
    assertThat(key.format()).isEqualTo("1413813813:1:WEB:app:a7.0");
    assertThat(key.epochKey().format()).isEqualTo("1413813813-1");
    assertThat(key.member().format()).isEqualTo("WEB:app:a7.0");
  }

  @Test
  void emptySubtypeRoundTrips() throws FormatException {
    BlobKey key = new BlobKey(5, "dc-1", "EMK", "", "a7.0");
    assertThat(key.format()).isEqualTo("5:dc-1:EMK::a7.0");
    assertThat(BlobKey.parse(key.format())).isEqualTo(key);
  }

  @Test
  void epochKeyWithDashesInDc() throws FormatException {
    EpochKey key = EpochKey.parse("1413813813-us-east-1");
    assertThat(key).isEqualTo(new EpochKey(1413813813L, "us-east-1"));
    assertThat(key.format()).isEqualTo("1413813813-us-east-1");
  }

  @Test
  void theWholeEpochRangeRoundTrips() throws FormatException {
    BlobKey max = new BlobKey(Long.MAX_VALUE, "1", "WEB", "", "c");
    assertThat(BlobKey.parse(max.format())).isEqualTo(max);
    assertThatThrownBy(() -> BlobKey.parse("9223372036854775808:1:WEB::c")).isInstanceOf(FormatException.class);
  }

  @Test
  void malformedKeysAreFormatErrors() {
    for (String bad :
        List.of("", "1:1:WEB:app", "1:1:WEB:app:a:b", "x:1:WEB:app:c", "01:1:WEB:app:c", "-1:1:WEB:app:c",
            "1::WEB:app:c", "1:1::app:c", "1:1:WEB:app:", "1:1:W EB:app:c")) {
      assertThatThrownBy(() -> BlobKey.parse(bad)).as(bad).isInstanceOf(FormatException.class);
    }
    for (String bad : List.of("", "-1", "1-", "a-1", "1-a b", "1-a/b", "1-a|b")) {
      assertThatThrownBy(() -> EpochKey.parse(bad)).as(bad).isInstanceOf(FormatException.class);
    }
  }

  @Test
  void tagRulesNameTheProblem() {
    assertThatThrownBy(() -> new Tags(1, "1", "WE:B", "")).hasMessageContaining("type").hasMessageContaining("':'");
    assertThatThrownBy(() -> new Tags(1, "1", "WEB", "a|b")).hasMessageContaining("subtype");
    assertThatThrownBy(() -> new Tags(1, "1", "WEB", "a/b")).hasMessageContaining("'/'");
    assertThatThrownBy(() -> new Tags(1, "1", "WEB", "a b")).hasMessageContaining("whitespace");
    assertThatThrownBy(() -> new Tags(1, "1", "WEB", "a\u0001")).hasMessageContaining("control");
    assertThatThrownBy(() -> new Tags(1, "", "WEB", "")).hasMessageContaining("dc").hasMessageContaining("empty");
    assertThatThrownBy(() -> new Tags(1, "1", "x".repeat(65), "")).hasMessageContaining("64 bytes");
    assertThatThrownBy(() -> new Tags(1, "1", "é".repeat(33), "")).hasMessageContaining("64 bytes");
    assertThatThrownBy(() -> new Tags(-1, "1", "WEB", "")).hasMessageContaining("epoch");
    assertThat(new Tags(0, "1", "日本", "").type()).isEqualTo("日本");
  }

  @Test
  void membersCodecIsASortedSet() throws FormatException {
    String value = "WEB:app:a7.1|WEB:app:a7.0|EMK::a7.0";
    List<EpochMember> members = EpochMembers.parse(value);
    assertThat(members).hasSize(3);
    assertThat(EpochMembers.format(members)).isEqualTo("EMK::a7.0|WEB:app:a7.0|WEB:app:a7.1");
    assertThat(EpochMembers.merge("WEB:app:a7.0", "WEB:app:a7.0|WEB:app:b1.0"))
        .isEqualTo("WEB:app:a7.0|WEB:app:b1.0");
    assertThat(EpochMembers.parse("")).isEmpty();
    for (String bad : List.of("|", "a:b:c|", "a:b", "a:b:c||d:e:f", "a:b:c:d")) {
      assertThatThrownBy(() -> EpochMembers.parse(bad)).as(bad).isInstanceOf(FormatException.class);
    }
  }

  @Provide
  Arbitrary<String> tags() {
    return Arbitraries.strings()
        .withCharRange('!', '~')
        .withChars('é', '日', '-')
        .excludeChars(':', '|', '/')
        .ofMinLength(1)
        .ofMaxLength(20);
  }

  @Property(tries = 500)
  void blobKeysRoundTrip(
      @ForAll("tags") String dc,
      @ForAll("tags") String type,
      @ForAll("tags") String subtype,
      @ForAll("tags") String chunk,
      @ForAll boolean emptySubtype,
      @ForAll @net.jqwik.api.constraints.LongRange(min = 0, max = 99_999_999_999L) long epoch)
      throws FormatException {
    BlobKey key = new BlobKey(epoch, dc, type, emptySubtype ? "" : subtype, chunk);
    assertThat(BlobKey.parse(key.format())).isEqualTo(key);
    assertThat(EpochKey.parse(key.epochKey().format())).isEqualTo(key.epochKey());
    assertThat(EpochMember.parse(key.member().format())).isEqualTo(key.member());
    assertThat(key.member().blobKey(key.epochKey())).isEqualTo(key);
  }
}
