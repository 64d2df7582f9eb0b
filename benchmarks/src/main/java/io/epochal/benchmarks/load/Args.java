package io.epochal.benchmarks.load;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Minimal {@code --name value} / {@code --flag} parser for the load harness mains. Not thread-safe. */
public final class Args {
  private final Map<String, List<String>> values = new LinkedHashMap<>();

  public Args(String[] args, List<String> flags) {
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument '" + a + "'");
      }
      String name = a.substring(2);
      String value;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      } else if (flags.contains(name)) {
        value = "true";
      } else {
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("--" + name + " needs a value");
        }
        value = args[++i];
      }
      values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    }
  }

  /** Fails on an option that is not in {@code known}. */
  public void allowOnly(List<String> known) {
    for (String k : values.keySet()) {
      if (!known.contains(k)) {
        throw new IllegalArgumentException("unknown option --" + k + " (known: --" + String.join(", --", known) + ")");
      }
    }
  }

  public String get(String name, String def) {
    List<String> v = values.get(name);
    return v == null ? def : v.get(v.size() - 1);
  }

  public List<String> all(String name) {
    return values.getOrDefault(name, List.of());
  }

  public boolean flag(String name) {
    return Boolean.parseBoolean(get(name, "false"));
  }

  public long getLong(String name, long def) {
    String v = get(name, null);
    if (v == null) {
      return def;
    }
    try {
      return Long.parseLong(v.replace("_", "").replace(",", ""));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " = '" + v + "' is not an integer");
    }
  }

  public int getInt(String name, int def) {
    return Math.toIntExact(getLong(name, def));
  }
}
