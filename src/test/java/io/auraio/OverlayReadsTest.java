package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.Commands;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Overlay;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Reads of a file on overlayfs (a container's root: Docker's overlay2), which takes no
 * {@code preadv2(RWF_NOWAIT)}: they are a {@code pread} on the caller whenever a mapping of the file
 * says its pages are in memory (every other read goes to an io-wq thread of the kernel), never a
 * copy from that mapping (it does not follow a copy-up), and are exactly FileChannel's, cached or
 * not, and after another process's writes through the overlay. Needs root to mount an
 * overlay; skipped otherwise.
 */
@ExtendWith(IoUringAvailable.class)
class OverlayReadsTest {
    private static final int FILE_BYTES = 1 << 20;
    private static final int SMALL_BYTES = 12_000;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();
    private Overlay overlay;
    private Path lower;
    private Path merged;
    private byte[] content;

    @BeforeEach
    void mountAnOverlay() throws Exception {
        overlay = Overlay.layers(dir.path());
        lower = overlay.lower();
        merged = overlay.merged();
        content = new byte[FILE_BYTES];
        new Random(11).nextBytes(content);
        for (int i = 4095; i < FILE_BYTES; i += 4096) {
            content[i] |= 1; // no block ends in a zero byte: those are read with pread, not copied
        }
        Files.write(lower.resolve("data"), content);
        Files.write(lower.resolve("small"), java.util.Arrays.copyOf(content, SMALL_BYTES));
        overlay.mount();
    }

    @AfterEach
    void unmount() throws Exception {
        overlay.close();
    }

