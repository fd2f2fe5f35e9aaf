package io.auraio.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.BooleanSupplier;

/**
 * Test data, and waiting for conditions and threads. Nothing here asserts on time: the one bound,
 * {@link #HANG}, only turns a hang into a failure.
 */
public final class TestSupport {
    /** Generous bound that only turns a hang into a failure. */
    public static final Duration HANG = Duration.ofSeconds(60);

    private TestSupport() {}

    /** {@return {@code n} bytes of a pseudo-random pattern fixed by {@code seed}} */
    public static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /**
     * {@return {@link #randomBytes} with every zero byte made 1} A mapped read whose last byte is
     * zero is left to {@code pread} (it may lie past a shortened file's end): tests that want reads
     * served from the mapping use bytes that are never zero.
     */
    public static byte[] nonZeroBytes(int n, long seed) {
        byte[] b = randomBytes(n, seed);
        for (int i = 0; i < n; i++) {
            if (b[i] == 0) {
                b[i] = 1;
            }
        }
        return b;
    }

    /** {@return whether {@code thread}'s stack, now, has a frame of a method named {@code method}} */
    public static boolean isIn(Thread thread, String method) {
        for (StackTraceElement e : thread.getStackTrace()) {
            if (e.getMethodName().equals(method)) {
                return true;
            }
        }
        return false;
    }

