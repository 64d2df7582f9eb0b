package io.epochal.emitter;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Binds an emitter's counters to a Micrometer registry. Kept apart from {@link EventEmitter} so that
 * applications without Micrometer never load it.
 */
final class EmitterMeters {
  private EmitterMeters() {}

  static void bind(Object registryObject, EventEmitter emitter) {
    MeterRegistry registry = (MeterRegistry) registryObject;
    FunctionCounter.builder("epochal.emitter.emitted", emitter, e -> e.stats().emitted())
        .description("Events accepted by emit()")
        .register(registry);
    FunctionCounter.builder("epochal.emitter.sent", emitter, e -> e.stats().sent())
        .description("Events handed to the socket")
        .register(registry);
    FunctionCounter.builder("epochal.emitter.datagrams", emitter, e -> e.stats().datagrams())
        .description("Datagrams handed to the socket")
        .register(registry);
    FunctionCounter.builder("epochal.emitter.bytes", emitter, e -> e.stats().bytes())
        .description("Datagram bytes handed to the socket")
        .baseUnit("bytes")
        .register(registry);
    for (DropReason reason : DropReason.values()) {
      FunctionCounter.builder("epochal.emitter.dropped", emitter, e -> e.dropped(reason))
          .description("Events dropped by the emitter, by reason")
          .tag("reason", reason.label())
          .register(registry);
    }
  }
}
