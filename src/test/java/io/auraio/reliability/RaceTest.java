package io.auraio.reliability;

import static io.auraio.reliability.Quiescence.assertQuiescent;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraFile;
import io.auraio.AuraIOException;
import io.auraio.Buffer;
import io.auraio.Engine;
import io.auraio.Options;
import io.auraio.Request;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two thousand virtual threads read, write and fsync their own regions of four files in every
 * request form (blocking {@link AuraFile}, callback, future) while other threads cancel their
 * requests, interrupt them, close the files under them, and finally close the engine. Afterwards:
 * every thread has ended, nothing is pending, every pool buffer is back, no callback ran twice,
 * every read saw bytes its region could hold, and every region holds on disk the bytes of its last
 * successful write (or of a write attempted after it, whose outcome the caller could not know).
 *
 * <p>The random choices come from a seed printed with every failure; {@code -Dauraio.race.seed=N}
 * repeats them (the interleaving itself is the scheduler's).
 */
@ExtendWith(IoUringAvailable.class)
class RaceTest {
    private static final int WORKERS = 2000;
    private static final int FILES = 4;
    private static final int REGION = 512;
    private static final long CHAOS_MILLIS = 3000;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final int ECANCELED = 125;
    private static final int ESHUTDOWN = 108;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /**
     * One file, opened twice: {@code blocking} serves the {@link AuraFile} calls (an interrupt or
     * the closer may close it under its users; it is reopened), {@code async} lends its descriptor
     * to callback and future requests. That descriptor is only closed under the write lock, so no
     * request is ever submitted on a number that a later open may have reused for another file.
     */
    private static final class FileSlot {
        final Path path;
        final ReentrantReadWriteLock asyncLock = new ReentrantReadWriteLock();
        volatile AuraFile blocking;
        volatile AuraFile async;

        FileSlot(Engine engine, Path path) throws IOException {
            this.path = path;
            this.blocking = AuraFile.open(engine, path, READ, WRITE);
            this.async = AuraFile.open(engine, path, READ, WRITE);
        }

        /** Replaces a blocking handle found closed; {@return the handle to use now} */
        synchronized AuraFile reopenBlocking(Engine engine, AuraFile closed) throws IOException {
            if (blocking == closed) {
                blocking = AuraFile.open(engine, path, READ, WRITE);
            }
            return blocking;
        }

        void reopenAsync(Engine engine) throws IOException {
            asyncLock.writeLock().lock();
            try {
                async.close();
                async = AuraFile.open(engine, path, READ, WRITE);
            } finally {
                asyncLock.writeLock().unlock();
            }
        }

        void closeAll() throws IOException {
            blocking.close();
            async.close();
        }
    }

    /** What a region may hold: the last write known to succeed, plus every write tried since. */
    private static final class Region {
        final List<byte[]> candidates = new ArrayList<>(List.of(new byte[REGION]));

        void succeeded(byte[] data) {
            candidates.clear();
            candidates.add(data);
        }

        void uncertain(byte[] data) {
            candidates.add(data);
        }

        boolean mayHold(byte[] bytes) {
            return candidates.stream().anyMatch(c -> Arrays.equals(c, bytes));
        }
    }

    private final Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
    private final AtomicReferenceArray<Request> inFlight = new AtomicReferenceArray<>(WORKERS);
    private final Queue<AtomicInteger> callbackCounts = new ConcurrentLinkedQueue<>();
    private final AtomicLong operations = new AtomicLong();
    private final AtomicLong interrupts = new AtomicLong();
    private final AtomicLong cancels = new AtomicLong();
    private final AtomicLong closes = new AtomicLong();

    @Test
    void twoThousandVirtualThreadsRaceCancelsInterruptsClosesAndAnEngineClose() throws Exception {
        long seed = Quiescence.seed("auraio.race.seed");
        String context = "seed " + seed + " (-Dauraio.race.seed=" + seed + ")";
        int regionsPerFile = WORKERS / FILES;
        Engine engine = Engine.create(Options.builder().ringCount(2).queueDepth(1024).build());
        FileSlot[] slots = new FileSlot[FILES];
        Region[] regions = new Region[WORKERS];
        List<Thread> workers = new ArrayList<>();
        List<Thread> chaos = new ArrayList<>();
        AtomicBoolean stopChaos = new AtomicBoolean();
        try {
            for (int f = 0; f < FILES; f++) {
                Path path = Files.write(dir.resolve("file-" + f), new byte[regionsPerFile * REGION]);
                slots[f] = new FileSlot(engine, path);
            }
            Thread loop = Thread.ofPlatform().name("event-loop").start(() -> runEventLoop(engine));
            CountDownLatch go = new CountDownLatch(1);
            for (int w = 0; w < WORKERS; w++) {
                int worker = w;
                regions[w] = new Region();
                workers.add(Thread.ofVirtual().name("worker-" + w).start(() -> {
                    try {
                        awaitStart(go);
                        work(engine, slots[worker % FILES], worker, regions[worker], new Random(seed + worker));
                    } catch (Throwable t) {
                        failures.add(new AssertionError("worker " + worker, t));
                    }
                }));
            }
            Random chaosRandom = new Random(seed);
            chaos.add(Thread.ofVirtual().name("interrupter").start(() -> {
                while (!stopChaos.get()) {
                    workers.get(ThreadLocalRandom.current().nextInt(WORKERS)).interrupt();
                    interrupts.incrementAndGet();
                    pause(200_000);
                }
            }));
            for (int c = 0; c < 2; c++) {
                chaos.add(Thread.ofVirtual().name("canceller-" + c).start(() -> {
                    while (!stopChaos.get()) {
                        Request r = inFlight.get(ThreadLocalRandom.current().nextInt(WORKERS));
                        if (r != null) {
                            try {
                                engine.cancel(r);
                                cancels.incrementAndGet();
                            } catch (AuraIOException e) {
                                if (!e.isShutdown()) {
                                    failures.add(e);
                                }
                            }
                        }
                        // Parks, not Thread.yield(): a virtual thread that only yields stays on its
                        // carrier's local queue and starves the unparks the pollers submit.
                        pause(20_000);
                    }
                }));
            }
            chaos.add(Thread.ofVirtual().name("closer").start(() -> {
                while (!stopChaos.get() && !engine.isClosed()) {
                    pause(50_000_000);
                    FileSlot slot = slots[chaosRandom.nextInt(FILES)];
                    try {
                        if (chaosRandom.nextBoolean()) {
                            slot.blocking.close(); // under its users: they see AsynchronousCloseException
                        } else {
                            slot.reopenAsync(engine);
                        }
                        closes.incrementAndGet();
                    } catch (AuraIOException e) {
                        if (!e.isShutdown()) {
                            failures.add(e);
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }
            }));

            go.countDown();
            TestSupport.awaitCondition("traffic to flow", () -> operations.get() > 5 * WORKERS);
            Thread.sleep(CHAOS_MILLIS);
            Thread closer = Thread.ofPlatform().name("engine-closer").start(engine::close);
            Quiescence.joinAll(List.of(closer), context);
            Quiescence.joinAll(workers, context);
            stopChaos.set(true);
            Quiescence.joinAll(chaos, context);
            Quiescence.joinAll(List.of(loop), context);

            assertThat(failures).as(context).isEmpty();
            assertThat(engine.isClosed()).isTrue();
            assertQuiescent(engine);
            assertThat(callbackCounts).as("%s: callbacks that did not run exactly once", context)
                    .allSatisfy(count -> assertThat(count.get()).isEqualTo(1));
            assertThat(interrupts.get()).as(context).isPositive();
            assertThat(closes.get()).as(context).isPositive();
        } finally {
            stopChaos.set(true);
            engine.close();
            for (FileSlot slot : slots) {
                if (slot != null) {
                    slot.closeAll();
                }
            }
        }
        for (int w = 0; w < WORKERS; w++) {
            byte[] all = Files.readAllBytes(slots[w % FILES].path);
            int at = (w / FILES) * REGION;
            byte[] onDisk = Arrays.copyOfRange(all, at, at + REGION);
            assertThat(regions[w].mayHold(onDisk)).as("%s: region of worker %d holds bytes of no write it tried"
                    + " since its last successful one", context, w).isTrue();
        }
        System.out.printf("RaceTest: %d operations, %d interrupts, %d cancels, %d file closes (%s)%n",
                operations.get(), interrupts.get(), cancels.get(), closes.get(), context);
    }

    private void runEventLoop(Engine engine) {
        try {
            engine.run(); // returns when the engine closes
        } catch (Throwable t) {
            failures.add(t);
        }
    }

    /** Waits for the start; the interrupter may already be at work. */
    private static void awaitStart(CountDownLatch go) {
        while (true) {
            try {
                go.await();
                Thread.interrupted();
                return;
            } catch (InterruptedException e) {
                // not started yet: wait on
            }
        }
    }

    private static void pause(long nanos) {
        java.util.concurrent.locks.LockSupport.parkNanos(nanos);
    }

    /** Random operations on this worker's region until the engine refuses them. */
    private void work(Engine engine, FileSlot slot, int worker, Region region, Random random) throws Exception {
        long offset = (long) (worker / FILES) * REGION;
        Buffer buffer = engine.allocateBuffer(REGION);
        try {
            for (int version = 0; !engine.isClosed(); version++) {
                byte[] data = TestSupport.randomBytes(REGION, worker * 1_000_003L + version);
                int dice = random.nextInt(100);
                try {
                    if (dice < 25) {
                        blockingWrite(engine, slot, offset, data, region);
                    } else if (dice < 45) {
                        blockingRead(engine, slot, offset, region, dice % 2 == 0);
                    } else if (dice < 60) {
                        asyncWrite(engine, slot, worker, buffer, offset, data, region, dice % 2 == 0);
                    } else if (dice < 80) {
                        asyncRead(engine, slot, worker, buffer, offset, region, dice % 2 == 0);
                    } else if (dice < 85) {
                        blockingForce(engine, slot);
                    } else {
                        asyncFsync(engine, slot, worker, dice % 2 == 0);
                    }
                } catch (AuraIOException e) {
                    if (!e.isShutdown()) {
                        throw e;
                    }
                }
                operations.incrementAndGet();
                Thread.interrupted(); // an interrupt between calls would close the next file used
            }
        } finally {
            buffer.close();
        }
    }

    // ---- blocking AuraFile calls ---------------------------------------------------------------

    @FunctionalInterface
    private interface FileCall {
        void call(AuraFile file) throws IOException;
    }

    /** Runs {@code call}; {@return whether it completed} false when the file was closed under it. */
    private static boolean onBlockingFile(Engine engine, FileSlot slot, FileCall call) throws IOException {
        AuraFile file = slot.blocking;
        try {
            call.call(file);
            return true;
        } catch (ClosedChannelException e) { // also AsynchronousClose and ClosedByInterrupt
            Thread.interrupted();
            slot.reopenBlocking(engine, file);
            return false;
        }
    }

    private static void blockingWrite(Engine engine, FileSlot slot, long offset, byte[] data, Region region)
            throws IOException {
        boolean done = false;
        try {
            done = onBlockingFile(engine, slot, f -> {
                int n = f.write(ByteBuffer.wrap(data), offset);
                if (n != REGION) {
                    throw new AssertionError("write of " + REGION + " bytes wrote " + n);
                }
            });
        } catch (AuraIOException e) {
            checkErrno(e.errno());
            if (!e.isShutdown()) {
                region.uncertain(data);
                return;
            }
            region.uncertain(data);
            throw e;
        }
        if (done) {
            region.succeeded(data);
        } else {
            region.uncertain(data);
        }
    }

    private static void blockingRead(Engine engine, FileSlot slot, long offset, Region region, boolean heap)
            throws IOException {
        try {
            onBlockingFile(engine, slot, f -> {
                byte[] got = new byte[REGION];
                if (heap) {
                    ByteBuffer dst = ByteBuffer.wrap(got);
                    f.readFully(dst, offset);
                } else {
                    try (var arena = java.lang.foreign.Arena.ofConfined()) {
                        MemorySegment dst = arena.allocate(REGION);
                        f.readFully(dst, offset);
                        MemorySegment.copy(dst, ValueLayout.JAVA_BYTE, 0, got, 0, REGION);
                    }
                }
                if (!region.mayHold(got)) {
                    throw new AssertionError("read at " + offset + " saw bytes no write put there");
                }
            });
        } catch (AuraIOException e) {
            checkErrno(e.errno());
            if (e.isShutdown()) {
                throw e;
            }
        }
    }

    private static void blockingForce(Engine engine, FileSlot slot) throws IOException {
        try {
            onBlockingFile(engine, slot, f -> f.force(false));
        } catch (AuraIOException e) {
            checkErrno(e.errno());
            if (e.isShutdown()) {
                throw e;
            }
        }
    }

    // ---- callback and future requests ---------------------------------------------------------

    @FunctionalInterface
    private interface Submission {
        CompletableFuture<Long> submit(int fd) throws AuraIOException;
    }

    /**
     * Submits on the slot's async descriptor (under the read lock, so the closer cannot close it
     * in between) and waits for the result; {@return bytes or a negated errno}
     */
    private long submitAndWait(FileSlot slot, Submission submission) throws AuraIOException {
        CompletableFuture<Long> result;
        slot.asyncLock.readLock().lock();
        try {
            result = submission.submit(slot.async.fd());
        } catch (AuraIOException e) {
            if (e.errno() == EAGAIN) {
                return -EAGAIN; // every slot taken: nothing was submitted
            }
            throw e;
        } finally {
            slot.asyncLock.readLock().unlock();
        }
        return awaitUninterruptibly(result);
    }

    /** Waits for a request's result; an interrupt does not end the wait (the kernel still owns the memory). */
    private static long awaitUninterruptibly(CompletableFuture<Long> f) {
        long deadline = System.nanoTime() + TestSupport.HANG.toNanos();
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof AuraIOException a) {
                        return -a.errno();
                    }
                    throw new AssertionError("future failed with " + e.getCause(), e.getCause());
                } catch (TimeoutException e) {
                    throw new AssertionError("a request did not complete within " + TestSupport.HANG);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A callback request whose callback completes a future, counted, and published for the cancellers. */
    private Submission callback(int worker, CallbackSubmit submit) {
        return fd -> {
            CompletableFuture<Long> done = new CompletableFuture<>();
            AtomicInteger count = new AtomicInteger();
            Request r = submit.submit(fd, (request, result) -> {
                count.incrementAndGet();
                inFlight.compareAndSet(worker, request, null);
                done.complete(result);
            });
            callbackCounts.add(count); // submitted: its callback must run exactly once
            if (r.isPending()) {
                inFlight.set(worker, r);
            }
            return done;
        };
    }

    @FunctionalInterface
    private interface CallbackSubmit {
        Request submit(int fd, io.auraio.Callback callback) throws AuraIOException;
    }

    private void asyncWrite(Engine engine, FileSlot slot, int worker, Buffer buffer, long offset, byte[] data,
                            Region region, boolean viaCallback) throws AuraIOException {
        MemorySegment.copy(data, 0, buffer.segment(), ValueLayout.JAVA_BYTE, 0, REGION);
        long r;
        try {
            r = submitAndWait(slot, viaCallback
                    ? callback(worker, (fd, cb) -> engine.write(fd, buffer.ref(), REGION, offset, cb))
                    : fd -> engine.writeAsync(fd, buffer.ref(), REGION, offset));
        } catch (AuraIOException e) {
            region.uncertain(data);
            throw e;
        }
        checkResult(r);
        if (r == REGION) {
            region.succeeded(data);
        } else {
            region.uncertain(data);
        }
        stopIfShutdown(r);
    }

    private void asyncRead(Engine engine, FileSlot slot, int worker, Buffer buffer, long offset, Region region,
                           boolean viaCallback) throws AuraIOException {
        long r = submitAndWait(slot, viaCallback
                ? callback(worker, (fd, cb) -> engine.read(fd, buffer.ref(), REGION, offset, cb))
                : fd -> engine.readAsync(fd, buffer.ref(), REGION, offset));
        checkResult(r);
        if (r == REGION) {
            byte[] got = buffer.segment().toArray(ValueLayout.JAVA_BYTE);
            if (!region.mayHold(got)) {
                throw new AssertionError("callback/future read at " + offset + " saw bytes no write put there");
            }
        }
        stopIfShutdown(r);
    }

    private void asyncFsync(Engine engine, FileSlot slot, int worker, boolean viaCallback) throws AuraIOException {
        long r = submitAndWait(slot, viaCallback ? callback(worker, engine::fsync) : engine::fdatasyncAsync);
        checkResult(r);
        stopIfShutdown(r);
    }

    private static void stopIfShutdown(long r) throws AuraIOException {
        if (r == -ESHUTDOWN) {
            throw new AuraIOException("engine closed", ESHUTDOWN);
        }
    }

    private static void checkResult(long r) {
        if (r < 0) {
            checkErrno((int) -r);
        } else if (r != 0 && r != REGION) {
            throw new AssertionError("a request on a regular file moved " + r + " of " + REGION + " bytes");
        }
    }

    /** The errnos this race may legitimately produce; anything else is a bug. */
    private static void checkErrno(int errno) {
        if (errno != ECANCELED && errno != ESHUTDOWN && errno != EINTR && errno != EAGAIN) {
            throw new AssertionError("unexpected errno " + errno);
        }
    }
}
