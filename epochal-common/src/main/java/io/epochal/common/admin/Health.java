package io.epochal.common.admin;

import java.util.Objects;

/**
 * The result of one health check, as reported under {@code checks} by {@code GET /health}.
 *
 * @param healthy whether this part works
 * @param detail a short human-readable explanation, or null
 */
public record Health(boolean healthy, String detail) {

  /** A passing check without detail. */
  public static Health up() {
    return new Health(true, null);
  }

  /** A passing check with detail, e.g. {@code "12 blobs spooled"}. */
  public static Health up(String detail) {
    return new Health(true, detail);
  }

  /** A failing check; {@code detail} says why, e.g. {@code "spool disk full"}. */
  public static Health down(String detail) {
    return new Health(false, Objects.requireNonNull(detail, "detail"));
  }
}
