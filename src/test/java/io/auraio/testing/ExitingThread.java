package io.auraio.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Runs a piece of work on a platform thread and returns once that thread has left the kernel's
 * task list, as a carrier thread the virtual-thread scheduler retires would have (a carrier cannot
 * be retired on demand). What the kernel does with the requests an exited thread submitted is what
 * the users test ({@code IoUringTest}, {@code CallerSubmitTest}).
 */
public final class ExitingThread {
    /** Threads that have exited, each counted once the kernel has finished its exit. */
    public static final AtomicInteger EXITED = new AtomicInteger();

    private ExitingThread() {}

    /** {@return what {@code work} returned, on a thread that has exited by now} */
    public static boolean run(BooleanSupplier work) {
        boolean[] result = new boolean[1];
        String[] task = new String[1];
        Thread thread = Thread.ofPlatform().name("exiting-thread").start(() -> {
            try {
                task[0] = Files.readSymbolicLink(Path.of("/proc/thread-self")).toString(); // PID/task/TID
            } catch (IOException e) {
                throw new UncheckedIOException("no /proc/thread-self", e);
            }
            result[0] = work.getAsBoolean();
        });
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        // Thread.join returns when the Java thread is done, before the kernel has finished the OS
        // thread's exit (where it cancels that thread's requests).
        Path proc = Path.of("/proc", task[0]);
        long deadline = System.nanoTime() + TestSupport.HANG.toNanos();
        while (Files.exists(proc)) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(proc + " still listed after " + TestSupport.HANG);
            }
            LockSupport.parkNanos(100_000);
        }
        EXITED.incrementAndGet();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return result[0];
    }
}
