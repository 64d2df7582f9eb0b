/**
 * The admin HTTP endpoint every daemon exposes: {@code GET /metrics} for Prometheus and {@code GET
 * /health} for load balancers and orchestrators ({@link io.epochal.common.admin.AdminServer}).
 */
package io.epochal.common.admin;
