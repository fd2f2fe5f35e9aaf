package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.Commands;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Reads of regular files on tmpfs ({@code /dev/shm}, and {@code /tmp} on many systems), which takes
 * no {@code preadv2(RWF_NOWAIT)} (EOPNOTSUPP), so that every read used to go to the ring, where
 * io_uring hands it to an io-wq thread: they are made with {@code pread} on the caller (and copied
 * from a mapping of the file from its third read), never through the ring, and are exactly
 * FileChannel's, also after another writer shrinks or grows the file. A FIFO on tmpfs, whose read
 * may wait forever, still goes to the ring. Uses {@code /dev/shm} where it is a tmpfs, else a tmpfs
 * mounted for the test (root); skipped otherwise.
 */
@ExtendWith(IoUringAvailable.class)
class TmpfsReadsTest {
    private static final int FILE_BYTES = 1 << 20;
    private static final int SMALL_BYTES = 12_000;
    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(2).build());

    @RegisterExtension
    final TestDirectory build = new TestDirectory();
    private Path dir;
    private Path mounted;
    private byte[] content;

    @BeforeEach
    void directoryOnTmpfs() throws Exception {
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm) && "tmpfs".equals(Files.getFileStore(shm).type())) {
            dir = Files.createTempDirectory(shm, "auraio-tmpfs-test");
        } else {
            mounted = Files.createDirectories(build.path().resolve("tmpfs"));
            Commands.Ran mount = Commands.run(new ProcessBuilder("mount", "-t", "tmpfs", "tmpfs", mounted.toString()),
                    Duration.ofSeconds(30));
            if (!mount.succeeded()) {
                mounted = null;
            }
            assumeTrue(mount.succeeded(),
                    "no writable tmpfs /dev/shm here, and cannot mount one (root needed): " + mount);
            dir = mounted;
        }
        content = new byte[FILE_BYTES];
        new Random(13).nextBytes(content);
        for (int i = 4095; i < FILE_BYTES; i += 4096) {
            content[i] |= 1; // no block ends in a zero byte: those are read with pread, not copied
        }
        Files.write(dir.resolve("data"), content);
    }

    @AfterEach
    void removeDirectory() throws Exception {
        if (mounted != null) {
            new ProcessBuilder("umount", "-l", mounted.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
        } else if (dir != null) {
            try (Stream<Path> paths = Files.walk(dir)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    @Test
    void readsAreFileChannelsAndNoneGoesToTheRing() throws Exception {
        Path file = dir.resolve("data");
        Random random = new Random(5);
        long ringReads = 0;
        try (AuraFile aura = AuraFile.open(shared.engine(), file, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(file, StandardOpenOption.READ);
             Arena shared = Arena.ofShared()) {
            for (int i = 0; i < 600; i++) {
                long before = ringOps();
                int length = 1 + random.nextInt(64 * 1024);
                long position = random.nextInt(FILE_BYTES + 8192);
                ByteBuffer theirs = ByteBuffer.allocate(length);
                int m = jdk.read(theirs, position);
                // Heap, direct, and memory another thread could free (held through the call).
                ByteBuffer ours = switch (i % 3) {
                    case 0 -> ByteBuffer.allocate(length);
                    case 1 -> ByteBuffer.allocateDirect(length);
                    default -> shared.allocate(length).asByteBuffer();
                };
                int n = aura.read(ours, position);
                assertThat(n).as("bytes read at %d, %d asked", position, length).isEqualTo(m);
                assertThat(ours.flip()).as("bytes at %d", position).isEqualTo(theirs.flip());
                // Native memory that is not the JVM's for good (direct buffers, arenas) goes
                // through the ring where no system call can hold it (-Dauraio.syscalls=libc, an
                // architecture whose numbers are not known), as for every file.
                if (i % 3 == 0 || !"libc".equals(System.getProperty("auraio.syscalls"))) {
                    ringReads += ringOps() - before;
                }
            }
            if (aura.mappedReads() != null) {
                assertThat(aura.mappedReads().isMapped()).as("mapped without page-cache hits to count").isTrue();
                assertThat(aura.mappedReads().served()).as("reads copied from the mapping").isPositive();
            }
        }
        assertThat(ringReads).as("ring requests for reads of a tmpfs file").isZero();
    }

    /** A file server's pattern: open, read whole, find the end, close; no ring request at all. */
    @Test
    void smallFilesReadWholeNeedNoRing() throws Exception {
        byte[] small = Arrays.copyOf(content, SMALL_BYTES);
        for (int i = 0; i < 5; i++) {
            Files.write(dir.resolve("small" + i), small);
        }
        long before = ringOps();
        for (int i = 0; i < 5; i++) {
            try (AuraFile aura = AuraFile.open(shared.engine(), dir.resolve("small" + i), StandardOpenOption.READ)) {
                ByteBuffer whole = ByteBuffer.allocate(16384);
                assertThat(aura.read(whole, 0)).isEqualTo(SMALL_BYTES);
                assertThat(Arrays.copyOf(whole.array(), SMALL_BYTES)).isEqualTo(small);
                whole.clear();
                assertThat(aura.read(whole, SMALL_BYTES)).as("at the end").isEqualTo(-1);
            }
        }
        assertThat(ringOps() - before).as("ring requests for 5 small tmpfs files").isZero();
    }

    /** Reads at the file position (the channel's relative reads) are FileChannel's too, and off the ring. */
    @Test
    void relativeReadsThroughTheChannelAreFileChannels() throws Exception {
        Path file = dir.resolve("data");
        long before = ringOps();
        try (FileChannel aura = AuraFileChannel.open(shared.engine(), file, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(file, StandardOpenOption.READ)) {
            Random random = new Random(3);
            while (true) {
                int length = 1 + random.nextInt(40_000);
                ByteBuffer ours = ByteBuffer.allocate(length);
                ByteBuffer theirs = ByteBuffer.allocate(length);
                int m = jdk.read(theirs);
                assertThat(aura.read(ours)).isEqualTo(m);
                assertThat(ours.flip()).isEqualTo(theirs.flip());
                assertThat(aura.position()).isEqualTo(jdk.position());
                if (m < 0) {
                    break;
                }
            }
        }
        assertThat(ringOps() - before).as("ring requests for relative reads of a tmpfs file").isZero();
    }

    /**
     * Another writer shrinks the file under a mapped reader, then grows it again: every read
     * returns what FileChannel's returns (no SIGBUS, no stale bytes past the new end).
     */
    @Test
    void aFileShrunkAndGrownByAnotherWriterReadsAsFileChannel() throws Exception {
        Path file = dir.resolve("data");
        try (AuraFile aura = AuraFile.open(shared.engine(), file, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(file, StandardOpenOption.READ);
             FileChannel writer = FileChannel.open(file, StandardOpenOption.WRITE)) {
            Random random = new Random(17);
            TestSupport.assertReadsAlike(aura, jdk, random, 50, FILE_BYTES);
            writer.truncate(FILE_BYTES / 3 + 100);
            TestSupport.assertReadsAlike(aura, jdk, random, 100, FILE_BYTES);
            byte[] more = new byte[FILE_BYTES];
            new Random(99).nextBytes(more);
            writer.write(ByteBuffer.wrap(more), FILE_BYTES / 2);
            TestSupport.assertReadsAlike(aura, jdk, random, 100, FILE_BYTES * 3 / 2);
            writer.truncate(0);
            TestSupport.assertReadsAlike(aura, jdk, random, 20, FILE_BYTES);
        }
    }

    /** A FIFO on tmpfs is no regular file: its read, which waits for a writer, goes to the ring. */
    @Test
    void aFifoOnTmpfsIsReadThroughTheRing() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        // Read-write: a FIFO's open for reading alone would wait for a writer.
        try (FileChannel aura = AuraFileChannel.open(shared.engine(), fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
             var executor = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            long before = ringOps();
            Future<Integer> reader = executor.submit(() -> aura.read(ByteBuffer.allocate(64)));
            Thread.sleep(50); // the reader waits in its read meanwhile
            try (FileChannel writer = FileChannel.open(fifo, StandardOpenOption.WRITE)) {
                writer.write(ByteBuffer.wrap("through the ring".getBytes()));
            }
            assertThat(reader.get(30, TimeUnit.SECONDS)).isEqualTo(16);
            assertThat(ringOps() - before).as("ring requests of the FIFO's read").isPositive();
        }
    }

    /** After Engine.close() a tmpfs file's read fails as every request of a closed engine does. */
    @Test
    void aReadAfterTheEngineClosedFailsWithShutdown() throws Exception {
        Engine own = Engine.create(Options.builder().ringCount(1).build());
        AuraFile aura = AuraFile.open(own, dir.resolve("data"), StandardOpenOption.READ);
        try {
            assertThat(aura.read(ByteBuffer.allocate(10), 0)).isEqualTo(10);
            own.close();
            assertThatThrownBy(() -> aura.read(ByteBuffer.allocate(10), 0))
                    .isInstanceOf(AuraIOException.class)
                    .matches(t -> ((AuraIOException) t).isShutdown(), "isShutdown()");
        } finally {
            aura.close();
            own.close();
        }
    }

    private static long ringOps() {
        long ops = 0;
        for (int i = 0; i < shared.engine().ringCount(); i++) {
            ops += shared.engine().ringStats(i).opsCompleted();
        }
        return ops;
    }

    /**
     * Another writer shrinks a file this one has mapped: a read over the new end returns
     * FileChannel's count and bytes, and leaves the buffer past the count as FileChannel does
     * (untouched). The mapped read used to copy from the stale mapping first (zeros from the page
     * past the new end) and ask after, so pread's short count left those zeros behind it.
     */
    @Test
    void aReadOverTheNewEndOfAShrunkFileLeavesTheBufferPastTheCountAlone() throws Exception {
        Path file = dir.resolve("data");
        byte[] data = Arrays.copyOf(content, 64 * 1024);
        // Many rounds: a fault in JIT-compiled code is thrown at the thread's next safepoint poll,
        // not at the faulting load, so a look at the last byte inlined into the copy let the copy
        // run (seen once in CI, after the JIT had compiled the path); every round must hold.
        try (AuraFile warm = AuraFile.open(shared.engine(), dir.resolve("data"), StandardOpenOption.READ)) {
            ByteBuffer page = ByteBuffer.allocate(4096);
            for (int i = 0; i < 300_000; i++) { // the mapped path compiled by C2, as after a long run
                warm.read(page.clear(), 4096L * (i & 15));
            }
        }
        for (int round = 0; round < 200; round++) {
            Files.write(file, data);
            try (AuraFile aura = AuraFile.open(shared.engine(), file, StandardOpenOption.READ);
                 FileChannel jdk = FileChannel.open(file, StandardOpenOption.READ);
                 FileChannel writer = FileChannel.open(file, StandardOpenOption.WRITE)) {
                for (int i = 0; i < 3; i++) {
                    aura.read(ByteBuffer.allocate(4096), 4096L * i);
                }
                assertThat(aura.mappedReads() != null && aura.mappedReads().isMapped()).as("mapped at the third read")
                        .isTrue();
                writer.truncate(100);
                for (int length : new int[] {4096, 8192}) {
                    byte[] ours = new byte[length];
                    byte[] theirs = new byte[length];
                    Arrays.fill(ours, (byte) 0x55);
                    Arrays.fill(theirs, (byte) 0x55);
                    assertThat(aura.read(ByteBuffer.wrap(ours), 0)).isEqualTo(jdk.read(ByteBuffer.wrap(theirs), 0))
                            .isEqualTo(100);
                    assertThat(ours).as("the whole buffer after a read of %d at 0, round %d", length, round)
                            .isEqualTo(theirs);
                }
            }
        }
    }
}
