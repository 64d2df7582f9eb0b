package io.epochal.store.http;

import io.epochal.store.StoreErrorCode;
import io.netty.handler.codec.http.HttpResponseStatus;

/** The one place store errors become HTTP statuses (Riak's choices where Riak has them). */
final class ErrorMapping {
  private ErrorMapping() {}

  static HttpResponseStatus status(StoreErrorCode code) {
    return switch (code) {
      case BAD_REQUEST, N_VAL_VIOLATION -> HttpResponseStatus.BAD_REQUEST;
      case VALUE_TOO_LARGE -> HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE;
      case QUORUM_UNMET, TIMEOUT, OVERLOADED, UNAVAILABLE -> HttpResponseStatus.SERVICE_UNAVAILABLE;
      case CORRUPT_RECORD, IO_ERROR -> HttpResponseStatus.INTERNAL_SERVER_ERROR;
    };
  }
}
