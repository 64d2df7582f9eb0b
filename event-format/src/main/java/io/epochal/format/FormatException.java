package io.epochal.format;

import java.util.Locale;

/**
 * The one checked exception of the event format: bytes that are not a valid datagram, blob, key or
 * event. Decoders of untrusted input throw only this (never an unchecked exception, never an
 * {@link OutOfMemoryError} caused by a declared size), so callers can count the {@link #reason()}
 * and carry on with other input.
 */
public final class FormatException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why input was rejected; {@link #label()} is the metric tag value. */
  public enum Reason {
    /** Input ends before a complete structure. */
    TRUNCATED,
    /** The magic bytes do not identify an Epochal datagram or blob. */
    BAD_MAGIC,
    /** A format version this reader does not know. */
    BAD_VERSION,
    /** Reserved header bits are set, or an unknown codec is named. */
    BAD_HEADER,
    /** The checksum over the bytes does not match. */
    CHECKSUM_MISMATCH,
    /** A declared length or count cannot be right (negative, larger than the input, over a limit). */
    BAD_LENGTH,
    /** An unknown value type tag. */
    BAD_TYPE,
    /** A string back-reference to a string not yet defined, or where references are not allowed. */
    BAD_REFERENCE,
    /** Containers nested deeper than {@link io.epochal.format.codec.EventEncoder#MAX_DEPTH}. */
    TOO_DEEP,
    /** An event with more values than a decoder accepts. */
    TOO_LARGE,
    /** Bytes left over after the declared content. */
    TRAILING_BYTES,
    /** The declared event count does not match the content. */
    COUNT_MISMATCH,
    /** The payload does not decompress, or not to the declared length. */
    DECOMPRESSION_FAILED,
    /** A tag (dc, type, subtype, chunk) or key does not satisfy the tag rules. */
    INVALID_TAG;

    /** Lower-case name used as the {@code reason} tag of drop and error metrics. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final Reason reason;

  public FormatException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public FormatException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }

  @Override
  public String getMessage() {
    return reason.label() + ": " + super.getMessage();
  }
}
