package io.auraio;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.spi.AuraFileSystemProvider;
import io.auraio.testing.Descriptors;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.Channels;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Hostile review of {@link AuraFileChannel} used by many threads at once (virtual and platform),
 * with the JDK's {@link FileChannel} run beside it as the oracle: relative reads and writes share
 * and serialize on the position, APPEND writers, size/truncate racing writes, close and interrupts
 * racing every call, locks from many threads, transfers racing relative I/O, and channels reached
 * through the provider and {@link Channels#newInputStream}. Each race runs rounds for a bounded
 * time and checks its invariants after each round; timing itself is never asserted.
 */
@ExtendWith(IoUringAvailable.class)
class ChannelConcurrencyReviewTest {
    /** How long each race runs its rounds on this library's channel. */
    private static final Duration RACE = Duration.ofMillis(1000);
    /**
     * How long each race runs its rounds on the JDK's channel: there they only show that the
     * invariants checked are the JDK's (the oracle), which a few rounds do; the races that look
     * for this library's bugs are {@link #RACE}'s.
     */
    private static final Duration ORACLE_RACE = RACE.dividedBy(4);
    private static final int THREADS = 6;
    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(1).build());

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** Opens a channel: the JDK's or this library's, so that each race runs on both. */
    @FunctionalInterface
    private interface Opener {
        FileChannel open(Path path, OpenOption... options) throws IOException;
    }

    private static final Opener JDK = FileChannel::open;
    private static final Opener AURA = (path, options) -> AuraFileChannel.open(shared.engine(), path, options);

    /**
     * Runs {@code round} on each kind of channel, as many rounds as fit (at least one) in
     * {@link #ORACLE_RACE} on the JDK's and in {@link #RACE} on this library's.
     */
    private static void rounds(Round round) throws Exception {
        for (Opener opener : List.of(JDK, AURA)) {
            String kind = opener == JDK ? "FileChannel" : "AuraFileChannel";
            long end = System.nanoTime() + (opener == JDK ? ORACLE_RACE : RACE).toNanos();
            int n = 0;
            do {
                try {
                    round.run(opener, n);
                } catch (AssertionError e) {
                    throw new AssertionError(kind + ", round " + n + ": " + e.getMessage(), e);
                }
                n++;
            } while (System.nanoTime() - end < 0);
        }
    }

    @FunctionalInterface
    private interface Round {
        void run(Opener opener, int round) throws Exception;
    }

    /** A file of {@code ints} big-endian ints, each its own index: any 4-aligned run of it says where it came from. */
    private Path indexedFile(String name, int ints) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(ints * 4);
        for (int i = 0; i < ints; i++) {
            b.putInt(i);
        }
        return Files.write(dir.resolve(name), b.array());
    }

    /**
     * {@return this process's open descriptors, number to target} The first channel of this
     * library keeps one on {@code /dev/null} in reserve for locks (JdkCompanionChannel): one is
     * opened and closed first, so that it is among them.
     */
    private Map<Integer, String> openDescriptors() throws IOException {
        AuraFileChannel.open(shared.engine(), Files.write(dir.resolve("reserve"), new byte[1]), READ).close();
        return Descriptors.open();
    }

    private static void noFailures(List<Throwable> failures) {
        for (Throwable t : failures) {
            if (t != null) {
                throw new AssertionError("a thread failed: " + t, t);
            }
        }
    }

    // ---- relative reads and writes share the position --------------------------------------------

    @Test
    void relativeReadsFromManyThreadsPartitionTheFileAndLeaveThePositionAtItsEnd() throws Exception {
        int ints = 16 * 1024;
        Path file = indexedFile("indexed", ints);
        rounds((opener, round) -> {
            ConcurrentLinkedQueue<long[]> pieces = new ConcurrentLinkedQueue<>(); // {first index, ints}
            try (FileChannel ch = opener.open(file, READ)) {
                noFailures(TestSupport.atOnce(THREADS, () -> {
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    while (true) {
                        int n;
                        ByteBuffer[] bufs;
                        if (random.nextBoolean()) {
                            bufs = new ByteBuffer[] {ByteBuffer.allocate(4 * (1 + random.nextInt(512)))};
                            n = ch.read(bufs[0]);
                        } else { // a scattering read moves the shared position as one read
                            bufs = new ByteBuffer[] {ByteBuffer.allocate(4 * (1 + random.nextInt(64))),
                                    ByteBuffer.allocateDirect(4 * (1 + random.nextInt(64)))};
                            n = (int) ch.read(bufs);
                        }
                        if (n < 0) {
                            return;
                        }
                        assertThat(n % 4).as("a read of a 4-aligned file in 4-aligned buffers").isZero();
                        int first = bufs[0].getInt(0);
                        int at = first;
                        for (ByteBuffer b : bufs) {
                            for (int i = 0; i < b.position(); i += 4) {
                                assertThat(b.getInt(i)).as("contiguous bytes of one read").isEqualTo(at++);
                            }
                        }
                        pieces.add(new long[] {first, n / 4});
                    }
                }));
                assertThat(ch.position()).isEqualTo(ints * 4L);
            }
            BitSet seen = new BitSet(ints);
            for (long[] p : pieces) {
                for (int i = (int) p[0]; i < p[0] + p[1]; i++) {
                    assertThat(seen.get(i)).as("int %d read twice", i).isFalse();
                    seen.set(i);
                }
            }
            assertThat(seen.cardinality()).as("ints read").isEqualTo(ints);
        });
    }

    /** A record of {@code RECORD} bytes: writer, sequence, then filler of the writer's byte. */
    private static final int RECORD = 96;

    private static ByteBuffer record(int writer, int seq) {
        ByteBuffer b = ByteBuffer.allocate(RECORD);
        b.putInt(writer).putInt(seq);
        while (b.hasRemaining()) {
            b.put((byte) (writer + 1));
        }
        return b.flip();
    }

    private static void assertRecords(byte[] bytes, int writers, int each) {
        assertThat(bytes.length).as("file size: every record whole, none lost").isEqualTo(writers * each * RECORD);
        Set<Long> seen = new HashSet<>();
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            int at = b.position();
            int writer = b.getInt();
            int seq = b.getInt();
            assertThat(writer).as("writer at %d", at).isBetween(0, writers - 1);
            for (int i = 8; i < RECORD; i++) {
                assertThat(b.get()).as("byte %d of the record at %d", i, at).isEqualTo((byte) (writer + 1));
            }
            assertThat(seen.add(((long) writer << 32) | seq)).as("record %d/%d written once", writer, seq).isTrue();
        }
        assertThat(seen).hasSize(writers * each);
    }

    @Test
    void relativeWritesFromManyThreadsNeverOverlapAndThePositionIsTheirSum() throws Exception {
        int each = 100;
        rounds((opener, round) -> {
            Path file = dir.resolve("records-" + round);
            AtomicInteger writers = new AtomicInteger();
            try (FileChannel ch = opener.open(file, CREATE, WRITE)) {
                noFailures(TestSupport.atOnce(THREADS, () -> {
                    int w = writers.getAndIncrement();
                    for (int s = 0; s < each; s++) {
                        ByteBuffer r = record(w, s);
                        if (s % 2 == 0) {
                            assertThat(ch.write(r)).isEqualTo(RECORD);
                        } else { // a gathering write is one record too
                            ByteBuffer head = r.slice(0, 8);
                            ByteBuffer tail = r.slice(8, RECORD - 8);
                            assertThat(ch.write(new ByteBuffer[] {head, tail})).isEqualTo(RECORD);
                        }
                    }
                }));
                assertThat(ch.position()).isEqualTo((long) THREADS * each * RECORD);
                assertThat(ch.size()).isEqualTo((long) THREADS * each * RECORD);
            }
            assertRecords(Files.readAllBytes(file), THREADS, each);
            Files.delete(file);
        });
    }

    @Test
    void hundredsOfVirtualThreadsWritingAndReadingRelativelyKeepThePositionExact() throws Exception {
        int threads = 200;
        int each = 10;
        rounds((opener, round) -> {
            Path file = dir.resolve("many-" + round);
            AtomicInteger writers = new AtomicInteger();
            try (FileChannel ch = opener.open(file, CREATE, READ, WRITE)) {
                List<Thread> all = new ArrayList<>();
                ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
                for (int t = 0; t < threads; t++) {
                    all.add(Thread.ofVirtual().start(() -> {
                        try {
                            int w = writers.getAndIncrement();
                            for (int s = 0; s < each; s++) {
                                assertThat(ch.write(record(w, s))).isEqualTo(RECORD);
                            }
                        } catch (Throwable e) {
                            failures.add(e);
                        }
                    }));
                }
                TestSupport.assertAllEnd(all, TestSupport.HANG, () -> "writers of " + ch);
                assertThat(failures).isEmpty();
                assertThat(ch.position()).isEqualTo((long) threads * each * RECORD);
                // Then as many readers, from the start: each record read once, whole.
                ch.position(0);
                Set<Long> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
                all.clear();
                for (int t = 0; t < threads; t++) {
                    all.add(Thread.ofVirtual().start(() -> {
                        try {
                            ByteBuffer b = ByteBuffer.allocate(RECORD);
                            while (ch.read(b.clear()) > 0) {
                                assertThat(b.position()).as("a record read whole").isEqualTo(RECORD);
                                assertThat(seen.add(((long) b.getInt(0) << 32) | b.getInt(4))).isTrue();
                            }
                        } catch (Throwable e) {
                            failures.add(e);
                        }
                    }));
                }
                TestSupport.assertAllEnd(all, TestSupport.HANG, () -> "readers of " + ch);
                assertThat(failures).isEmpty();
                assertThat(seen).hasSize(threads * each);
            }
            assertRecords(Files.readAllBytes(file), threads, each);
            Files.delete(file);
        });
    }

    @Test
    void appendWritersOnOneAndOnSeveralChannelsLandWholeAndContiguous() throws Exception {
        int each = 100;
        rounds((opener, round) -> {
            Path file = dir.resolve("appended-" + round);
            Files.write(file, new byte[0]);
            AtomicInteger writers = new AtomicInteger();
            try (FileChannel shared = opener.open(file, APPEND)) {
                noFailures(TestSupport.atOnce(THREADS, () -> {
                    int w = writers.getAndIncrement();
                    // Half the writers share a channel, half have their own.
                    try (FileChannel own = w % 2 == 0 ? null : opener.open(file, APPEND)) {
                        FileChannel ch = own == null ? shared : own;
                        for (int s = 0; s < each; s++) {
                            ByteBuffer r = record(w, s);
                            long n = s % 3 == 0 ? ch.write(new ByteBuffer[] {r.slice(0, 8), r.slice(8, RECORD - 8)})
                                    : s % 3 == 1 ? ch.write(r) : ch.write(r, 0); // APPEND ignores the position
                            assertThat(n).isEqualTo(RECORD);
                        }
                    }
                }));
                assertThat(shared.position()).isEqualTo((long) THREADS * each * RECORD);
            }
            assertRecords(Files.readAllBytes(file), THREADS, each);
            Files.delete(file);
        });
    }

    @Test
    void transfersIntoAnAppendChannelFromManyThreadsLandWholeAsFileChannel() throws Exception {
        int length = 300 * 1024; // several of the chunks a transfer may be cut into
        List<Path> sources = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            byte[] b = new byte[length];
            java.util.Arrays.fill(b, (byte) ('a' + t));
            sources.add(Files.write(dir.resolve("append-source-" + t), b));
        }
        rounds((opener, round) -> {
            Path file = Files.write(dir.resolve("append-target-" + round), new byte[0]);
            AtomicInteger index = new AtomicInteger();
            try (FileChannel log = opener.open(file, APPEND)) {
                noFailures(TestSupport.atOnce(THREADS, () -> {
                    int me = index.getAndIncrement();
                    // From this kind of channel both ways, and from a JDK channel.
                    try (FileChannel in = (me % 3 == 2 ? JDK : opener).open(sources.get(me), READ)) {
                        long n = me % 3 == 0 ? in.transferTo(0, length, log) : log.transferFrom(in, 0, length);
                        assertThat(n).isEqualTo(length);
                    }
                }));
            }
            byte[] all = Files.readAllBytes(file);
            assertThat(all.length).isEqualTo(THREADS * length);
            for (int r = 0; r < THREADS; r++) {
                byte first = all[r * length];
                for (int k = 1; k < length; k++) {
                    if (all[r * length + k] != first) {
                        throw new AssertionError("a transfer (" + (first - 'a') % 3 + ") torn at its byte " + k + ": "
                                + (char) all[r * length + k] + " in " + (char) first);
                    }
                }
            }
            Files.delete(file);
        });
    }

    @Test
    void truncateSizeAndPositionRacingRelativeWritesAndReadsStayConsistent() throws Exception {
        rounds((opener, round) -> {
            Path file = dir.resolve("truncated-" + round);
            try (FileChannel ch = opener.open(file, CREATE, READ, WRITE)) {
                AtomicInteger role = new AtomicInteger();
                noFailures(TestSupport.atOnce(4, () -> {
                    int r = role.getAndIncrement();
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    byte[] ones = new byte[1 + random.nextInt(4096)];
                    java.util.Arrays.fill(ones, (byte) 1);
                    for (int i = 0; i < 200; i++) {
                        switch (r) {
                            case 0 -> assertThat(ch.write(ByteBuffer.wrap(ones))).isEqualTo(ones.length);
                            case 1 -> ch.truncate(random.nextInt(8192));
                            case 2 -> {
                                ByteBuffer b = ByteBuffer.allocate(1024);
                                int n = ch.read(b);
                                for (int k = 0; k < Math.max(n, 0); k++) {
                                    // Truncation can leave a hole before the position, never other bytes.
                                    assertThat(b.get(k)).isIn((byte) 0, (byte) 1);
                                }
                            }
                            default -> {
                                assertThat(ch.size()).isNotNegative();
                                assertThat(ch.position()).isNotNegative();
                            }
                        }
                    }
                }));
                // Writes end at the position, truncation pulls it back: at rest it is never past the end.
                assertThat(ch.position()).isLessThanOrEqualTo(ch.size());
                assertThat(ch.size()).isEqualTo(Files.size(file));
            }
            Files.delete(file);
        });
    }

    // ---- close and interrupts racing every call -------------------------------------------------

    /**
     * Whether the calling thread takes {@code role}: the first platform thread to ask does. The
     * threads that end a round (the closer) or run until it ends must not be virtual threads: the
     * workers call the channel in a loop until it is closed, and a JDK FileChannel's calls never
     * give their carrier up, so a virtual closer could wait that long for a carrier (seen once on
     * a loaded machine: "FileChannel, round 4: threads still running after PT1M").
     */
    private static boolean takes(AtomicBoolean role) {
        return !Thread.currentThread().isVirtual() && role.compareAndSet(false, true);
    }

    /** One call of the channel under the race; any of them may meet the close. */
    private static void anyCall(FileChannel ch, FileChannel target, int which, int me) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(512);
        switch (which) {
            case 0 -> ch.read(b);
            case 1 -> ch.read(b, 4096);
            case 2 -> ch.read(new ByteBuffer[] {b, ByteBuffer.allocateDirect(64)});
            case 3 -> ch.write(ByteBuffer.wrap(new byte[100]), 8192);
            case 4 -> ch.size();
            case 5 -> ch.position();
            case 6 -> ch.position(ThreadLocalRandom.current().nextInt(16384));
            case 7 -> ch.force(false);
            case 8 -> ch.transferTo(0, 20000, target);
            case 9 -> ch.truncate(1 << 20);
            case 10 -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 4096).get(0);
            default -> {
                FileLock lock = ch.tryLock((1 << 20) + me, 1, false); // each thread its own byte: no overlap
                if (lock != null) {
                    lock.release();
                }
            }
        }
    }

    @Test
    void closeRacingEveryCallGivesOnlyCloseExceptionsAndNeverAnotherFilesBytes() throws Exception {
        int size = 64 * 1024;
        byte[] content = new byte[size];
        java.util.Arrays.fill(content, (byte) 'A');
        Path file = Files.write(dir.resolve("closed-under"), content);
        Path other = Files.write(dir.resolve("other"), new byte[size]); // zeros: what a reused descriptor reads
        Map<Integer, String> before = openDescriptors();
        rounds((opener, round) -> {
            try (FileChannel target = FileChannel.open(dir.resolve("target"), CREATE, WRITE)) {
                FileChannel ch = opener.open(file, READ, WRITE);
                AtomicBoolean closed = new AtomicBoolean();
                ConcurrentLinkedQueue<String> odd = new ConcurrentLinkedQueue<>();
                AtomicInteger index = new AtomicInteger();
                AtomicBoolean closer = new AtomicBoolean();
                AtomicBoolean reopener = new AtomicBoolean();
                List<Throwable> failures = TestSupport.atOnce(THREADS + 2, () -> {
                    int me = index.getAndIncrement();
                    if (takes(closer)) {
                        Thread.sleep(0, ThreadLocalRandom.current().nextInt(200_000));
                        ch.close();
                        closed.set(true);
                        return;
                    }
                    if (takes(reopener)) { // opens other files, so a closed descriptor's number is taken at once
                        while (!closed.get()) {
                            try (FileChannel c = FileChannel.open(other, READ)) {
                                c.size();
                            }
                        }
                        return;
                    }
                    for (int i = 0; ; i++) {
                        int which = (me + i) % 12;
                        boolean afterClose = closed.get();
                        try {
                            ByteBuffer b = ByteBuffer.allocate(512);
                            if (which == 1) {
                                int n = ch.read(b, 0);
                                for (int k = 0; k < n; k++) {
                                    if (b.get(k) != 'A') {
                                        odd.add("a read returned another file's byte " + b.get(k));
                                        return;
                                    }
                                }
                            } else {
                                anyCall(ch, target, which, me);
                            }
                        } catch (ClosedChannelException e) {
                            if (afterClose && e instanceof AsynchronousCloseException) {
                                // A call that began after close() returned never saw the channel open.
                                odd.add("call " + which + " begun after close: " + e);
                            }
                            if (e instanceof ClosedByInterruptException) {
                                odd.add("call " + which + ": " + e);
                            }
                            return;
                        } catch (OverlappingFileLockException e) {
                            odd.add("call " + which + ": " + e);
                            return;
                        }
                    }
                });
                noFailures(failures);
                assertThat(odd).isEmpty();
                assertThat(ch.isOpen()).isFalse();
            }
            Files.write(file, content); // undo the writes and truncations of the round
        });
        Descriptors.assertNoneNew(before, "every round");
    }

    @Test
    void interruptingOneOfManyThreadsClosesTheChannelForAllAsFileChannel() throws Exception {
        Path file = indexedFile("interrupted", 64 * 1024);
        Map<Integer, String> before = openDescriptors();
        rounds((opener, round) -> {
            FileChannel ch = opener.open(file, READ, WRITE);
            CountDownLatch running = new CountDownLatch(THREADS);
            List<AtomicReference<Throwable>> thrown = new ArrayList<>();
            List<AtomicBoolean> interrupted = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int me = t;
                AtomicReference<Throwable> out = new AtomicReference<>();
                AtomicBoolean status = new AtomicBoolean();
                thrown.add(out);
                interrupted.add(status);
                Runnable work = () -> {
                    running.countDown();
                    try {
                        for (int i = 0; ; i++) {
                            anyCall(ch, null, (me + i) % 8, me); // reads, writes, size, position, force
                            if (i % 64 == 63) {
                                ch.position(0);
                            }
                        }
                    } catch (Throwable e) {
                        out.set(e);
                        status.set(Thread.currentThread().isInterrupted());
                    }
                };
                threads.add(t % 2 == 0 ? Thread.ofVirtual().start(work) : Thread.ofPlatform().start(work));
            }
            running.await();
            threads.get(round % THREADS).interrupt();
            TestSupport.assertAllEnd(threads, TestSupport.HANG, () -> "threads of " + ch);
            assertThat(ch.isOpen()).isFalse();
            for (int t = 0; t < THREADS; t++) {
                Throwable e = thrown.get(t).get();
                if (t == round % THREADS) {
                    assertThat(e).as("the interrupted thread").isExactlyInstanceOf(ClosedByInterruptException.class);
                    assertThat(interrupted.get(t)).as("its interrupt status").isTrue();
                } else {
                    assertThat(e).as("thread %d", t).isInstanceOfAny(AsynchronousCloseException.class,
                            ClosedChannelException.class).isNotInstanceOf(ClosedByInterruptException.class);
                    assertThat(interrupted.get(t)).as("thread %d's interrupt status", t).isFalse();
                }
            }
        });
        Descriptors.assertNoneNew(before, "every round");
    }

    @Test
    void closeRacingWritesAndFileToFileTransfersNeverReachAnotherFileOnAReusedDescriptor() throws Exception {
        int size = 256 * 1024;
        byte[] as = new byte[size];
        java.util.Arrays.fill(as, (byte) 'A');
        byte[] bs = new byte[size];
        java.util.Arrays.fill(bs, (byte) 'B');
        Path source = Files.write(dir.resolve("source"), as);
        Path target = dir.resolve("target");
        Path other = Files.write(dir.resolve("other"), new byte[size]);
        Map<Integer, String> before = openDescriptors();
        rounds((opener, round) -> {
            Files.write(target, bs);
            FileChannel in = opener.open(source, READ);
            FileChannel out = opener.open(target, READ, WRITE);
            AtomicBoolean closed = new AtomicBoolean();
            AtomicInteger index = new AtomicInteger();
            AtomicBoolean closer = new AtomicBoolean();
            AtomicBoolean reopener = new AtomicBoolean();
            noFailures(TestSupport.atOnce(THREADS, () -> {
                int me = index.getAndIncrement();
                if (takes(closer)) { // closes one of the two, then the other
                    Thread.sleep(0, ThreadLocalRandom.current().nextInt(500_000));
                    (round % 2 == 0 ? in : out).close();
                    (round % 2 == 0 ? out : in).close();
                    closed.set(true);
                    return;
                }
                if (takes(reopener)) { // takes each closed descriptor's number at once, open for writing
                    while (!closed.get()) {
                        try (FileChannel c = FileChannel.open(other, READ, WRITE)) {
                            c.size();
                        }
                    }
                    return;
                }
                try {
                    for (int i = 0; ; i++) {
                        long at = ThreadLocalRandom.current().nextInt(size / 4096) * 4096L;
                        switch ((me + i) % 4) {
                            case 0 -> in.transferTo(at, 64 * 1024, out);
                            case 1 -> out.transferFrom(in, at, 64 * 1024);
                            case 2 -> out.write(ByteBuffer.wrap(as, 0, 4096), at);
                            default -> {
                                ByteBuffer b = ByteBuffer.allocate(4096);
                                int n = in.read(b, at);
                                for (int k = 0; k < n; k++) {
                                    assertThat(b.get(k)).as("a read of the source").isEqualTo((byte) 'A');
                                }
                            }
                        }
                    }
                } catch (ClosedChannelException e) {
                    assertThat(e).isNotInstanceOf(ClosedByInterruptException.class);
                }
            }));
            assertThat(Files.readAllBytes(other)).as("the other file, open on reused descriptors").isEqualTo(new byte[size]);
            byte[] written = Files.readAllBytes(target);
            assertThat(written.length).as("the target grows only where transfers go past its end").isGreaterThanOrEqualTo(size);
            for (int k = 0; k < written.length; k++) {
                if (written[k] != 'A' && written[k] != 'B') {
                    throw new AssertionError("byte " + k + " of the target: " + written[k]);
                }
            }
        });
        Descriptors.assertNoneNew(before, "every round");
    }

    @Test
    void interruptingOneReaderOfASharedProviderStreamLeavesItOpenForAllAsFilesNewInputStream() throws Exception {
        int ints = 64 * 1024;
        Path file = indexedFile("stream-interrupted", ints);
        AuraFileSystemProvider provider = new AuraFileSystemProvider(FileSystems.getDefault().provider());
        Path path = provider.getFileSystem(URI.create("file:///")).getPath(file.toAbsolutePath().toString());
        rounds((opener, round) -> {
            BitSet seen = new BitSet(ints);
            AtomicBoolean stillInterrupted = new AtomicBoolean(true);
            try (InputStream in = Files.newInputStream(opener == JDK ? file : path)) {
                CountDownLatch reading = new CountDownLatch(THREADS);
                List<Thread> threads = new ArrayList<>();
                ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
                for (int t = 0; t < THREADS; t++) {
                    int me = t;
                    Runnable work = () -> {
                        try {
                            while (me == 0 && !Thread.currentThread().isInterrupted()) {
                                Thread.onSpinWait(); // reads with its interrupt status set, whoever is first
                            }
                            byte[] b = new byte[4 * (1 + ThreadLocalRandom.current().nextInt(256))];
                            int n;
                            boolean first = true;
                            while ((n = in.read(b)) > 0) {
                                if (first) {
                                    reading.countDown();
                                    first = false;
                                }
                                ByteBuffer bb = ByteBuffer.wrap(b, 0, n);
                                synchronized (seen) {
                                    for (int i = 0; i < n; i += 4) {
                                        int v = bb.getInt(i);
                                        assertThat(seen.get(v)).as("int %d read twice", v).isFalse();
                                        seen.set(v);
                                    }
                                }
                            }
                            if (first) {
                                reading.countDown();
                            }
                            if (me == 0 && !Thread.currentThread().isInterrupted()) {
                                stillInterrupted.set(false);
                            }
                        } catch (Throwable e) {
                            failures.add(e);
                        }
                    };
                    threads.add(t % 2 == 0 ? Thread.ofVirtual().start(work) : Thread.ofPlatform().start(work));
                }
                threads.get(0).interrupt();
                reading.await();
                TestSupport.assertAllEnd(threads, TestSupport.HANG, () -> "readers of " + in);
                assertThat(failures).isEmpty();
                assertThat(stillInterrupted.get()).as("the interrupt status kept").isTrue();
                assertThat(in.read()).as("the stream still open, at its end").isEqualTo(-1);
            }
            assertThat(seen.cardinality()).as("every int read once").isEqualTo(ints);
        });
    }

    @Test
    void relativeWritesToAFifoFromManyThreadsArriveEachInOnePieceLargerThanThePipe() throws Exception {
        int record = 100_000; // more than a pipe holds: each write waits for the reader midway
        int each = 3;
        rounds((opener, round) -> {
            Path fifo = io.auraio.testing.Fifo.create(dir.resolve("fifo-" + round));
            try (FileChannel reader = FileChannel.open(fifo, READ, WRITE); FileChannel ch = opener.open(fifo, WRITE)) {
                AtomicInteger writers = new AtomicInteger();
                AtomicReference<Throwable> drained = new AtomicReference<>();
                Thread drain = Thread.ofPlatform().start(() -> {
                    try {
                        ByteBuffer all = ByteBuffer.allocate(THREADS * each * record);
                        while (all.hasRemaining()) {
                            reader.read(all);
                        }
                        for (int r = 0; r < THREADS * each; r++) {
                            byte first = all.get(r * record);
                            for (int k = 1; k < record; k++) {
                                if (all.get(r * record + k) != first) {
                                    throw new AssertionError("record " + r + " torn at byte " + k);
                                }
                            }
                        }
                    } catch (Throwable e) {
                        drained.set(e);
                    }
                });
                noFailures(TestSupport.atOnce(THREADS, () -> {
                    int w = writers.getAndIncrement();
                    for (int s = 0; s < each; s++) {
                        byte[] r = new byte[record];
                        java.util.Arrays.fill(r, (byte) (w * each + s));
                        ByteBuffer b = ByteBuffer.wrap(r);
                        assertThat(s % 2 == 0 ? ch.write(b) : ch.write(new ByteBuffer[] {b})).isEqualTo(record);
                    }
                }));
                TestSupport.joinAll(List.of(drain));
                assertThat(drained.get()).isNull();
            }
            Files.delete(fifo);
        });
    }

    @Test
    void closeWhileAFifoReadBlocksEndsItAndEveryCallQueuedBehindItWithAsynchronousClose() throws Exception {
        // AuraFileChannel only: FileChannel's read of a FIFO on a virtual thread is not woken by close.
        for (int round = 0; round < 5; round++) {
            Path fifo = io.auraio.testing.Fifo.create(dir.resolve("blocked-fifo-" + round));
            AuraFileChannel ch = AuraFileChannel.open(shared.engine(), fifo, READ, WRITE);
            List<AtomicReference<Throwable>> thrown = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int me = t;
                AtomicReference<Throwable> out = new AtomicReference<>();
                thrown.add(out);
                Runnable call = () -> {
                    try {
                        switch (me % 4) {
                            case 0 -> ch.read(ByteBuffer.allocate(16)); // nothing is ever written: blocks
                            case 1 -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(16)});
                            case 2 -> ch.position();
                            default -> ch.size();
                        }
                        out.set(new AssertionError("returned"));
                    } catch (Throwable e) {
                        out.set(e);
                    }
                };
                threads.add(t % 2 == 0 ? Thread.ofVirtual().start(call) : Thread.ofPlatform().start(call));
                if (t == 0) {
                    TestSupport.awaitCondition("the first read in flight", () -> shared.engine().pendingCount() == 1);
                }
            }
            // The others wait for the position lock the blocked read holds.
            TestSupport.awaitCondition("the others queued", () -> threads.stream().skip(1)
                    .allMatch(th -> th.getState() == Thread.State.BLOCKED || th.getState() == Thread.State.WAITING));
            ch.close();
            TestSupport.assertAllEnd(threads, TestSupport.HANG, () -> "callers of " + ch);
            for (int t = 0; t < THREADS; t++) {
                assertThat(thrown.get(t).get()).as("thread %d", t).isExactlyInstanceOf(AsynchronousCloseException.class);
            }
        }
    }

    // ---- locks -----------------------------------------------------------------------------------

    @Test
    void locksFromManyThreadsExcludeEachOtherAsFileChannelAndCloseReleasesThem() throws Exception {
        Path file = indexedFile("locked", 1024);
        rounds((opener, round) -> {
            AtomicInteger holders = new AtomicInteger();
            AtomicInteger granted = new AtomicInteger();
            ConcurrentLinkedQueue<FileLock> kept = new ConcurrentLinkedQueue<>();
            FileChannel ch = opener.open(file, READ, WRITE);
            List<Throwable> failures = TestSupport.atOnce(THREADS, () -> {
                for (int i = 0; i < 50; i++) {
                    FileLock lock;
                    try {
                        lock = i % 2 == 0 ? ch.tryLock(0, 100, i % 4 == 0) : ch.lock(50, 100, false);
                    } catch (OverlappingFileLockException e) {
                        continue; // held by another thread of this JVM: as the JDK says
                    }
                    assertThat(lock).as("only this JVM holds locks: never null").isNotNull();
                    assertThat(lock.channel()).isSameAs(ch);
                    assertThat(holders.incrementAndGet()).as("threads inside the lock").isEqualTo(1);
                    granted.incrementAndGet();
                    holders.decrementAndGet();
                    if (i == 49) {
                        kept.add(lock); // left to close()
                    } else {
                        lock.release();
                        assertThat(lock.isValid()).isFalse();
                    }
                }
            });
            noFailures(failures);
            assertThat(granted.get()).isPositive();
            ch.close();
            for (FileLock lock : kept) {
                assertThat(lock.isValid()).as("a lock after close").isFalse();
            }
            // Nothing is left in this JVM's lock table or the kernel: another channel locks the whole file.
            try (FileChannel again = opener.open(file, READ, WRITE); FileLock all = again.tryLock()) {
                assertThat(all).isNotNull();
            }
        });
    }

    @Test
    void locksRacingCloseAreInvalidAfterItAndNothingStaysLocked() throws Exception {
        Path file = indexedFile("locked-closed", 1024);
        rounds((opener, round) -> {
            ConcurrentLinkedQueue<FileLock> got = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<Throwable> odd = new ConcurrentLinkedQueue<>();
            FileChannel ch = opener.open(file, READ, WRITE);
            AtomicInteger index = new AtomicInteger();
            AtomicBoolean closer = new AtomicBoolean();
            noFailures(TestSupport.atOnce(THREADS, () -> {
                int me = index.getAndIncrement();
                if (takes(closer)) {
                    Thread.sleep(0, ThreadLocalRandom.current().nextInt(300_000));
                    ch.close();
                    return;
                }
                try {
                    for (int i = 0; ; i++) {
                        FileLock lock = i % 2 == 0 ? ch.tryLock(me * 10L, 10, false) : ch.lock(me * 10L, 10, true);
                        got.add(lock);
                        lock.release();
                    }
                } catch (ClosedChannelException | OverlappingFileLockException e) {
                    if (e instanceof ClosedByInterruptException || e instanceof OverlappingFileLockException) {
                        odd.add(e); // disjoint regions, no interrupt
                    }
                }
            }));
            assertThat(odd).isEmpty();
            for (FileLock lock : got) {
                assertThat(lock.isValid()).isFalse();
            }
            try (FileChannel again = opener.open(file, READ, WRITE); FileLock all = again.tryLock()) {
                assertThat(all).as("the whole file lockable after close").isNotNull();
            }
        });
    }

    // ---- transfers racing relative I/O -----------------------------------------------------------

    @Test
    void transfersRacingRelativeReadsAndWritesMoveOnlyTheirOwnPositions() throws Exception {
        int ints = 16 * 1024;
        Path source = indexedFile("transfer-source", ints);
        rounds((opener, round) -> {
            Path target = dir.resolve("transfer-target-" + round);
            try (FileChannel in = opener.open(source, READ); FileChannel out = opener.open(target, CREATE, READ, WRITE)) {
                AtomicInteger role = new AtomicInteger();
                AtomicInteger readInts = new AtomicInteger();
                noFailures(TestSupport.atOnce(4, () -> {
                    int r = role.getAndIncrement();
                    ByteBuffer b = ByteBuffer.allocate(4096);
                    switch (r) {
                        case 0 -> { // relative reads of the source, racing its transfers
                            int n;
                            while ((n = in.read(b.clear())) >= 0) {
                                readInts.addAndGet(n / 4);
                            }
                        }
                        case 1 -> { // positional transfers from the source into the target's second half
                            for (int i = 0; i < 8; i++) {
                                long at = ThreadLocalRandom.current().nextInt(ints) * 4L;
                                long n = in.transferTo(at, 4096, Channels.newChannel(java.io.OutputStream.nullOutputStream()));
                                assertThat(n).isEqualTo(Math.min(4096, ints * 4L - at));
                                try (FileChannel from = opener.open(source, READ)) {
                                    assertThat(out.transferFrom(from, ints * 4L, ints * 4L)).isEqualTo(ints * 4L);
                                }
                            }
                        }
                        case 2 -> { // relative writes of the target's first half
                            for (int i = 0; i < ints / 1024; i++) {
                                ByteBuffer w = ByteBuffer.allocate(4096);
                                for (int k = 0; k < 1024; k++) {
                                    w.putInt(i * 1024 + k);
                                }
                                assertThat(out.write(w.flip())).isEqualTo(4096);
                            }
                        }
                        default -> { // transfers from the source's start, racing its relative reader
                            for (int i = 0; i < 8; i++) {
                                assertThat(in.transferTo(0, 4096, Channels.newChannel(java.io.OutputStream.nullOutputStream())))
                                        .isEqualTo(4096);
                            }
                        }
                    }
                }));
                assertThat(readInts.get()).as("the relative reader read the file once").isEqualTo(ints);
                assertThat(in.position()).isEqualTo(ints * 4L);
                assertThat(out.position()).as("transferFrom never moves the target's position").isEqualTo(ints * 4L);
            }
            ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(target));
            assertThat(all.capacity()).isEqualTo(ints * 8);
            for (int i = 0; i < ints * 2; i++) {
                assertThat(all.getInt()).as("int %d of the target", i).isEqualTo(i % ints);
            }
            Files.delete(target);
        });
    }

    @Test
    void anInterruptDuringTransfersClosesTheSameChannelsAsFileChannel() throws Exception {
        byte[] bytes = TestSupport.randomBytes(1 << 20, 7);
        Path source = Files.write(dir.resolve("interrupted-source"), bytes);
        Path target = dir.resolve("interrupted-target");
        for (int repeat = 0; repeat < 10; repeat++) {
            List<String> outcomes = new ArrayList<>();
            for (Opener opener : List.of(JDK, AURA)) {
                for (int kind = 0; kind < 2; kind++) {
                    FileChannel in = opener.open(source, READ);
                    FileChannel out = opener.open(target, CREATE, READ, WRITE);
                    FileChannel reader = opener.open(source, READ); // a third channel of the same file: untouched
                    int k = kind;
                    AtomicReference<Throwable> thrown = new AtomicReference<>();
                    CountDownLatch started = new CountDownLatch(1);
                    Thread t = Thread.ofVirtual().start(() -> {
                        try {
                            for (int i = 0; ; i++) {
                                if (k == 0) {
                                    in.transferTo(0, bytes.length, out);
                                } else { // from the source's position: its end after the first (a call of its own
                                    out.transferFrom(in, 0, bytes.length); // to rewind would meet the interrupt alone)
                                }
                                started.countDown();
                            }
                        } catch (Throwable e) {
                            thrown.set(e);
                        }
                    });
                    started.await();
                    t.interrupt();
                    TestSupport.joinAll(List.of(t));
                    outcomes.add((k == 0 ? "transferTo" : "transferFrom") + ": " + thrown.get().getClass().getSimpleName()
                            + ", source open " + in.isOpen() + ", target open " + out.isOpen()
                            + ", other channel open " + reader.isOpen());
                    in.close();
                    out.close();
                    reader.close();
                }
            }
            assertThat(outcomes.subList(2, 4)).as("AuraFileChannel's outcomes, FileChannel's expected").isEqualTo(outcomes.subList(0, 2));
        }
    }

    // ---- other ways to the channel ---------------------------------------------------------------

    @Test
    void appendsThroughAuraFilesFromManyThreadsLandWholeAndReadAllBytesSeesOnlyPrefixes() throws Exception {
        int each = 60;
        rounds((opener, round) -> {
            Path file = Files.write(dir.resolve("files-appended-" + round), new byte[0]);
            boolean jdk = opener == JDK;
            AtomicInteger writers = new AtomicInteger();
            ConcurrentLinkedQueue<byte[]> snapshots = new ConcurrentLinkedQueue<>();
            AtomicBoolean done = new AtomicBoolean();
            AtomicInteger finished = new AtomicInteger();
            noFailures(TestSupport.atOnce(THREADS + 1, () -> {
                int w = writers.getAndIncrement();
                if (w == THREADS) { // reads the whole file while it grows
                    for (int i = 0; !done.get(); i++) {
                        byte[] snapshot = jdk ? Files.readAllBytes(file) : AuraFiles.readAllBytes(file);
                        if (i < 200) { // a bounded sample to compare with the final file
                            snapshots.add(snapshot);
                        }
                    }
                    return;
                }
                try {
                    for (int s = 0; s < each; s++) {
                        byte[] r = record(w, s).array();
                        if (jdk) {
                            Files.write(file, r, APPEND);
                        } else {
                            AuraFiles.write(file, r, APPEND);
                        }
                    }
                } finally {
                    // The last writer stops the reader, also when a writer failed (its failure
                    // is then reported rather than the reader left reading).
                    if (finished.incrementAndGet() == THREADS) {
                        done.set(true);
                    }
                }
            }));
            byte[] all = Files.readAllBytes(file);
            assertRecords(all, THREADS, each);
            for (byte[] snapshot : snapshots) {
                // Appends only add: every whole read of the file is a prefix of what it ends as.
                assertThat(snapshot.length).isLessThanOrEqualTo(all.length);
                assertThat(java.util.Arrays.mismatch(snapshot, java.util.Arrays.copyOf(all, snapshot.length)))
                        .as("first byte of a read of %d bytes that differs from the final file", snapshot.length)
                        .isEqualTo(-1);
            }
            Files.delete(file);
        });
    }

    @Test
    void appendingProviderOutputStreamsFromManyThreadsWriteEachArrayWhole() throws Exception {
        int length = 300 * 1024;
        AuraFileSystemProvider provider = new AuraFileSystemProvider(FileSystems.getDefault().provider());
        rounds((opener, round) -> {
            Path file = Files.write(dir.resolve("streamed-appends-" + round), new byte[0]);
            Path p = opener == JDK ? file : provider.getFileSystem(URI.create("file:///")).getPath(file.toString());
            AtomicInteger index = new AtomicInteger();
            try (java.io.OutputStream shared = Files.newOutputStream(p, APPEND)) {
                noFailures(TestSupport.atOnce(THREADS, () -> {
                    int me = index.getAndIncrement();
                    byte[] b = new byte[length];
                    java.util.Arrays.fill(b, (byte) ('a' + me));
                    if (me % 2 == 0) {
                        shared.write(b); // one stream shared by half the threads
                    } else {
                        try (java.io.OutputStream own = Files.newOutputStream(p, APPEND)) {
                            own.write(b);
                        }
                    }
                }));
            }
            byte[] all = Files.readAllBytes(file);
            assertThat(all.length).isEqualTo(THREADS * length);
            for (int r = 0; r < THREADS; r++) {
                for (int k = 1; k < length; k++) {
                    if (all[r * length + k] != all[r * length]) {
                        throw new AssertionError("array " + r + " torn at its byte " + k);
                    }
                }
            }
            Files.delete(file);
        });
    }

    @Test
    void locksOfAnAuraChannelAndAJdkChannelOfOneFileOverlapAsTwoFileChannels() throws Exception {
        Path file = indexedFile("locked-twice", 1024);
        for (Opener first : List.of(JDK, AURA)) {
            try (FileChannel a = first.open(file, READ, WRITE); FileChannel b = FileChannel.open(file, READ, WRITE)) {
                List<Throwable> failures = TestSupport.atOnce(THREADS, () -> {
                    for (int i = 0; i < 50; i++) {
                        FileChannel ch = ThreadLocalRandom.current().nextBoolean() ? a : b;
                        try (FileLock lock = ch.tryLock(0, 10, false)) {
                            assertThat(lock).isNotNull();
                        } catch (OverlappingFileLockException held) {
                            // by the other channel or another thread: this JVM's lock table spans both
                        }
                    }
                });
                noFailures(failures);
                try (FileLock lock = a.lock(0, 10, false)) {
                    assertThat(lock.channel()).isSameAs(a);
                    org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.tryLock(5, 10, true))
                            .isInstanceOf(OverlappingFileLockException.class);
                }
                assertThat(b.tryLock(5, 10, true)).isNotNull();
            }
        }
    }

    @Test
    void streamsOverOneProviderChannelFromManyThreadsReadEachByteOnce() throws Exception {
        int ints = 16 * 1024;
        Path file = indexedFile("streamed", ints);
        AuraFileSystemProvider provider = new AuraFileSystemProvider(FileSystems.getDefault().provider());
        Path path = provider.getFileSystem(URI.create("file:///")).getPath(file.toAbsolutePath().toString());
        rounds((opener, round) -> {
            Path p = opener == JDK ? file : path;
            BitSet seen = new BitSet(ints);
            try (FileChannel ch = FileChannel.open(p, READ); InputStream in = Channels.newInputStream(ch)) {
                if (opener == AURA) {
                    assertThat(ch).isInstanceOf(AuraFileChannel.class);
                }
                noFailures(TestSupport.atOnce(THREADS, () -> {
                    byte[] b = new byte[4 * (1 + ThreadLocalRandom.current().nextInt(256))];
                    int n;
                    while ((n = in.read(b)) > 0) { // one read of the channel each
                        assertThat(n % 4).isZero();
                        ByteBuffer bb = ByteBuffer.wrap(b, 0, n);
                        int first = bb.getInt(0);
                        synchronized (seen) {
                            for (int i = 0; i < n; i += 4) {
                                int v = bb.getInt(i);
                                assertThat(v).as("contiguous").isEqualTo(first + i / 4);
                                assertThat(seen.get(v)).as("int %d read twice", v).isFalse();
                                seen.set(v);
                            }
                        }
                    }
                }));
                assertThat(ch.position()).isEqualTo(ints * 4L);
            }
            assertThat(seen.cardinality()).isEqualTo(ints);
        });
    }
}
