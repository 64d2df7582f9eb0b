package io.epochal.format.datagram;

import io.epochal.format.codec.EventEncoder;
import java.util.Map;

/**
 * Encodes one event with its tags as a datagram record body: epoch (varlong), dc, type, subtype
 * (string items) and the event (a MAP value). Tags must already be valid ({@link
 * io.epochal.format.TagRules}); the event is checked by the encoder.
 */
public final class EventRecords {
  private EventRecords() {}

  /**
   * Resets {@code encoder} (which must not de-duplicate strings) and writes one record into it.
   *
   * @throws IllegalArgumentException the event holds an unsupported value (message names the field)
   * @throws io.epochal.format.codec.EventTooLargeException the record exceeds the encoder's limit
   */
  public static void encode(
      EventEncoder encoder, long epoch, String dc, String type, String subtype, Map<String, ?> event) {
    if (encoder.dedupesStrings()) {
      throw new IllegalArgumentException("datagram records must not use string references");
    }
    encoder.reset();
    encoder.writeVarLong(epoch);
    encoder.writeString(dc);
    encoder.writeString(type);
    encoder.writeString(subtype);
    encoder.writeEvent(event);
  }
}
