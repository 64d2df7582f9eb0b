package io.epochal.format.codec;

/** An event's encoding does not fit in the buffer limit of its {@link EventEncoder}. */
public final class EventTooLargeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public EventTooLargeException(String message, Throwable cause) {
    super(message, cause);
  }
}
