package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.internal.mapped.MappedReads;
import io.auraio.testing.Commands;
import io.auraio.testing.Descriptors;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link AuraFileChannel}'s concurrency and lifecycle on the paths that answer on the caller
 * (page-cache fast path, mapped reads, tmpfs preads, inline writes), with the JDK's
 * {@link FileChannel} as the oracle: a close from another thread while readers copy from a
 * mapping, interrupts on each path, other writers (buffered, O_DIRECT, hole punches, truncation)
 * seen by the next mapped read, APPEND positions and concurrent appenders, odd buffers and
 * positions, and an engine's close while threads are inside each path.
 */
@ExtendWith(IoUringAvailable.class)
class ChannelConcurrencyTest {
    private static final int BLOCK = 4096;
    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(1).build());

    @RegisterExtension
    final TestDirectory directory = new TestDirectory();
    private Path dir;

    @BeforeEach
    void setUp() {
        dir = directory.path();
    }

    // ---- helpers --------------------------------------------------------------------------------

    private static void warmUntilMapped(AuraFileChannel ch) throws IOException {
        MappedReads m = ch.file().mappedReads();
        assumeTrue(m != null, "no mapped reads for " + ch);
        ByteBuffer b = ByteBuffer.allocate(BLOCK);
        for (int i = 0; i < 2000 && !m.isMapped(); i++) {
            b.clear();
            ch.read(b, 0);
        }
        assertThat(m.isMapped()).as("mapped").isTrue();
    }

    private static boolean mappedInThisProcess(Path path) throws IOException {
        String real = path.toRealPath().toString();
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.anyMatch(l -> l.endsWith(real) || l.contains(real + " "));
        }
    }

    private static void joinOrFail(List<Thread> threads, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (Thread t : threads) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0 || !t.join(java.time.Duration.ofMillis(left))) {
                StringBuilder stack = new StringBuilder();
                for (StackTraceElement e : t.getStackTrace()) {
                    stack.append("\n\tat ").append(e);
                }
                throw new AssertionError("thread did not finish within " + millis + " ms: " + t + stack);
            }
        }
    }

    private static Path shmDir() throws IOException {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && "tmpfs".equals(Files.getFileStore(shm).type()), "no tmpfs /dev/shm");
        return Files.createTempDirectory(shm, "auraio-concurrency");
    }

    private static void shell(String... command) throws Exception {
        Commands.Ran ran = Commands.run(new ProcessBuilder(command), Duration.ofSeconds(30));
        assertThat(ran.succeeded()).as("%s", ran).isTrue();
    }

    // ---- (1) close while virtual threads read a mapped file ----------------------------------------

    @Test
    void closeWhileVirtualThreadsReadAMappedFileEndsEveryReaderWithACloseExceptionAndUnmapsAfterThem()
            throws Exception {
        Path path = dir.resolve("hot");
        byte[] data = TestSupport.nonZeroBytes(1 << 20, 1);
        Files.write(path, data);
        for (int round = 0; round < 5; round++) {
            AuraFileChannel ch = AuraFileChannel.open(shared.engine(), path, StandardOpenOption.READ);
            warmUntilMapped(ch);
            assertThat(mappedInThisProcess(path)).isTrue();
            int readers = 8;
            ConcurrentLinkedQueue<Throwable> outcomes = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
            AtomicLong reads = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            for (int r = 0; r < readers; r++) {
                boolean relative = r % 2 == 0;
                threads.add(Thread.ofVirtual().start(() -> {
                    ByteBuffer b = ByteBuffer.allocate(BLOCK);
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    try {
                        while (true) {
                            int block = random.nextInt(data.length / BLOCK);
                            b.clear();
                            int n;
                            if (relative) {
                                synchronized (ch) {
                                    ch.position((long) block * BLOCK);
                                    n = ch.read(b);
                                }
                            } else {
                                n = ch.read(b, (long) block * BLOCK);
                            }
                            if (n != BLOCK || !Arrays.equals(b.array(), 0, BLOCK, data, block * BLOCK,
                                    (block + 1) * BLOCK)) {
                                wrong.add("block " + block + " n=" + n);
                            }
                            reads.incrementAndGet();
                        }
                    } catch (Throwable t) {
                        outcomes.add(t);
                    }
                }));
            }
            long start = System.nanoTime();
            while (reads.get() < 5000 && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(3)) {
                Thread.sleep(1);
            }
            Thread closer = Thread.ofPlatform().start(() -> {
                try {
                    ch.close();
                } catch (IOException e) {
                    outcomes.add(e);
                }
            });
            joinOrFail(List.of(closer), 3000);
            joinOrFail(threads, 3000);
            assertThat(wrong).isEmpty();
            assertThat(outcomes).hasSize(readers);
            for (Throwable t : outcomes) {
                assertThat(t).isInstanceOfAny(AsynchronousCloseException.class, ClosedChannelException.class)
                        .isNotInstanceOf(ClosedByInterruptException.class);
            }
            assertThat(mappedInThisProcess(path)).as("unmapped after close").isFalse();
            assertThat(Descriptors.on(path)).as("descriptors left on the file").isEmpty();
        }
    }

    // ---- (2) interrupts on the caller-side paths, against FileChannel --------------------------------

    @FunctionalInterface
    private interface Op {
        void run(FileChannel ch, int i) throws IOException;
    }

    /** What a thread saw: the exception's class, whether the channel was open, whether its interrupt status was set. */
    private record Outcome(String exception, boolean open, boolean interrupted) {}

    /** Runs {@code op} in a loop on a virtual thread, interrupts it once it has run a while. */
    private static Outcome interruptedDuring(FileChannel ch, Op op) throws Exception {
        AtomicLong done = new AtomicLong();
        AtomicReference<Outcome> outcome = new AtomicReference<>();
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                for (int i = 0; ; i++) {
                    op.run(ch, i);
                    done.incrementAndGet();
                }
            } catch (Throwable e) {
                outcome.set(new Outcome(e.getClass().getSimpleName(), ch.isOpen(), Thread.currentThread().isInterrupted()));
            }
        });
        long start = System.nanoTime();
        while (done.get() < 300 && outcome.get() == null && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(3)) {
            Thread.sleep(1);
        }
        assertThat(outcome.get()).as("failed before the interrupt").isNull();
        t.interrupt();
        joinOrFail(List.of(t), 3000);
        return outcome.get();
    }

    /** Runs {@code op} once on a virtual thread whose interrupt status is set before the call. */
    private static Outcome interruptedBefore(FileChannel ch, Op op) throws Exception {
        AtomicReference<Outcome> outcome = new AtomicReference<>(new Outcome("none", true, true));
        Thread t = Thread.ofVirtual().start(() -> {
            Thread.currentThread().interrupt();
            try {
                op.run(ch, 0);
            } catch (Throwable e) {
                outcome.set(new Outcome(e.getClass().getSimpleName(), ch.isOpen(), Thread.currentThread().isInterrupted()));
            }
        });
        joinOrFail(List.of(t), 3000);
        return outcome.get();
    }

    private static final Outcome CLOSED_BY_INTERRUPT = new Outcome("ClosedByInterruptException", false, true);

    private void checkInterrupts(Path path, String what, boolean warm, Op op, OpenOption... options) throws Exception {
        for (boolean before : new boolean[] {false, true}) {
            Outcome jdk;
            try (FileChannel fc = FileChannel.open(path, options)) {
                jdk = before ? interruptedBefore(fc, op) : interruptedDuring(fc, op);
            }
            Outcome aura;
            try (AuraFileChannel ch = AuraFileChannel.open(shared.engine(), path, options)) {
                if (warm) {
                    warmUntilMapped(ch);
                }
                aura = before ? interruptedBefore(ch, op) : interruptedDuring(ch, op);
            }
            assertThat(jdk).as("FileChannel, %s, interrupted %s", what, before ? "before" : "during")
                    .isEqualTo(CLOSED_BY_INTERRUPT);
            assertThat(aura).as("AuraFileChannel, %s, interrupted %s", what, before ? "before" : "during")
                    .isEqualTo(jdk);
        }
        assertThat(Descriptors.on(path)).isEmpty();
    }

    @Test
    void interruptsOnEveryCallerSidePathAreFileChannels() throws Exception {
        Path ext4 = dir.resolve("ext4");
        byte[] data = TestSupport.nonZeroBytes(1 << 20, 2);
        Files.write(ext4, data);
        int blocks = data.length / BLOCK;
        Op small = (ch, i) -> ch.read(ByteBuffer.allocate(BLOCK), (long) (i % blocks) * BLOCK);
        Op large = (ch, i) -> ch.read(ByteBuffer.allocate(64 * 1024), (long) (i % 16) * 64 * 1024);
        Op relative = (ch, i) -> {
            if (ch.read(ByteBuffer.allocate(BLOCK)) < 0) {
                ch.position(0);
            }
        };
        Op scatter = (ch, i) -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(100), ByteBuffer.allocateDirect(5000)});
        Op write = (ch, i) -> ch.write(ByteBuffer.wrap(data, 0, BLOCK), (long) (i % blocks) * BLOCK);
        Op relativeWrite = (ch, i) -> ch.write(ByteBuffer.wrap(data, 0, 100));
        Op gather = (ch, i) -> ch.write(new ByteBuffer[] {ByteBuffer.wrap(data, 0, 10), ByteBuffer.wrap(data, 5, 100)});
        checkInterrupts(ext4, "mapped reads", true, small, StandardOpenOption.READ);
        checkInterrupts(ext4, "relative mapped reads", true, relative, StandardOpenOption.READ);
        checkInterrupts(ext4, "fast-path reads", false, large, StandardOpenOption.READ);
        checkInterrupts(ext4, "scattering fast-path reads", false, scatter, StandardOpenOption.READ);
        checkInterrupts(ext4, "inline writes", false, write, StandardOpenOption.WRITE);
        checkInterrupts(ext4, "relative inline writes", false, relativeWrite, StandardOpenOption.WRITE);
        checkInterrupts(ext4, "gathering inline writes", false, gather, StandardOpenOption.WRITE);
        Path shm = shmDir();
        try {
            Path tmpfs = shm.resolve("tmpfs");
            Files.write(tmpfs, data);
            checkInterrupts(tmpfs, "tmpfs preads", false, large, StandardOpenOption.READ);
            checkInterrupts(tmpfs, "tmpfs mapped reads", true, small, StandardOpenOption.READ);
            checkInterrupts(tmpfs, "tmpfs writes", false, write, StandardOpenOption.WRITE);
        } finally {
            TestDirectory.deleteRecursively(shm);
        }
    }

    // ---- (3) other writers while mapped reads run ---------------------------------------------------

    private static byte[] jdkRead(Path path, long position, int length) throws IOException {
        try (FileChannel fc = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            int n = fc.read(b, position);
            return n < 0 ? null : Arrays.copyOf(b.array(), n);
        }
    }

    private static byte[] auraRead(FileChannel ch, long position, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        int n = ch.read(b, position);
        return n < 0 ? null : Arrays.copyOf(b.array(), n);
    }

    /**
     * A change that has returned (a write through another channel, an O_DIRECT write, a punched
     * hole, a truncation and regrowth by another process) is seen by the next read, as pread sees it.
     */
    @Test
    void everyChangeByOthersThatReturnedIsSeenByTheNextMappedRead() throws Exception {
        Path path = dir.resolve("changing");
        int size = 256 * 1024;
        byte[] data = TestSupport.nonZeroBytes(size, 3);
        Files.write(path, data);
        Random random = new Random(4);
        try (AuraFileChannel ch = AuraFileChannel.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel other = FileChannel.open(path, StandardOpenOption.WRITE);
             FileChannel direct = FileChannel.open(path, StandardOpenOption.WRITE,
                     io.auraio.testing.Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            warmUntilMapped(ch);
            MemorySegment aligned = arena.allocate(BLOCK, BLOCK);
            long served = ch.file().mappedReads().served();
            for (int i = 0; i < 40; i++) {
                int block = random.nextInt(size / BLOCK);
                long at = (long) block * BLOCK;
                // Made hot and cached in the mapping first.
                for (int k = 0; k < 3; k++) {
                    assertThat(auraRead(ch, at, BLOCK)).isEqualTo(jdkRead(path, at, BLOCK));
                }
                switch (i % 4) {
                    case 0 -> other.write(ByteBuffer.wrap(TestSupport.nonZeroBytes(BLOCK, 100 + i)), at);
                    case 1 -> {
                        aligned.copyFrom(MemorySegment.ofArray(TestSupport.nonZeroBytes(BLOCK, 200 + i)));
                        assertThat(direct.write(aligned.asByteBuffer(), at)).isEqualTo(BLOCK);
                    }
                    case 2 -> shell("fallocate", "-p", "-o", Long.toString(at), "-l", Integer.toString(BLOCK),
                            path.toString());
                    default -> {
                        shell("truncate", "-s", Long.toString(at + 100), path.toString());
                        assertThat(auraRead(ch, at + 50, 200)).isEqualTo(jdkRead(path, at + 50, 200));
                        assertThat(auraRead(ch, at + BLOCK, 200)).isNull();
                        other.write(ByteBuffer.wrap(TestSupport.nonZeroBytes(size - (int) at, 300 + i)), at);
                    }
                }
                byte[] expected = jdkRead(path, at, BLOCK);
                assertThat(auraRead(ch, at, BLOCK)).as("round %d", i).isEqualTo(expected);
                assertThat(auraRead(ch, at + 1000, 10)).as("round %d", i).isEqualTo(Arrays.copyOfRange(expected, 1000, 1010));
            }
            assertThat(ch.file().mappedReads().served()).as("served from the mapping").isGreaterThan(served + 20);
        }
    }

    /**
     * Concurrent: writers (buffered and O_DIRECT) give each block increasing generations; a
     * generation published (its write returned) before a read began is never read as older.
     */
    @Test
    void mappedReadsNeverSeeAGenerationOlderThanOneWhoseWriteReturned() throws Exception {
        Path path = dir.resolve("generations");
        int blocks = 64;
        byte[] ones = new byte[blocks * BLOCK];
        Arrays.fill(ones, (byte) 1);
        Files.write(path, ones);
        AtomicIntegerArray published = new AtomicIntegerArray(blocks);
        for (int i = 0; i < blocks; i++) {
            published.set(i, 1);
        }
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<String> stale = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        try (AuraFileChannel ch = AuraFileChannel.open(shared.engine(), path, StandardOpenOption.READ)) {
            warmUntilMapped(ch);
            long served = ch.file().mappedReads().served();
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                boolean odirect = w == 1;
                int first = w; // writer w owns blocks of its parity
                threads.add(Thread.ofPlatform().start(() -> {
                    try (FileChannel fc = odirect
                            ? FileChannel.open(path, StandardOpenOption.WRITE, io.auraio.testing.Direct.DIRECT)
                            : FileChannel.open(path, StandardOpenOption.WRITE);
                         Arena arena = Arena.ofConfined()) {
                        MemorySegment buf = arena.allocate(BLOCK, BLOCK);
                        for (int gen = 2; gen <= 120 && !stop.get(); gen++) {
                            for (int b = first; b < blocks; b += 2) {
                                buf.fill((byte) gen);
                                fc.write(buf.asByteBuffer(), (long) b * BLOCK);
                                published.set(b, gen);
                            }
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            List<Thread> readers = new ArrayList<>();
            for (int r = 0; r < 4; r++) {
                readers.add(Thread.ofVirtual().start(() -> {
                    ByteBuffer b = ByteBuffer.allocate(BLOCK);
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    try {
                        while (!stop.get()) {
                            int block = random.nextInt(blocks);
                            int atLeast = published.get(block);
                            b.clear();
                            ch.read(b, (long) block * BLOCK);
                            for (int i = 0; i < BLOCK; i++) {
                                if ((b.get(i) & 0xff) < atLeast) {
                                    byte[] now = jdkRead(path, (long) block * BLOCK, BLOCK);
                                    stale.add("block " + block + " byte " + i + ": read " + (b.get(i) & 0xff)
                                            + " after generation " + atLeast + " was written; pread now " + (now[i] & 0xff));
                                    break;
                                }
                            }
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            joinOrFail(threads, 20_000);
            stop.set(true);
            joinOrFail(readers, 3000);
            assertThat(failures).isEmpty();
            assertThat(stale).isEmpty();
            assertThat(ch.file().mappedReads().served()).as("served from the mapping").isGreaterThan(served);
        }
    }

    // ---- (4) APPEND ---------------------------------------------------------------------------------

    private static List<Object> appendScript(FileChannel ch) {
        List<Object> seen = new ArrayList<>();
        Op[] steps = {
            (c, i) -> seen.add(c.position()),
            (c, i) -> seen.add(c.size()),
            (c, i) -> seen.add(c.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5}))),
            (c, i) -> seen.add(c.position()),
            (c, i) -> seen.add(c.write(new ByteBuffer[] {ByteBuffer.wrap(new byte[] {6, 7}), ByteBuffer.allocate(0),
                ByteBuffer.allocateDirect(3).put(new byte[] {8, 9, 10}).flip()})),
            (c, i) -> seen.add(c.position()),
            (c, i) -> seen.add(c.position(3) == c),
            (c, i) -> seen.add(c.position()),
            (c, i) -> seen.add(c.write(ByteBuffer.wrap(new byte[] {11, 12}))),
            (c, i) -> seen.add(c.position()),
            (c, i) -> seen.add(c.write(ByteBuffer.wrap(new byte[] {13}), 1)),
            (c, i) -> seen.add(c.position()),
            (c, i) -> seen.add(c.size()),
            (c, i) -> seen.add(c.truncate(4) == c),
            (c, i) -> seen.add(c.position()),
            (c, i) -> seen.add(c.size()),
            (c, i) -> seen.add(c.position(100) == c),
            (c, i) -> seen.add(c.write(ByteBuffer.wrap(new byte[] {14}))),
            (c, i) -> seen.add(c.position()),
            (c, i) -> seen.add(c.write(ByteBuffer.allocate(0))),
            (c, i) -> seen.add(c.position()),
        };
        for (Op step : steps) {
            try {
                step.run(ch, 0);
            } catch (Exception e) {
                seen.add(e.getClass().getSimpleName());
            }
        }
        return seen;
    }

    @Test
    void appendChannelsReportPositionsSizesAndCountsAsFileChannel() throws Exception {
        for (OpenOption[] options : new OpenOption[][] {
            {StandardOpenOption.APPEND},
            {StandardOpenOption.WRITE, StandardOpenOption.APPEND},
        }) {
            Path a = dir.resolve("jdk-append");
            Path b = dir.resolve("aura-append");
            Files.write(a, new byte[] {100, 101, 102});
            Files.write(b, new byte[] {100, 101, 102});
            List<Object> jdk;
            try (FileChannel fc = FileChannel.open(a, options)) {
                jdk = appendScript(fc);
            }
            List<Object> aura;
            try (AuraFileChannel ch = AuraFileChannel.open(shared.engine(), b, options)) {
                aura = appendScript(ch);
            }
            assertThat(aura).as("%s", Arrays.toString(options)).isEqualTo(jdk);
            assertThat(Files.readAllBytes(b)).isEqualTo(Files.readAllBytes(a));
        }
    }

    @Test
    void concurrentAppendersThroughOneAndSeveralChannelsLoseAndTearNoRecord() throws Exception {
        Path path = dir.resolve("log");
        Files.write(path, new byte[0]);
        int record = 64;
        int writers = 6;
        int each = 400;
        List<AuraFileChannel> channels = List.of(
                AuraFileChannel.open(shared.engine(), path, StandardOpenOption.APPEND),
                AuraFileChannel.open(shared.engine(), path, StandardOpenOption.APPEND),
                AuraFileChannel.open(shared.engine(), path, StandardOpenOption.WRITE, StandardOpenOption.APPEND));
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        try {
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int writer = w;
                FileChannel ch = channels.get(w % channels.size());
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        for (int s = 0; s < each; s++) {
                            long id = ((long) writer << 32) | s | 0x0101_0000_0000_0000L;
                            ByteBuffer buf = (s % 2 == 0 ? ByteBuffer.allocate(record) : ByteBuffer.allocateDirect(record))
                                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
                            for (int k = 0; k < record / 8; k++) {
                                buf.putLong(id);
                            }
                            buf.flip();
                            int n;
                            if (s % 3 == 0) {
                                ByteBuffer second = buf.slice(20, record - 20);
                                buf.limit(20);
                                n = (int) ch.write(new ByteBuffer[] {buf, second});
                            } else {
                                n = ch.write(buf);
                            }
                            if (n != record) {
                                failures.add("write returned " + n);
                            }
                        }
                    } catch (Throwable t) {
                        failures.add(t.toString());
                    }
                }));
            }
            joinOrFail(threads, 10_000);
            assertThat(failures).isEmpty();
            for (AuraFileChannel ch : channels) {
                assertThat(ch.position()).isEqualTo((long) writers * each * record);
                assertThat(ch.size()).isEqualTo((long) writers * each * record);
            }
        } finally {
            for (AuraFileChannel ch : channels) {
                ch.close();
            }
        }
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(path)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        assertThat(all.capacity()).isEqualTo(writers * each * record);
        java.util.Set<Long> ids = new java.util.HashSet<>();
        for (int r = 0; r < writers * each; r++) {
            long id = all.getLong(r * record);
            for (int k = 1; k < record / 8; k++) {
                assertThat(all.getLong(r * record + k * 8)).as("record %d torn", r).isEqualTo(id);
            }
            ids.add(id);
        }
        assertThat(ids).hasSize(writers * each);
    }

    // ---- (5) truncate, force, position, size racing reads and writes ---------------------------------

    @Test
    void truncateForcePositionAndSizeRacingMappedReadsAndWritesNeverFailOddly() throws Exception {
        Path path = dir.resolve("racing");
        int size = 64 * BLOCK;
        byte[] data = TestSupport.nonZeroBytes(size, 5);
        Files.write(path, data);
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        try (AuraFileChannel ch = AuraFileChannel.open(shared.engine(), path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            warmUntilMapped(ch);
            List<Thread> threads = new ArrayList<>();
            for (int r = 0; r < 3; r++) {
                threads.add(Thread.ofVirtual().start(() -> {
                    ByteBuffer b = ByteBuffer.allocate(BLOCK);
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    try {
                        while (!stop.get()) {
                            int block = random.nextInt(size / BLOCK);
                            b.clear();
                            int n = ch.read(b, (long) block * BLOCK);
                            // Every byte the file ever had there is the original's or zero (a truncated, regrown range).
                            for (int i = 0; i < Math.max(n, 0); i++) {
                                byte got = b.get(i);
                                if (got != 0 && got != data[block * BLOCK + i]) {
                                    failures.add("block " + block + " byte " + i + " = " + got);
                                    break;
                                }
                            }
                        }
                    } catch (Throwable t) {
                        failures.add(t.toString());
                    }
                }));
            }
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    for (int i = 0; i < 300; i++) {
                        long newSize = random.nextLong(size);
                        ch.truncate(newSize);
                        long s = ch.size();
                        if (s > newSize && s != size) {
                            failures.add("size " + s + " after truncate(" + newSize + ")");
                        }
                        ch.force(i % 2 == 0);
                        // Regrow with the original bytes, relative and positional.
                        synchronized (ch) {
                            ch.position(s);
                            ByteBuffer rest = ByteBuffer.wrap(data, (int) s, size - (int) s);
                            while (rest.hasRemaining()) {
                                ch.write(rest);
                            }
                            if (ch.position() != size) {
                                failures.add("position " + ch.position() + " after regrowing");
                            }
                        }
                    }
                } catch (Throwable t) {
                    failures.add(t.toString());
                } finally {
                    stop.set(true);
                }
            }));
            joinOrFail(threads, 20_000);
            assertThat(failures).isEmpty();
        }
        assertThat(Files.readAllBytes(path)).isEqualTo(data);
    }

    // ---- (6) odd buffers and positions, against FileChannel ------------------------------------------

    private static String outcome(IoCall call) {
        try {
            return "returned " + call.call();
        } catch (Throwable t) {
            // AuraIOException is the JDK's IOException, with an errno: compare the class the JDK throws.
            return (t instanceof AuraIOException ? IOException.class : t.getClass()).getSimpleName();
        }
    }

    @FunctionalInterface
    private interface IoCall {
        Object call() throws Exception;
    }

    private static String onOtherThread(IoCall call) throws Exception {
        AtomicReference<String> result = new AtomicReference<>();
        Thread t = Thread.ofVirtual().start(() -> result.set(outcome(call)));
        joinOrFail(List.of(t), 3000);
        return result.get();
    }

    private static List<String> oddBufferScript(FileChannel ch) throws Exception {
        List<String> seen = new ArrayList<>();
        try (Arena confined = Arena.ofConfined()) {
            ByteBuffer c = confined.allocate(BLOCK).asByteBuffer();
            seen.add("wrong thread read: " + onOtherThread(() -> ch.read(c, 0)));
            seen.add("wrong thread relative read: " + onOtherThread(() -> ch.read(c)));
            seen.add("wrong thread scatter: " + onOtherThread(() -> ch.read(new ByteBuffer[] {c})));
            seen.add("wrong thread write: " + onOtherThread(() -> ch.write(c, 0)));
            seen.add("wrong thread gather: " + onOtherThread(() -> ch.write(new ByteBuffer[] {c})));
            seen.add("channel open: " + ch.isOpen() + " position " + ch.position());
        }
        Arena shared = Arena.ofShared();
        ByteBuffer s = shared.allocate(BLOCK).asByteBuffer();
        shared.close();
        seen.add("closed arena read: " + outcome(() -> ch.read(s, 0)));
        seen.add("closed arena relative read: " + outcome(() -> ch.read(s)));
        seen.add("closed arena write: " + outcome(() -> ch.write(s, 0)));
        seen.add("closed arena gather: " + outcome(() -> ch.write(new ByteBuffer[] {s})));
        seen.add("read-only heap: " + outcome(() -> ch.read(ByteBuffer.allocate(10).asReadOnlyBuffer(), 0)));
        seen.add("read-only direct: " + outcome(() -> ch.read(ByteBuffer.allocateDirect(10).asReadOnlyBuffer())));
        seen.add("read-only empty: " + outcome(() -> ch.read(ByteBuffer.allocate(0).asReadOnlyBuffer(), 0)));
        seen.add("write read-only: " + outcome(() -> ch.write(ByteBuffer.wrap(new byte[] {7}).asReadOnlyBuffer(), 20_000)));
        ByteBuffer small = ByteBuffer.allocate(100);
        seen.add("read at MAX-1: " + outcome(() -> ch.read(small, Long.MAX_VALUE - 1)) + " " + small.position());
        seen.add("read at MAX: " + outcome(() -> ch.read(small, Long.MAX_VALUE)) + " " + small.position());
        seen.add("write at MAX-1: " + outcome(() -> ch.write(ByteBuffer.wrap(new byte[] {1, 2}), Long.MAX_VALUE - 1)));
        seen.add("write at 2^62: " + outcome(() -> ch.write(ByteBuffer.wrap(new byte[] {1, 2}), 1L << 62)));
        seen.add("position MAX: " + outcome(() -> ch.position(Long.MAX_VALUE) == ch) + " " + ch.position());
        seen.add("relative read after: " + outcome(() -> ch.read(ByteBuffer.allocate(10))) + " " + ch.position());
        seen.add("relative write after: " + outcome(() -> ch.write(ByteBuffer.allocate(10))) + " " + ch.position());
        seen.add("size: " + ch.size());
        ch.position(0);
        return seen;
    }

    @Test
    void oddBuffersAndPositionsAreFileChannels() throws Exception {
        Path a = dir.resolve("jdk-odd");
        Path b = dir.resolve("aura-odd");
        byte[] data = TestSupport.nonZeroBytes(10_000, 6);
        Files.write(a, data);
        Files.write(b, data);
        List<String> jdk;
        try (FileChannel fc = FileChannel.open(a, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            jdk = oddBufferScript(fc);
        }
        List<String> aura;
        try (AuraFileChannel ch = AuraFileChannel.open(shared.engine(), b, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            warmUntilMapped(ch);
            aura = oddBufferScript(ch);
        }
        assertThat(aura).isEqualTo(jdk);
        assertThat(Files.readAllBytes(b)).isEqualTo(Files.readAllBytes(a));
    }

    /** A 1.5 GiB direct buffer and a small (hot) file: the count, buffer and channel positions are the JDK's. */
    @Test
    void aHugeDirectBufferReadsASmallFileAsFileChannel() throws Exception {
        Path path = dir.resolve("small");
        byte[] data = TestSupport.nonZeroBytes(10_000, 7);
        Files.write(path, data);
        long huge = 3L << 29;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(huge, 4096);
            for (boolean aura : new boolean[] {false, true}) {
                try (FileChannel ch = aura ? AuraFileChannel.open(shared.engine(), path, StandardOpenOption.READ)
                        : FileChannel.open(path, StandardOpenOption.READ)) {
                    ByteBuffer b = memory.asByteBuffer();
                    assertThat(ch.read(b)).as("aura %s", aura).isEqualTo(data.length);
                    assertThat(b.position()).isEqualTo(data.length);
                    assertThat(ch.position()).isEqualTo(data.length);
                    assertThat(ch.read(b)).isEqualTo(-1);
                    b.clear();
                    assertThat(ch.read(b, 4096)).isEqualTo(data.length - 4096);
                    assertThat(b.position()).isEqualTo(data.length - 4096);
                    assertThat(memory.asSlice(0, data.length - 4096).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                            .isEqualTo(Arrays.copyOfRange(data, 4096, data.length));
                    b.clear();
                    ByteBuffer other = ByteBuffer.allocate(7);
                    ch.position(0);
                    assertThat(ch.read(new ByteBuffer[] {other, b}, 0, 2)).isEqualTo(data.length);
                    assertThat(other.position()).isEqualTo(7);
                    assertThat(b.position()).isEqualTo(data.length - 7);
                }
            }
        }
    }

    // ---- (7) Engine.close while threads are inside reads on each path --------------------------------

    @Test
    void engineCloseEndsThreadsOnEveryPathPromptly() throws Exception {
        Path hot = dir.resolve("hot-engine");
        byte[] data = TestSupport.nonZeroBytes(1 << 20, 8);
        Files.write(hot, data);
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Path shm = shmDir();
        Engine own = Engine.create(Options.builder().ringCount(1).build());
        List<AuraFileChannel> channels = new ArrayList<>();
        try {
            Path tmpfs = shm.resolve("tmpfs");
            Files.write(tmpfs, data);
            AuraFileChannel mapped = AuraFileChannel.open(own, hot, StandardOpenOption.READ);
            channels.add(mapped);
            warmUntilMapped(mapped);
            AuraFileChannel fast = AuraFileChannel.open(own, hot, StandardOpenOption.READ);
            channels.add(fast);
            AuraFileChannel shmCh = AuraFileChannel.open(own, tmpfs, StandardOpenOption.READ);
            channels.add(shmCh);
            AuraFileChannel writer = AuraFileChannel.open(own, dir.resolve("written"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            channels.add(writer);
            AuraFileChannel pipe = AuraFileChannel.open(own, fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
            channels.add(pipe);
            Op[] ops = {
                (c, i) -> mapped.read(ByteBuffer.allocate(BLOCK), (long) (i % 256) * BLOCK),
                (c, i) -> fast.read(ByteBuffer.allocate(64 * 1024), (long) (i % 16) * 64 * 1024),
                (c, i) -> shmCh.read(ByteBuffer.allocate(64 * 1024), (long) (i % 16) * 64 * 1024),
                (c, i) -> writer.write(ByteBuffer.allocate(BLOCK), (long) (i % 256) * BLOCK),
                (c, i) -> pipe.read(ByteBuffer.allocate(16)),
            };
            String[] names = {"mapped", "fast path", "tmpfs", "inline write", "fifo (ring)"};
            AtomicLong[] done = new AtomicLong[ops.length];
            List<AtomicReference<Throwable>> ends = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int k = 0; k < ops.length; k++) {
                Op op = ops[k];
                AtomicLong count = done[k] = new AtomicLong();
                AtomicReference<Throwable> end = new AtomicReference<>();
                ends.add(end);
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        for (int i = 0; ; i++) {
                            op.run(null, i);
                            count.incrementAndGet();
                        }
                    } catch (Throwable t) {
                        end.set(t);
                    }
                }));
            }
            long start = System.nanoTime();
            while ((done[0].get() < 300 || done[1].get() < 300 || done[2].get() < 300 || done[3].get() < 300
                    || own.pendingCount() == 0) && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(3)) {
                Thread.sleep(1);
            }
            for (int k = 0; k < ops.length; k++) {
                assertThat(ends.get(k).get()).as(names[k]).isNull();
            }
            Thread closer = Thread.ofPlatform().start(own::close);
            joinOrFail(List.of(closer), 5000);
            joinOrFail(threads, 5000);
            for (int k = 0; k < ops.length; k++) {
                Throwable t = ends.get(k).get();
                assertThat(t).as(names[k]).isInstanceOf(IOException.class);
                if (t instanceof AuraIOException a) {
                    assertThat(a.isShutdown()).as(names[k] + ": " + t).isTrue();
                }
            }
        } finally {
            own.close();
            for (AuraFileChannel ch : channels) {
                ch.close();
            }
            TestDirectory.deleteRecursively(shm);
        }
        assertThat(mappedInThisProcess(hot)).isFalse();
        assertThat(Descriptors.on(hot)).isEmpty();
        assertThat(Descriptors.on(fifo)).isEmpty();
    }

    /**
     * Another channel shrinks the file and rewrites it whole with a new generation while virtual
     * threads read it through the mapping: no read escapes with an InternalError (SIGBUS), and
     * every non-zero byte read is at least the generation whose rewrite returned before the read.
     */
    @Test
    void mappedReadsOfAFileShrunkAndRewrittenByAnotherChannelAreNeverStaleAndNeverFault() throws Exception {
        Path path = dir.resolve("shrinking");
        int size = 64 * BLOCK;
        byte[] first = new byte[size];
        Arrays.fill(first, (byte) 1);
        Files.write(path, first);
        AtomicLong published = new AtomicLong(1);
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        try (AuraFileChannel ch = AuraFileChannel.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel other = FileChannel.open(path, StandardOpenOption.WRITE)) {
            warmUntilMapped(ch);
            List<Thread> readers = new ArrayList<>();
            for (int r = 0; r < 4; r++) {
                readers.add(Thread.ofVirtual().start(() -> {
                    ByteBuffer b = ByteBuffer.allocate(BLOCK);
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    try {
                        while (!stop.get()) {
                            long atLeast = published.get();
                            b.clear();
                            int length = 1 + random.nextInt(BLOCK);
                            b.limit(length);
                            int n = ch.read(b, random.nextLong(size - length + 1));
                            for (int i = 0; i < n; i++) {
                                int v = b.get(i) & 0xff;
                                if (v != 0 && v < atLeast) {
                                    failures.add("read generation " + v + " after " + atLeast + " was written");
                                    break;
                                }
                            }
                        }
                    } catch (Throwable t) {
                        failures.add(t.toString());
                    }
                }));
            }
            ByteBuffer whole = ByteBuffer.allocateDirect(size);
            Random random = new Random(9);
            for (int gen = 2; gen < 200 && failures.isEmpty(); gen++) {
                other.truncate((long) random.nextInt(size / BLOCK) * BLOCK + random.nextInt(BLOCK));
                Thread.sleep(0, 200_000);
                whole.clear();
                while (whole.hasRemaining()) {
                    whole.put((byte) gen);
                }
                whole.flip();
                while (whole.hasRemaining()) {
                    other.write(whole, whole.position());
                }
                published.set(gen);
                Thread.sleep(0, 200_000);
            }
            stop.set(true);
            joinOrFail(readers, 3000);
            assertThat(failures).isEmpty();
            assertThat(ch.file().mappedReads().served()).isPositive();
        }
    }
}
