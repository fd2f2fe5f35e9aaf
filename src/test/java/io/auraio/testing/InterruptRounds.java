package io.auraio.testing;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Rounds of one call on a fresh virtual thread interrupted by another thread at a moment drawn
 * from a fixed seed (it spins that long, then interrupts): the outcome is checked against what
 * the JDK does on interrupt, the call's result, and that the thread keeps its interrupt status.
 */
public final class InterruptRounds {
    /** Generous: only a call that hangs reaches it. */
    private static final Duration HANG = Duration.ofSeconds(30);

    private InterruptRounds() {}

    /** The call, on the interrupted virtual thread. */
    @FunctionalInterface
    public interface Call {
        Object run() throws Exception;
    }

    /** What the JDK does when the thread is interrupted during the call. */
    public enum Kind {
        /** Ignores it ({@code Files.readAllBytes}, streams): the call returns its result. */
        IGNORES,
        /** An interruptible channel's: the result, or {@link ClosedByInterruptException}. */
        CHANNEL
    }

    /**
     * Runs {@code rounds} rounds of {@code call}, each interrupted after a spin of up to
     * {@code maxSpin} drawn from {@code seed}. {@return a description of the first few rounds that
     * went wrong, or "" if none did} Wrong: a call still running after 30 s (its stack), an
     * exception the JDK would not throw, a result other than {@code expected}'s, or an interrupt
     * status cleared (checked once the interrupt is sure to have come).
     *
     * @param expected the result the call must return (compared with {@link Objects#deepEquals})
     */
    public static String run(String name, long seed, int rounds, Duration maxSpin, Kind kind, Call call,
                             Callable<Object> expected) throws Exception {
        Random random = new Random(seed);
        StringBuilder wrong = new StringBuilder();
        int failures = 0;
        for (int round = 0; round < rounds; round++) {
            long spin = (long) (random.nextDouble() * maxSpin.toNanos());
            String problem = round(kind, call, expected, spin);
            if (problem != null && failures++ < 3) {
                wrong.append("\n").append(name).append(" round ").append(round).append(" (seed ").append(seed)
                        .append(", interrupted after ").append(spin / 1000).append(" µs): ").append(problem);
            }
        }
        return wrong.toString();
    }

    private static String round(Kind kind, Call call, Callable<Object> expected, long spinNanos) throws Exception {
        AtomicReference<Object> outcome = new AtomicReference<>();
        AtomicBoolean keptStatus = new AtomicBoolean();
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        Thread t = Thread.ofVirtual().start(() -> {
            started.countDown();
            try {
                outcome.set(new Object[] {call.run()});
            } catch (Throwable e) {
                outcome.set(e);
            }
            boolean again = false;
            while (true) {
                try {
                    if (interrupted.await(HANG.toNanos(), TimeUnit.NANOSECONDS)) {
                        break;
                    }
                } catch (InterruptedException e) {
                    again = true; // the interrupt came while waiting here: the status was not lost
                }
            }
            keptStatus.set(again || Thread.currentThread().isInterrupted());
        });
        started.await();
        long end = System.nanoTime() + spinNanos;
        while (System.nanoTime() - end < 0) {
            Thread.onSpinWait();
        }
        t.interrupt();
        interrupted.countDown();
        t.join(HANG);
        if (t.isAlive()) {
            return "still running after " + HANG + ":\n  " + String.join("\n  ",
                    Arrays.stream(t.getStackTrace()).map(String::valueOf).toList());
        }
        Object o = outcome.get();
        if (o instanceof Throwable e) {
            if (!(kind == Kind.CHANNEL && e instanceof ClosedByInterruptException)) {
                StringWriter trace = new StringWriter();
                e.printStackTrace(new PrintWriter(trace));
                return "threw " + trace;
            }
        } else {
            Object result = ((Object[]) o)[0];
            Object wanted = expected.call();
            if (!Objects.deepEquals(result, wanted)) {
                return "returned " + describe(result) + ", expected " + describe(wanted);
            }
        }
        return keptStatus.get() ? null : "the interrupt status was cleared";
    }

    private static String describe(Object o) {
        return o instanceof byte[] b ? b.length + " bytes, hash " + Arrays.hashCode(b) : String.valueOf(o);
    }

    /** Joins {@code peer} (bounded), an interrupt meanwhile kept as the status. */
    public static void joinKeepingStatus(Thread peer) {
        boolean interrupted = false;
        long end = System.nanoTime() + TestSupport.HANG.toNanos();
        while (peer.isAlive() && System.nanoTime() - end < 0) {
            try {
                peer.join(Duration.ofMillis(100));
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * {@return what {@code call} returned} While it runs, a platform thread opens {@code fifo} for
     * writing 2 ms later and writes {@code bytes} (a call reading the FIFO has a writer to wait for);
     * joined after, an interrupt meanwhile kept as the status.
     */
    public static Object withWriter(Path fifo, byte[] bytes, Call call) throws Exception {
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(2);
                try (OutputStream out = new FileOutputStream(fifo.toFile())) {
                    out.write(bytes);
                }
            } catch (Exception e) {
                // the reader went away (an interrupted call): the round's own check tells
            }
        });
        try {
            return call.run();
        } finally {
            joinKeepingStatus(writer);
        }
    }

    /** {@return the bytes a platform thread read from {@code fifo}, which it opened 2 ms later, while {@code call} ran} */
    public static Object withReader(Path fifo, Call call) throws Exception {
        AtomicReference<byte[]> read = new AtomicReference<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(2);
                try (InputStream in = new FileInputStream(fifo.toFile())) {
                    read.set(in.readAllBytes());
                }
            } catch (Exception e) {
                // the writer went away (an interrupted call): the round's own check tells
            }
        });
        try {
            call.run();
        } finally {
            joinKeepingStatus(reader);
        }
        return read.get();
    }
}
