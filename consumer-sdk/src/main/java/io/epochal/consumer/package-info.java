/**
 * consumer-sdk: clients that read events from the store. {@link io.epochal.consumer.read} reads
 * ranges of epochs in parallel, {@link io.epochal.consumer.stream} follows the present as a
 * daemon, {@link io.epochal.consumer.http} is the asynchronous HTTP client underneath. See
 * docs/consumer-sdk.md.
 */
package io.epochal.consumer;
