package io.epochal.store.node;

import io.epochal.store.StoreErrorCode;
import io.epochal.store.StoreException;
import java.util.Locale;

/**
 * A Riak quorum value: {@code one}, {@code quorum} (a majority of n_val), {@code all}, {@code
 * default} (the bucket's setting) or a count. Immutable.
 */
public record Quorum(Kind kind, int count) {
  /** The symbolic forms. */
  public enum Kind {
    ONE,
    QUORUM,
    ALL,
    DEFAULT,
    COUNT
  }

  public static final Quorum ONE = new Quorum(Kind.ONE, 0);
  public static final Quorum QUORUM = new Quorum(Kind.QUORUM, 0);
  public static final Quorum ALL = new Quorum(Kind.ALL, 0);
  public static final Quorum DEFAULT = new Quorum(Kind.DEFAULT, 0);

  public static Quorum of(int count) {
    return new Quorum(Kind.COUNT, count);
  }

  /**
   * Parses a query parameter or property value as Riak does: a non-negative integer or one of
   * {@code one|quorum|all|default}.
   *
   * @throws StoreException BAD_REQUEST with Riak's message, e.g. {@code r query parameter must be
   *     an integer or one of the following words: 'one', 'quorum' or 'all'}
   */
  public static Quorum parse(String name, String value) throws StoreException {
    switch (value.toLowerCase(Locale.ROOT)) {
      case "one":
        return ONE;
      case "quorum":
        return QUORUM;
      case "all":
        return ALL;
      case "default":
        return DEFAULT;
      default:
        break;
    }
    try {
      int n = Integer.parseInt(value);
      if (n >= 0) {
        return of(n);
      }
    } catch (NumberFormatException e) {
      // falls through to Riak's message
    }
    throw new StoreException(StoreErrorCode.BAD_REQUEST, name
        + " query parameter must be an integer or one of the following words: 'one', 'quorum' or 'all'\n");
  }

  /** The replica count this value asks for at {@code nVal}; {@code DEFAULT} resolves to {@code fallback}. */
  public int resolve(int nVal, Quorum fallback) {
    switch (kind) {
      case ONE:
        return 1;
      case QUORUM:
        return nVal / 2 + 1;
      case ALL:
        return nVal;
      case DEFAULT:
        return fallback.kind == Kind.DEFAULT ? nVal / 2 + 1 : fallback.resolve(nVal, QUORUM);
      default:
        return count;
    }
  }

  /** As Riak writes it in bucket properties: a word or a number. */
  public Object json() {
    return kind == Kind.COUNT ? (Object) count : kind.name().toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return String.valueOf(json());
  }
}
