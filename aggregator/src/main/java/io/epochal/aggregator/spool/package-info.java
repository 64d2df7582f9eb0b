/**
 * The hand-off of sealed blobs from the aggregator to the relocator.
 *
 * <p>The aggregator appends (key, blob) records through {@link io.epochal.aggregator.spool.BlobSink};
 * the relocator reads durable records in order through {@link io.epochal.aggregator.spool.BlobSource}
 * and acknowledges them once stored. Records are addressed by stable {@code long} positions;
 * delivery is at-least-once from the acknowledged position. {@link
 * io.epochal.aggregator.spool.FileSpool} implements both sides on local disk (segment files, CRC32C
 * per record, group-commit fsync, a size cap); a Kafka-backed hand-off for aggregators and relocators
 * on different hosts can implement the same two interfaces. {@link
 * io.epochal.aggregator.spool.FileSpool#openReader} opens the reading side alone, for a relocator
 * process beside an aggregator process on one host.
 *
 * <p>On-disk format and recovery rules: docs/spool-format.md.
 */
package io.epochal.aggregator.spool;
