package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.AsyncFixtures.ringThreads;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.internal.binding.IoUring;
import io.auraio.internal.engine.RingProbe;
import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ring options {@code queueDepth}, {@code ringCount}, {@code enableSqpoll} and
 * {@code sqpollIdleMs}, and {@link Engine#ringCount()}, as the rings really are.
 */
@ExtendWith(IoUringAvailable.class)
class RingOptionsTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /**
     * {@code queueDepth} is the number of request slots of a ring: that many callback requests are
     * taken, the next one is refused with EAGAIN (with the adaptive controller on or off).
     */
    @ParameterizedTest(name = "disableAdaptive {0}")
    @ValueSource(booleans = {true, false})
    void aRingTakesQueueDepthCallbackRequestsAndRefusesTheNextWithEagain(boolean disableAdaptive) throws Exception {
        int depth = 8;
        Options options = Options.builder().ringCount(1).queueDepth(depth)
                .initialInFlight(disableAdaptive ? depth : 0).disableAdaptive(disableAdaptive).build();
        Completions done = new Completions();
        try (Engine engine = Engine.create(options); Arena arena = Arena.ofShared();
             FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            assertThat(engine.ringStats(0).queueDepth()).isEqualTo(depth);
            List<Request> reads = new ArrayList<>();
            for (int i = 0; i < depth; i++) {
                reads.add(engine.read(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0, done));
            }
            if (disableAdaptive) {
                awaitInKernel(engine, depth); // all of them really in the kernel
            }
            assertThatThrownBy(() -> engine.read(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0, done))
                    .isInstanceOf(AuraIOException.class).matches(e -> ((AuraIOException) e).isAgain(), "isAgain()")
                    .hasMessageContaining("slot");
            CompletableFuture<Long> refused = engine.fsyncAsync(fifo.fd());
            assertThatThrownBy(() -> refused.get(HANG.toSeconds(), TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).cause()
                    .matches(e -> ((AuraIOException) e).isAgain(), "isAgain()");
            assertThat(engine.pendingCount()).isEqualTo(depth);

            // Once one completes and its callback has run, its slot takes a new request.
            assertThat(engine.cancel(reads.getFirst())).isTrue();
            done.awaitCount(engine, 1);
            reads.add(engine.read(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0, done));

            for (Request r : reads) {
                engine.cancel(r);
            }
            engine.drain(-1);
            assertThat(done.count()).isEqualTo(depth + 1);
            assertThat(done.all()).allMatch(c -> c.result() == -125);
            assertNothingLeaked(engine);
        }
    }

    /** Blocking requests are never refused with EAGAIN: they wait for a slot. */
    @Test
    void aBlockingRequestWaitsForASlotWhenEverySlotIsTaken() throws Exception {
        int depth = 4;
        Options options = Options.builder().ringCount(1).queueDepth(depth).initialInFlight(depth)
                .disableAdaptive(true).build();
        Path path = dir.resolve("file");
        Files.write(path, new byte[0]);
        Completions done = new Completions();
        try (Engine engine = Engine.create(options); Arena arena = Arena.ofShared();
             AuraFile file = AuraFile.open(engine, path, READ, WRITE);
             FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) { // closed first: see FifoFile
            List<Request> reads = new ArrayList<>();
            for (int i = 0; i < depth; i++) {
                reads.add(engine.read(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0, done));
            }
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    // An fsync: always a ring request (a buffered write to a local file is not).
                    file.force(true);
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            awaitCondition("the fsync waits for a slot", () -> RingProbe.waiting(engine.core().ring(0)) == 1);
            assertThat(writer.isAlive()).isTrue();
            engine.cancel(reads.getFirst());
            done.awaitCount(engine, 1); // running the callback frees the slot
            joinAll(List.of(writer));
            assertThat(outcome.get()).isNull();
            for (Request r : reads) {
                engine.cancel(r);
            }
            engine.drain(-1);
            assertNothingLeaked(engine);
        }
    }

    @ParameterizedTest(name = "{0} rings")
    @ValueSource(ints = {1, 2, 4})
    void ringCountIsTheNumberOfRingsAndOfPollerThreads(int rings) throws Exception {
        long before = ringThreads();
        Path path = dir.resolve("data");
        byte[] data = randomBytes(4096, rings);
        Files.write(path, data);
        Engine engine = Engine.create(Options.builder().ringCount(rings).ringSelect(RingSelect.ROUND_ROBIN).build());
        try (Arena arena = Arena.ofShared(); AuraFile file = AuraFile.open(engine, path, READ)) {
            assertThat(engine.ringCount()).isEqualTo(rings);
            assertThat(ringThreads() - before).as("poller threads").isEqualTo(rings);
            // Every ring serves requests.
            Completions done = new Completions();
            for (int i = 0; i < 2 * rings; i++) {
                engine.read(file.fd(), BufferRef.of(arena.allocate(16)), 16, 0, done);
            }
            done.awaitCount(engine, 2 * rings);
            for (int i = 0; i < rings; i++) {
                assertThat(engine.ringStats(i).opsCompleted()).as("ring %d", i).isPositive();
            }
            assertThatThrownBy(() -> engine.ringStats(rings)).isInstanceOf(IndexOutOfBoundsException.class);
            assertNothingLeaked(engine);
        } finally {
            engine.close();
        }
        assertThat(ringThreads()).as("poller threads joined by close").isEqualTo(before);
    }

    /**
     * SQPOLL needs no privilege on current kernels: the rings come up with {@code IORING_SETUP_SQPOLL}
     * and serve every kind of request. Where a kernel refuses, creation fails with an exception that
     * names the option.
     */
    @ParameterizedTest(name = "sqpollIdleMs {0}")
    @ValueSource(ints = {0, 10, 2000})
    void enableSqpollGivesSqpollRingsThatServeIo(int idleMs) throws Exception {
        Options options = Options.builder().ringCount(2).enableSqpoll(true).sqpollIdleMs(idleMs).build();
        assertThat(options.sqpollIdleMs()).isEqualTo(idleMs);
        Engine engine;
        try {
            engine = Engine.create(options);
        } catch (AuraIOException e) {
            assertThat(e).hasMessageContaining("enableSqpoll");
            return;
        }
        Path path = dir.resolve("data");
        byte[] data = randomBytes(8192, idleMs);
        Files.write(path, data);
        try (engine; Arena arena = Arena.ofShared(); AuraFile file = AuraFile.open(engine, path, READ, WRITE)) {
            for (int i = 0; i < engine.ringCount(); i++) {
                assertThat(RingProbe.setupFlags(engine.core().ring(i)) & IoUring.SETUP_SQPOLL).as("ring %d", i)
                        .isNotZero();
            }
            // Callback, future and blocking requests.
            Completions done = new Completions();
            var into = arena.allocate(4096);
            Request r = engine.read(file.fd(), BufferRef.of(into), 4096, 4096, done);
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(r)).isEqualTo(4096);
            assertThat(into.toArray(JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(data, 4096, 8192));
            assertThat(engine.fsyncAsync(file.fd()).get(HANG.toSeconds(), TimeUnit.SECONDS)).isZero();
            file.writeFully(ByteBuffer.wrap(new byte[] {5, 6}), 0);
            if (idleMs > 0) {
                Thread.sleep(idleMs == 10 ? 50 : 0); // let a short-idle SQPOLL thread fall asleep
            }
            ByteBuffer back = ByteBuffer.allocate(2);
            file.readFully(back, 0);
            assertThat(back.array()).containsExactly(5, 6);
            r = engine.write(file.fd(), BufferRef.of(into), 10, 100, done);
            done.awaitCount(engine, 2);
            assertThat(done.resultOf(r)).isEqualTo(10);
            assertNothingLeaked(engine);
        }
    }

    @Test
    void ringsWithoutSqpollAreNotSqpollRings() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build())) {
            assertThat(RingProbe.setupFlags(engine.core().ring(0)) & IoUring.SETUP_SQPOLL).isZero();
            assertThat(engine.options().enableSqpoll()).isFalse();
        }
    }
}
