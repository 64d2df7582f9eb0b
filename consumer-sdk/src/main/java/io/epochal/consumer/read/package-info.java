/**
 * Reading epochs: {@link io.epochal.consumer.read.EpochReader} fetches the blobs of a range of
 * seconds in parallel and delivers them per epoch, in order, verified and decoded lazily. See
 * docs/consumer-sdk.md.
 */
package io.epochal.consumer.read;
