package io.auraio;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.Fifo;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.nio.file.Path;

/** Shared set-ups of the callback, future and event-loop tests. */
final class AsyncFixtures {
    private AsyncFixtures() {}

    /**
     * Creates a FIFO and opens it READ + WRITE on {@code engine}: opening a FIFO {@code O_RDWR}
     * never blocks, and as this descriptor also holds the write end, a read of it waits for data
     * until someone writes or the request is cancelled.
     */
    static AuraFile openFifo(Engine engine, Path path) throws IOException, InterruptedException {
        return AuraFile.open(engine, Fifo.create(path), READ, WRITE);
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
                () -> io.auraio.internal.engine.RingProbe.inKernel(engine.core()) == n);
    }

    /** Asserts that the engine has nothing pending and every pool buffer is back, then closes it. */
    static void closeClean(Engine engine) {
        Leaks.assertNothingLeaked(engine);
        engine.close();
        assertThat(engine.isClosed()).isTrue();
    }
}
