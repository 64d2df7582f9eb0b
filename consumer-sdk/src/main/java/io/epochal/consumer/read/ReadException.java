package io.epochal.consumer.read;

/**
 * A read of epochs failed: {@link #code()} says how, {@link #key()} names the store object
 * ({@code events/<blob key>} or {@code epochs/<epoch key>}) it failed on, when there is one.
 * Nothing is skipped: a read that cannot deliver a listed blob fails with this exception.
 */
public final class ReadException extends Exception {
  private static final long serialVersionUID = 1L;

  /** What went wrong. */
  public enum Code {
    /** A blob listed in the epoch metadata was not found on any replica, after asking every replica. */
    MISSING_BLOB,
    /** A blob's bytes failed verification (checksum, header, tags not matching its key, payload). */
    CORRUPT_BLOB,
    /** The epoch metadata value does not parse as a member list. */
    BAD_METADATA,
    /** No node answered usefully before the deadline (connect errors, 5xx, timeouts). */
    UNAVAILABLE,
    /** A node rejected the request (a 4xx other than 404): a client or configuration error. */
    REJECTED,
    /** The reader was closed. */
    CLOSED,
    /** The reading thread was interrupted (its interrupt flag is set again). */
    INTERRUPTED
  }

  private final Code code;
  private final String key;

  public ReadException(Code code, String key, String message) {
    super(message);
    this.code = code;
    this.key = key;
  }

  public ReadException(Code code, String key, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
    this.key = key;
  }

  public Code code() {
    return code;
  }

  /** The object the failure is about, as {@code bucket/key}; null when none is. */
  public String key() {
    return key;
  }

  @Override
  public String getMessage() {
    return code.name().toLowerCase(java.util.Locale.ROOT) + ": " + super.getMessage();
  }
}
