package io.epochal.consumer.read;

import io.epochal.format.Tags;
import java.util.Map;

/**
 * One decoded event and the tags of the blob it came from.
 *
 * @param tags epoch, dc, type and subtype
 * @param fields the event as the producer emitted it (decoded: integers as {@code Long}, decimals
 *     as {@code Double} or {@code BigDecimal}, see wire-format.md)
 */
public record TaggedEvent(Tags tags, Map<String, Object> fields) {}
