/**
 * The lifecycle contract of long-running parts ({@link io.epochal.common.lifecycle.LifecycleComponent})
 * and the ordered stack a daemon is made of ({@link io.epochal.common.lifecycle.LifecycleStack}).
 */
package io.epochal.common.lifecycle;
