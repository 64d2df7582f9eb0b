package io.epochal.benchmarks.load;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Every child process the harness started, so that none outlives it: {@link #close()} (called in a
 * finally block and from a shutdown hook, so also on Ctrl-C or SIGTERM) kills the live ones with
 * SIGKILL and waits for them. Thread-safe.
 */
public final class Children implements AutoCloseable {
  private final List<Process> processes = new ArrayList<>();

  public Children() {
    Runtime.getRuntime().addShutdownHook(new Thread(this::close, "kill-children"));
  }

  public synchronized Process start(ProcessBuilder pb) throws IOException {
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  @Override
  public void close() {
    List<Process> live;
    synchronized (this) {
      live = new ArrayList<>(processes);
    }
    for (Process p : live) {
      if (p.isAlive()) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
      }
    }
    for (Process p : live) {
      try {
        p.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
