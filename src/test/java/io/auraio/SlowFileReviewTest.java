package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.Descriptors;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestSupport;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile review of files on slow or hung file systems ({@link SlowFile}, the blocking offload)
 * on the faultfs fixture: closes the daemon holds, callers that leave, and the JDK's results on
 * the same FUSE files. Each test names what it found failing before its fix, if it did.
 */
@ExtendWith(IoUringAvailable.class)
class SlowFileReviewTest {
    private static final int BLOCK = 4096;
    /** Only a hang reaches it. */
    private static final Duration BOUND = Duration.ofSeconds(20);
    private static FaultFs fs;

    @BeforeAll
    static void mount() throws Exception {
        fs = FixtureAvailability.mountFaultFs("slowreview");
    }

    @AfterAll
    static void unmount() throws Exception {
        if (fs != null) {
            fs.close();
        }
    }

    @BeforeEach
    void resetKnobs() throws Exception {
        fs.reset();
    }

    private static Path file(String name, byte[] content) throws Exception {
        Files.write(fs.backing().resolve(name), content);
        return fs.path(name);
    }

    private static void joinWithinBound(Thread t, String what) throws InterruptedException {
        if (!t.join(BOUND)) {
            AssertionError e = new AssertionError(what + ": still running after " + BOUND);
            e.setStackTrace(t.getStackTrace());
            throw e;
        }
    }

    /**
     * The close of a FUSE file waits for the daemon's FLUSH (FileChannel's close does too), and
     * went through a ring's {@code CLOSE}, which io_uring cannot cancel once an io-wq worker runs
     * it: {@link Engine#close()}, which waits for every request in the kernel, then waited for
     * ever while the daemon held the flush (and each such close held one of the ring's few bounded
     * io-wq workers, which every other blocking request of the ring needs). Failed before: the
     * engine's close still running after the bound.
     */
    @Test
    void anEnginesCloseIsNotHeldByAFileCloseTheDaemonHolds() throws Exception {
        Path path = file("flush-engine-close", TestSupport.randomBytes(BLOCK, 1));
        Engine own = Engine.create(Options.builder().ringCount(1).queueDepth(16).build());
        AuraFile f = AuraFile.open(own, path, StandardOpenOption.READ);
        int fd = f.fd();
        fs.hangFlush(path);
        AtomicReference<Throwable> closeOutcome = new AtomicReference<>();
        Thread closer = Thread.ofVirtual().start(() -> closeOutcome.set(thrown(() -> {
            f.close();
            return null;
        })));
        Thread engineCloser = Thread.ofPlatform().daemon().unstarted(own::close);
        try {
            fs.awaitBlockedFlushes(1);
            engineCloser.start();
            joinWithinBound(engineCloser, "Engine.close() while the daemon holds a file's close");
            assertThat(closer.isAlive()).as("the file's closer waits for the flush, as FileChannel's").isTrue();
        } finally {
            fs.release();
        }
        joinWithinBound(closer, "the file's close once the daemon answered");
        joinWithinBound(engineCloser, "Engine.close() once the daemon answered");
        assertThat(closeOutcome.get()).isNull();
        assertThat(f.isOpen()).isFalse();
        Descriptors.assertClosed(fd, path, "the file's close");
    }

    /**
     * The close of a FUSE file after its engine's close: the ring refused the {@code CLOSE}
     * (ESHUTDOWN), and the closer made {@code close(2)} itself, a virtual thread holding its
     * carrier in the system call while the daemon held the FLUSH. Failed before: the closer found
     * in {@code Libc.close}.
     */
    @Test
    void aCloseAfterTheEnginesCloseWaitsForTheDaemonOffTheCarrier() throws Exception {
        Path path = file("flush-after-engine", TestSupport.randomBytes(BLOCK, 4));
        Engine own = Engine.create(Options.builder().ringCount(1).queueDepth(16).build());
        AuraFile f = AuraFile.open(own, path, StandardOpenOption.READ);
        int fd = f.fd();
        own.close();
        fs.hangFlush(path);
        AtomicReference<Throwable> closeOutcome = new AtomicReference<>();
        Thread closer = Thread.ofVirtual().start(() -> closeOutcome.set(thrown(() -> {
            f.close();
            return null;
        })));
        try {
            fs.awaitBlockedFlushes(1);
            assertThat(closer.isAlive()).as("the closer waits for the flush, as FileChannel's").isTrue();
            assertThat(inFrame(closer, "close", "io.auraio.internal.binding.Libc"))
                    .as("the virtual closer in close(2) on its carrier").isFalse();
        } finally {
            fs.release();
        }
        joinWithinBound(closer, "the file's close once the daemon answered");
        assertThat(closeOutcome.get()).isNull();
        Descriptors.assertClosed(fd, path, "the close after the engine's");
    }

