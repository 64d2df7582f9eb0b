/** Logging helpers for problems that can repeat per event ({@link io.epochal.common.log.RateLimitedLog}). */
package io.epochal.common.log;
