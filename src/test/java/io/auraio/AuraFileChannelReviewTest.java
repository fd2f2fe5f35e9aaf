package io.auraio;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.Descriptors;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.Pipe;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A hostile review of {@link AuraFileChannel} against the JDK's {@code FileChannel} as the
 * oracle: a differential run with fixed seeds and a fixed number of rounds over operations the
 * older {@link AuraFileChannelDifferentialTest} does not reach (buffer slices, segment-backed and
 * mapped buffers, transfers to and from the channel itself, another file, a pipe and a socket,
 * locks held across operations, streams on top, huge positions, operations after close), and
 * targeted checks of what a random sequence reaches too rarely.
 */
@ExtendWith(IoUringAvailable.class)
class AuraFileChannelReviewTest {
    private static final int SEQUENCES = 50;
    private static final int OPS_PER_SEQUENCE = 60;
    private static final int MAX_FILE = 40_000;
    private static final List<Set<OpenOption>> OPTION_SETS = List.of(
            Set.of(READ), Set.of(WRITE), Set.of(READ, WRITE), Set.of(READ, WRITE), Set.of(APPEND),
            Set.of(WRITE, APPEND), Set.of(READ, WRITE));

    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(1).build());

    /**
     * Set by {@code FallbackReviewTest}, which runs this class again in a JVM with
     * {@code -Dauraio.backend=jdk}: the channels are then opened without an engine, so in JDK mode.
     */
    private static final boolean DEFAULT_BACKEND = Boolean.getBoolean("auraio.review.defaultBackend");

    private static AuraFileChannel openAura(Path path, OpenOption... options) throws IOException {
        return DEFAULT_BACKEND ? AuraFileChannel.open(path, options) : AuraFileChannel.open(shared.engine(), path, options);
    }

    private static AuraFileChannel openAura(Path path, Set<? extends OpenOption> options) throws IOException {
        return DEFAULT_BACKEND ? AuraFileChannel.open(path, options) : AuraFileChannel.open(shared.engine(), path, options);
    }
    private static ExecutorService drains;
    private static final java.nio.file.FileSystem PROVIDER =
            new io.auraio.spi.AuraFileSystemProvider(java.nio.file.FileSystems.getDefault().provider())
                    .getFileSystem(java.net.URI.create("file:///"));

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @BeforeAll
    static void startDrains() {
        drains = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "review-drain");
            t.setDaemon(true);
            return t;
        });
    }

    @AfterAll
    static void stopDrains() {
        if (drains != null) {
            drains.shutdownNow();
        }
    }

    // ---- targeted checks -------------------------------------------------------------------

    @FunctionalInterface
    private interface Opener {
        FileChannel open(Path path, OpenOption... options) throws IOException;
    }

    private static final Opener JDK = FileChannel::open;
    private static final Opener AURA = (path, options) -> openAura(path, options);

    private Path file(String name, int size) throws IOException {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        return Files.write(dir.resolve(name), bytes);
    }

    /** transferFrom(itself) to a position past its own: what it reads, it just wrote. */
    private String transferFromItself(Opener opener, String name) throws IOException {
        Path path = file(name, 30_000);
        try (FileChannel ch = opener.open(path, READ, WRITE)) {
            ch.position(1_000);
            long n = ch.transferFrom(ch, 30_000, 8L << 20); // [1000, 30000) to [30000, 59000): no overlap
            return n + " position=" + ch.position() + " size=" + ch.size() + " bytes="
                    + Arrays.hashCode(Files.readAllBytes(path));
        }
    }

    /** transferFrom a reading channel of a file into an appending channel of the same file. */
    private String transferFromTheSameFileAppending(Opener opener, String name) throws IOException {
        Path path = file(name, 30_000);
        try (FileChannel in = opener.open(path, READ); FileChannel out = opener.open(path, APPEND)) {
            long n = out.transferFrom(in, 0, 8L << 20);
            return n + " in at " + in.position() + " size=" + out.size() + " bytes="
                    + Arrays.hashCode(Files.readAllBytes(path));
        }
    }

    @Test
    void aTransferFromTheFileItselfStopsAtItsEndAsTheJdksDoes() throws IOException {
        // Before the fix: 8 MiB copied, the transfer reading back its own output (Long.MAX_VALUE: the disk filled).
        assertThat(transferFromItself(AURA, "aura")).isEqualTo(transferFromItself(JDK, "jdk"))
                .startsWith("29000 position=30000 size=59000 ");
        assertThat(transferFromTheSameFileAppending(AURA, "aura-append"))
                .isEqualTo(transferFromTheSameFileAppending(JDK, "jdk-append")).startsWith("30000 ");
    }

    /**
     * A shrinking truncate is made on the channel's own descriptor, and shrinks as FileChannel's.
     * It went through a JDK channel reopened on /proc/self/fd, whose open checks the file's
     * permissions again: a user other than root could not truncate a file created read-only
     * through a descriptor open for writing (FileNotFoundException "Permission denied", seen with
     * setpriv as nobody), where FileChannel can. Root passes that check, so this looks for the
     * second descriptor the reopen left open. Failed before: two descriptors on the file.
     */
    @Test
    void aShrinkingTruncateUsesTheChannelsOwnDescriptor() throws IOException {
        for (Opener opener : List.of(JDK, AURA)) {
            Path path = file(opener == JDK ? "truncate-jdk" : "truncate-aura", 10_000);
            try (FileChannel ch = opener.open(path, READ, WRITE)) {
                ch.position(9_000);
                ch.truncate(4_000);
                assertThat(ch.size()).isEqualTo(4_000);
                assertThat(ch.position()).isEqualTo(4_000);
                assertThat(Files.size(path)).isEqualTo(4_000);
                assertThat(Descriptors.on(path)).as("descriptors on the file after the truncate").hasSize(1);
            }
        }
    }

    /**
     * transferFrom a JDK FileChannel into a channel whose write fails (a position past the largest
     * file): the JDK copies in the kernel and its source stays where it was; this read the source,
     * then failed to write, and left it 500 bytes on, never written. Failed before: position 500.
     */
    @Test
    void aFailedTransferFromAFileLeavesTheSourceWhereItWas() throws IOException {
        List<String> outcomes = new ArrayList<>();
        for (Opener opener : List.of(JDK, AURA)) {
            String name = opener == JDK ? "jdk-giveback" : "aura-giveback";
            try (FileChannel in = FileChannel.open(file(name + "-in", 10_000), READ);
                 FileChannel out = opener.open(file(name + "-out", 10), READ, WRITE)) {
                String r = call(() -> out.transferFrom(in, Long.MAX_VALUE - 100, 500));
                outcomes.add(r.replaceAll(": .*", "") + " source at " + in.position() + ", target size " + out.size());
            }
        }
        assertThat(outcomes.get(1)).isEqualTo(outcomes.get(0)).endsWith("source at 0, target size 10");
    }

    /** A transfer between two files to a position past the largest file: copy_file_range's EFBIG. */
    private String transferFromPastTheLargestFile(Opener opener, String name) throws IOException {
        try (FileChannel in = opener.open(file(name + "-in", 1_000), READ);
             FileChannel out = opener.open(file(name + "-out", 10), READ, WRITE)) {
            return call(() -> out.transferFrom(in, Long.MAX_VALUE - 100, 500)) + " in at " + in.position();
        }
    }

    @Test
    void aTransferThatTheKernelRefusesSaysWhatTheJdkSays() throws IOException {
        // Before the fix: "copy_file_range: File too large" (ext4; tmpfs allows any position: EINVAL for the overflow).
        assertThat(transferFromPastTheLargestFile(AURA, "aura")).isEqualTo(transferFromPastTheLargestFile(JDK, "jdk"))
                .startsWith("java.io.IOException: ").doesNotContain("copy_file_range");
    }

    /**
     * Another channel grows, shrinks and rewrites the file between reads of an AuraFileChannel
     * (mapped after its first small reads where the mapped path is on): each read returns what
     * FileChannel's read at the same position returns at that moment, bytes and count, never a
     * stale or zero byte where FileChannel has the real one, never bytes past a new end.
     */
    @Test
    void readsBetweenAnotherWritersChangesAreFileChannelsReads() throws IOException {
        Path path = dir.resolve("shared");
        Random rnd = new Random(42);
        byte[] initial = new byte[1 << 20];
        for (int i = 0; i < initial.length; i++) {
            initial[i] = (byte) (1 + rnd.nextInt(255)); // no zero: a mapped read's last byte is never 0 by content
        }
        Files.write(path, initial);
        try (AuraFileChannel aura = openAura(path, READ);
             FileChannel jdk = FileChannel.open(path, READ);
             FileChannel writer = FileChannel.open(path, READ, WRITE)) {
            ByteBuffer small = ByteBuffer.allocate(512);
            for (int i = 0; i < 300; i++) { // page-cache hits of small reads: the file gets mapped
                small.clear();
                aura.read(small, (i * 4096L) % initial.length);
            }
            long served = 0;
            for (int round = 0; round < 3_000; round++) {
                String what = switch (rnd.nextInt(24)) {
                    case 0 -> {
                        long size = rnd.nextInt(initial.length + 1);
                        writer.truncate(size);
                        yield "truncate " + size;
                    }
                    case 1 -> {
                        byte[] data = new byte[1 + rnd.nextInt(20_000)];
                        for (int i = 0; i < data.length; i++) {
                            data[i] = (byte) (1 + rnd.nextInt(255));
                        }
                        long at = rnd.nextInt(initial.length + 50_000);
                        writer.write(ByteBuffer.wrap(data), at);
                        yield "write " + data.length + " at " + at;
                    }
                    case 2 -> {
                        long size = writer.size() + rnd.nextInt(9_000);
                        writer.write(ByteBuffer.wrap(new byte[] {(byte) 9}), size);
                        yield "grow to " + (size + 1);
                    }
                    default -> "none";
                };
                for (int k = 0; k < 8; k++) {
                    long size = writer.size();
                    long at = rnd.nextInt(3) == 0 ? Math.max(0, size - rnd.nextInt(10_000)) : rnd.nextLong(size + 5_000);
                    int length = rnd.nextInt(8) == 0 ? 1 + rnd.nextInt(40_000) : 1 + rnd.nextInt(4096);
                    ByteBuffer a = ByteBuffer.allocate(length);
                    ByteBuffer j = ByteBuffer.allocate(length);
                    long before = aura.file().mappedReads() == null ? 0 : aura.file().mappedReads().served();
                    int na = aura.read(a, at);
                    int nj = jdk.read(j, at);
                    if (aura.file().mappedReads() != null) {
                        served += aura.file().mappedReads().served() - before;
                    }
                    String context = "round " + round + " after " + what + ": read " + length + " at " + at
                            + " of " + size;
                    assertThat(na).as(context).isEqualTo(nj);
                    assertThat(a.array()).as(context).isEqualTo(j.array());
                }
            }
            System.out.println("AuraFileChannelReviewTest: " + served + " reads served from the mapping");
        }
    }

    /**
     * Another channel appends to the file while an AuraFileChannel (mapped after its first small
     * reads) reads it relatively, from a virtual thread, up to the end the writer reaches: every
     * byte read is the one written there (the writer's bytes are never 0), none is missed or read
     * twice, and a read returns -1 only at an end the writer had not yet passed.
     */
    @Test
    void relativeReadsOfAFileAnotherChannelGrowsReturnEveryWrittenByteOnce() throws Exception {
        Path path = dir.resolve("growing");
        int total = 6 << 20;
        byte[] first = new byte[64 * 1024];
        for (int i = 0; i < first.length; i++) {
            first[i] = pattern(i);
        }
        Files.write(path, first);
        java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong(first.length);
        java.util.concurrent.ConcurrentLinkedQueue<String> wrong = new java.util.concurrent.ConcurrentLinkedQueue<>();
        try (FileChannel writer = FileChannel.open(path, WRITE, APPEND);
             AuraFileChannel reader = openAura(path, READ)) {
            ByteBuffer small = ByteBuffer.allocate(256);
            for (int i = 0; i < 300; i++) {
                reader.read(small.clear(), 0);
            }
            Thread readerThread = Thread.ofVirtual().start(() -> {
                Random rnd = new Random(7);
                long at = 0;
                try {
                    while (at < total) {
                        long endBefore = written.get();
                        ByteBuffer b = ByteBuffer.allocate(1 + rnd.nextInt(rnd.nextBoolean() ? 4096 : 40_000));
                        int n = reader.read(b);
                        if (n < 0) {
                            if (at < endBefore) {
                                wrong.add("-1 at " + at + " though " + endBefore + " bytes were written");
                                return;
                            }
                            Thread.onSpinWait();
                            continue;
                        }
                        for (int i = 0; i < n; i++) {
                            if (b.get(i) != pattern(at + i)) {
                                wrong.add("byte " + (at + i) + " is " + b.get(i) + ", written " + pattern(at + i));
                                return;
                            }
                        }
                        at += n;
                        if (reader.position() != at) {
                            wrong.add("position " + reader.position() + " after reading up to " + at);
                            return;
                        }
                    }
                } catch (Throwable e) {
                    wrong.add(e.toString());
                }
            });
            Random rnd = new Random(8);
            while (written.get() < total && readerThread.isAlive()) {
                long at = written.get();
                int n = (int) Math.min(total - at, 1 + rnd.nextInt(30_000));
                byte[] chunk = new byte[n];
                for (int i = 0; i < n; i++) {
                    chunk[i] = pattern(at + i);
                }
                ByteBuffer b = ByteBuffer.wrap(chunk);
                while (b.hasRemaining()) {
                    writer.write(b);
                }
                written.addAndGet(n);
            }
            io.auraio.testing.TestSupport.assertAllEnd(List.of(readerThread), Duration.ofSeconds(60), () -> "reader");
        }
        assertThat(wrong).isEmpty();
    }

    /** A byte for each position of the growing file, never 0. */
    private static byte pattern(long at) {
        return (byte) (1 + (at * 31 + (at >>> 9)) % 255);
    }

    /**
     * Relative reads of one channel from many virtual threads while another thread truncates it:
     * the position is taken and advanced under one lock, so no two reads return the same bytes,
     * every read's bytes are the file's at the place it took, and every byte before the new end
     * is read by exactly one of them.
     */
    @Test
    void relativeReadsFromManyVirtualThreadsTakeEveryByteOnceWhileTheFileIsCut() throws Exception {
        int ints = 1 << 20; // 4 MiB, int i at 4 i holds i
        ByteBuffer content = ByteBuffer.allocate(ints * 4);
        for (int i = 0; i < ints; i++) {
            content.putInt(i);
        }
        Path path = Files.write(dir.resolve("ints"), content.array());
        long cut = 3L * 1024 * 1024 + 4 * 1000; // a multiple of 4: every read stays aligned
        java.util.concurrent.ConcurrentLinkedQueue<long[]> taken = new java.util.concurrent.ConcurrentLinkedQueue<>();
        java.util.concurrent.ConcurrentLinkedQueue<String> wrong = new java.util.concurrent.ConcurrentLinkedQueue<>();
        try (FileChannel ch = openAura(path, READ, WRITE)) {
            List<Thread> threads = new ArrayList<>();
            java.util.concurrent.CountDownLatch someRead = new java.util.concurrent.CountDownLatch(200);
            for (int t = 0; t < 16; t++) {
                Random rnd = new Random(t);
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        while (true) {
                            ByteBuffer b = ByteBuffer.allocate(4 * (1 + rnd.nextInt(2048)));
                            int n = ch.read(b);
                            someRead.countDown();
                            if (n < 0) {
                                return;
                            }
                            if (n % 4 != 0) {
                                wrong.add("a read of " + n + " bytes");
                                return;
                            }
                            b.flip();
                            int first = b.getInt(0);
                            for (int i = 0; i < n / 4; i++) {
                                if (b.getInt(4 * i) != first + i) {
                                    wrong.add("read from " + 4L * first + " is not the file's bytes at " + (4 * i));
                                    return;
                                }
                            }
                            taken.add(new long[] {4L * first, 4L * first + n});
                        }
                    } catch (Throwable e) {
                        wrong.add(e.toString());
                    }
                }));
            }
            someRead.await(60, TimeUnit.SECONDS);
            ch.truncate(cut);
            io.auraio.testing.TestSupport.assertAllEnd(threads, Duration.ofSeconds(60), () -> "readers");
            assertThat(ch.position()).isLessThanOrEqualTo(cut);
        }
        assertThat(wrong).isEmpty();
        List<long[]> ranges = new ArrayList<>(taken);
        ranges.sort(java.util.Comparator.comparingLong(r -> r[0]));
        long next = 0;
        for (long[] r : ranges) {
            assertThat(r[0]).as("a range read twice or skipped at %d", next).isEqualTo(next);
            next = r[1];
        }
        assertThat(next).as("read up to the cut (or past it, read before the cut)").isGreaterThanOrEqualTo(cut);
    }

    /**
     * Relative writes of one channel from many virtual threads, and a close from another thread
     * while they write: every write that returned is in the file once, whole, at a place no other
     * write took; the others end with AsynchronousCloseException or ClosedChannelException.
     */
    @Test
    void relativeWritesRacingACloseLoseNoWriteThatReturned() throws Exception {
        Path path = dir.resolve("records");
        int recordSize = 64;
        java.util.concurrent.ConcurrentLinkedQueue<Long> written = new java.util.concurrent.ConcurrentLinkedQueue<>();
        java.util.concurrent.ConcurrentLinkedQueue<String> wrong = new java.util.concurrent.ConcurrentLinkedQueue<>();
        FileChannel ch = openAura(path, java.nio.file.StandardOpenOption.CREATE_NEW, WRITE);
        List<Thread> threads = new ArrayList<>();
        java.util.concurrent.CountDownLatch someWritten = new java.util.concurrent.CountDownLatch(500);
        for (int t = 0; t < 16; t++) {
            int id = t;
            threads.add(Thread.ofVirtual().start(() -> {
                for (int seq = 0; ; seq++) {
                    ByteBuffer record = ByteBuffer.allocate(recordSize);
                    long key = ((long) id << 32) | seq;
                    while (record.hasRemaining()) {
                        record.putLong(key);
                    }
                    record.flip();
                    try {
                        int n = ch.write(record);
                        if (n != recordSize) {
                            wrong.add("a short write of " + n);
                        }
                        written.add(key);
                        someWritten.countDown();
                    } catch (java.nio.channels.ClosedChannelException e) { // AsynchronousCloseException too
                        someWritten.countDown();
                        return;
                    } catch (Throwable e) {
                        wrong.add(e.toString());
                        return;
                    }
                }
            }));
        }
        someWritten.await(60, TimeUnit.SECONDS);
        ch.close();
        io.auraio.testing.TestSupport.assertAllEnd(threads, Duration.ofSeconds(60), () -> "writers");
        assertThat(wrong).isEmpty();
        assertThat(call(ch::position)).isEqualTo(java.nio.channels.ClosedChannelException.class.getName());
        ByteBuffer file = ByteBuffer.wrap(Files.readAllBytes(path));
        java.util.Map<Long, Integer> found = new java.util.HashMap<>();
        for (int at = 0; at + recordSize <= file.limit(); at += recordSize) {
            long key = file.getLong(at);
            for (int i = 8; i < recordSize; i += 8) {
                assertThat(file.getLong(at + i)).as("a torn record at %d", at).isEqualTo(key);
            }
            found.merge(key, 1, Integer::sum);
        }
        for (long key : written) {
            assertThat(found.get(key)).as("record %x, whose write returned", key).isEqualTo(1);
        }
    }

    /**
     * An open-file-description lock ({@code F_OFD_SETLK}) on bytes 0..99 of {@code fd}: it conflicts
     * with this process's own {@code fcntl} locks on another descriptor, so a channel's lock waits.
     */
    private static void ofdLock(int fd, boolean lock) throws Throwable {
        java.lang.foreign.Linker linker = java.lang.foreign.Linker.nativeLinker();
        java.lang.invoke.MethodHandle fcntl = linker.downcallHandle(linker.defaultLookup().find("fcntl").orElseThrow(),
                java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT,
                        java.lang.foreign.ValueLayout.JAVA_INT, java.lang.foreign.ValueLayout.JAVA_INT,
                        java.lang.foreign.ValueLayout.ADDRESS),
                java.lang.foreign.Linker.Option.firstVariadicArg(2));
        try (Arena arena = Arena.ofConfined()) {
            java.lang.foreign.MemorySegment flock = arena.allocate(32, 8); // struct flock, l_pid 0 as OFD locks need
            flock.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 0, (short) (lock ? 1 : 2)); // F_WRLCK, F_UNLCK
            flock.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 2, (short) 0); // SEEK_SET
            flock.set(java.lang.foreign.ValueLayout.JAVA_LONG, 8, 0L);
            flock.set(java.lang.foreign.ValueLayout.JAVA_LONG, 16, 100L);
            int r = (int) fcntl.invokeExact(fd, 37, flock); // F_OFD_SETLK
            assertThat(r).as("F_OFD_SETLK").isZero();
        }
    }

    /** How a thread waiting in {@code lock()} for a range another holder has ends, on each kind of channel. */
    private String blockedLockEnds(Opener opener, String name, String how) throws Throwable {
        Path path = file(name, 1_000);
        try (AuraFile holder = AuraFile.open(shared.engine(), path, READ, WRITE)) {
            ofdLock(holder.fd(), true);
            FileChannel ch = opener.open(path, READ, WRITE);
            java.util.concurrent.atomic.AtomicReference<String> outcome = new java.util.concurrent.atomic.AtomicReference<>();
            // A platform thread: a virtual thread's lock() cannot be woken by a close or an interrupt,
            // in the JDK's FileChannel as in AuraFileChannel (which takes its locks through one): both
            // wait until the lock is granted (the review's report says so).
            Thread waiter = Thread.ofPlatform().daemon().start(() -> {
                try {
                    FileLock l = ch.lock(10, 20, false);
                    outcome.set("locked valid=" + l.isValid() + " channel=" + (l.channel() == ch));
                } catch (Throwable e) {
                    outcome.set(e.getClass().getName() + " interrupted=" + Thread.currentThread().isInterrupted());
                }
            });
            // Until the waiter is in the kernel's wait for the lock: its stack shows the JDK's lock0.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (Arrays.stream(waiter.getStackTrace()).noneMatch(f -> f.getMethodName().equals("lock0"))) {
                assertThat(System.nanoTime() - deadline).as("the waiter reaches lock0").isNegative();
                Thread.sleep(1);
            }
            switch (how) {
                case "close" -> ch.close();
                case "interrupt" -> waiter.interrupt();
                default -> ofdLock(holder.fd(), false);
            }
            io.auraio.testing.TestSupport.assertAllEnd(List.of(waiter), Duration.ofSeconds(60), () -> how);
            String result = outcome.get() + " open=" + ch.isOpen();
            ch.close();
            return result;
        }
    }

    @Test
    void aLockWaitingForAnotherHolderEndsAsFileChannelsOnCloseInterruptAndRelease() throws Throwable {
        for (String how : List.of("close", "interrupt", "release")) {
            assertThat(blockedLockEnds(AURA, "aura-" + how, how)).as(how)
                    .isEqualTo(blockedLockEnds(JDK, "jdk-" + how, how));
        }
    }

    /** What each operation on a channel of a directory (which opens for reading, as in the JDK) gives. */
    private String onADirectory(Opener opener, String name) throws IOException {
        Path d = Files.createDirectories(dir.resolve(name));
        Files.write(d.resolve("f"), new byte[100]);
        List<String> out = new ArrayList<>();
        try (FileChannel ch = opener.open(d, READ)) {
            out.add(call(ch::size).equals("0") ? "size 0" : "size > 0");
            out.add(call(ch::position));
            out.add(call(() -> ch.read(ByteBuffer.allocate(10))));
            out.add(call(() -> ch.read(ByteBuffer.allocate(10), 0)));
            out.add(call(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(10)})));
            out.add(call(() -> ch.transferTo(0, 100, Channels.newChannel(new ByteArrayOutputStream()))));
            out.add(call(() -> ch.position(5).position()));
            // Not compared: map (the JDK: "No such device") and tryLock (the JDK: a lock) of a
            // directory. AuraFileChannel does them through a java.io stream reopened on
            // /proc/self/fd, which refuses a directory: FileNotFoundException (the review's report).
            out.add(call(() -> Channels.newInputStream(ch).read()));
            out.add(call(() -> {
                ch.force(true);
                return "forced";
            }));
        }
        return String.join(", ", out);
    }

    @Test
    void aDirectorysChannelAnswersAsFileChannel() throws IOException {
        assertThat(onADirectory(AURA, "aura-dir")).isEqualTo(onADirectory(JDK, "jdk-dir"));
    }

    /**
     * transferTo from an O_DIRECT file at positions and counts O_DIRECT reads refuse: from 16 KiB
     * on, the JDK's transfer goes through a mapping and takes them; below, both refuse. Each
     * result is the count and whether the bytes are the source's, or the exception's type.
     */
    private String directTransfersAtAnyPosition(Opener opener, String name) throws Exception {
        Path path = file(name, 300_000);
        byte[] source = Files.readAllBytes(path);
        List<String> out = new ArrayList<>();
        long[][] cases = {{100, 30_000}, {100, 200_000}, {4_095, 16_384}, {299_000, 16_384}, {100, 1 << 20},
            {300_001, 20_000}, {100, 10_000}, {4_096, 8_192}};
        try (FileChannel in = opener.open(path, READ, io.auraio.testing.Direct.DIRECT)) {
            int i = 0;
            for (long[] c : cases) {
                Path target = dir.resolve(name + "-to-" + i++);
                try (FileChannel to = FileChannel.open(target, java.nio.file.StandardOpenOption.CREATE, WRITE)) {
                    String r = call(() -> in.transferTo(c[0], c[1], to));
                    if (!r.contains("Exception")) {
                        int n = Integer.parseInt(r);
                        byte[] expected = Arrays.copyOfRange(source, (int) Math.min(c[0], source.length),
                                (int) Math.min(c[0] + n, source.length));
                        r += Arrays.equals(Files.readAllBytes(target), expected) ? " same bytes" : " OTHER BYTES";
                    }
                    out.add(c[0] + "+" + c[1] + ": " + r);
                }
            }
            // A socket, as a file server sends: the same bytes arrive.
            try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                 SocketChannel client = SocketChannel.open(server.getLocalAddress());
                 SocketChannel accepted = server.accept()) {
                ExecutorService reader = Executors.newSingleThreadExecutor();
                try {
                    Future<byte[]> received = reader.submit(() -> {
                        ByteBuffer b = ByteBuffer.allocate(40_000);
                        while (b.hasRemaining() && accepted.read(b) >= 0) {
                            // until 40,000 bytes
                        }
                        return Arrays.copyOf(b.array(), b.position());
                    });
                    long n = in.transferTo(1_000, 40_000, client);
                    out.add("socket: " + n + (Arrays.equals(received.get(20, TimeUnit.SECONDS),
                            Arrays.copyOfRange(source, 1_000, 41_000)) ? " same bytes" : " OTHER BYTES"));
                } finally {
                    reader.shutdownNow();
                }
            }
        }
        return String.join("; ", out).replaceAll(": [^;]*Exception[^;]*", ": refused");
    }

    @Test
    void directTransfersTakeThePositionsTheJdksMappedTransferTakes() throws Exception {
        // Before the fix: every misaligned position refused ("O_DIRECT requires the file position (100) ...").
        assertThat(directTransfersAtAnyPosition(AURA, "aura-dt")).isEqualTo(directTransfersAtAnyPosition(JDK, "jdk-dt"))
                .contains("100+30000: 30000 same bytes", "socket: 40000 same bytes");
    }

    /** Reads into a read-only buffer at a position O_DIRECT refuses: which misuse is reported. */
    private String directReadsIntoAReadOnlyBuffer(Opener opener, String name) throws IOException {
        Path path = file(name, 20_000);
        List<String> out = new ArrayList<>();
        try (FileChannel ch = opener.open(path, READ, WRITE, io.auraio.testing.Direct.DIRECT)) {
            ByteBuffer readOnly = ByteBuffer.allocateDirect(8192).asReadOnlyBuffer();
            out.add(call(() -> ch.read(readOnly, 100)));
            out.add(call(() -> ch.read(readOnly, 4096)));
            ch.position(100);
            out.add(call(() -> ch.read(readOnly)));
            out.add(call(() -> ch.read(new ByteBuffer[] {readOnly})));
            out.add(call(() -> ch.write(new ByteBuffer[] {null})));
            ch.position(4096);
            out.add(call(() -> ch.read(readOnly)));
            out.add(call(() -> ch.read(new ByteBuffer[] {readOnly})));
        }
        // The JDK's message and AuraFileChannel's differ by design (both say what must be aligned): the types are compared.
        return String.join(", ", out).replaceAll(": [^,]*", "");
    }

    @Test
    void aDirectReadAtAMisalignedPositionIsRefusedForThePositionFirstAsByTheJdk() throws IOException {
        // Before the fix: IllegalArgumentException (read-only buffer) where the JDK's position check says IOException.
        assertThat(directReadsIntoAReadOnlyBuffer(AURA, "aura")).isEqualTo(directReadsIntoAReadOnlyBuffer(JDK, "jdk"))
                .startsWith("java.io.IOException, java.lang.IllegalArgumentException, java.io.IOException");
    }

    private static Object field(AuraFile file, String name) throws ReflectiveOperationException {
        java.lang.reflect.Field f = AuraFile.class.getDeclaredField(name);
        f.setAccessible(true);
        return f.get(file);
    }

    /**
     * A read or write whose range passes the largest offset (the kernel's EINVAL, as FileChannel
     * reports it) leaves the file on the caller's paths: preadv2's EINVAL on the caller was taken
     * for a file that can never be read there (a FIFO, /proc), and pwrite's for one never written
     * there, for good: every later read of the file went to the ring, mapped reads included.
     */
    @Test
    void aTransferPastTheLargestOffsetKeepsTheFileOnTheCallersPaths() throws Exception {
        Path path = file("cached", 100_000);
        Path jdkPath = file("cached-jdk", 100_000);
        try (AuraFileChannel aura = openAura(path, READ, WRITE);
             FileChannel jdk = FileChannel.open(jdkPath, READ, WRITE)) {
            for (FileChannel ch : List.of(aura, jdk)) {
                ch.read(ByteBuffer.allocate(4096), 0);
                ch.write(ByteBuffer.allocate(10), 0);
            }
            Object fastPath = field(aura.file(), "fastPath");
            Object writePath = field(aura.file(), "writePath");
            for (long at : new long[] {Long.MAX_VALUE - 10, Long.MAX_VALUE - 4095}) {
                assertThat(call(() -> aura.read(ByteBuffer.allocate(4096), at)))
                        .isEqualTo(call(() -> jdk.read(ByteBuffer.allocate(4096), at))).contains("Invalid argument");
                assertThat(call(() -> aura.write(ByteBuffer.allocate(4096), at)))
                        .isEqualTo(call(() -> jdk.write(ByteBuffer.allocate(4096), at))).contains("Invalid argument");
                assertThat(call(() -> aura.read(new ByteBuffer[] {ByteBuffer.allocate(4096)}, 0, 1)))
                        .isEqualTo(call(() -> jdk.read(new ByteBuffer[] {ByteBuffer.allocate(4096)}, 0, 1)));
            }
            // A scattering read or gathering write there: only where lseek takes such a position
            // (tmpfs; ext4 refuses it past 16 TiB, as FileChannel's position() says).
            if (call(() -> aura.position(Long.MAX_VALUE - 100).position())
                    .equals(call(() -> jdk.position(Long.MAX_VALUE - 100).position()))
                    && aura.position() == Long.MAX_VALUE - 100) {
                assertThat(call(() -> aura.read(new ByteBuffer[] {ByteBuffer.allocate(4096)})))
                        .isEqualTo(call(() -> jdk.read(new ByteBuffer[] {ByteBuffer.allocate(4096)})));
                assertThat(call(() -> aura.write(new ByteBuffer[] {ByteBuffer.allocate(4096)})))
                        .isEqualTo(call(() -> jdk.write(new ByteBuffer[] {ByteBuffer.allocate(4096)})));
            }
            assertThat(field(aura.file(), "fastPath")).as("fast path (page-cache reads on the caller)").isEqualTo(fastPath);
            assertThat(field(aura.file(), "writePath")).as("write path").isEqualTo(writePath);
        }
    }

    /** A transferFrom another file whose first write fails: where the source's position is left. */
    private String transferFromWhoseWriteFails(Opener opener, String name) throws IOException {
        Path src = file(name + "-src", 100_000);
        Path dst = file(name + "-dst", 20_000);
        List<String> out = new ArrayList<>();
        try (FileChannel in = opener.open(src, READ);
             FileChannel appending = opener.open(dst, APPEND);
             FileChannel direct = opener.open(dst, READ, WRITE, io.auraio.testing.Direct.DIRECT)) {
            in.position(1_000);
            // Past the largest file (ext4): EFBIG, or EINVAL where the range overflows.
            out.add(call(() -> direct.transferFrom(in, Long.MAX_VALUE - 4095, 40_000)) + " in at " + in.position());
            out.add(call(() -> direct.transferFrom(in, 100, 40_000)) + " in at " + in.position()); // misaligned
            out.add(call(() -> appending.transferFrom(in, 0, 40_000)) + " in at " + in.position());
        }
        return String.join(", ", out).replaceAll("IOException: [^,]*? in at", "IOException in at");
    }

    @Test
    void aTransferFromAFileWhoseWriteFailsLeavesTheSourceWhereItWas() throws IOException {
        // Before the fix: the source 8 KiB further on after each failed transfer (its first chunk read, never written).
        assertThat(transferFromWhoseWriteFails(AURA, "aura")).isEqualTo(transferFromWhoseWriteFails(JDK, "jdk"))
                .startsWith("java.io.IOException in at 1000, java.io.IOException in at 1000, 40000 in at 41000");
    }

    /**
     * Locks of an AuraFileChannel are in the JVM's table of the file with other channels' locks:
     * overlaps with a FileChannel's or another AuraFileChannel's lock on the same file are refused
     * as between two FileChannels, its locks say it acquired them, and its close releases them.
     */
    @Test
    void locksAcrossChannelsOfOneFileAreTheJdks() throws IOException {
        Path path = file("locked", 10_000);
        try (FileChannel jdk = FileChannel.open(path, READ, WRITE);
             FileChannel other = openAura(path, READ, WRITE);
             FileChannel writeOnly = openAura(path, WRITE);
             FileChannel readOnly = openAura(path, READ)) {
            FileChannel aura = openAura(path, READ, WRITE);
            FileLock lock = aura.lock(100, 200, false);
            assertThat(lock.acquiredBy()).isSameAs(aura);
            assertThat(lock.channel()).isSameAs(aura);
            assertThat(lock.overlaps(299, 1)).isTrue();
            assertThat(lock.overlaps(300, 1)).isFalse();
            assertThat(call(() -> jdk.tryLock(250, 10, true)))
                    .isEqualTo(java.nio.channels.OverlappingFileLockException.class.getName());
            assertThat(call(() -> other.lock(0, 101, false)))
                    .isEqualTo(java.nio.channels.OverlappingFileLockException.class.getName());
            assertThat(call(() -> writeOnly.tryLock(0, 10, true)))
                    .isEqualTo(java.nio.channels.NonReadableChannelException.class.getName());
            assertThat(call(() -> readOnly.lock(0, 10, false)))
                    .isEqualTo(java.nio.channels.NonWritableChannelException.class.getName());
            try (FileLock beside = jdk.tryLock(300, 10, false)) {
                assertThat(beside).isNotNull();
                assertThat(beside.isValid()).isTrue();
            }
            FileLock toEnd = other.lock(5_000, 0, true);
            assertThat(toEnd.size()).isEqualTo(Long.MAX_VALUE - 5_000);
            assertThat(call(() -> jdk.tryLock(1L << 40, 1, false)))
                    .isEqualTo(java.nio.channels.OverlappingFileLockException.class.getName());
            toEnd.release();
            assertThat(toEnd.isValid()).isFalse();
            aura.close();
            assertThat(lock.isValid()).as("released by its channel's close").isFalse();
            assertThat(call(() -> {
                lock.release();
                return "released";
            })).isEqualTo(java.nio.channels.ClosedChannelException.class.getName());
            try (FileLock again = jdk.tryLock(100, 200, false)) {
                assertThat(again).as("the range is free once the channel is closed").isNotNull();
            }
        }
    }

    // ---- the differential run -------------------------------------------------------------

    @Test
    void fixedSeedSequencesGiveTheJdksAnswers() throws Exception {
        String only = System.getProperty("auraio.review.seed");
        if (only != null) {
            runSequence(Long.parseLong(only));
            return;
        }
        List<String> failures = new ArrayList<>();
        long first = Long.getLong("auraio.review.first", 1);
        for (long seed = first; seed < first + SEQUENCES; seed++) {
            try {
                runSequence(seed);
            } catch (AssertionError e) {
                String m = e.getMessage();
                int last = m.lastIndexOf("\n  ");
                failures.add("seed " + seed + ": " + m.substring(last + 3).replace('\n', ' '));
            }
        }
        assertThat(failures).as(String.join("\n", failures)).isEmpty();
    }

    /** One side of the comparison: its file, its channel, the other file it transfers with. */
    private final class Side {
        final Path path;
        final Path other;
        final boolean aura;
        FileChannel ch;
        FileChannel otherCh;
        final List<FileLock> locks = new ArrayList<>();

        Side(String name, boolean aura, byte[] initial, byte[] otherInitial) throws IOException {
            this.aura = aura;
            this.path = dir.resolve(name);
            this.other = dir.resolve(name + "-other");
            Files.write(path, initial);
            Files.write(other, otherInitial);
        }

        /** Set for the sequences that go through the provider: {@code Files.newByteChannel} of its paths. */
        java.nio.file.FileSystem provider;

        FileChannel open(Path p, Set<OpenOption> options) throws IOException {
            if (provider != null) {
                return (FileChannel) Files.newByteChannel(provider.getPath(p.toString()), options);
            }
            return aura ? openAura(p, options) : FileChannel.open(p, options);
        }

        FileChannel otherChannel() throws IOException {
            if (otherCh == null || !otherCh.isOpen()) {
                otherCh = open(other, Set.of(READ, WRITE));
            }
            return otherCh;
        }

        void close() throws IOException {
            ch.close();
            if (otherCh != null) {
                otherCh.close();
            }
        }
    }

    private void runSequence(long seed) throws Exception {
        Random rnd = new Random(seed);
        byte[] initial = new byte[rnd.nextInt(MAX_FILE)];
        rnd.nextBytes(initial);
        byte[] otherInitial = new byte[rnd.nextInt(MAX_FILE)];
        rnd.nextBytes(otherInitial);
        Set<OpenOption> options = OPTION_SETS.get(rnd.nextInt(OPTION_SETS.size()));
        Side jdk = new Side("jdk-" + seed, false, initial, otherInitial);
        Side aura = new Side("aura-" + seed, true, initial, otherInitial);
        List<String> log = new ArrayList<>();
        if (seed % 3 == 0) { // the channels the provider hands out, in a third of the sequences
            aura.provider = PROVIDER;
        }
        log.add("open " + options + " on " + initial.length + " bytes" + (aura.provider != null ? " (provider)" : ""));
        jdk.ch = jdk.open(jdk.path, options);
        aura.ch = aura.open(aura.path, options);
        try {
            for (int i = 0; i < OPS_PER_SEQUENCE; i++) {
                Op op = Op.random(rnd);
                log.add(op.toString());
                if (Boolean.getBoolean("auraio.review.trace")) {
                    System.err.println("seed " + seed + " op " + i + ": " + op);
                }
                String expected = op.apply(jdk);
                String actual = op.apply(aura);
                assertThat(actual).as(() -> failure(seed, log)).isEqualTo(expected);
                assertThat(observe(aura.ch)).as(() -> failure(seed, log)).isEqualTo(observe(jdk.ch));
                assertThat(Arrays.hashCode(Files.readAllBytes(aura.path))).as(() -> failure(seed, log)
                        + "\nfile contents differ").isEqualTo(Arrays.hashCode(Files.readAllBytes(jdk.path)));
            }
        } finally {
            jdk.close();
            aura.close();
        }
        assertThat(Files.readAllBytes(aura.path)).as(() -> failure(seed, log) + "\nfinal file contents differ")
                .isEqualTo(Files.readAllBytes(jdk.path));
        assertThat(Files.readAllBytes(aura.other)).as(() -> failure(seed, log) + "\nthe other file differs")
                .isEqualTo(Files.readAllBytes(jdk.other));
        for (Path p : List.of(jdk.path, jdk.other, aura.path, aura.other)) {
            Files.delete(p);
        }
    }

    private static String failure(long seed, List<String> log) {
        return "seed " + seed + " (rerun with -Dauraio.review.seed=" + seed + "), operations:\n  "
                + String.join("\n  ", log);
    }

    private static String observe(FileChannel ch) {
        return "open=" + ch.isOpen() + " position=" + call(ch::position) + " size=" + call(ch::size);
    }

    private static String call(Callable<?> c) {
        try {
            return String.valueOf(c.call());
        } catch (AuraIOException e) {
            // The library's IOException subclass, by design: the type the JDK throws and its message.
            return IOException.class.getName() + ": " + e.getMessage();
        } catch (Exception e) {
            return e.getClass().getName() + (e.getClass() == IOException.class ? ": " + e.getMessage() : "");
        }
    }

    /** Buffer kinds, made alike for both sides. */
    private enum Kind { HEAP, DIRECT, HEAP_SLICE, DIRECT_SLICE, READ_ONLY_HEAP, READ_ONLY_DIRECT, SEGMENT, MAPPED }

    private record BufferSpec(Kind kind, int capacity, int position, int limit, long fill) {
        static BufferSpec random(Random rnd) {
            Kind kind = Kind.values()[rnd.nextInt(Kind.values().length)];
            int capacity = switch (rnd.nextInt(8)) {
                case 0 -> 0;
                case 1 -> 70_000 + rnd.nextInt(5_000);
                case 2, 3 -> rnd.nextInt(64) + 1;
                default -> rnd.nextInt(12_000) + 1;
            };
            int limit = rnd.nextInt(4) == 0 ? capacity : rnd.nextInt(capacity + 1);
            int position = rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(limit + 1);
            return new BufferSpec(kind, capacity, position, limit, rnd.nextLong());
        }

        ByteBuffer create(Path scratch) throws IOException {
            byte[] content = new byte[capacity + 7];
            new Random(fill).nextBytes(content);
            ByteBuffer b = switch (kind) {
                case HEAP, READ_ONLY_HEAP -> ByteBuffer.allocate(capacity);
                case DIRECT, READ_ONLY_DIRECT -> ByteBuffer.allocateDirect(capacity);
                case HEAP_SLICE -> ByteBuffer.allocate(capacity + 7).position(7).slice();
                case DIRECT_SLICE -> ByteBuffer.allocateDirect(capacity + 7).position(7).slice();
                case SEGMENT -> Arena.ofAuto().allocate(Math.max(1, capacity)).asSlice(0, capacity).asByteBuffer();
                case MAPPED -> mapped(scratch, content);
            };
            if (kind != Kind.MAPPED) {
                b.put(content, 0, capacity);
            }
            b.clear().limit(limit).position(position);
            return kind == Kind.READ_ONLY_HEAP || kind == Kind.READ_ONLY_DIRECT ? b.asReadOnlyBuffer() : b;
        }

        /** A read-only mapping of a scratch file holding the content: writable mappings differ in nothing. */
        private MappedByteBuffer mapped(Path scratch, byte[] content) throws IOException {
            Files.write(scratch, Arrays.copyOf(content, capacity));
            try (FileChannel fc = FileChannel.open(scratch, READ)) {
                return fc.map(FileChannel.MapMode.READ_ONLY, 0, capacity);
            }
        }

        static String describe(ByteBuffer b) {
            ByteBuffer all = b.duplicate().clear();
            byte[] bytes = new byte[all.remaining()];
            all.get(bytes);
            return "[pos=" + b.position() + " lim=" + b.limit() + " crc=" + Arrays.hashCode(bytes) + "]";
        }
    }

    private record Op(String name, long a, long b, BufferSpec[] buffers, int offset, int length, long seed) {
        private static final String[] NAMES = {"read", "read", "readAt", "readAt", "write", "write", "writeAt",
            "writeAt", "readv", "writev", "position", "setPosition", "setPosition", "size", "truncate", "force",
            "transferToBytes", "transferToSelf", "transferToOther", "transferToPipe", "transferToSocket",
            "transferFromBytes", "transferFromSelf", "transferFromOther", "map", "mapWrite", "tryLock", "lock",
            "release", "inputStream", "outputStream", "readAtHuge", "writeAtHuge", "close"};

        static Op random(Random rnd) {
            String name = NAMES[rnd.nextInt(NAMES.length - (rnd.nextInt(40) == 0 ? 0 : 1))];
            int count = name.endsWith("v") ? rnd.nextInt(5) : 1;
            BufferSpec[] buffers = new BufferSpec[count];
            for (int i = 0; i < count; i++) {
                buffers[i] = BufferSpec.random(rnd);
            }
            int offset = count == 0 ? 0 : rnd.nextInt(count + 1) - (rnd.nextInt(20) == 0 ? 1 : 0);
            int length = rnd.nextInt(count + 2 - Math.max(0, offset)) - (rnd.nextInt(20) == 0 ? 1 : 0);
            return new Op(name, position(rnd), count(rnd), buffers, offset, length, rnd.nextLong());
        }

        private static long position(Random rnd) {
            return switch (rnd.nextInt(14)) {
                case 0 -> -1 - rnd.nextInt(10);
                case 1 -> MAX_FILE + rnd.nextInt(100_000);
                case 2 -> Long.MAX_VALUE - rnd.nextInt(3);
                case 3 -> Long.MIN_VALUE;
                default -> rnd.nextInt(MAX_FILE + 100);
            };
        }

        private static long count(Random rnd) {
            return switch (rnd.nextInt(10)) {
                case 0 -> -1 - rnd.nextInt(5);
                case 1 -> Long.MAX_VALUE;
                case 2 -> 0;
                case 3 -> 70_000 + rnd.nextInt(30_000);
                default -> rnd.nextInt(20_000);
            };
        }

        /** Writes only near the file: a huge position is for reads and for writes that must fail. */
        private long writePosition() {
            return a > MAX_FILE + 200_000 && a < Long.MAX_VALUE - 100_000 ? a % 1000 : a;
        }

        String apply(Side side) throws IOException {
            FileChannel ch = side.ch;
            ByteBuffer[] bufs = new ByteBuffer[buffers.length];
            for (int i = 0; i < bufs.length; i++) {
                bufs[i] = buffers[i].create(dirOf(side).resolve("scratch-" + i));
            }
            String result = call(() -> switch (name) {
                case "read" -> ch.read(bufs[0]);
                case "readAt" -> ch.read(bufs[0], a);
                case "write" -> ch.write(bufs[0]);
                case "writeAt" -> ch.write(bufs[0], writePosition());
                case "readv" -> ch.read(bufs, offset, length);
                case "writev" -> ch.write(bufs, offset, length);
                case "position" -> ch.position();
                case "setPosition" -> ch.position(a > MAX_FILE + 200_000 && a < Long.MAX_VALUE - 10 ? 1L << 40 : a) == ch;
                case "size" -> ch.size();
                case "truncate" -> ch.truncate(a > MAX_FILE + 200_000 ? Long.MAX_VALUE : a) == ch;
                case "force" -> {
                    ch.force(a % 2 == 0);
                    yield "forced";
                }
                case "transferToBytes" -> {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    long n = ch.transferTo(a, b, Channels.newChannel(out));
                    yield n + " " + HexFormat.of().formatHex(out.toByteArray()).hashCode();
                }
                case "transferToSelf" -> overlaps(ch, a, positionOf(ch), b) ? "overlap, left out"
                        : ch.transferTo(a, b, ch);
                case "transferToOther" -> ch.transferTo(a, b, side.otherChannel()) + " other at "
                        + side.otherChannel().position();
                case "transferToPipe" -> transferToPipe(ch);
                case "transferToSocket" -> transferToSocket(ch);
                case "transferFromBytes" -> {
                    byte[] data = new byte[(int) Math.floorMod(seed, 90_000L)];
                    new Random(seed).nextBytes(data);
                    ByteArrayInputStream in = new ByteArrayInputStream(data);
                    long n = ch.transferFrom(Channels.newChannel(in), a, b);
                    yield n + " left=" + in.available();
                }
                case "transferFromSelf" -> overlaps(ch, positionOf(ch), a, b) ? "overlap, left out"
                        : b == 0 && a > Long.MAX_VALUE - 10 ? "count 0 at a huge position, left out"
                        : ch.transferFrom(ch, a, b);
                case "transferFromOther" -> {
                    if (b == 0 && a > Long.MAX_VALUE - 10) {
                        // The JDK asks copy_file_range for 0 bytes, which says EFBIG past the largest
                        // file; AuraFiles.copyRange answers 0 itself: left out, in the review's report.
                        yield "count 0 at a huge position, left out";
                    }
                    FileChannel o = side.otherChannel();
                    o.position(Math.floorMod(seed, MAX_FILE + 10L));
                    yield ch.transferFrom(o, a, b) + " other at " + o.position();
                }
                case "map" -> map(ch, FileChannel.MapMode.READ_ONLY);
                case "mapWrite" -> map(ch, FileChannel.MapMode.READ_WRITE);
                case "tryLock", "lock" -> lock(side);
                case "release" -> release(side);
                case "inputStream" -> inputStream(ch);
                case "outputStream" -> outputStream(ch);
                case "readAtHuge" -> ch.read(bufs[0], Long.MAX_VALUE - Math.floorMod(seed, 5L) * 1000);
                case "writeAtHuge" -> ch.write(bufs[0], Long.MAX_VALUE - Math.floorMod(seed, 5L) * 1000);
                case "close" -> {
                    ch.close();
                    yield "closed";
                }
                default -> throw new AssertionError(name);
            });
            StringBuilder out = new StringBuilder(result);
            for (ByteBuffer buf : bufs) {
                out.append(' ').append(BufferSpec.describe(buf));
            }
            return out.toString();
        }

        /**
         * Whether a transfer of {@code ch} to itself would copy onto the range it copies from. The
         * JDK's result then is the kernel's: {@code sendfile}'s for transferTo, which copies through
         * a pipe holding the page cache's pages (a range copied forward onto itself repeats every
         * 4 KiB), a {@code write} from a mapping of the file for transferFrom; AuraFileChannel
         * reads, then writes. Left out here, and listed in the review's report.
         */
        private static boolean overlaps(FileChannel ch, long from, long to, long count) {
            try {
                long size = ch.size();
                long n = from < 0 || to < 0 || count < 0 || from > size ? 0 : Math.min(count, size - from);
                return n > 0 && from < to + n && to < from + n;
            } catch (IOException e) {
                return false;
            }
        }

        private static long positionOf(FileChannel ch) {
            try {
                return ch.position();
            } catch (IOException e) {
                return -1;
            }
        }

        private Path dirOf(Side side) {
            return side.path.getParent();
        }

        private String transferToPipe(FileChannel ch) throws Exception {
            Pipe pipe = Pipe.open();
            Future<byte[]> drained = drains.submit(() -> {
                try (InputStream in = Channels.newInputStream(pipe.source())) {
                    return in.readAllBytes();
                }
            });
            String result;
            try (Pipe.SinkChannel sink = pipe.sink()) {
                result = call(() -> ch.transferTo(a, Math.min(b, 4L << 20), sink));
            }
            byte[] bytes = drained.get(60, TimeUnit.SECONDS);
            return result + " " + Arrays.hashCode(bytes);
        }

        private String transferToSocket(FileChannel ch) throws Exception {
            try (ServerSocketChannel server = ServerSocketChannel.open()) {
                server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                try (SocketChannel client = SocketChannel.open(server.getLocalAddress());
                     SocketChannel accepted = server.accept()) {
                    Future<byte[]> drained = drains.submit(() -> Channels.newInputStream(accepted).readAllBytes());
                    String result = call(() -> ch.transferTo(a, Math.min(b, 4L << 20), client));
                    client.shutdownOutput();
                    byte[] bytes = drained.get(60, TimeUnit.SECONDS);
                    return result + " " + Arrays.hashCode(bytes);
                }
            }
        }

        /** Within the file for reads (pages past its end would fault); a writable one may grow it. */
        private String map(FileChannel ch, FileChannel.MapMode mode) throws IOException {
            long size = ch.size();
            long at = mode == FileChannel.MapMode.READ_ONLY ? Math.floorMod(a, size + 1) : Math.floorMod(a, MAX_FILE);
            long len = mode == FileChannel.MapMode.READ_ONLY ? Math.min(Math.abs(b % 20_000), size - at)
                    : Math.abs(b % 5_000);
            MappedByteBuffer m = ch.map(mode, at, len);
            byte[] bytes = new byte[m.remaining()];
            m.get(bytes);
            if (mode == FileChannel.MapMode.READ_WRITE && len > 0) {
                m.put(0, (byte) seed);
                m.force();
            }
            return len + " " + Arrays.hashCode(bytes) + " readOnly=" + m.isReadOnly();
        }

        private String lock(Side side) throws IOException {
            long at = Math.floorMod(a, MAX_FILE);
            long size = Math.floorMod(b, 10_000);
            boolean shared = seed % 2 == 0;
            FileLock lock = name.equals("lock") ? side.ch.lock(at, size, shared) : side.ch.tryLock(at, size, shared);
            if (lock == null) {
                return "null";
            }
            side.locks.add(lock);
            return lock.position() + "+" + lock.size() + " shared=" + lock.isShared() + " same="
                    + (lock.channel() == side.ch) + " valid=" + lock.isValid() + " overlaps="
                    + lock.overlaps(at + size / 2, 1);
        }

        private String release(Side side) throws IOException {
            StringBuilder s = new StringBuilder();
            for (FileLock l : side.locks) {
                s.append(l.isValid()).append(',');
            }
            if (side.locks.isEmpty()) {
                return "none";
            }
            FileLock l = side.locks.remove(Math.floorMod(seed, side.locks.size()));
            l.release();
            return s + " released, valid=" + l.isValid();
        }

        private String inputStream(FileChannel ch) throws IOException {
            InputStream in = Channels.newInputStream(ch);
            byte[] buf = new byte[(int) Math.floorMod(seed, 30_000L)];
            int n = in.read(buf);
            long skipped = in.skip(Math.floorMod(b, 5_000L));
            int available = Math.max(0, in.available()); // the JDK's own FileChannel says < 0 past the end
            int one = in.read();
            return n + " " + Arrays.hashCode(buf) + " skipped=" + skipped + " available=" + available + " one=" + one;
        }

        private String outputStream(FileChannel ch) throws IOException {
            OutputStream out = Channels.newOutputStream(ch);
            byte[] data = new byte[(int) Math.floorMod(seed, 20_000L)];
            new Random(seed).nextBytes(data);
            out.write(data);
            out.write(7);
            out.flush();
            return "wrote " + data.length;
        }

        @Override
        public String toString() {
            return name + "(a=" + a + ", b=" + b + ", buffers=" + Arrays.toString(buffers) + ", offset=" + offset
                    + ", length=" + length + ", seed=" + seed + ")";
        }
    }
}