    @Test
    void readsAreFileChannelsAndHotOnesNeedNoRing() throws Exception {
        Path file = merged.resolve("data");
        Random random = new Random(5);
        try (AuraFile aura = AuraFile.open(file, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(file, StandardOpenOption.READ)) {
            assumeTrue(aura.mappedReads() != null, "mapped reads are off here (-Dio.auraio.mappedReads, not x86-64)");
            // Cold first: the ring's reads fill the page cache.
            TestSupport.assertReadsAlike(aura, jdk, random, 300, FILE_BYTES);
            Files.readAllBytes(file); // all in memory now
            Thread.sleep(50); // past the 20 ms for which the mapping's residency answers are kept
            Engine engine = AuraIO.defaultEngine();
            long ringOpsBefore = ringOps(engine);
            TestSupport.assertReadsAlike(aura, jdk, random, 300, FILE_BYTES);
            assertThat(aura.mappedReads().isMapped()).as("mapped without page-cache hits to count").isTrue();
            assertThat(ringOps(engine) - ringOpsBefore).as("ring requests for hot reads").isZero();
            assertThat(aura.mappedReads().served()).as("reads copied from an overlay file's mapping").isZero();

            // Evicted: read from the device again (through the ring), still FileChannel's bytes.
            // The pages an overlay read uses; where they cannot be dropped (tmpfs) these reads
            // are from memory: compared all the same.
            Posix.dropCachedPages(lower.resolve("data"));
            TestSupport.assertReadsAlike(aura, jdk, random, 100, FILE_BYTES);

            // Another process writes through the overlay (the file is copied up): each file read
            // what its own descriptor names, as FileChannel's does.
            Commands.Ran writer = Commands.run(new ProcessBuilder("dd", "if=/dev/zero", "of=" + file, "bs=4096",
                    "count=1", "conv=notrunc", "status=none"), Duration.ofSeconds(30));
            assertThat(writer.succeeded()).as("%s", writer).isTrue();
            TestSupport.assertReadsAlike(aura, jdk, random, 100, FILE_BYTES);
        }
        // A file opened after the copy-up reads the new bytes, mapped or not.
        try (AuraFile aura = AuraFile.open(file, StandardOpenOption.READ)) {
            ByteBuffer first = ByteBuffer.allocate(4096);
            for (int i = 0; i < 3; i++) {
                first.clear();
                assertThat(aura.read(first, 0)).isEqualTo(4096);
                assertThat(first.array()).containsOnly((byte) 0);
            }
        }
    }

    /**
     * A file read a few times is mapped at its third read, which is a pread on the caller (the
     * mapping says its pages are in memory; nothing is copied from it); a small file read whole (one short read, then the end) is not mapped at all, and the read that
     * finds its end asks the file's size rather than the ring.
     */
    @Test
    void aFileIsMappedAtItsThirdReadAndAReadAtTheEndNeedsNoRing() throws Exception {
        Path file = merged.resolve("data");
        Files.readAllBytes(file); // in memory
        Engine engine = AuraIO.defaultEngine();
        long ringOpsBefore = ringOps(engine);
        try (AuraFile aura = AuraFile.open(file, StandardOpenOption.READ)) {
            assumeTrue(aura.mappedReads() != null, "mapped reads are off here");
            ByteBuffer b = ByteBuffer.allocate(4096);
            for (int i = 1; i <= 3; i++) {
                b.clear();
                assertThat(aura.read(b, 8192L * i)).isEqualTo(4096);
                assertThat(b.array()).isEqualTo(java.util.Arrays.copyOfRange(content, 8192 * i, 8192 * i + 4096));
                assertThat(aura.mappedReads().isMapped()).as("mapped after read %d", i).isEqualTo(i == 3);
            }
            assertThat(aura.mappedReads().served()).as("reads copied from an overlay file's mapping").isZero();
            assertThat(ringOps(engine) - ringOpsBefore).as("ring requests for three cached reads").isZero();
        }
        try (AuraFile aura = AuraFile.open(file, StandardOpenOption.READ)) {
            ByteBuffer whole = ByteBuffer.allocate(FILE_BYTES + 4096);
            assertThat(aura.read(whole, 0)).isEqualTo(FILE_BYTES);
            whole.clear();
            assertThat(aura.read(whole, FILE_BYTES)).as("at the end").isEqualTo(-1);
            assertThat(aura.mappedReads().isMapped()).as("read whole, not mapped").isFalse();
        }
    }

    /**
     * A small file opened, read whole and closed (a file server's pattern) while its pages are in
     * memory needs no ring: its pages' residency is asked through a mapping of just them, and the
     * read is a pread on the caller; the read that finds the end asks the size. FileChannel's bytes.
     * So is a cached read larger than a mapping serves (256 KiB).
     */
    @Test
    void aCachedSmallFileReadOnceWholeNeedsNoRing() throws Exception {
        Path file = merged.resolve("small");
        Files.readAllBytes(file); // in memory
        Engine engine = AuraIO.defaultEngine();
        long ringOpsBefore = ringOps(engine);
        for (int i = 0; i < 5; i++) {
            try (AuraFile aura = AuraFile.open(file, StandardOpenOption.READ)) {
                ByteBuffer whole = ByteBuffer.allocate(16384);
                assertThat(aura.read(whole, 0)).isEqualTo(SMALL_BYTES);
                assertThat(java.util.Arrays.copyOf(whole.array(), SMALL_BYTES))
                        .isEqualTo(java.util.Arrays.copyOf(content, SMALL_BYTES));
                whole.clear();
                assertThat(aura.read(whole, SMALL_BYTES)).as("at the end").isEqualTo(-1);
            }
        }
        assertThat(ringOps(engine) - ringOpsBefore).as("ring requests for 5 cached small files").isZero();
        // A read larger than a mapping serves (256 KiB of the larger file, in memory): on the caller too.
        Files.readAllBytes(merged.resolve("data"));
        try (AuraFile aura = AuraFile.open(merged.resolve("data"), StandardOpenOption.READ)) {
            ByteBuffer large = ByteBuffer.allocate(256 * 1024);
            assertThat(aura.read(large, 4096)).isEqualTo(256 * 1024);
            assertThat(large.array()).isEqualTo(java.util.Arrays.copyOfRange(content, 4096, 4096 + 256 * 1024));
        }
        assertThat(ringOps(engine) - ringOpsBefore).as("ring requests for a cached 256 KiB read").isZero();
        // Not in memory: through the ring, still the file's bytes. (The lower file's pages are
        // the ones an overlay read uses.)
        assumeTrue(Posix.dropCachedPages(lower.resolve("small")),
                "the lower layer's file system keeps its pages in memory (tmpfs): no read can miss");
        try (AuraFile aura = AuraFile.open(file, StandardOpenOption.READ)) {
            ByteBuffer whole = ByteBuffer.allocate(16384);
            assertThat(aura.read(whole, 0)).isEqualTo(SMALL_BYTES);
            assertThat(java.util.Arrays.copyOf(whole.array(), SMALL_BYTES))
                    .isEqualTo(java.util.Arrays.copyOf(content, SMALL_BYTES));
        }
        assertThat(ringOps(engine) - ringOpsBefore).as("the evicted file's read went to the ring").isPositive();
    }

    /**
     * Reads into memory another thread could free (a shared arena's, a direct buffer's) of a file
     * not mapped yet: FileChannel's bytes, also where no system call can hold that memory
     * ({@code -Dauraio.syscalls=libc}, which the CI's second run sets: such a read once failed with
     * UnsupportedOperationException there).
     */
    @Test
    void readsIntoMemoryOthersCouldFreeAreFileChannels() throws Exception {
        Path file = merged.resolve("small");
        Files.readAllBytes(file); // in memory: the residency probe says so
        for (int variant = 0; variant < 2; variant++) {
            try (AuraFile aura = AuraFile.open(file, StandardOpenOption.READ);
                 java.lang.foreign.Arena shared = java.lang.foreign.Arena.ofShared()) {
                ByteBuffer whole = variant == 0 ? shared.allocate(16384).asByteBuffer() : ByteBuffer.allocateDirect(16384);
                assertThat(aura.read(whole, 0)).isEqualTo(SMALL_BYTES);
                byte[] got = new byte[SMALL_BYTES];
                whole.flip().get(got);
                assertThat(got).isEqualTo(java.util.Arrays.copyOf(content, SMALL_BYTES));
                whole.clear();
                assertThat(aura.read(whole, SMALL_BYTES)).as("at the end").isEqualTo(-1);
            }
        }
    }

    private static long ringOps(Engine engine) {
        long ops = 0;
        for (int i = 0; i < engine.ringCount(); i++) {
            ops += engine.ringStats(i).opsCompleted();
        }
        return ops;
    }
}
