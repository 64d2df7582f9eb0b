/**
 * The relocator: moves sealed blobs from the spool into the store ({@code events/<blob key>} with
 * the configured w), then lists them in the epoch metadata ({@code epochs/<epoch>-<dc>}), then
 * acknowledges the spool. {@link io.epochal.relocator.Relocator} is the daemon, {@link
 * io.epochal.relocator.SpoolRelocator} the embeddable engine; docs/relocator.md has the protocol.
 */
package io.epochal.relocator;
