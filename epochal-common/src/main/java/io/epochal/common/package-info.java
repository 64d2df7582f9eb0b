/**
 * Shared infrastructure of every Epochal daemon (aggregator, relocator, store node):
 *
 * <ul>
 *   <li>{@link io.epochal.common.lifecycle} — one start/stop contract and an ordered stack of
 *       components closed in reverse, with the single JVM shutdown hook;
 *   <li>{@link io.epochal.common.config} — typed, validated configuration merged from defaults,
 *       a properties file, the environment and command-line flags;
 *   <li>{@link io.epochal.common.admin} — the admin HTTP endpoint ({@code /metrics}, {@code
 *       /health});
 *   <li>{@link io.epochal.common.log} — rate-limited logging for per-event problems.
 * </ul>
 *
 * <p>This is a library: it logs through SLF4J and binds no logging backend.
 */
package io.epochal.common;
