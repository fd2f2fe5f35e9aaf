package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.internal.binding.Errno;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A hostile review of the registration API ({@link Engine#registerFiles}, {@link Engine#updateFile},
 * the buffer registration and the unregisters): requests that race a change of the table they
 * use, bad arguments, calls from callbacks, and an engine closed with registrations live.
 *
 * <p>Files A and B hold different bytes; a request on A's descriptor that returns B's bytes went
 * through a registered slot that held B by then.
 */
@ExtendWith(IoUringAvailable.class)
class RegistrationReviewTest {
    private static final int SIZE = 4096;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private final List<Integer> openFds = new ArrayList<>();
    private Arena arena;

    @BeforeEach
    void openArena() {
        arena = Arena.ofShared();
    }

    @AfterEach
    void closeEverything() throws Exception {
        for (int fd : openFds) {
            Posix.close(fd);
        }
        arena.close();
    }

    /** A file of {@link #SIZE} bytes from {@code seed}, open read-only; closed after the test. */
    private int open(String name, long seed) throws Exception {
        Path path = dir.resolve(name);
        Files.write(path, randomBytes(SIZE, seed));
        int fd = Posix.open(path, Posix.O_RDONLY);
        openFds.add(fd);
        return fd;
    }

    /**
     * A platform thread reading the first 64 bytes of {@code fd} with future requests until
     * {@code deadline} or a failure (its own or another's, kept in {@code failure}): each read must
     * return {@code expected}.
     */
    private static Thread startReader(Engine engine, int fd, byte[] expected, long deadline,
                                      AtomicReference<Throwable> failure) {
        return Thread.ofPlatform().start(() -> {
            try (Arena mine = Arena.ofShared()) {
                MemorySegment into = mine.allocate(64);
                while (System.nanoTime() < deadline && failure.get() == null) {
                    assertThat(engine.readAsync(fd, BufferRef.of(into), 64, 0).get(HANG.toSeconds(), TimeUnit.SECONDS))
                            .isEqualTo(64);
                    assertThat(into.toArray(JAVA_BYTE)).as("read of fd %d", fd).isEqualTo(expected);
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
    }

    /**
     * {@code perFile} readers ({@link #startReader}) of each of {@code a} and {@code b}, started
     * alternately, whose first 64 bytes are {@code head(seedA)} and {@code head(seedB)}.
     */
    private static List<Thread> startReadersOfBoth(Engine engine, int a, long seedA, int b, long seedB, int perFile,
                                                   long deadline, AtomicReference<Throwable> failure) {
        List<Thread> readers = new ArrayList<>();
        for (int i = 0; i < perFile; i++) {
            readers.add(startReader(engine, a, head(seedA), deadline, failure));
            readers.add(startReader(engine, b, head(seedB), deadline, failure));
        }
        return readers;
    }

    private static byte[] head(long seed) {
        return Arrays.copyOf(randomBytes(SIZE, seed), 64);
    }

    private static int errnoOf(Throwable t) {
        return ((AuraIOException) t).errno();
    }

    /**
     * A ring at its in-flight limit of 1, held there by a FIFO read nobody writes: a read of A
     * through its registered slot is held back by the poller, and the slot is given to B (or
     * emptied) before the read reaches the kernel. The read named A: it must read A, through its
     * plain descriptor. Until 2026-12-07 the slot was chosen when the read was prepared: it read B's
     * bytes, or failed with EBADF from the emptied slot.
     */
    @Test
    void aReadHeldBackWhileItsSlotGoesToAnotherFileReadsTheFileItNamed() throws Exception {
        int a = open("a", 5);
        int b = open("b", 6);
        assertThat(readHeldBackAcrossAnUpdate(a, b)).as("A's bytes, not B's").isEqualTo(head(5));
    }

    @Test
    void aReadHeldBackWhileItsSlotIsEmptiedReadsTheFileItNamed() throws Exception {
        int a = open("a", 7);
        assertThat(readHeldBackAcrossAnUpdate(a, -1)).isEqualTo(head(7));
    }

    /**
     * Reads 64 bytes of {@code a}, registered at slot 0, held back until {@code updateFile(0, b)}
     * has returned. {@return the bytes read}
     */
    private byte[] readHeldBackAcrossAnUpdate(int a, int b) throws Exception {
        // A P99 target of 60 s: the FIFO read counts as hung only after 8 x 60 s, so it holds the
        // ring's limit of 1 for the whole test (as in HeldBackRequestsTest).
        Options options = Options.builder().ringCount(1).disableAdaptive(true).initialInFlight(1).minInFlight(1)
                .maxP99LatencyMs(60_000).build();
        try (Engine engine = Engine.create(options);
             FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            var ring = engine.core().ring(0);
            engine.registerFiles(a);
            Completions done = new Completions();
            Request hung = engine.read(fifo.fd(), BufferRef.of(arena.allocate(16)), 16, 0, done);
            awaitCondition("the FIFO read in the kernel", () -> ring.inUse() == 1 && ring.inKernel() == 1);
            MemorySegment into = arena.allocate(64);
            CompletableFuture<Long> read = engine.readAsync(a, BufferRef.of(into), 64, 0);
            awaitCondition("the read of A held back", () -> ring.inUse() == 2);
            assertThat(ring.inKernel()).as("held back, not in the kernel").isEqualTo(1);
            engine.updateFile(0, b);
            assertThat(engine.cancel(hung)).isTrue();
            assertThat(read.get(HANG.toSeconds(), TimeUnit.SECONDS)).as("the read of A").isEqualTo(64);
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(hung)).isEqualTo(-Errno.ECANCELED);
            engine.unregisterFiles();
            assertNothingLeaked(engine);
            return into.toArray(JAVA_BYTE);
        }
    }

    /**
     * A chain whose first link waits on a FIFO and whose second reads A through its registered
     * slot: the kernel looks the slot up only when it starts that link. An update that puts B in
     * the slot meanwhile must not make the read of A return B's bytes.
     */
    @Test
    void aChainedReadOfARegisteredFileWaitingInTheKernelStillReadsThatFileAfterItsSlotIsUpdated()
            throws Exception {
        int a = open("a", 1);
        int b = open("b", 2);
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            engine.registerFiles(a);
            MemorySegment first = arena.allocate(8);
            MemorySegment second = arena.allocate(64);
            CompletableFuture<long[]> chain = engine.chain()
                    .read(fifo.fd(), BufferRef.of(first), 8, 0)
                    .read(a, BufferRef.of(second), 64, 0)
                    .submitAsync();
            awaitInKernel(engine, 2);
            engine.updateFile(0, b);
            fifo.write(ByteBuffer.wrap(new byte[8]), 0);
            long[] results = chain.get(HANG.toSeconds(), TimeUnit.SECONDS);
            assertThat(results[0]).isEqualTo(8);
            if (results[1] == 64) {
                assertThat(second.toArray(JAVA_BYTE)).as("the read of A returned A's bytes (B's: %s)",
                        Arrays.equals(second.toArray(JAVA_BYTE), head(2))).isEqualTo(head(1));
            }
            assertThat(results[1]).as("the read of A").isEqualTo(64);
            engine.unregisterFiles();
            assertNothingLeaked(engine);
        }
    }

    /**
     * Readers of A and of B while another thread swaps A and B in slot 0 of the table, on two
     * rings: each read must return its own file's bytes, whatever the slot held when the request
     * was prepared.
     */
    @Test
    void readsOfFilesWhoseSlotIsSwappedMeanwhileReturnTheirOwnFilesBytes() throws Exception {
        int a = open("a", 3);
        int b = open("b", 4);
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            engine.registerFiles(a);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> readers = startReadersOfBoth(engine, a, 3, b, 4, 2, deadline, failure);
            int swaps = 0;
            while (System.nanoTime() < deadline && failure.get() == null) {
                engine.updateFile(0, swaps++ % 2 == 0 ? b : a);
            }
            io.auraio.testing.TestSupport.joinAll(readers);
            assertThat(failure.get()).as("after %d swaps", swaps).isNull();
            engine.unregisterFiles();
            assertNothingLeaked(engine);
        }
    }

    /**
     * Every registration call made from inside a callback either works or throws: none waits for
     * the event loop that runs it (the blocking unregisters only start the deferred one there).
     */
    @Test
    void registrationCallsInsideACallbackWorkWithoutWaitingForTheEventLoop() throws Exception {
        int a = open("a", 8);
        int b = open("b", 9);
        MemorySegment global = Arena.global().allocate(4096);
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            java.util.concurrent.atomic.AtomicBoolean ran = new java.util.concurrent.atomic.AtomicBoolean();
            engine.read(a, BufferRef.of(arena.allocate(8)), 8, 0, (request, result) -> {
                try {
                    engine.registerFiles(a);
                    engine.updateFile(0, b);
                    engine.registerBuffers(global);
                    engine.unregisterFiles();
                    engine.unregisterBuffers();
                    engine.requestUnregisterFiles();
                    engine.requestUnregisterBuffers();
                } catch (Throwable t) {
                    failure.set(t);
                } finally {
                    ran.set(true);
                }
            });
            awaitCondition("the callback ran", () -> {
                engine.poll();
                return ran.get();
            });
            assertThat(failure.get()).isNull();
            AsyncFixtures.registerWhenFree(() -> engine.registerFiles(b));
            AsyncFixtures.registerWhenFree(() -> engine.registerBuffers(global));
            MemorySegment into = arena.allocate(64);
            assertThat(engine.readAsync(b, BufferRef.fixed(0, 0), 64, 0).get(HANG.toSeconds(), TimeUnit.SECONDS))
                    .isEqualTo(64);
            assertThat(global.asSlice(0, 64).toArray(JAVA_BYTE)).isEqualTo(head(9));
            assertThat(into.byteSize()).isEqualTo(64);
            engine.unregisterFiles();
            engine.unregisterBuffers();
            assertNothingLeaked(engine);
        }
    }

    /**
     * A thread in {@code unregisterFiles}, waiting for a registered FIFO read, returns when the
     * engine closes; every registration call after the close answers (ESHUTDOWN or nothing to do),
     * none waits.
     */
    @Test
    void closingTheEngineWakesAThreadInUnregisterFilesAndLaterCallsAnswerAtOnce() throws Exception {
        int a = open("a", 10);
        MemorySegment global = Arena.global().allocate(4096);
        Engine engine = Engine.create(Options.builder().ringCount(2).build());
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            engine.registerFiles(fifo.fd(), a);
            engine.registerBuffers(global);
            Completions done = new Completions();
            Request stuck = engine.read(fifo.fd(), BufferRef.fixed(0, 0), 8, 0, done);
            awaitInKernel(engine, 1);
            Thread files = Thread.ofVirtual().start(engine::unregisterFiles);
            Thread buffers = Thread.ofVirtual().start(engine::unregisterBuffers);
            awaitCondition("both wait", () -> files.getState() == Thread.State.WAITING
                    && buffers.getState() == Thread.State.WAITING);
            engine.close();
            io.auraio.testing.TestSupport.assertAllEnd(List.of(files, buffers), HANG, () -> "the unregisters");
            assertThat(stuck.isPending()).isFalse();
            engine.unregisterFiles();
            engine.unregisterBuffers();
            engine.requestUnregisterFiles();
            engine.requestUnregisterBuffers();
            for (org.assertj.core.api.ThrowableAssert.ThrowingCallable call : List.<
                    org.assertj.core.api.ThrowableAssert.ThrowingCallable>of(
                    () -> engine.registerFiles(a), () -> engine.updateFile(0, a), () -> engine.registerBuffers(global))) {
                assertThatThrownBy(call).isInstanceOfSatisfying(AuraIOException.class,
                        e -> assertThat(e.isShutdown()).as("%s", e).isTrue());
            }
        } finally {
            engine.close();
        }
    }

    /**
     * Memory the kernel cannot pin (an address of the global scope with nothing mapped there), more
     * buffers or files than the kernel registers: each refused with an AuraIOException, nothing
     * left half registered (a good registration works afterwards).
     */
    @Test
    void registrationsTheKernelRefusesFailCleanlyAndLeaveNothingRegistered() throws Exception {
        int a = open("a", 11);
        MemorySegment global = Arena.global().allocate(4096);
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            MemorySegment unmapped = MemorySegment.ofAddress(4096).reinterpret(4096);
            assertThatThrownBy(() -> engine.registerBuffers(unmapped)).isInstanceOfSatisfying(AuraIOException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EFAULT));
            MemorySegment[] many = new MemorySegment[(1 << 14) + 1];
            Arrays.fill(many, global);
            assertThatThrownBy(() -> engine.registerBuffers(many)).isInstanceOf(AuraIOException.class);
            int[] tooMany = new int[(1 << 20) + 1];
            Arrays.fill(tooMany, -1);
            assertThatThrownBy(() -> engine.registerFiles(tooMany)).isInstanceOf(AuraIOException.class);
            assertThatThrownBy(() -> engine.registerFiles(a, -2)).isInstanceOfSatisfying(AuraIOException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
            assertThatThrownBy(() -> engine.readAsync(a, BufferRef.fixed(0, 0), 8, 0))
                    .isInstanceOfSatisfying(AuraIOException.class, e -> assertThat(e.isNotFound()).isTrue());
            engine.registerBuffers(global);
            engine.registerFiles(a, a, -1);
            assertThat(engine.readAsync(a, BufferRef.fixed(0, 64), 64, 0).get(HANG.toSeconds(), TimeUnit.SECONDS))
                    .isEqualTo(64);
            assertThat(global.asSlice(64, 64).toArray(JAVA_BYTE)).isEqualTo(head(11));
            engine.unregisterFiles();
            engine.unregisterBuffers();
            assertNothingLeaked(engine);
        }
    }

    /**
     * Submitters of fixed-buffer reads of a registered file while another thread unregisters and
     * registers both again and again: every request is refused at submission (nothing registered,
     * or draining) or completes once with the file's bytes; none fails in the kernel, none is left.
     */
    @Test
    void unregistersRacingSubmittersLeaveEveryRequestRefusedOrCompletedWithItsBytes() throws Exception {
        int a = open("a", 12);
        byte[] expected = head(12);
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            Buffer[] buffers = new Buffer[4];
            for (int i = 0; i < buffers.length; i++) {
                buffers[i] = engine.allocateBuffer(4096);
            }
            engine.registerBuffers(buffers);
            engine.registerFiles(a);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            java.util.concurrent.atomic.AtomicLong completed = new java.util.concurrent.atomic.AtomicLong();
            List<Thread> submitters = new ArrayList<>();
            for (int i = 0; i < buffers.length; i++) {
                int index = i;
                submitters.add(Thread.ofPlatform().start(() -> {
                    try {
                        while (System.nanoTime() < deadline && failure.get() == null) {
                            CompletableFuture<Long> read;
                            try {
                                read = engine.readAsync(a, BufferRef.fixed(index, 0), 64, 0);
                            } catch (AuraIOException refused) {
                                assertThat(refused.isBusy() || refused.isNotFound()).as("%s", refused).isTrue();
                                continue;
                            }
                            assertThat(read.get(HANG.toSeconds(), TimeUnit.SECONDS)).isEqualTo(64);
                            assertThat(buffers[index].segment().asSlice(0, 64).toArray(JAVA_BYTE))
                                    .isEqualTo(expected);
                            completed.incrementAndGet();
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }));
            }
            int rounds = 0;
            while (System.nanoTime() < deadline && failure.get() == null) {
                engine.requestUnregisterBuffers();
                engine.requestUnregisterFiles();
                AsyncFixtures.registerWhenFree(() -> engine.registerBuffers(buffers));
                AsyncFixtures.registerWhenFree(() -> engine.registerFiles(a));
                rounds++;
            }
            io.auraio.testing.TestSupport.joinAll(submitters);
            assertThat(failure.get()).as("after %d rounds, %d reads", rounds, completed.get()).isNull();
            assertThat(completed.get()).as("reads that went through").isPositive();
            engine.unregisterBuffers();
            engine.unregisterFiles();
            for (Buffer b : buffers) {
                b.close();
            }
            assertNothingLeaked(engine);
        }
    }

    /**
     * Updates of slot 0 (A, B, A...) racing a thread that unregisters the files and registers A
     * again, while readers read A and B: an update must reach the table it was made on, on every
     * ring, never a table registered since (whose slot would then hold B where this engine says A).
     */
    @Test
    void updatesRacingUnregistersAndNewRegistrationsNeverReachTheNewTable() throws Exception {
        int a = open("a", 15);
        int b = open("b", 16);
        try (Engine engine = Engine.create(Options.builder().ringCount(3).build())) {
            engine.registerFiles(a);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> threads = startReadersOfBoth(engine, a, 15, b, 16, 1, deadline, failure);
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int n = 0; System.nanoTime() < deadline && failure.get() == null; n++) {
                        try {
                            engine.updateFile(0, n % 2 == 0 ? b : a);
                        } catch (AuraIOException e) {
                            // No table (ENOENT), draining (EBUSY), or the table went mid-update (ENXIO)
                            assertThat(e.errno()).as("%s", e).isIn(Errno.ENOENT, Errno.EBUSY, Errno.ENXIO);
                        }
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
            int rounds = 0;
            while (System.nanoTime() < deadline && failure.get() == null) {
                engine.unregisterFiles();
                AsyncFixtures.registerWhenFree(() -> engine.registerFiles(a));
                rounds++;
            }
            io.auraio.testing.TestSupport.joinAll(threads);
            assertThat(failure.get()).as("after %d rounds", rounds).isNull();
            engine.unregisterFiles();
            assertNothingLeaked(engine);
        }
    }

    /**
     * An update held between its first ring and its second (a thread descheduled there) while
     * another thread unregisters the files and registers C: the update belongs to the old table,
     * and must not land in the second ring's new one. Until 2026-12-07 the unregister did not wait
     * for the update: the second ring's new table got B at slot 0 while the engine's said C, and a
     * read of C on that ring returned B's bytes. Now the update is a user of its table: the
     * unregister (and so the new registration) waits until every ring has the update.
     */
    @Test
    void anUpdateHeldBetweenRingsKeepsAnUnregisterAndTheNextRegistrationWaiting() throws Exception {
        int a = open("a", 21);
        int b = open("b", 22);
        int c = open("c", 23);
        try (Engine engine = Engine.create(Options.builder().ringCount(2).ringSelect(RingSelect.ROUND_ROBIN)
                .build())) {
            engine.registerFiles(a);
            CompletableFuture<Void> reregistered = new CompletableFuture<>();
            engine.core().betweenRingUpdatesForTests = () -> {
                engine.core().betweenRingUpdatesForTests = null; // once
                Thread.ofPlatform().start(() -> {
                    try {
                        engine.unregisterFiles();
                        engine.registerFiles(c);
                        reregistered.complete(null);
                    } catch (Throwable t) {
                        reregistered.completeExceptionally(t);
                    }
                });
                try {
                    // Done at once if the unregister does not wait for this update; else it waits for
                    // it, and this wait gives up (no timing is asserted: the outcome below decides).
                    reregistered.get(500, TimeUnit.MILLISECONDS);
                } catch (Exception waitsForTheUpdate) {
                    // as it should
                }
            };
            engine.updateFile(0, b);
            reregistered.get(HANG.toSeconds(), TimeUnit.SECONDS);
            byte[] expected = head(23);
            for (int i = 0; i < 8; i++) { // round robin: each ring serves 4
                MemorySegment into = arena.allocate(64);
                assertThat(engine.readAsync(c, BufferRef.of(into), 64, 0).get(HANG.toSeconds(), TimeUnit.SECONDS))
                        .isEqualTo(64);
                assertThat(into.toArray(JAVA_BYTE)).as("read %d of C", i).isEqualTo(expected);
            }
            engine.unregisterFiles();
            assertNothingLeaked(engine);
        }
    }

    /**
     * A future read of a FIFO nobody writes, through its registered slot, then the FIFO's AuraFile
     * closed: as for a read through the plain descriptor, the close ends the read (cancelled); the
     * slot's reference to the file must not keep it going after the file is closed.
     */
    @Test
    void closingAnAuraFileEndsARequestOnItThroughItsRegisteredSlot() throws Exception {
        for (boolean registered : new boolean[] {false, true}) {
            try (Engine engine = Engine.create(Options.builder().ringCount(1).build())) {
                FifoFile fifo = openFifo(engine, dir.resolve("fifo-" + registered));
                if (registered) {
                    engine.registerFiles(fifo.fd());
                }
                CompletableFuture<Long> read = engine.readAsync(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0);
                awaitInKernel(engine, 1);
                fifo.file().close();
                assertThatThrownBy(() -> read.get(HANG.toSeconds(), TimeUnit.SECONDS)).as("registered: %s", registered)
                        .hasCauseInstanceOf(AuraIOException.class);
                assertNothingLeaked(engine);
            }
        }
    }

    /**
     * A metadata request on a registered descriptor (here at slot 2) is still a request on that
     * descriptor: {@link Request#fd()} says the descriptor, as for a read (it said the slot).
     */
    @Test
    void aMetadataRequestOnARegisteredDescriptorReportsThatDescriptor() throws Exception {
        int a = open("a", 17);
        org.junit.jupiter.api.Assumptions.assumeTrue(a != 2, "the file got descriptor 2");
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build())) {
            engine.registerFiles(-1, -1, a);
            Completions done = new Completions();
            Request advice = engine.fadvise(a, 0, 0, Advice.NORMAL, done, null);
            Request read = engine.read(a, BufferRef.of(arena.allocate(8)), 8, 0, done);
            done.awaitCount(engine, 2);
            assertThat(done.resultOf(advice)).isZero();
            assertThat(advice.fd()).as("the fadvise's descriptor").isEqualTo(a);
            assertThat(read.fd()).as("the read's descriptor").isEqualTo(a);
            engine.unregisterFiles();
            assertNothingLeaked(engine);
        }
    }

    /**
     * A callback request on registered buffers and files, completed by the kernel, whose callback
     * nobody has run yet: the blocking unregisters wait for the kernel only, not for the callback,
     * and return.
     */
    @Test
    void blockingUnregistersDoNotWaitForCallbacksNobodyRuns() throws Exception {
        int a = open("a", 18);
        MemorySegment global = Arena.global().allocate(4096);
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            engine.registerFiles(a);
            engine.registerBuffers(global);
            Completions done = new Completions();
            Request read = engine.read(a, BufferRef.fixed(0, 0), 64, 0, done);
            awaitCondition("the read completed in the kernel", () -> !read.isPending());
            assertThat(engine.pendingCount()).as("its callback not run").isEqualTo(1);
            Thread unregisters = Thread.ofVirtual().start(() -> {
                engine.unregisterFiles();
                engine.unregisterBuffers();
            });
            io.auraio.testing.TestSupport.assertAllEnd(List.of(unregisters), HANG, () -> "the unregisters");
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(read)).isEqualTo(64);
            assertThat(global.asSlice(0, 64).toArray(JAVA_BYTE)).isEqualTo(head(18));
            assertNothingLeaked(engine);
        }
    }

    /**
     * A registered descriptor closed without leaving the table (close(2), or a registerFiles that
     * raced its AuraFile's close): the slot keeps that file under the number. A descriptor that
     * {@link Engine#openatAsync} or {@link Engine#openat} hands out with that number must be the
     * file its requests reach, as an {@link AuraFile} opened with it is (they read the old file).
     */
    @Test
    void aDescriptorFromOpenatWithTheNumberOfAStaleSlotIsTheFileItsRequestsReach() throws Exception {
        Path b = Files.write(dir.resolve("b"), randomBytes(SIZE, 20));
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            for (boolean future : new boolean[] {true, false}) {
                Path aPath = Files.write(dir.resolve("a-" + future), randomBytes(SIZE, 19));
                int a = Posix.open(aPath, Posix.O_RDONLY);
                engine.registerFiles(a);
                Posix.close(a);
                int n;
                if (future) {
                    n = engine.openatAsync(b).get(HANG.toSeconds(), TimeUnit.SECONDS);
                } else {
                    Completions done = new Completions();
                    Request open = engine.openat(b, done, null);
                    done.awaitCount(engine, 1);
                    n = (int) done.resultOf(open);
                }
                try {
                    org.junit.jupiter.api.Assumptions.assumeTrue(n == a, "the open got another number");
                    MemorySegment into = arena.allocate(64);
                    assertThat(engine.readAsync(n, BufferRef.of(into), 64, 0).get(HANG.toSeconds(), TimeUnit.SECONDS))
                            .isEqualTo(64);
                    assertThat(into.toArray(JAVA_BYTE)).as("B's bytes (future: %s)", future).isEqualTo(head(20));
                } finally {
                    Posix.close(n);
                }
                engine.unregisterFiles();
            }
            assertNothingLeaked(engine);
        }
    }

    /**
     * On an SQPOLL ring, where a submit only publishes SQEs for the kernel's thread to take: a
     * read of A through its slot, filled while the poller gathers a batch, then the slot given to
     * B (as {@code RingRacesTest.aSlotUpdatedWhileThePollerGathersABatchLeavesTheGatheredReadOnItsFile}).
     * The read must still read A; the update ran before the kernel's thread took the read
     * (17 rounds in 20 read B).
     */
    @Test
    void onAnSqpollRingAGatheredReadOfASlotUpdatedMeanwhileReadsItsFile() throws Exception {
        int a = open("a", 21);
        int b = open("b", 22);
        int readB = 0;
        for (int round = 0; round < 20; round++) {
            Engine engine;
            try {
                engine = Engine.create(Options.builder().ringCount(1).enableSqpoll(true).build());
            } catch (AuraIOException refused) {
                org.junit.jupiter.api.Assumptions.abort("no SQPOLL ring here: " + refused.getMessage());
                return;
            }
            try (engine) {
                engine.registerFiles(a);
                io.auraio.internal.engine.RingPoller ring = engine.core().ring(0);
                java.util.concurrent.CountDownLatch updated = new java.util.concurrent.CountDownLatch(1);
                java.util.concurrent.CountDownLatch gathering =
                        AsyncFixtures.gatherUntil(ring, updated, System.nanoTime() + HANG.toNanos());
                try {
                    MemorySegment into = arena.allocate(64);
                    CompletableFuture<Long> read = engine.readAsync(a, BufferRef.of(into), 64, 0);
                    assertThat(gathering.await(HANG.toSeconds(), TimeUnit.SECONDS)).as("the read gathered").isTrue();
                    engine.updateFile(0, b);
                    updated.countDown();
                    assertThat(read.get(HANG.toSeconds(), TimeUnit.SECONDS)).isEqualTo(64);
                    if (!Arrays.equals(into.toArray(JAVA_BYTE), head(21))) {
                        readB++;
                    }
                } finally {
                    ring.gatherForTests = null;
                }
            }
        }
        assertThat(readB).as("rounds whose read of A returned B's bytes").isZero();
    }

    /**
     * The close's sibling of the SQPOLL test above (as
     * {@code RingRacesTest.aCloseWhileThePollerGathersABatchSubmitsTheGatheredReadBeforeTheNumberIsFreed}):
     * a future read of a FIFO, filled while the poller gathers, then the FIFO's AuraFile closed and
     * its number taken by a decoy full of data. The read must be cancelled, never read the decoy.
     */
    @Test
    void onAnSqpollRingACloseWhileThePollerGathersCancelsTheGatheredRead() throws Exception {
        Path decoy = Files.write(dir.resolve("decoy"), randomBytes(SIZE, 23));
        List<String> outcomes = new ArrayList<>();
        for (int round = 0; round < 10; round++) {
            Engine engine;
            try {
                engine = Engine.create(Options.builder().ringCount(1).enableSqpoll(true).build());
            } catch (AuraIOException refused) {
                org.junit.jupiter.api.Assumptions.abort("no SQPOLL ring here: " + refused.getMessage());
                return;
            }
            try (engine) {
                AuraFile pipe = AuraFile.open(engine, io.auraio.testing.Fifo.create(dir.resolve("fifo" + round)),
                        java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE);
                io.auraio.internal.engine.RingPoller ring = engine.core().ring(0);
                java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
                java.util.concurrent.CountDownLatch gathering =
                        AsyncFixtures.gatherUntil(ring, closed, System.nanoTime() + HANG.toNanos());
                int decoyFd = -1;
                try {
                    CompletableFuture<Long> read = engine.readAsync(pipe.fd(), BufferRef.of(arena.allocate(16)), 16, 0);
                    assertThat(gathering.await(HANG.toSeconds(), TimeUnit.SECONDS)).as("the read gathered").isTrue();
                    pipe.close();
                    decoyFd = Posix.open(decoy, Posix.O_RDONLY); // the lowest free number: the pipe's
                    closed.countDown();
                    try {
                        outcomes.add("read " + read.get(HANG.toSeconds(), TimeUnit.SECONDS) + " bytes");
                    } catch (java.util.concurrent.ExecutionException e) {
                        if (!(e.getCause() instanceof AuraIOException x && x.isCancelled())) {
                            outcomes.add(String.valueOf(e.getCause()));
                        }
                    }
                } finally {
                    ring.gatherForTests = null;
                    if (decoyFd >= 0) {
                        Posix.close(decoyFd);
                    }
                }
            }
        }
        assertThat(outcomes).as("gathered reads not cancelled").isEmpty();
    }

    /**
     * Engines that registered files and buffers, updated and unregistered them, closed with some
     * still registered: no descriptor is left open (a subset of those open before: other threads
     * of the JVM may close theirs meanwhile).
     */
    @Test
    void registrationsLeaveNoDescriptorBehind() throws Exception {
        int a = open("a", 13);
        int b = open("b", 14);
        MemorySegment global = Arena.global().allocate(4096);
        java.util.Set<String> before = descriptors();
        for (int round = 0; round < 3; round++) {
            try (Engine engine = Engine.create(Options.builder().ringCount(2).build());
                 FifoFile fifo = openFifo(engine, dir.resolve("fifo" + round))) {
                engine.registerFiles(a, fifo.fd(), -1);
                engine.updateFile(2, b);
                engine.updateFile(0, -1);
                engine.registerBuffers(global);
                if (round == 1) {
                    engine.unregisterFiles();
                    engine.unregisterBuffers();
                }
            }
        }
        java.util.Set<String> after = descriptors();
        after.removeAll(before);
        assertThat(after).as("descriptors opened and left open").isEmpty();
    }

    /** {@return this process's open descriptors, each as its number and what it names} */
    private static java.util.Set<String> descriptors() throws java.io.IOException {
        java.util.Set<String> all = new java.util.HashSet<>();
        try (var list = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) list::iterator) {
                try {
                    all.add(p.getFileName() + " -> " + Files.readSymbolicLink(p));
                } catch (java.io.IOException gone) {
                    // the directory's own descriptor, or one closed meanwhile
                }
            }
        }
        return all;
    }
}
