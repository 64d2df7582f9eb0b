package io.epochal.store;

/**
 * Why a store operation failed. The HTTP layer maps each code to a status in one place
 * ({@code io.epochal.store.http.ErrorMapping}).
 */
public enum StoreErrorCode {
  /** The request is malformed: bad bucket, key, parameter or body. */
  BAD_REQUEST,
  /** A quorum value is larger than the bucket's n_val. */
  N_VAL_VIOLATION,
  /** The value is larger than the configured maximum. */
  VALUE_TOO_LARGE,
  /** Fewer replicas answered than the request's r/w/dw/pr/pw asked for. */
  QUORUM_UNMET,
  /** The request did not complete within its timeout. */
  TIMEOUT,
  /** The node is at a configured limit (queued requests); retry later. */
  OVERLOADED,
  /** A stored record failed its checksum. */
  CORRUPT_RECORD,
  /** The engine is closed or has failed (for example an fsync failed). */
  UNAVAILABLE,
  /** An I/O error. */
  IO_ERROR
}