    /** Polls {@code condition} until it holds; fails with {@code what} if it does not within {@link #HANG}. */
    public static void awaitCondition(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + HANG.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(2);
        }
    }

    /**
     * Polls {@code condition} until it holds or {@code bound} has passed, without failing: for an
     * end-of-test assertion that follows and reports the state, where the state settles a moment
     * after the test's threads return (a call a caller abandoned on a hung file ends later, and the
     * descriptor close it held back then runs as a ring request). An interrupt ends the wait and is
     * kept.
     */
    public static void settle(BooleanSupplier condition, Duration bound) {
        long deadline = System.nanoTime() + bound.toNanos();
        while (!condition.getAsBoolean() && System.nanoTime() - deadline < 0) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Reads {@code reads} random ranges of 1 B-32 KiB at positions up to 8 KiB past {@code span}
     * (some past the end) with {@code aura}, then with {@code jdk}, and checks that both read the
     * same bytes. AuraFile reads first: on a cold file its reads are the ones that miss.
     */
    public static void assertReadsAlike(io.auraio.AuraFile aura, java.nio.channels.FileChannel jdk, Random random,
                                        int reads, int span) throws java.io.IOException {
        for (int i = 0; i < reads; i++) {
            int length = 1 + random.nextInt(32 * 1024);
            long position = random.nextInt(span + 8192);
            java.nio.ByteBuffer ours = java.nio.ByteBuffer.allocate(length);
            java.nio.ByteBuffer theirs = java.nio.ByteBuffer.allocate(length);
            int n = aura.read(ours, position);
            int m = jdk.read(theirs, position);
            assertThat(n).as("bytes read at %d, %d asked", position, length).isEqualTo(m);
            assertThat(ours.flip()).as("bytes at %d", position).isEqualTo(theirs.flip());
        }
    }

    /**
     * {@return what {@code task} returns, run on a fresh virtual thread} What it throws is thrown
     * here (an exception as it is, an error as it is).
     */
    public static <T> T onVirtualThread(Callable<T> task) throws Exception {
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                outcome.set(new Object[] {task.call()});
            } catch (Throwable e) {
                outcome.set(e);
            }
        });
        t.join();
        if (outcome.get() instanceof Exception e) {
            throw e;
        }
        if (outcome.get() instanceof Error e) {
            throw e;
        }
        @SuppressWarnings("unchecked")
        T value = (T) ((Object[]) outcome.get())[0];
        return value;
    }

    /**
     * Runs {@code task} on a fresh virtual thread, for differential tests that compare what two
     * implementations did. {@return "returned " and the result, or "threw ", the exception's class,
     * message and cause, with every {@code base} in it written {@code <base>}}
     */
    public static String outcomeOnVirtualThread(Callable<?> task, Path base) throws InterruptedException {
        return outcome(task, base, true);
    }

    /** As {@link #outcomeOnVirtualThread}, on a fresh virtual or platform thread. */
    public static String outcome(Callable<?> task, Path base, boolean virtual) throws InterruptedException {
        AtomicReference<String> out = new AtomicReference<>();
        Runnable r = () -> {
            String text;
            try {
                text = "returned " + task.call();
            } catch (Throwable e) {
                text = "threw " + e.getClass().getName() + ": " + e.getMessage()
                        + (e.getCause() == null ? "" : " caused by " + e.getCause());
            }
            out.set(text.replace(base.toString(), "<base>"));
        };
        Thread t = virtual ? Thread.ofVirtual().start(r) : Thread.ofPlatform().start(r);
        joinAll(List.of(t));
        return out.get();
    }

    /** {@return the live threads named {@code name}} (the library's short-lived ones: {@code auraio-start}, ...) */
    public static List<Thread> threadsNamed(String name) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(name)).toList();
    }

    /** Joins every thread within {@link #HANG} overall and asserts that none is still alive. */
    public static void joinAll(Collection<Thread> threads) throws InterruptedException {
        long deadline = System.nanoTime() + HANG.toNanos();
        for (Thread t : threads) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                t.join(Duration.ofNanos(left));
            }
        }
        // Whether each ended as join tells it (its state), not isAlive(): at a platform thread's
        // exit the JVM marks it terminated, wakes its joiners, and only then clears what isAlive()
        // reads, so a thread join had seen end was still "alive" to a look just after (seen as
        // "still running after PT1M" in a test that ran for a second, the thread printed without
        // its group, which a terminated thread no longer has).
        List<Thread> alive = threads.stream().filter(t -> t.getState() != Thread.State.TERMINATED).toList();
        assertThat(alive).as("threads still running after %s", HANG).isEmpty();
    }

    /**
     * Joins every thread within {@code bound} overall; fails, where some are still running, with
     * how many, {@code context} (made once the bound has passed: the state then) and the stacks of
     * the first three (where they are parked tells what they wait for).
     */
    public static void assertAllEnd(Collection<Thread> threads, Duration bound,
                                    java.util.function.Supplier<String> context) throws InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        for (Thread t : threads) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                t.join(Duration.ofNanos(left));
            }
        }
        List<Thread> stuck = threads.stream().filter(t -> t.getState() != Thread.State.TERMINATED).toList(); // as joinAll
        if (!stuck.isEmpty()) {
            StringBuilder dump = new StringBuilder();
            for (Thread t : stuck.subList(0, Math.min(3, stuck.size()))) {
                dump.append("\n").append(t.getName()).append(":\n  ").append(String.join("\n  ",
                        java.util.Arrays.stream(t.getStackTrace()).map(String::valueOf).toList()));
            }
            throw new AssertionError(stuck.size() + " of " + threads.size() + " threads still running after "
                    + bound + " (" + context.get() + ")" + dump);
        }
    }

    /** Work for {@link #atOnce}. */
    @FunctionalInterface
    public interface Task {
        void run() throws Exception;
    }

    /**
     * Runs {@code task} on {@code n} threads released together, virtual and platform threads
     * alternating, and joins them.
     *
     * @return what each thread threw, by index; null where it returned normally
     */
    public static List<Throwable> atOnce(int n, Task task) throws InterruptedException {
        CountDownLatch go = new CountDownLatch(1);
        AtomicReferenceArray<Throwable> failures = new AtomicReferenceArray<>(n);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int index = i;
            Runnable run = () -> {
                try {
                    go.await();
                    task.run();
                } catch (Throwable t) {
                    failures.set(index, t);
                }
            };
            threads.add(i % 2 == 0 ? Thread.ofVirtual().start(run) : Thread.ofPlatform().start(run));
        }
        go.countDown();
        joinAll(threads);
        List<Throwable> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(failures.get(i));
        }
        return out;
    }

    /**
     * Runs {@code check}, which compares answers that depend on {@code source}, a file other
     * processes change (the machine's mount table: /proc/self/mounts, mountinfo, the file stores
     * listed from it). A failure while {@code source} read the same before and after is thrown; one
     * while it changed may be the change, not the code, and {@code check} runs again, up to 10
     * times. Another process's mount made each of these checks fail on a shared machine (beside a
     * mount held 0.3 s every 0.6 s: in 4 of 7 runs; in none of 7 since). A mount made and removed again
     * within one check is not seen here: the table reads the same.
     */
    public static void assertWhileUnchanged(Path source, Task check) throws Exception {
        for (int tries = 1; ; tries++) {
            String before = contentOf(source);
            try {
                check.run();
                return;
            } catch (AssertionError e) {
                if (tries == 10 || before.equals(contentOf(source))) {
                    throw e;
                }
            }
        }
    }

    /** {@return the bytes of {@code file} as text, or why they cannot be read} */
    private static String contentOf(Path file) {
        try {
            return new String(java.nio.file.Files.readAllBytes(file), java.nio.charset.StandardCharsets.ISO_8859_1);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
