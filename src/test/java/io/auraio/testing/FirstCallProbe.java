package io.auraio.testing;

import io.auraio.AuraFiles;
import io.auraio.AuraIO;
import io.auraio.internal.engine.RingPoller;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Main class for a {@link ForkedJvm}: what a fresh JVM's first {@code AuraFiles} calls do while the
 * default engine starts. The start is held inside the first ring's setup
 * ({@link RingPoller#setUpForTests}) until this probe lets it go, so that "while it starts" is a
 * state, not a moment. Prints {@code key=value} lines:
 * <ul>
 *   <li>{@code platform.calls}: {@code ok} when {@code readAllBytes}, {@code writeString},
 *       {@code readString}, {@code size}, {@code exists}, {@code copy} and {@code list} on this
 *       (platform) thread returned the JDK's answers, else what differed; {@code platform.heldStart}
 *       whether the start was still held when they had returned (they did not wait for it);
 *   <li>{@code virtual.doneWhileHeld}: whether a virtual thread's {@code readAllBytes} returned
 *       while the start was held (it waits for the engine), {@code virtual.read} its bytes' check
 *       once the start was let go;
 *   <li>{@code backend} after that, {@code engine.opsAdded} how many operations the default
 *       engine counted for one more {@code readAllBytes} on this thread;
 *   <li>{@code startThreads}: the threads named {@code auraio-start} still alive at the end.
 * </ul>
 *
 * <p>Arguments: a directory to work in, then {@code hold} (the start held until let go),
 * {@code failOnce} (the first start fails with an unchecked exception; nothing held) or {@code plain}
 * (nothing done to the start: the platform calls, then {@code backend} once it is decided).
 */
public final class FirstCallProbe {
    private FirstCallProbe() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String mode = args.length > 1 ? args[1] : "hold";
        boolean failOnce = mode.equals("failOnce");
        boolean plain = mode.equals("plain");
        Path file = dir.resolve("first");
        byte[] data = new byte[100_000];
        Arrays.fill(data, (byte) 'x');
        Files.write(file, data);

        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        boolean[] failed = {false};
        java.util.function.IntConsumer hook = ring -> {
            entered.countDown();
            if (failOnce) {
                synchronized (failed) {
                    if (!failed[0]) {
                        failed[0] = true;
                        throw new IllegalStateException("the probe's failed start");
                    }
                }
                return;
            }
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        if (!plain) {
            RingPoller.setUpForTests = hook;
        }

        StringBuilder problems = new StringBuilder();
        check(problems, "readAllBytes", Arrays.equals(AuraFiles.readAllBytes(file), data));
        Path text = dir.resolve("text");
        AuraFiles.writeString(text, "first calls");
        check(problems, "writeString/readString", AuraFiles.readString(text).equals("first calls")
                && Files.readString(text).equals("first calls"));
        check(problems, "size", AuraFiles.size(file) == data.length);
        check(problems, "exists", AuraFiles.exists(file) && !AuraFiles.exists(dir.resolve("none")));
        Path copy = dir.resolve("copy");
        AuraFiles.copy(file, copy);
        check(problems, "copy", Arrays.equals(Files.readAllBytes(copy), data));
        try (Stream<Path> entries = AuraFiles.list(dir)) {
            check(problems, "list", entries.map(p -> p.getFileName().toString()).sorted().toList()
                    .equals(java.util.List.of("copy", "first", "text")));
        }
        System.out.println("platform.calls=" + (problems.isEmpty() ? "ok" : problems.toString().trim()));
        System.out.println("platform.heldStart=" + (!failOnce && release.getCount() == 1));

        if (plain) {
            awaitNoStartThread();
            System.out.println("backend=" + AuraIO.backend());
            check(problems, "readAllBytes once decided", Arrays.equals(AuraFiles.readAllBytes(file), data));
            System.out.println("problems=" + (problems.isEmpty() ? "none" : problems.toString().trim()));
            return;
        }
        if (!failOnce) {
            // The start is held: the background decision has reached the ring's setup or will.
            if (!entered.await(60, TimeUnit.SECONDS)) {
                System.out.println("problem=the default engine's start never reached the ring's setup");
            }
            CompletableFuture<byte[]> virtualRead = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try {
                    virtualRead.complete(AuraFiles.readAllBytes(file));
                } catch (Throwable t) {
                    virtualRead.completeExceptionally(t);
                }
            });
            // A negative: bounded by the time it is given, it cannot fail where the call waits.
            Thread.sleep(300);
            System.out.println("virtual.doneWhileHeld=" + virtualRead.isDone());
            release.countDown();
            System.out.println("virtual.read=" + (Arrays.equals(virtualRead.get(60, TimeUnit.SECONDS), data)
                    ? "ok" : "differs"));
        } else {
            // The failed start's thread ends; the next platform call decides on its own thread.
            awaitNoStartThread();
            check(problems, "readAllBytes after the failed start", Arrays.equals(AuraFiles.readAllBytes(file), data));
            System.out.println("afterFailure.calls=" + (problems.isEmpty() ? "ok" : problems.toString().trim()));
        }
        System.out.println("backend=" + AuraIO.backend());
        long before = AuraIO.defaultEngine().stats().opsCompleted();
        check(problems, "readAllBytes once decided", Arrays.equals(AuraFiles.readAllBytes(file), data));
        System.out.println("engine.opsAdded=" + (AuraIO.defaultEngine().stats().opsCompleted() - before));
        awaitNoStartThread();
        System.out.println("startThreads=" + startThreads());
        System.out.println("problems=" + (problems.isEmpty() ? "none" : problems.toString().trim()));
    }

    private static void check(StringBuilder problems, String what, boolean ok) {
        if (!ok) {
            problems.append(what).append(" differs from the JDK's; ");
        }
    }

    private static int startThreads() {
        return TestSupport.threadsNamed("auraio-start").size();
    }

    private static void awaitNoStartThread() throws InterruptedException {
        TestSupport.joinAll(TestSupport.threadsNamed("auraio-start"));
    }
}
