package io.epochal.store;

/** A failed store operation, with the {@link StoreErrorCode} that says why. */
public class StoreException extends Exception {
  private static final long serialVersionUID = 1L;
  private final StoreErrorCode code;

  public StoreException(StoreErrorCode code, String message) {
    super(message);
    this.code = code;
  }

  public StoreException(StoreErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public StoreErrorCode code() {
    return code;
  }
}
