package io.epochal.aggregator.spool;

/**
 * An append was refused because it would take the spool past its size cap ({@code spool.max-bytes}).
 * Nothing was written; the spool stays usable and accepts appends again, by itself, once the
 * relocator has acknowledged enough to free whole segments.
 *
 * <p>Expected under back-pressure, so cheap: no stack trace, and the message is built only when
 * asked for.
 */
public final class SpoolFullException extends Exception {
  private static final long serialVersionUID = 1L;

  private final long recordBytes;
  private final long sizeBytes;
  private final long maxBytes;

  public SpoolFullException(long recordBytes, long sizeBytes, long maxBytes) {
    super(null, null, false, false);
    this.recordBytes = recordBytes;
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }

  /** Bytes the refused record would have taken on disk. */
  public long recordBytes() {
    return recordBytes;
  }

  /** Bytes the spool held when the append was refused. */
  public long sizeBytes() {
    return sizeBytes;
  }

  /** The cap. */
  public long maxBytes() {
    return maxBytes;
  }

  @Override
  public String getMessage() {
    return "spool full: a record of " + recordBytes + " bytes does not fit (" + sizeBytes + " of "
        + SpoolConfig.MAX_BYTES + " = " + maxBytes + " bytes used)";
  }
}
