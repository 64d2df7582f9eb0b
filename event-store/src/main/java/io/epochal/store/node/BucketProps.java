package io.epochal.store.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.epochal.store.StoreErrorCode;
import io.epochal.store.StoreException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A bucket's properties, Riak's names and meanings (docs/http-api.md), plus Epochal's {@code
 * ttl_secs} (expiry) and {@code merge} ({@code "set_union"}: a PUT adds its {@code |}-separated
 * members to the stored set). Immutable. Properties this node does not interpret are kept and
 * returned as given.
 */
public record BucketProps(
    String name,
    int nVal,
    Quorum r,
    Quorum w,
    Quorum dw,
    Quorum rw,
    Quorum pr,
    Quorum pw,
    boolean notfoundOk,
    boolean basicQuorum,
    boolean allowMult,
    boolean lastWriteWins,
    long ttlSecs,
    Merge merge,
    Map<String, JsonNode> other) {

  /** How a PUT combines with the stored value. */
  public enum Merge {
    /** The PUT replaces the value. */
    NONE,
    /** The value is a set of {@code |}-separated members; a PUT adds to it. */
    SET_UNION
  }

  public static final int MAX_N_VAL = 16;
  public static final long TEN_DAYS = 10L * 24 * 3600;

  /** Riak's defaults for any bucket, at the node's default n_val. */
  public static BucketProps defaults(String name, int nVal) {
    return new BucketProps(name, nVal, Quorum.QUORUM, Quorum.QUORUM, Quorum.QUORUM, Quorum.QUORUM, Quorum.of(0),
        Quorum.of(0), true, false, false, false, 0, Merge.NONE, Map.of());
  }

  /**
   * The built-in defaults of {@code name}: {@code events} as the design runs it (w all, dw 0, r 1,
   * basic_quorum, last_write_wins, 10 days TTL), {@code epochs} the same with set-union merge, any
   * other bucket Riak's defaults without expiry.
   */
  public static BucketProps builtIn(String name, int nVal) {
    BucketProps d = defaults(name, nVal);
    if (name.equals("events") || name.equals("epochs")) {
      boolean epochs = name.equals("epochs");
      return new BucketProps(name, nVal, Quorum.ONE, Quorum.ALL, Quorum.of(0), Quorum.QUORUM, Quorum.of(0),
          Quorum.of(0), true, true, false, !epochs, TEN_DAYS, epochs ? Merge.SET_UNION : Merge.NONE, Map.of());
    }
    return d;
  }

  /** The {@code props} object as Riak returns it. */
  public ObjectNode toJson() {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("name", name);
    o.put("n_val", nVal);
    put(o, "r", r);
    put(o, "w", w);
    put(o, "dw", dw);
    put(o, "rw", rw);
    put(o, "pr", pr);
    put(o, "pw", pw);
    o.put("notfound_ok", notfoundOk);
    o.put("basic_quorum", basicQuorum);
    o.put("allow_mult", allowMult);
    o.put("last_write_wins", lastWriteWins);
    o.put("ttl_secs", ttlSecs);
    o.put("merge", merge == Merge.SET_UNION ? "set_union" : "none");
    o.put("backend", "epochal_bitcask");
    other.forEach(o::set);
    return o;
  }

  private static void put(ObjectNode o, String key, Quorum q) {
    Object v = q.json();
    if (v instanceof Integer i) {
      o.put(key, i);
    } else {
      o.put(key, (String) v);
    }
  }

  /**
   * These props with the fields of {@code update} (a {@code props} object) applied, validated as a
   * whole: n_val in 1..16 (and at most the ring size), quorum forms, quorum counts at most n_val,
   * booleans, ttl_secs >= 0, merge {@code none|set_union}; {@code allow_mult: true} is refused
   * because this store resolves writes by last write (no siblings).
   */
  public BucketProps with(JsonNode update, int maxNVal) throws StoreException {
    if (update == null || !update.isObject()) {
      throw bad("props must be a JSON object");
    }
    int n = nVal;
    Quorum[] q = {r, w, dw, rw, pr, pw};
    String[] qn = {"r", "w", "dw", "rw", "pr", "pw"};
    boolean nfo = notfoundOk;
    boolean bq = basicQuorum;
    boolean am = allowMult;
    boolean lww = lastWriteWins;
    long ttl = ttlSecs;
    Merge m = merge;
    Map<String, JsonNode> rest = new LinkedHashMap<>(other);
    for (Iterator<Map.Entry<String, JsonNode>> it = update.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      String key = f.getKey();
      JsonNode v = f.getValue();
      switch (key) {
        case "name", "backend" -> { } // fixed by the node
        case "n_val" -> {
          if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 1 || v.asInt() > Math.min(MAX_N_VAL, maxNVal)) {
            throw bad("n_val must be an integer in [1, " + Math.min(MAX_N_VAL, maxNVal) + "]");
          }
          n = v.asInt();
        }
        case "r", "w", "dw", "rw", "pr", "pw" -> {
          int i = java.util.Arrays.asList(qn).indexOf(key);
          if (!(v.isTextual() || v.isIntegralNumber())) {
            throw bad(key + " must be an integer or one of 'one', 'quorum', 'all', 'default'");
          }
          q[i] = Quorum.parse(key, v.asText());
        }
        case "notfound_ok" -> nfo = bool(key, v);
        case "basic_quorum" -> bq = bool(key, v);
        case "allow_mult" -> am = bool(key, v);
        case "last_write_wins" -> lww = bool(key, v);
        case "ttl_secs" -> {
          if (!v.isIntegralNumber() || v.asLong() < 0) {
            throw bad("ttl_secs must be an integer >= 0 (0: never expire)");
          }
          ttl = v.asLong();
        }
        case "merge" -> {
          if (!v.isTextual() || !(v.asText().equals("none") || v.asText().equals("set_union"))) {
            throw bad("merge must be \"none\" or \"set_union\"");
          }
          m = v.asText().equals("set_union") ? Merge.SET_UNION : Merge.NONE;
        }
        default -> rest.put(key, v);
      }
    }
    if (am) {
      throw bad("allow_mult=true is not supported: this store keeps one value per key (last write wins)");
    }
    for (int i = 0; i < q.length; i++) {
      if (q[i].kind() == Quorum.Kind.COUNT && q[i].count() > n) {
        throw bad(qn[i] + " = " + q[i].count() + " is larger than n_val = " + n);
      }
    }
    return new BucketProps(name, n, q[0], q[1], q[2], q[3], q[4], q[5], nfo, bq, am, lww, ttl, m, Map.copyOf(rest));
  }

  private static boolean bool(String key, JsonNode v) throws StoreException {
    if (!v.isBoolean()) {
      throw bad(key + " must be true or false");
    }
    return v.asBoolean();
  }

  private static StoreException bad(String message) {
    return new StoreException(StoreErrorCode.BAD_REQUEST, message + "\n");
  }

  /** TTL in ms, 0 for none. */
  public long ttlMillis() {
    return ttlSecs * 1000;
  }
}
