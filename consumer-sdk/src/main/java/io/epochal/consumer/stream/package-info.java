/**
 * Following the present: {@link io.epochal.consumer.stream.StreamingConsumer} calls a handler per
 * epoch once it is a configured lag old, checkpoints durably (at-least-once) and delivers late
 * members as follow-ups. See docs/consumer-sdk.md.
 */
package io.epochal.consumer.stream;