    /**
     * A FUSE file dropped without {@code close()}: its Cleaner closed the descriptor through a ring
     * {@code CLOSE} and waited for it on the JVM's one {@code auraio-cleaner} thread, so a daemon
     * holding the flush held that thread, and no other unreachable file (of any file system) had
     * its descriptor closed meanwhile: a leak of every one of them for as long as the daemon held
     * it. Failed before: the local file's descriptor still open after the bound.
     */
    @Test
    void aDroppedFileWhoseCloseTheDaemonHoldsDoesNotStopTheClosingOfOthers(@TempDir Path local) throws Exception {
        Path path = file("flush-cleaner", TestSupport.randomBytes(BLOCK, 2));
        Path other = Files.write(local.resolve("other-dropped"), TestSupport.randomBytes(BLOCK, 3));
        try (Engine own = Engine.create(Options.builder().ringCount(1).queueDepth(16).build())) {
            AtomicReference<AuraFile> fuse = new AtomicReference<>(AuraFile.open(own, path, StandardOpenOption.READ));
            int fuseFd = fuse.get().fd();
            fs.hangFlush(path);
            try {
                dropAndCollect(fuse);
                fs.awaitBlockedFlushes(1); // the Cleaner's close of it is in the daemon
                AtomicReference<AuraFile> dropped = new AtomicReference<>(AuraFile.open(own, other, StandardOpenOption.READ));
                int droppedFd = dropped.get().fd();
                dropAndCollect(dropped);
                TestSupport.settle(() -> !Descriptors.isOpenOn(droppedFd, other), BOUND);
                Descriptors.assertClosed(droppedFd, other, "a dropped local file while the daemon holds another"
                        + " dropped file's close");
            } finally {
                fs.release();
            }
            TestSupport.awaitCondition("the held flush answered", () -> {
                try {
                    return fs.blockedFlushes() == 0;
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            Descriptors.assertClosed(fuseFd, path, "the dropped file whose close the daemon held");
        }
    }

    /**
     * The closes of dropped FUSE files whose FLUSH the daemon holds take places in the mount's
     * share of the transfer pool, as the mount's reads and writes do, so that the files of one
     * hung mount hold at most that share's threads and other mounts keep the rest of the pool.
     * Failed before: the share's free places unchanged while two closes hung (each took a pool
     * thread outside any share, up to the whole pool).
     */
    @Test
    void closesTheDaemonHoldsTakeTheMountsShareOfThePool() throws Exception {
        Path first = file("flush-share", TestSupport.randomBytes(BLOCK, 7));
        io.auraio.internal.offload.BlockingOffload pool = io.auraio.internal.offload.BlockingOffload.transfers();
        try (Engine own = Engine.create(Options.builder().ringCount(1).queueDepth(16).build())) {
            int free = pool.availablePermits(first);
            AtomicReference<AuraFile> a = new AtomicReference<>(AuraFile.open(own, first, StandardOpenOption.READ));
            AtomicReference<AuraFile> b = new AtomicReference<>(AuraFile.open(own, first, StandardOpenOption.READ));
            fs.hangFlush(first);
            try {
                dropAndCollect(a);
                dropAndCollect(b);
                fs.awaitBlockedFlushes(2);
                assertThat(pool.availablePermits(first)).as("the mount's free places while two closes hang")
                        .isEqualTo(free - 2);
            } finally {
                fs.release();
            }
            TestSupport.awaitCondition("the closes to return their places", () -> pool.availablePermits(first) == free);
        }
    }

    /**
     * Short answers of the daemon (at most 1000 bytes a read, at most 1500 a write) reach
     * {@link AuraFile}, {@link AuraFileChannel} and {@link AuraFiles#readAllBytes} as they reach
     * the JDK's {@code FileChannel} and {@code Files} on the same FUSE file: the same counts, the
     * same bytes, whole files read whole.
     */
    @Test
    void shortAnswersOfTheDaemonGiveTheJdksCounts() throws Exception {
        byte[] content = TestSupport.randomBytes(5 * BLOCK + 123, 5);
        Path path = file("short", content);
        fs.shortReads(1000).shortWrites(1500);
        try (Engine own = Engine.create(Options.builder().ringCount(1).queueDepth(16).build());
             AuraFileChannel a = AuraFileChannel.open(own, path, java.util.Set.of(StandardOpenOption.READ,
                     StandardOpenOption.WRITE));
             java.nio.channels.FileChannel j = java.nio.channels.FileChannel.open(path, StandardOpenOption.READ,
                     StandardOpenOption.WRITE)) {
            for (long position : new long[] {0, 999, 5 * BLOCK, 5 * BLOCK + 123, 6 * BLOCK}) {
                ByteBuffer x = ByteBuffer.allocate(BLOCK);
                ByteBuffer y = ByteBuffer.allocate(BLOCK);
                assertThat(a.read(x, position)).as("read at %d", position).isEqualTo(j.read(y, position));
                assertThat(x.flip()).isEqualTo(y.flip());
            }
            ByteBuffer[] ax = {ByteBuffer.allocate(700), ByteBuffer.allocateDirect(700)};
            ByteBuffer[] jx = {ByteBuffer.allocate(700), ByteBuffer.allocateDirect(700)};
            assertThat(a.read(ax)).isEqualTo(j.read(jx));
            assertThat(a.position()).isEqualTo(j.position());
            assertThat(ax[1].flip()).isEqualTo(jx[1].flip());
            assertThat(a.write(ByteBuffer.wrap(new byte[BLOCK]), 100)).isEqualTo(j.write(ByteBuffer.wrap(new byte[BLOCK]), 100));
            assertThat(AuraFiles.readAllBytes(path)).isEqualTo(Files.readAllBytes(path));
            byte[] viaStream;
            try (var in = java.nio.channels.Channels.newInputStream(a.position(0))) {
                viaStream = in.readAllBytes();
            }
            assertThat(viaStream).isEqualTo(Files.readAllBytes(path));
        }
    }

    /**
     * A file that shrinks under its reader (truncated behind the mount, in the backing file): a
     * read at or past the new end gives the JDK's -1 and {@code size()} the new size; EIO and
     * ENOSPC of the daemon fail the calls the JDK's fail, with {@link java.io.IOException}s, and a
     * write cut short at the ENOSPC limit gives the JDK's short count.
     */
    @Test
    void aShrinkingFileAndTheDaemonsErrorsGiveTheJdksResults() throws Exception {
        byte[] content = TestSupport.randomBytes(4 * BLOCK, 6);
        Path path = file("shrink", content);
        try (Engine own = Engine.create(Options.builder().ringCount(1).queueDepth(16).build());
             AuraFileChannel a = AuraFileChannel.open(own, path, java.util.Set.of(StandardOpenOption.READ,
                     StandardOpenOption.WRITE));
             java.nio.channels.FileChannel j = java.nio.channels.FileChannel.open(path, StandardOpenOption.READ,
                     StandardOpenOption.WRITE)) {
            try (java.nio.channels.FileChannel backing = java.nio.channels.FileChannel.open(fs.backing().resolve("shrink"),
                    StandardOpenOption.WRITE)) {
                backing.truncate(BLOCK + 10);
            }
            for (long position : new long[] {0, BLOCK, BLOCK + 10, 2 * BLOCK}) {
                ByteBuffer x = ByteBuffer.allocate(BLOCK);
                ByteBuffer y = ByteBuffer.allocate(BLOCK);
                assertThat(a.read(x, position)).as("read at %d of the shrunk file", position)
                        .isEqualTo(j.read(y, position));
                assertThat(x.flip()).isEqualTo(y.flip());
            }
            assertThat(a.size()).isEqualTo(j.size()).isEqualTo(BLOCK + 10);
            fs.eioEvery(1);
            Throwable ours = thrown(() -> a.read(ByteBuffer.allocate(BLOCK), 0));
            Throwable theirs = thrown(() -> j.read(ByteBuffer.allocate(BLOCK), 0));
            assertThat(theirs).isInstanceOf(java.io.IOException.class);
            assertThat(ours).isInstanceOf(java.io.IOException.class);
            assertThat(a.isOpen()).as("open after an EIO, as the JDK's").isEqualTo(j.isOpen()).isTrue();
            fs.reset();
            fs.enospcAfter(1000);
            long ourCount = a.write(ByteBuffer.wrap(new byte[BLOCK]), 0);
            fs.enospcAfter(1000);
            long theirCount = j.write(ByteBuffer.wrap(new byte[BLOCK]), 0);
            assertThat(ourCount).as("a write cut at the ENOSPC limit").isEqualTo(theirCount);
            ours = thrown(() -> a.write(ByteBuffer.wrap(new byte[BLOCK]), 0));
            theirs = thrown(() -> j.write(ByteBuffer.wrap(new byte[BLOCK]), 0));
            assertThat(theirs).isInstanceOf(java.io.IOException.class);
            assertThat(ours).isInstanceOf(java.io.IOException.class).hasMessageContaining("No space left on device");
        }
    }

    /** Drops the file {@code holder} holds, and waits until it is collected (its Cleaner then runs). */
    private static void dropAndCollect(AtomicReference<AuraFile> holder) throws InterruptedException {
        java.lang.ref.WeakReference<AuraFile> weak = new java.lang.ref.WeakReference<>(holder.getAndSet(null));
        TestSupport.awaitCondition("the dropped file to be collected", () -> {
            System.gc();
            return weak.get() == null;
        });
    }

    private static boolean inFrame(Thread t, String method, String className) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getMethodName().equals(method) && e.getClassName().equals(className)) {
                return true;
            }
        }
        return false;
    }

