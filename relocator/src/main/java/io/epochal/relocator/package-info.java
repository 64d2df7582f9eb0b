/** relocator: see docs/architecture.md. Work on this module comes with its own issue. */
package io.epochal.relocator;
