package io.auraio;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.engine.RingPoller;
import io.auraio.internal.engine.RingProbe;
import io.auraio.testing.Fifo;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/** Shared set-ups of the callback, future and event-loop tests. */
final class AsyncFixtures {
    private AsyncFixtures() {}

    /** A registration call: {@code registerBuffers} or {@code registerFiles}. */
    @FunctionalInterface
    interface Registering {
        void register() throws AuraIOException;
    }

    /**
     * Registers, retrying while the previous registration's deferred unregister still drains
     * (EBUSY), for at most {@link TestSupport#HANG}; any other failure is thrown at once.
     */
    static void registerWhenFree(Registering registering) throws Exception {
        long deadline = System.nanoTime() + TestSupport.HANG.toNanos();
        while (true) {
            try {
                registering.register();
                return;
            } catch (AuraIOException e) {
                if (!e.isBusy() || System.nanoTime() - deadline > 0) {
                    throw e;
                }
                Thread.sleep(1);
            }
        }
    }

    /**
     * A FIFO opened READ + WRITE through {@link AuraFile}: opening a FIFO {@code O_RDWR} never
     * blocks, and as this descriptor also holds the write end, a read of it waits for data until
     * someone writes or the request is cancelled.
     *
     * <p>{@link #close()} first closes the engine when requests are still pending on it, which
     * only happens when a test fails before cancelling its FIFO reads: {@link AuraFile#close()}
     * closes the descriptor through a ring and waits for a slot under the ring's in-flight limit,
     * which pending FIFO reads may hold forever. A failing test must fail, not hang.
     */
    record FifoFile(AuraFile file) implements AutoCloseable {
        int fd() {
            return file.fd();
        }

        /** Writes into the FIFO (the position is ignored by pipes); wakes a pending read. */
        int write(ByteBuffer src, long position) throws IOException {
            return file.write(src, position);
        }

        @Override
        public void close() throws IOException {
            Engine engine = file.engine();
            if (!engine.isClosed() && engine.pendingCount() > 0) {
                engine.close();
            }
            file.close();
        }
    }

    /** Creates a FIFO at {@code path} and opens it on {@code engine}; see {@link FifoFile}. */
    static FifoFile openFifo(Engine engine, Path path) throws IOException, InterruptedException {
        return new FifoFile(AuraFile.open(engine, Fifo.create(path), READ, WRITE));
    }

    /** {@return a deadline {@link TestSupport#HANG} from now, for {@link #checkDeadline}} */
    static long deadline() {
        return System.nanoTime() + TestSupport.HANG.toNanos();
    }

    /** Turns a retry loop that never ends into a failure. */
    static void checkDeadline(long deadline, String what) {
        if (System.nanoTime() - deadline > 0) {
            throw new AssertionError("timed out: " + what);
        }
    }

    /** {@return how many live threads carry the poller name prefix {@code auraio-ring-}} */
    static long ringThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("auraio-ring-")).count();
    }

    /** {@return whether {@code t} is one of the engines' poller threads} */
    static boolean isPollerThread(Thread t) {
        return t.getName().startsWith("auraio-ring-");
    }

    /** Waits until {@code n} requests of {@code engine} are in the kernel (e.g. FIFO reads waiting for data). */
    static void awaitInKernel(Engine engine, int n) throws InterruptedException {
        TestSupport.awaitCondition(n + " requests in the kernel",
                () -> RingProbe.inKernel(engine.core()) == n);
    }

    /**
     * Makes {@code ring}'s poller take pass after pass, without entering the kernel, once it has
     * filled an SQE, until {@code done} is counted down or {@code giveUp} passes, as it does while
     * gathering a batch; each pass runs the ring's queued tasks first. The caller clears
     * {@link RingPoller#gatherForTests} after.
     * {@return counted down once an SQE is filled and held}
     */
    static CountDownLatch gatherUntil(RingPoller ring, CountDownLatch done, long giveUp) {
        CountDownLatch gathering = new CountDownLatch(1);
        ring.gatherForTests = gathered -> {
            if (gathered == 0) {
                return false;
            }
            gathering.countDown();
            return done.getCount() > 0 && System.nanoTime() < giveUp;
        };
        return gathering;
    }

    /** Asserts that the engine has nothing pending and every pool buffer is back, then closes it. */
    static void closeClean(Engine engine) {
        Leaks.assertNothingLeaked(engine);
        engine.close();
        assertThat(engine.isClosed()).isTrue();
    }
}