    /**
     * An O_DIRECT open asks the file's alignment ({@code STATX_DIOALIGN}). It went through a ring
     * {@code STATX} without {@code AT_STATX_DONT_SYNC}: on a FUSE file whose cached attributes had
     * expired, that asked the daemon for them on an io-wq worker, where a daemon holding getattr
     * held the open, the worker and {@link Engine#close()} (which waits for that request) for ever.
     * A hang of getattr cannot show it alone (the open's own permission check asks the daemon
     * too, as the JDK's), so this counts the daemon's metadata calls: an O_DIRECT open must make
     * no more than a plain one. Failed before: one more.
     */
    @Test
    void aDirectOpenAsksTheDaemonNothingMoreThanAPlainOpen() throws Exception {
        // Attributes never cached: any statx that may ask the daemon (no AT_STATX_DONT_SYNC) does.
        try (FaultFs noAttrCache = FixtureAvailability.mountFaultFs("directopen", "entry_timeout=60", "attr_timeout=0");
             Engine own = Engine.create(Options.builder().ringCount(1).queueDepth(16).build())) {
            Files.write(noAttrCache.backing().resolve("direct-open"), TestSupport.randomBytes(BLOCK, 5));
            Path path = noAttrCache.path("direct-open");
            AuraFile.open(own, path, StandardOpenOption.READ).close(); // the name is looked up now
            for (int round = 0; round < 3; round++) {
                long before = noAttrCache.metaOps();
                AuraFile.open(own, path, StandardOpenOption.READ).close();
                long plain = noAttrCache.metaOps() - before;
                before = noAttrCache.metaOps();
                try {
                    AuraFile.open(own, path, StandardOpenOption.READ, io.auraio.testing.Direct.DIRECT).close();
                } catch (java.io.IOException e) {
                    // FUSE may refuse O_DIRECT (EINVAL): then the open never asked its alignment.
                    org.junit.jupiter.api.Assumptions.abort("O_DIRECT open on FUSE: " + e);
                }
                long direct = noAttrCache.metaOps() - before;
                assertThat(direct).as("round %d: the daemon's metadata calls for an O_DIRECT open (a plain one: %d)",
                        round, plain).isEqualTo(plain);
            }
        }
    }

    @FunctionalInterface
    private interface Task {
        Object run() throws Exception;
    }

    private static Throwable thrown(Task task) {
        try {
            task.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }
}
