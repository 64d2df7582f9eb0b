package io.epochal.common.lifecycle;

/** A daemon-shaped main for {@link LifecycleStackSigtermTest}: runs until SIGTERM. */
public final class SigtermMain {
  private SigtermMain() {}

  public static void main(String[] args) throws Exception {
    LifecycleStack stack =
        LifecycleStack.builder("child")
            .add(part("first"))
            .add(part("second"))
            .build();
    stack.installShutdownHook();
    stack.start();
    System.out.println("ready");
    System.out.flush();
    stack.awaitTermination();
  }

  private static LifecycleComponent part(String name) {
    return LifecycleComponent.of(
        name,
        () -> System.out.println("started " + name),
        () -> {
          System.out.println("stopped " + name);
          System.out.flush();
        });
  }
}
