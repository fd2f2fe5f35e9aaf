package io.auraio.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraFile;
import io.auraio.AuraFileChannel;
import io.auraio.AuraFiles;
import io.auraio.BufferRef;
import io.auraio.Engine;
import io.auraio.Options;
import io.auraio.testing.FaultFs;
import io.auraio.testing.Fifo;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * No input can stop a ring (issue 11), randomized: each round starts a random mix of hazards on
 * one small ring (16 slots, in-flight limit 4) in every request form: reads of a FIFO nobody
 * writes, reads and writes of a hung FUSE file (blocking through {@link AuraFile},
 * {@link AuraFileChannel}, {@link AuraFiles} and the provider's streams; callback; future),
 * {@code force}, {@code size}, {@code truncate}, the position in APPEND mode and {@code transferTo}
 * of a FUSE file whose metadata calls the daemon holds (blocking, through {@link AuraFile} and
 * {@link AuraFileChannel}), opens of paths the kernel refuses (empty, PATH_MAX, missing, a directory for writing), requests on a
 * descriptor that is not open. Then every request form of {@link Op}, an open, {@code size()} and
 * close, {@link AuraFiles} and the provider's streams on a good file must complete with the right
 * bytes; then the blocking hazards are interrupted (some) and their files closed (the rest), and
 * every parked caller must wake while the FUSE daemon still holds its requests (issue 11: its
 * transfers and metadata calls run on the offload pool, which the caller can leave). The engine's callback and
 * future requests on the hung file, which the kernel cannot cancel, end once the daemon lets go,
 * and so do {@link AuraFiles}' callers, which are uninterruptible as the {@code Files} methods
 * they serve (the JDK's {@code Files.readAllBytes} ignores interrupts too).
 * Repeat a failing round with {@code -Dauraio.hazard.seed=SEED}.
 */
@ExtendWith(IoUringAvailable.class)
class HazardLivenessTest {
    private static final int ROUNDS = 12;
    private static final int BLOCK = 4096;
    private static final int UNUSED_FD = 1_000_000;

    enum Hazard {
        FIFO_FILE, FIFO_CHANNEL, FIFO_CALLBACK, FIFO_FUTURE,
        HUNG_FILE, HUNG_CHANNEL, HUNG_CALLBACK, HUNG_FUTURE,
        HUNG_WRITE_FILE, HUNG_WRITE_CHANNEL, HUNG_AURAFILES, HUNG_PROVIDER_STREAM, HUNG_PROVIDER_WRITE,
        HUNG_FORCE_FILE, HUNG_FDATASYNC_FILE, HUNG_SIZE_FILE, HUNG_FORCE_CHANNEL, HUNG_SIZE_CHANNEL,
        HUNG_TRUNCATE_CHANNEL, HUNG_APPEND_POSITION, HUNG_TRANSFER_TO,
        OPEN_EMPTY, OPEN_TOO_LONG, OPEN_MISSING, OPEN_DIRECTORY_FOR_WRITE, BAD_FD_CALLBACK, BAD_FD_FUTURE
    }

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void goodFilesKeepBeingServedAndEveryCallerWakesWhateverTheHazards() throws Exception {
        long seed = Quiescence.seed("auraio.hazard.seed");
        Random random = new Random(seed);
        String context = "seed " + seed;
        Path fifo = Fifo.create(dir.resolve("fifo"));
        byte[] content = TestSupport.randomBytes(16 * BLOCK, seed);
        Path good = Files.write(dir.resolve("good"), content);
        Path tooLong = dir.resolve("d".repeat(250) + "/" + "e".repeat(4000));
        try (FaultFs fs = FixtureAvailability.mountFaultFs("hazards");
             RandomAccessFile _ = new RandomAccessFile(fifo.toFile(), "rw")) { // a writer that never writes
            Files.write(fs.backing().resolve("hung"), new byte[16 * BLOCK]);
            Files.write(fs.backing().resolve("hungw"), new byte[0]);
            Files.write(fs.backing().resolve("hungm"), new byte[16 * BLOCK]);
            Path hung = fs.path("hung");
            Path hungWrites = fs.path("hungw");
            var provider = new io.auraio.spi.AuraFileSystemProvider(java.nio.file.FileSystems.getDefault().provider());
            Engine engine = Engine.create(Options.builder().ringCount(1).queueDepth(16).initialInFlight(4)
                    .minInFlight(1).disableAdaptive(true).build());
            try (EventLoopThread _ = new EventLoopThread(engine);
                 Arena arena = Arena.ofShared()) {
                for (int round = 0; round < ROUNDS; round++) {
                    fs.hangReads(hung).hangWrites(hungWrites);
                    round(engine, provider, random, fifo, hung, hungWrites, good, content, tooLong, fs, arena,
                            context + ", round " + round);
                    // A callback's future completes inside the callback, before the event loop
                    // releases its slot: wait for that release (bounded), then check.
                    TestSupport.awaitCondition("the last callback's slot to be released, " + context + ", round "
                            + round, () -> engine.stats().currentInFlight() == 0);
                    Quiescence.assertQuiescent(engine);
                }
            } finally {
                fs.release();
                engine.close();
            }
        }
    }

    private static void round(Engine engine, java.nio.file.spi.FileSystemProvider provider, Random random, Path fifo,
                              Path hung, Path hungWrites, Path good, byte[] content, Path tooLong, FaultFs fs,
                              Arena arena, String context) throws Exception {
        AuraFile fifoFile = AuraFile.open(engine, fifo, StandardOpenOption.READ);
        AuraFileChannel fifoChannel = AuraFileChannel.open(engine, fifo, Set.of(StandardOpenOption.READ));
        AuraFile hungFile = AuraFile.open(engine, hung, StandardOpenOption.READ);
        AuraFileChannel hungChannel = AuraFileChannel.open(engine, hung, Set.of(StandardOpenOption.READ));
        AuraFile hungWriteFile = AuraFile.open(engine, hungWrites, StandardOpenOption.WRITE);
        AuraFileChannel hungWriteChannel = AuraFileChannel.open(engine, hungWrites, Set.of(StandardOpenOption.WRITE));
        // force, size, truncate (and what reads the size) of a file whose metadata calls the daemon
        // holds: opened before the hang, which would hold their lookups too
        Path hungMeta = hung.resolveSibling("hungm");
        AuraFile hungMetaFile = AuraFile.open(engine, hungMeta, StandardOpenOption.READ, StandardOpenOption.WRITE);
        AuraFileChannel hungMetaChannel = AuraFileChannel.open(engine, hungMeta,
                Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
        AuraFileChannel hungAppendChannel = AuraFileChannel.open(engine, hungMeta, Set.of(StandardOpenOption.APPEND));
        fs.hangMeta(hungMeta);
        List<Thread> fifoCallers = new ArrayList<>();
        List<Thread> otherCallers = new ArrayList<>();
        // The provider's streams ignore interrupts, as the JDK's: closing the stream wakes their callers
        List<AutoCloseable> streams = new ArrayList<>();
        // AuraFiles' callers: uninterruptible, as the Files methods they serve; they wake when the daemon answers
        List<Thread> uninterruptible = new ArrayList<>();
        List<CompletableFuture<Long>> fifoAsync = new ArrayList<>();
        List<CompletableFuture<Long>> otherAsync = new ArrayList<>();
        Queue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
        int hazards = 1 + random.nextInt(12);
        List<Hazard> started = new ArrayList<>();
        for (int h = 0; h < hazards; h++) {
            Hazard hazard = Hazard.values()[random.nextInt(Hazard.values().length)];
            started.add(hazard);
            long position = (long) random.nextInt(16) * BLOCK;
            MemorySegment segment = arena.allocate(BLOCK);
            switch (hazard) {
                case FIFO_FILE -> fifoCallers.add(caller(unexpected, () -> fifoFile.read(ByteBuffer.allocate(16), 0)));
                case FIFO_CHANNEL -> fifoCallers.add(caller(unexpected, () -> fifoChannel.read(ByteBuffer.allocate(16))));
                case FIFO_CALLBACK -> fifoAsync.add(callback(engine, fifoFile.fd(), segment, 0));
                case FIFO_FUTURE -> fifoAsync.add(engine.readAsync(fifoFile.fd(), BufferRef.of(segment), 16, 0));
                case HUNG_FILE -> otherCallers.add(caller(unexpected, () -> hungFile.read(segment, position)));
                case HUNG_CHANNEL -> otherCallers.add(caller(unexpected,
                        () -> hungChannel.read(ByteBuffer.allocate(BLOCK), position)));
                case HUNG_WRITE_FILE -> otherCallers.add(caller(unexpected, () -> hungWriteFile.write(segment, position)));
                case HUNG_WRITE_CHANNEL -> otherCallers.add(caller(unexpected,
                        () -> hungWriteChannel.write(ByteBuffer.allocate(BLOCK), position)));
                case HUNG_AURAFILES -> uninterruptible.add(caller(unexpected, () -> AuraFiles.readAllBytes(hung)));
                case HUNG_PROVIDER_STREAM -> {
                    var in = provider.newInputStream(hung);
                    streams.add(in);
                    otherCallers.add(caller(unexpected, () -> in.read(new byte[BLOCK])));
                }
                case HUNG_PROVIDER_WRITE -> {
                    var out = provider.newOutputStream(hungWrites, StandardOpenOption.APPEND);
                    streams.add(out);
                    otherCallers.add(caller(unexpected, () -> out.write(new byte[BLOCK])));
                }
                case HUNG_FORCE_FILE -> otherCallers.add(caller(unexpected, () -> hungMetaFile.force(true)));
                case HUNG_FDATASYNC_FILE -> otherCallers.add(caller(unexpected, () -> hungMetaFile.force(false)));
                case HUNG_SIZE_FILE -> otherCallers.add(caller(unexpected, hungMetaFile::size));
                case HUNG_FORCE_CHANNEL -> otherCallers.add(caller(unexpected, () -> hungMetaChannel.force(true)));
                case HUNG_SIZE_CHANNEL -> otherCallers.add(caller(unexpected, hungMetaChannel::size));
                case HUNG_TRUNCATE_CHANNEL -> otherCallers.add(caller(unexpected, () -> hungMetaChannel.truncate(BLOCK)));
                case HUNG_APPEND_POSITION -> otherCallers.add(caller(unexpected, hungAppendChannel::position));
                case HUNG_TRANSFER_TO -> otherCallers.add(caller(unexpected, () -> hungMetaChannel.transferTo(0, BLOCK,
                        java.nio.channels.Channels.newChannel(new java.io.ByteArrayOutputStream()))));
                case OPEN_EMPTY -> otherCallers.add(caller(unexpected, () -> mustFail(java.io.IOException.class, () -> {
                    // The empty path names the current directory, as in the JDK: reading it fails
                    try (AuraFile dot = AuraFile.open(engine, Path.of(""), StandardOpenOption.READ)) {
                        dot.read(ByteBuffer.allocate(16), 0);
                    }
                })));
                case HUNG_CALLBACK -> otherAsync.add(callback(engine, hungFile.fd(), segment, position));
                case HUNG_FUTURE -> otherAsync.add(engine.readAsync(hungFile.fd(), BufferRef.of(segment), BLOCK,
                        position));
                case OPEN_TOO_LONG -> otherCallers.add(caller(unexpected, () -> mustFail(FileSystemException.class,
                        () -> AuraFile.open(engine, tooLong, StandardOpenOption.READ))));
                case OPEN_MISSING -> otherCallers.add(caller(unexpected, () -> mustFail(FileSystemException.class,
                        () -> AuraFile.open(engine, good.resolveSibling("missing"), StandardOpenOption.READ))));
                case OPEN_DIRECTORY_FOR_WRITE -> otherCallers.add(caller(unexpected, () -> mustFail(
                        java.io.IOException.class, () -> AuraFile.open(engine, good.getParent(),
                                StandardOpenOption.WRITE))));
                case BAD_FD_CALLBACK -> otherAsync.add(callback(engine, UNUSED_FD, segment, 0));
                case BAD_FD_FUTURE -> otherAsync.add(engine.readAsync(UNUSED_FD, BufferRef.of(segment), BLOCK, 0));
            }
        }
        String what = context + ", hazards " + started;
        // Some rounds check at once, some after the hazards have aged past the poller's view of the device.
        Thread.sleep(random.nextInt(120));

        // Good files: every request form completes with the right bytes; the open included, so
        // everything runs on threads joined within the bound.
        Queue<Throwable> goodFailures = new ConcurrentLinkedQueue<>();
        List<Integer> blocks = new ArrayList<>();
        for (int i = 0; i < Op.values().length; i++) {
            blocks.add(random.nextInt(16));
        }
        Thread goodRequests = Thread.ofVirtual().start(() -> {
            try (AuraFile goodFile = AuraFile.open(engine, good, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                List<Thread> forms = new ArrayList<>();
                for (Op op : Op.values()) {
                    int block = blocks.get(op.ordinal());
                    long offset = (long) block * BLOCK;
                    byte[] expected = java.util.Arrays.copyOfRange(content, block * BLOCK, (block + 1) * BLOCK);
                    forms.add(Thread.ofVirtual().start(() -> {
                        try {
                            assertThat(op.perform(engine, goodFile, offset, expected)).as("%s, %s", what, op)
                                    .isEqualTo(BLOCK);
                        } catch (Throwable t) {
                            goodFailures.add(t);
                        }
                    }));
                }
                forms.add(Thread.ofVirtual().start(() -> {
                    try (AuraFile again = AuraFile.open(engine, good, StandardOpenOption.READ)) {
                        assertThat(again.size()).isEqualTo(content.length);
                    } catch (Throwable t) {
                        goodFailures.add(t);
                    }
                }));
                forms.add(Thread.ofVirtual().start(() -> {
                    try {
                        assertThat(AuraFiles.readAllBytes(good)).as("%s, AuraFiles", what).isEqualTo(content);
                        try (var in = provider.newInputStream(good)) {
                            assertThat(in.readAllBytes()).as("%s, provider stream", what).isEqualTo(content);
                        }
                    } catch (Throwable t) {
                        goodFailures.add(t);
                    }
                }));
                TestSupport.joinAll(forms);
            } catch (Throwable t) {
                goodFailures.add(t);
            }
        });
        Quiescence.joinAll(List.of(goodRequests), "good-file requests beside " + what);
        assertThat(goodFailures).as(what).isEmpty();

        // Wake every caller: interrupts and closes. FIFO reads are cancelled at once.
        fifoCallers.forEach(Thread::interrupt);
        otherCallers.forEach(t -> {
            if (random.nextBoolean()) {
                t.interrupt(); // the others are woken by their file's close below (FIFO callers by both)
            }
        });
        fifoFile.close();
        fifoChannel.close();
        Quiescence.joinAll(fifoCallers, "FIFO callers after interrupt and close, " + what);
        for (CompletableFuture<Long> f : fifoAsync) {
            assertThat(settle(f)).as("a FIFO request after its file closed, %s", what).isNegative();
        }
        // Transfers the FUSE daemon holds cannot be cancelled by the kernel, but their callers
        // leave them: every one wakes, and every close returns, while the daemon still holds them.
        List<AutoCloseable> hungFiles = new ArrayList<>(streams);
        hungFiles.addAll(List.of(hungFile, hungChannel, hungWriteFile, hungWriteChannel, hungMetaFile, hungMetaChannel,
                hungAppendChannel));
        Thread closer = Thread.ofVirtual().start(() -> { // closes must return too: bounded below
            for (AutoCloseable c : hungFiles) {
                try {
                    c.close();
                } catch (Throwable t) {
                    unexpected.add(t);
                }
            }
        });
        joinWithin(List.of(closer), "closes of the files the daemon holds requests of, " + what);
        joinWithin(otherCallers, "callers the daemon holds, after interrupt and close, " + what);
        uninterruptible.forEach(Thread::interrupt); // ignored, as by Files.readAllBytes; the status is kept
        fs.release();
        joinWithin(uninterruptible, "AuraFiles callers once the daemon answered, " + what);
        // The engine's own forms on the hung file end when the daemon lets go.
        for (CompletableFuture<Long> f : otherAsync) {
            settle(f);
        }
        assertThat(unexpected).as(what).isEmpty();
    }

    /** The bound within which a caller must wake once interrupted or its file closed. */
    private static final java.time.Duration WAKE_BOUND = java.time.Duration.ofSeconds(10);

    /** Joins {@code threads}, failing with the first one's stack when one is still parked after {@link #WAKE_BOUND}. */
    private static void joinWithin(List<Thread> threads, String context) throws InterruptedException {
        long deadline = System.nanoTime() + WAKE_BOUND.toNanos();
        for (Thread t : threads) {
            if (!t.join(java.time.Duration.ofNanos(Math.max(1, deadline - System.nanoTime())))) {
                AssertionError e = new AssertionError(context + ": a caller still parked after " + WAKE_BOUND);
                e.setStackTrace(t.getStackTrace());
                throw e;
            }
        }
    }

    /** A caller on a virtual thread; only the outcomes a closed or interrupted file may give are expected. */
    private static Thread caller(Queue<Throwable> unexpected, Task task) {
        return Thread.ofVirtual().start(() -> {
            try {
                task.run();
            } catch (ClosedChannelException e) {
                // ClosedByInterruptException: woken by its interrupt; AsynchronousCloseException:
                // by another's interrupt or a close; plain: the file was closed before it got there
            } catch (Throwable t) {
                unexpected.add(t);
            }
        });
    }

    @FunctionalInterface
    interface Task {
        void run() throws Exception;
    }

    private static void mustFail(Class<? extends Throwable> type, Task task) throws Exception {
        try {
            task.run();
        } catch (Throwable t) {
            if (type.isInstance(t)) {
                return;
            }
            throw t;
        }
        throw new AssertionError("expected " + type.getSimpleName());
    }

    private static CompletableFuture<Long> callback(Engine engine, int fd, MemorySegment segment, long position)
            throws Exception {
        CompletableFuture<Long> done = new CompletableFuture<>();
        engine.read(fd, BufferRef.of(segment), fd == UNUSED_FD ? BLOCK : Math.min(BLOCK, 16), position,
                (r, res) -> done.complete(res));
        return done;
    }

    /** {@return the request's result or negated errno, within the bound} */
    private static long settle(CompletableFuture<Long> f) throws Exception {
        try {
            return f.get(Quiescence.JOIN_BOUND.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof io.auraio.AuraIOException a) {
                return -a.errno();
            }
            throw e;
        }
    }
}
