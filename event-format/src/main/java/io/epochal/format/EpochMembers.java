package io.epochal.format;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Codec of the epoch metadata value: the {@code |}-joined list of {@link EpochMember}s, e.g. {@code
 * WEB:app:a7.0|WEB:app:a7.1|EMK::a7.0}. The value is a set: {@link #merge} is a union and
 * {@link #format} writes members sorted and without repeats, so merged values are stable.
 */
public final class EpochMembers {
  private EpochMembers() {}

  /** Formats members sorted, each once; an empty collection gives the empty string. */
  public static String format(Collection<EpochMember> members) {
    Set<EpochMember> sorted = new TreeSet<>(members);
    StringBuilder b = new StringBuilder(sorted.size() * 24);
    for (EpochMember m : sorted) {
      if (b.length() > 0) {
        b.append('|');
      }
      b.append(m.type()).append(':').append(m.subtype()).append(':').append(m.chunk());
    }
    return b.toString();
  }

  /**
   * Parses a member list. The empty string is the empty list; empty entries (as in {@code a||b} or
   * a trailing {@code |}) are errors, as is any entry that is not a valid member.
   */
  public static List<EpochMember> parse(String value) throws FormatException {
    if (value == null) {
      throw new FormatException(FormatException.Reason.INVALID_TAG, "epoch members value is null");
    }
    if (value.isEmpty()) {
      return Collections.emptyList();
    }
    List<EpochMember> out = new ArrayList<>();
    int start = 0;
    while (true) {
      int bar = value.indexOf('|', start);
      String entry = bar < 0 ? value.substring(start) : value.substring(start, bar);
      out.add(EpochMember.parse(entry));
      if (bar < 0) {
        return out;
      }
      start = bar + 1;
    }
  }

  /** Set union of two formatted member lists, formatted. */
  public static String merge(String a, String b) throws FormatException {
    Set<EpochMember> union = new TreeSet<>(parse(a));
    union.addAll(parse(b));
    return format(union);
  }
}
