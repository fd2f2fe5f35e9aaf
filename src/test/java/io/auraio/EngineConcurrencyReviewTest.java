package io.auraio;

import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.assertAllEnd;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.nio.file.StandardOpenOption.READ;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Concurrency and lifecycle of the low-level {@link Engine} API: many threads submitting,
 * cancelling, polling, registering and closing at once, each run checked against the reference's
 * contract (every request completes exactly once, no memory is given back while the kernel may
 * still use it, nothing leaks).
 */
@ExtendWith(IoUringAvailable.class)
class EngineConcurrencyReviewTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** One registration, as a test thread makes it. */
    private interface Registration {
        void registerOnce() throws Exception;
    }

    /**
     * One thread makes 2,000 registrations one after another while two others unregister until it
     * is done, one with the blocking {@code unregister}, one with the deferred {@code request}
     * form, 20 µs apart; fails if any of them threw or did not end within the bound.
     */
    private static void raceRegistrations(Registration registration, Runnable unregister, Runnable request)
            throws InterruptedException {
        AtomicBoolean done = new AtomicBoolean();
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        threads.add(Thread.ofPlatform().daemon(true).start(() -> {
            try {
                for (int i = 0; i < 2000; i++) {
                    registration.registerOnce();
                }
            } catch (Throwable t) {
                failures.add(t);
            } finally {
                done.set(true);
            }
        }));
        for (Runnable unregistering : List.of(unregister, request)) {
            threads.add(Thread.ofPlatform().daemon(true).start(() -> {
                try {
                    while (!done.get()) {
                        unregistering.run();
                        LockSupport.parkNanos(20_000);
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        assertAllEnd(threads, HANG.plusSeconds(10), () -> "register/unregister threads");
        assertThat(failures).isEmpty();
    }

    /**
     * One thread registers pool buffers, one after another, closing each at once (the registration
     * keeps it allocated); others start deferred and blocking unregisters meanwhile. Every buffer
     * must go back to the pool once its registration is dropped: a release of the owners that
     * reaches another registration's buffers would leak the first and free the second while the
     * kernel still holds it pinned.
     */
    @Test
    void registrationsRacingUnregistersFromOtherThreadsGiveEveryBufferBackOnce() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            raceRegistrations(() -> {
                Buffer b = engine.allocateBuffer(4096);
                AsyncFixtures.registerWhenFree(() -> engine.registerBuffers(b));
                b.close();
            }, engine::unregisterBuffers, engine::requestUnregisterBuffers);
            engine.unregisterBuffers();
            assertNothingLeaked(engine);
            // Still usable: the kernel holds no registration the engine forgot.
            try (Buffer b = engine.allocateBuffer(4096)) {
                engine.registerBuffers(b);
                engine.unregisterBuffers();
            }
            assertNothingLeaked(engine);
        }
    }

    /**
     * The same with registered files: an unregister asked for while another thread's registration
     * is still reaching the rings must not leave a ring holding a table the engine took for
     * dropped (every later registerFiles would fail with EBUSY), and a registration made while the
     * previous one's unregister finishes must still be unregistered.
     */
    @Test
    void fileRegistrationsRacingUnregistersFromOtherThreadsNeverWedge() throws Exception {
        Path path = dir.resolve("data");
        Files.write(path, randomBytes(4096, 7));
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build());
                AuraFile file = AuraFile.open(engine, path, READ)) {
            raceRegistrations(() -> AsyncFixtures.registerWhenFree(() -> engine.registerFiles(file.fd())),
                    engine::unregisterFiles, engine::requestUnregisterFiles);
            engine.unregisterFiles();
            engine.registerFiles(file.fd());
            try (Buffer b = engine.allocateBuffer(4096)) {
                assertThat(engine.readAsync(file.fd(), b.ref(), 4096, 0).get(HANG.toSeconds(), TimeUnit.SECONDS))
                        .isEqualTo(4096);
            }
            engine.unregisterFiles();
            assertNothingLeaked(engine);
        }
    }
}
