package io.epochal.format.codec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A few named fields of each event, without a map per event: an {@link EventVisitor} that picks
 * the values at the given paths and hands them, one {@link Row} per event, to a handler. A path is
 * a top-level key ({@code "status"}) or keys into nested maps joined by dots ({@code
 * "timing.db"}). Example, over every blob of a batch:
 *
 * <pre>{@code
 * Projection p = Projection.of("status", "url", "timing.db");
 * EventVisitor v = p.visitor(row -> {
 *   if (row.isLong(0) && row.getLong(0) >= 500) {
 *     System.out.println(row.getString(1) + " took " + row.getDouble(2) + " ms in the database");
 *   }
 * });
 * for (EpochBlob blob : batch.blobs()) {
 *   blob.visitEvents(v);
 * }
 * }</pre>
 *
 * <p>Scalars are kept unboxed; a path whose value is a map or a list reports {@link Kind#CONTAINER}
 * (the projection does not build it); a path an event lacks reports {@link Kind#ABSENT}. A key that
 * contains a dot cannot be named. The row is reused: read it in the handler, copy what must be
 * kept. A visitor from {@link #visitor} is not thread-safe; the projection itself is immutable.
 */
public final class Projection {
  /** What a projected field of one event holds. */
  public enum Kind { ABSENT, NULL, BOOLEAN, LONG, DOUBLE, STRING, BYTES, CONTAINER }

  /** Receives one row per event. */
  @FunctionalInterface
  public interface Handler {
    void row(Row row);
  }

  private final List<String> paths;
  /** The path tree: node 0 is the event; children by key; {@code field[node]} the path index or -1. */
  private final List<Map<String, Integer>> children = new ArrayList<>();
  private final List<Integer> fieldOf = new ArrayList<>();

  private Projection(List<String> paths) {
    this.paths = List.copyOf(paths);
    children.add(new HashMap<>());
    fieldOf.add(-1);
    for (int i = 0; i < this.paths.size(); i++) {
      String path = this.paths.get(i);
      if (path.isEmpty() || path.startsWith(".") || path.endsWith(".") || path.contains("..")) {
        throw new IllegalArgumentException("not a field path: \"" + path + "\" (keys joined by dots, e.g. timing.db)");
      }
      int node = 0;
      for (String key : path.split("\\.")) {
        Integer next = children.get(node).get(key);
        if (next == null) {
          next = children.size();
          children.get(node).put(key, next);
          children.add(new HashMap<>());
          fieldOf.add(-1);
        }
        node = next;
      }
      if (fieldOf.get(node) >= 0) {
        throw new IllegalArgumentException("field path \"" + path + "\" given twice");
      }
      fieldOf.set(node, i);
    }
    for (int node = 0; node < children.size(); node++) {
      if (fieldOf.get(node) >= 0 && !children.get(node).isEmpty()) {
        throw new IllegalArgumentException("field path \"" + paths.get(fieldOf.get(node))
            + "\" is a prefix of another path");
      }
    }
  }

  /** A projection of {@code paths}, in this order (row index i is {@code paths[i]}). */
  public static Projection of(String... paths) {
    return new Projection(Arrays.asList(paths));
  }

  /** A projection of {@code paths}, in this order. */
  public static Projection of(List<String> paths) {
    return new Projection(paths);
  }

  public List<String> paths() {
    return paths;
  }

  /** A visitor that calls {@code handler} once per event visited, with that event's row. */
  public EventVisitor visitor(Handler handler) {
    return new Picker(Objects.requireNonNull(handler, "handler"));
  }

  /** The projected fields of the event being visited. */
  public final class Row {
    private final Kind[] kinds = new Kind[paths.size()];
    private final long[] longs = new long[paths.size()];
    private final double[] doubles = new double[paths.size()];
    private final Object[] objects = new Object[paths.size()];

    private Row() {
      Arrays.fill(kinds, Kind.ABSENT);
    }

    public int size() {
      return kinds.length;
    }

    public Kind kind(int i) {
      return kinds[i];
    }

    public boolean isLong(int i) {
      return kinds[i] == Kind.LONG;
    }

    /** The value of field {@code i} if it is a LONG. */
    public long getLong(int i) {
      require(i, Kind.LONG);
      return longs[i];
    }

    /** The value of field {@code i} if it is a DOUBLE, or a LONG widened. */
    public double getDouble(int i) {
      if (kinds[i] == Kind.LONG) {
        return longs[i];
      }
      require(i, Kind.DOUBLE);
      return doubles[i];
    }

    public boolean getBoolean(int i) {
      require(i, Kind.BOOLEAN);
      return longs[i] != 0;
    }

    /** The string of field {@code i}, or null if it is absent, null, or not a string. */
    public String getString(int i) {
      return kinds[i] == Kind.STRING ? (String) objects[i] : null;
    }

    /** A copy of the bytes of field {@code i} if it is BYTES. */
    public byte[] getBytes(int i) {
      require(i, Kind.BYTES);
      return ((byte[]) objects[i]).clone();
    }

    /**
     * Field {@code i} boxed as the map decoder would give it ({@code Long}, {@code Double}, {@code
     * Boolean}, {@code String}, {@code byte[]}), or null if absent, null or a container.
     */
    public Object get(int i) {
      return switch (kinds[i]) {
        case LONG -> longs[i];
        case DOUBLE -> doubles[i];
        case BOOLEAN -> longs[i] != 0;
        case STRING -> objects[i];
        case BYTES -> ((byte[]) objects[i]).clone();
        default -> null;
      };
    }

    private void require(int i, Kind kind) {
      if (kinds[i] != kind) {
        throw new IllegalStateException("field " + paths.get(i) + " is " + kinds[i] + ", not " + kind);
      }
    }

    private void clear() {
      Arrays.fill(kinds, Kind.ABSENT);
      Arrays.fill(objects, null);
    }

    @Override
    public String toString() {
      StringBuilder b = new StringBuilder("{");
      for (int i = 0; i < kinds.length; i++) {
        b.append(i == 0 ? "" : ", ").append(paths.get(i)).append('=');
        b.append(kinds[i] == Kind.ABSENT || kinds[i] == Kind.CONTAINER ? kinds[i].name().toLowerCase(java.util.Locale.ROOT) : get(i));
      }
      return b.append('}').toString();
    }
  }

  /**
   * Follows the visit down the path tree: {@code node[d]} is where map depth d is in the tree
   * (-1: off every path); {@code pending} the node the next value belongs to.
   */
  private final class Picker implements EventVisitor {
    private final Handler handler;
    private final Row row = new Row();
    private int[] node = new int[8];
    /** Per map depth: how many keys of that map were seen. */
    private int[] entry = new int[8];
    private int depth;
    /*
     * Per tree node, by entry position: the key instance seen there last and where it led (node +
     * 1; 0: nowhere). Events of one kind repeat their keys in the same order, and a blob hands out
     * one String instance per distinct string, so most keys are matched by identity, not hashed.
     */
    private final String[][] memoKeys = new String[children.size()][];
    private final int[][] memoNext = new int[children.size()][];
    /** Tree node of the value about to be visited, -1 if it is projected by no path. */
    private int pending = -1;
    /** Lists entered below a projected or unprojected value: their items are never picked. */
    private int listDepth;

    Picker(Handler handler) {
      this.handler = handler;
    }

    @Override
    public void beginMap(int size) {
      if (depth == 0) {
        row.clear();
        enter(0);
        return;
      }
      int field = target();
      if (field >= 0) {
        set(field, Kind.CONTAINER);
      }
      enter(listDepth == 0 && pending >= 0 && fieldOf.get(pending) < 0 ? pending : -1);
    }

    private void enter(int treeNode) {
      if (depth == node.length) {
        node = Arrays.copyOf(node, depth * 2);
        entry = Arrays.copyOf(entry, depth * 2);
      }
      entry[depth] = 0;
      node[depth++] = treeNode;
      pending = -1;
    }

    @Override
    public void key(String key) {
      int at = node[depth - 1];
      if (at < 0) {
        pending = -1;
        return;
      }
      int i = entry[depth - 1]++;
      String[] keys = memoKeys[at];
      if (keys != null && i < keys.length && keys[i] == key) {
        pending = memoNext[at][i] - 1;
        return;
      }
      Integer next = children.get(at).get(key);
      pending = next == null ? -1 : next;
      if (i < 256) { // remember the first 256 positions of each map
        if (keys == null || i >= keys.length) {
          int n = Math.min(256, Math.max(i + 1, keys == null ? 16 : keys.length * 2));
          memoKeys[at] = keys = keys == null ? new String[n] : Arrays.copyOf(keys, n);
          memoNext[at] = memoNext[at] == null ? new int[n] : Arrays.copyOf(memoNext[at], n);
        }
        keys[i] = key;
        memoNext[at][i] = pending + 1;
      }
    }

    @Override
    public void endMap() {
      depth--;
      pending = -1;
      if (depth == 0) {
        handler.row(row);
      }
    }

    @Override
    public void beginList(int size) {
      int field = target();
      if (field >= 0) {
        set(field, Kind.CONTAINER);
      }
      listDepth++;
      pending = -1;
    }

    @Override
    public void endList() {
      listDepth--;
    }

    /** The row index the current value fills, or -1. */
    private int target() {
      return listDepth == 0 && pending >= 0 ? fieldOf.get(pending) : -1;
    }

    private void set(int field, Kind kind) {
      row.kinds[field] = kind;
      pending = -1;
    }

    @Override
    public void nullValue() {
      int f = target();
      if (f >= 0) {
        set(f, Kind.NULL);
      }
    }

    @Override
    public void booleanValue(boolean value) {
      int f = target();
      if (f >= 0) {
        row.longs[f] = value ? 1 : 0;
        set(f, Kind.BOOLEAN);
      }
    }

    @Override
    public void longValue(long value) {
      int f = target();
      if (f >= 0) {
        row.longs[f] = value;
        set(f, Kind.LONG);
      }
    }

    @Override
    public void doubleValue(double value) {
      int f = target();
      if (f >= 0) {
        row.doubles[f] = value;
        set(f, Kind.DOUBLE);
      }
    }

    @Override
    public void stringValue(String value) {
      int f = target();
      if (f >= 0) {
        row.objects[f] = value;
        set(f, Kind.STRING);
      }
    }

    @Override
    public void bytesValue(byte[] bytes, int off, int len) {
      int f = target();
      if (f >= 0) {
        row.objects[f] = Arrays.copyOfRange(bytes, off, off + len);
        set(f, Kind.BYTES);
      }
    }
  }
}
