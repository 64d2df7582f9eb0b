/**
 * Typed, validated configuration for daemons. {@link io.epochal.common.config.ConfigSources} merges
 * defaults, a properties file, the environment and command-line flags; {@link
 * io.epochal.common.config.Settings} reads typed values under one prefix, checks them against their
 * ranges and detects unknown keys; every failure is a {@link
 * io.epochal.common.config.ConfigException} naming the key, the value, where it came from and what
 * is allowed.
 */
package io.epochal.common.config;
