package io.auraio.internal.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Tests only ({@link RingPoller#submitOnExitingThreadForTests}): runs a caller-side submit on a
 * platform thread and returns once that thread has left the kernel's task list, as a carrier the
 * virtual-thread scheduler retires would have. A carrier cannot be retired on demand, and what the
 * kernel does with an exited submitter's requests is what is tested.
 */
final class ExitingSubmitter {
    /** Submitting threads that have exited, each counted once the kernel has finished its exit. */
    static final AtomicInteger EXITED = new AtomicInteger();

    private ExitingSubmitter() {}

    static boolean submit(BooleanSupplier submit) {
        boolean[] submitted = new boolean[1];
        String[] task = new String[1];
        Thread thread = Thread.ofPlatform().name("exiting-submitter").start(() -> {
            try {
                task[0] = Files.readSymbolicLink(Path.of("/proc/thread-self")).toString(); // PID/task/TID
            } catch (IOException e) {
                throw new IllegalStateException("no /proc/thread-self", e);
            }
            submitted[0] = submit.getAsBoolean();
        });
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        // Thread.join returns when the Java thread is done, before the kernel has finished the
        // OS thread's exit (where it cancels that thread's requests).
        Path proc = Path.of("/proc", task[0]);
        while (Files.exists(proc)) {
            LockSupport.parkNanos(100_000);
        }
        EXITED.incrementAndGet();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return submitted[0];
    }
}
