package io.auraio;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.DELETE_ON_CLOSE;
import static java.nio.file.StandardOpenOption.DSYNC;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.SYNC;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.Direct;
import io.auraio.testing.Fifo;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.Channels;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The {@code FileChannel} contract, run against the JDK's {@code FileChannel.open} and against
 * {@code AuraFileChannel.open} with the same expected answers: a case passes only if both
 * implementations give them.
 */
class AuraFileChannelContractTest {
    private static final byte[] DATA = TestSupport.randomBytes(10_000, 42);

    private static Engine engine;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** The two implementations under test. */
    enum Impl {
        JDK, AURA;

        FileChannel open(Path path, OpenOption... options) throws IOException {
            return open(path, new HashSet<>(Arrays.asList(options)));
        }

        FileChannel open(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs) throws IOException {
            return switch (this) {
                case JDK -> FileChannel.open(path, options, attrs);
                case AURA -> aura(path, options, attrs);
            };
        }
    }

    /**
     * An {@code AuraFileChannel} on this class's engine, or in JDK mode (run so by
     * {@code FallbackTest}) through {@link AuraFileChannel#open(Path, OpenOption...)}, the entry
     * point that falls back.
     */
    static AuraFileChannel aura(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        if (engine != null) {
            return AuraFileChannel.open(engine, path, options, attrs);
        }
        return AuraFileChannel.open(path, options, attrs);
    }

    static AuraFileChannel aura(Path path, OpenOption... options) throws IOException {
        return aura(path, new HashSet<>(Arrays.asList(options)));
    }

    @BeforeAll
    static void createEngine() throws IOException {
        assumeTrue(AuraIO.backend() == Backend.JDK || AuraIO.isAvailable(),
                () -> "io_uring unavailable: " + AuraIO.unavailabilityCause().orElse(""));
        if (AuraIO.backend() == Backend.IO_URING) {
            engine = Engine.create(Options.builder().ringCount(1).build());
        }
    }

    @AfterAll
    static void closeEngine() {
        if (engine != null) {
            Leaks.assertNothingLeaked(engine);
            engine.close();
        }
    }

    private Path fileWithData() throws IOException {
        return Files.write(dir.resolve("data"), DATA);
    }

    private static byte[] bytes(int from, int to) {
        return Arrays.copyOfRange(DATA, from, to);
    }

    private static byte[] contents(ByteBuffer b) {
        ByteBuffer d = b.duplicate().flip();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }

    // ---- relative and positional reads and writes ------------------------------------------

    @ParameterizedTest
    @EnumSource(Impl.class)
    void relativeReadsAdvanceThePositionAndEndWithMinusOne(Impl impl) throws IOException {
        try (FileChannel ch = impl.open(fileWithData(), READ)) {
            ByteBuffer buf = ByteBuffer.allocate(6000);
            assertThat(ch.read(buf)).isEqualTo(6000);
            assertThat(ch.position()).isEqualTo(6000);
            assertThat(buf.position()).isEqualTo(6000);
            assertThat(buf.limit()).isEqualTo(6000);
            assertThat(contents(buf)).isEqualTo(bytes(0, 6000));
            buf.clear();
            assertThat(ch.read(buf)).isEqualTo(4000);
            assertThat(buf.position()).isEqualTo(4000);
            assertThat(ch.position()).isEqualTo(10_000);
            assertThat(ch.read(buf)).isEqualTo(-1);
            assertThat(ch.read(ByteBuffer.allocate(0))).isZero();
            assertThat(ch.position()).isEqualTo(10_000);
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void aFullBufferReadsZeroEvenAtTheEnd(Impl impl) throws IOException {
        try (FileChannel ch = impl.open(fileWithData(), READ)) {
            ch.position(20_000);
            ByteBuffer full = ByteBuffer.allocate(4).position(4);
            assertThat(ch.read(full)).isZero();
            assertThat(ch.read(full, 50_000)).isZero();
            assertThat(ch.read(ByteBuffer.allocate(4))).isEqualTo(-1);
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void positionalReadsAndWritesLeaveThePositionAlone(Impl impl) throws IOException {
        try (FileChannel ch = impl.open(fileWithData(), READ, WRITE)) {
            ch.position(17);
            ByteBuffer buf = ByteBuffer.allocateDirect(100);
            assertThat(ch.read(buf, 9_950)).isEqualTo(50);
            assertThat(contents(buf)).isEqualTo(bytes(9_950, 10_000));
            assertThat(ch.read(ByteBuffer.allocate(10), 10_000)).isEqualTo(-1);
            assertThat(ch.read(ByteBuffer.allocate(10), 99_999)).isEqualTo(-1);
            assertThat(ch.write(ByteBuffer.wrap(new byte[] {7, 8, 9}), 20_000)).isEqualTo(3);
            assertThat(ch.position()).isEqualTo(17);
            assertThat(ch.size()).isEqualTo(20_003);
        }
        byte[] file = Files.readAllBytes(dir.resolve("data"));
        assertThat(Arrays.copyOfRange(file, 10_000, 20_000)).containsOnly(0);
        assertThat(Arrays.copyOfRange(file, 20_000, 20_003)).containsExactly(7, 8, 9);
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void relativeWritesAdvanceThePositionAndWriteBeyondTheEnd(Impl impl) throws IOException {
        Path path = dir.resolve("new");
        try (FileChannel ch = impl.open(path, CREATE_NEW, WRITE)) {
            assertThat(ch.write(ByteBuffer.wrap(DATA, 0, 100))).isEqualTo(100);
            assertThat(ch.position()).isEqualTo(100);
            ch.position(200);
            ByteBuffer src = ByteBuffer.allocateDirect(50).put(bytes(100, 150)).flip();
            assertThat(ch.write(src)).isEqualTo(50);
            assertThat(src.position()).isEqualTo(50);
            assertThat(ch.position()).isEqualTo(250);
            assertThat(ch.size()).isEqualTo(250);
        }
        byte[] file = Files.readAllBytes(path);
        assertThat(Arrays.copyOfRange(file, 0, 100)).isEqualTo(bytes(0, 100));
        assertThat(Arrays.copyOfRange(file, 100, 200)).containsOnly(0);
        assertThat(Arrays.copyOfRange(file, 200, 250)).isEqualTo(bytes(100, 150));
    }

    /**
     * A read over cached and uncached pages returns every byte up to the end, as a blocking
     * {@code pread} does, although {@code preadv2(RWF_NOWAIT)} stops at the first page that is
     * not in the page cache.
     */
    @ParameterizedTest
    @EnumSource(Impl.class)
    void aReadOverCachedAndUncachedPagesIsNotShort(Impl impl) throws Throwable {
        Path path = dir.resolve("pages");
        byte[] data = TestSupport.randomBytes(256 * 1024, 7);
        try (FileChannel writer = FileChannel.open(path, CREATE, WRITE)) {
            writer.write(ByteBuffer.wrap(data), 0);
            writer.force(true); // clean pages can be dropped from the cache
        }
        PageCache.keepOnlyTheFirstPage(path);
        try (FileChannel ch = impl.open(path, READ)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(data.length);
            assertThat(ch.read(buf, 100)).isEqualTo(data.length - 100);
            assertThat(contents(buf)).isEqualTo(Arrays.copyOfRange(data, 100, data.length));
        }
    }

    /**
     * A short page-cache read that ends inside a page ended at the end of the file (one that
     * stops at a missing page stops at a page boundary): the read is not asked again. With the
     * end in the first page, in a later page, on a page boundary; the rest cached or not.
     */
    @ParameterizedTest
    @EnumSource(Impl.class)
    void aReadUpToAnEndInsideAPageReturnsEveryByteOfTheFile(Impl impl) throws Throwable {
        for (int size : new int[] {1, 100, 4095, 4096, 4097, 10_000, 12_288, 65_535}) {
            for (boolean firstPageOnly : size > 4096 ? new boolean[] {false, true} : new boolean[] {false}) {
                Path path = dir.resolve("end-" + size + "-" + firstPageOnly);
                byte[] data = TestSupport.randomBytes(size, size);
                try (FileChannel writer = FileChannel.open(path, CREATE, WRITE)) {
                    writer.write(ByteBuffer.wrap(data), 0);
                    writer.force(true);
                }
                if (firstPageOnly) {
                    PageCache.keepOnlyTheFirstPage(path);
                } else {
                    Files.readAllBytes(path); // every page cached
                }
                try (FileChannel ch = impl.open(path, READ)) {
                    ByteBuffer buf = ByteBuffer.allocate(size + 16_384);
                    assertThat(ch.read(buf, 0)).as("%d bytes, first page only %s", size, firstPageOnly).isEqualTo(size);
                    assertThat(Arrays.copyOf(buf.array(), size)).isEqualTo(data);
                    assertThat(ch.read(buf.clear(), size)).as("at the end").isEqualTo(-1);
                }
            }
        }
    }

    /** Page-cache control through the test's own downcalls. */
    private static final class PageCache {
        private static final int POSIX_FADV_RANDOM = 1;
        private static final int POSIX_FADV_DONTNEED = 4;
        private static final Linker LINKER = Linker.nativeLinker();
        private static final MethodHandle FADVISE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(
                "posix_fadvise"), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        private static final MethodHandle PREAD = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("pread"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));

        /** Drops the (clean) file from the page cache, then reads its first page back without readahead. */
        static void keepOnlyTheFirstPage(Path path) throws Throwable {
            int fd = Posix.open(path, Posix.O_RDONLY);
            try (Arena arena = Arena.ofConfined()) {
                assertThat((int) FADVISE.invokeExact(fd, 0L, 0L, POSIX_FADV_DONTNEED)).isZero();
                assertThat((int) FADVISE.invokeExact(fd, 0L, 0L, POSIX_FADV_RANDOM)).isZero();
                assertThat((long) PREAD.invokeExact(fd, arena.allocate(4096), 4096L, 0L)).isEqualTo(4096);
            } finally {
                Posix.close(fd);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void readOnlyBuffersCanBeWrittenButNotReadInto(Impl impl) throws IOException {
        try (FileChannel ch = impl.open(dir.resolve("f"), CREATE, READ, WRITE)) {
            ByteBuffer ro = ByteBuffer.wrap(DATA, 10, 20).asReadOnlyBuffer();
            assertThat(ch.write(ro)).isEqualTo(20);
            assertThat(ro.position()).isEqualTo(30);
            ByteBuffer roDirect = ByteBuffer.allocateDirect(8).asReadOnlyBuffer();
            assertThatThrownBy(() -> ch.read(ro, 0)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> ch.read(roDirect)).isInstanceOf(IllegalArgumentException.class);
            assertThat(ch.position()).isEqualTo(20);
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void segmentBackedBuffersWork(Impl impl) throws IOException {
        try (FileChannel ch = impl.open(fileWithData(), READ); Arena arena = Arena.ofConfined()) {
            ByteBuffer native_ = arena.allocate(64).asByteBuffer();
            ByteBuffer heap = MemorySegment.ofArray(new byte[64]).asByteBuffer();
            assertThat(ch.read(native_, 100)).isEqualTo(64);
            assertThat(ch.read(heap, 200)).isEqualTo(64);
            assertThat(contents(native_)).isEqualTo(bytes(100, 164));
            assertThat(contents(heap)).isEqualTo(bytes(200, 264));
        }
    }

    /** A confined arena's buffer is its owner's: another thread's read, write or scatter is refused. */
    @ParameterizedTest
    @EnumSource(Impl.class)
    void aConfinedArenasBufferUsedByAnotherThreadThrowsWrongThreadException(Impl impl) throws Exception {
        try (FileChannel ch = impl.open(fileWithData(), READ, WRITE); Arena arena = Arena.ofConfined()) {
            ByteBuffer confined = arena.allocate(64).asByteBuffer();
            java.util.List<Object> outcomes = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread other = Thread.ofVirtual().start(() -> {
                for (java.util.concurrent.Callable<?> call : java.util.List.<java.util.concurrent.Callable<?>>of(
                        () -> ch.read(confined, 0), () -> ch.write(confined, 0), () -> ch.read(confined),
                        () -> ch.read(new ByteBuffer[] {confined}), () -> ch.write(new ByteBuffer[] {confined}))) {
                    try {
                        outcomes.add(call.call());
                    } catch (Throwable t) {
                        outcomes.add(t);
                    }
                }
            });
            other.join(TestSupport.HANG.toMillis());
            assertThat(outcomes).hasSize(5).allSatisfy(o -> assertThat(o).isInstanceOf(WrongThreadException.class));
            assertThat(ch.position()).as("nothing moved").isZero();
            assertThat(ch.read(confined, 100)).as("the owner may").isEqualTo(64);
            assertThat(contents(confined)).isEqualTo(bytes(100, 164));
        }
    }

    /** Shared and automatic arenas' buffers serve any thread, in every kind of transfer. */
    @ParameterizedTest
    @EnumSource(Impl.class)
    void sharedAndAutomaticArenasBuffersWorkFromAnyThread(Impl impl) throws Exception {
        try (FileChannel ch = impl.open(fileWithData(), READ); Arena shared = Arena.ofShared()) {
            ByteBuffer a = shared.allocate(64).asByteBuffer();
            ByteBuffer b = Arena.ofAuto().allocate(64).asByteBuffer();
            Thread other = Thread.ofVirtual().start(() -> {
                try {
                    ch.read(a, 100);
                    ch.read(new ByteBuffer[] {b});
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            other.join(TestSupport.HANG.toMillis());
            assertThat(contents(a)).isEqualTo(bytes(100, 164));
            assertThat(contents(b)).isEqualTo(bytes(0, 64));
        }
    }

    // ---- scattering and gathering --------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Impl.class)
    void scatteringReadsFillBuffersInOrder(Impl impl) throws IOException {
        try (FileChannel ch = impl.open(fileWithData(), READ)) {
            ch.position(9_000);
            ByteBuffer[] bufs = {ByteBuffer.allocate(5), ByteBuffer.allocate(600), ByteBuffer.allocate(0),
                ByteBuffer.allocateDirect(600), ByteBuffer.allocate(7)};
            assertThat(ch.read(bufs, 1, 3)).isEqualTo(1000);
            assertThat(bufs[0].position()).isZero();
            assertThat(bufs[1].position()).isEqualTo(600);
            assertThat(bufs[3].position()).isEqualTo(400);
            assertThat(bufs[4].position()).isZero();
            assertThat(contents(bufs[1])).isEqualTo(bytes(9_000, 9_600));
            assertThat(contents(bufs[3])).isEqualTo(bytes(9_600, 10_000));
            assertThat(ch.position()).isEqualTo(10_000);
            assertThat(ch.read(bufs)).isEqualTo(-1);
            assertThat(ch.read(bufs, 2, 1)).isZero();
            assertThat(ch.read(new ByteBuffer[0])).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void gatheringWritesTakeBuffersInOrder(Impl impl) throws IOException {
        Path path = dir.resolve("g");
        try (FileChannel ch = impl.open(path, CREATE, WRITE)) {
            ByteBuffer[] srcs = {ByteBuffer.wrap(bytes(0, 10)), ByteBuffer.allocate(0),
                ByteBuffer.allocateDirect(20).put(bytes(10, 30)).flip(), ByteBuffer.wrap(bytes(30, 31)).asReadOnlyBuffer()};
            assertThat(ch.write(srcs)).isEqualTo(31);
            assertThat(Arrays.stream(srcs).allMatch(b -> !b.hasRemaining())).isTrue();
            assertThat(ch.position()).isEqualTo(31);
            assertThat(ch.write(srcs, 0, 4)).isZero();
        }
        assertThat(Files.readAllBytes(path)).isEqualTo(bytes(0, 31));
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void vectoredMisuseIsRejectedBeforeAnyIo(Impl impl) throws IOException {
        try (FileChannel ch = impl.open(fileWithData(), READ, WRITE)) {
            ByteBuffer first = ByteBuffer.allocate(10);
            ByteBuffer[] withReadOnly = {first, ByteBuffer.allocate(10).asReadOnlyBuffer()};
            assertThatThrownBy(() -> ch.read(withReadOnly)).isInstanceOf(IllegalArgumentException.class);
            assertThat(first.position()).isZero();
            ByteBuffer[] withNull = {first, null};
            assertThatThrownBy(() -> ch.read(withNull)).isInstanceOf(NullPointerException.class);
            assertThatThrownBy(() -> ch.write(withNull)).isInstanceOf(NullPointerException.class);
            assertThat(first.position()).isZero();
            assertThat(ch.position()).isZero();
            ByteBuffer[] two = {first, first};
            assertThatThrownBy(() -> ch.read(two, 1, 2)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> ch.write(two, -1, 1)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> ch.read(two, 0, -1)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> ch.read((ByteBuffer[]) null)).isInstanceOf(NullPointerException.class);
        }
    }

    // ---- size, truncate, force -----------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Impl.class)
    void truncateShrinksAndClampsThePositionButNeverGrows(Impl impl) throws IOException {
        try (FileChannel ch = impl.open(fileWithData(), READ, WRITE)) {
            ch.position(8_000);
            assertThat(ch.truncate(20_000)).isSameAs(ch);
            assertThat(ch.size()).isEqualTo(10_000);
            assertThat(ch.position()).isEqualTo(8_000);
            ch.truncate(9_000);
            assertThat(ch.size()).isEqualTo(9_000);
            assertThat(ch.position()).isEqualTo(8_000);
            ch.truncate(5_000);
            assertThat(ch.size()).isEqualTo(5_000);
            assertThat(ch.position()).isEqualTo(5_000);
            ch.position(7_000);
            ch.truncate(6_000); // larger than the size: no change, but the position still clamps
            assertThat(ch.size()).isEqualTo(5_000);
            assertThat(ch.position()).isEqualTo(6_000);
            assertThatThrownBy(() -> ch.truncate(-1)).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(Files.readAllBytes(dir.resolve("data"))).isEqualTo(bytes(0, 5_000));
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void truncateNeedsAWritableChannel(Impl impl) throws IOException {
        try (FileChannel ch = impl.open(fileWithData(), READ)) {
            assertThatThrownBy(() -> ch.truncate(1)).isInstanceOf(NonWritableChannelException.class);
            assertThatThrownBy(() -> ch.truncate(-1)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void forceSucceedsAndDataIsThere(Impl impl) throws IOException {
        Path path = dir.resolve("forced");
        try (FileChannel ch = impl.open(path, CREATE, WRITE)) {
            ch.write(ByteBuffer.wrap(DATA));
            ch.force(true);
            ch.force(false);
            assertThat(Files.readAllBytes(path)).isEqualTo(DATA);
        }
    }

    // ---- transfers -----------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Impl.class)
    void transferToAnyChannelCopiesFromAPositionWithoutMovingIt(Impl impl) throws IOException {
        try (FileChannel ch = impl.open(fileWithData(), READ);
             FileChannel jdkTarget = FileChannel.open(dir.resolve("t1"), CREATE, WRITE);
             FileChannel auraTarget = aura(dir.resolve("t2"), CREATE, WRITE)) {
            ch.position(3);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            assertThat(ch.transferTo(100, 50_000, Channels.newChannel(out))).isEqualTo(9_900);
            assertThat(out.toByteArray()).isEqualTo(bytes(100, 10_000));
            jdkTarget.position(5);
            assertThat(ch.transferTo(0, 1_000, jdkTarget)).isEqualTo(1_000);
            assertThat(jdkTarget.position()).isEqualTo(1_005);
            assertThat(ch.transferTo(9_990, 1_000, auraTarget)).isEqualTo(10);
            assertThat(auraTarget.position()).isEqualTo(10);
            assertThat(ch.transferTo(10_000, 10, auraTarget)).isZero();
            assertThat(ch.transferTo(20_000, 10, auraTarget)).isZero();
            assertThat(ch.position()).isEqualTo(3);
        }
        assertThat(Arrays.copyOfRange(Files.readAllBytes(dir.resolve("t1")), 5, 1_005)).isEqualTo(bytes(0, 1_000));
        assertThat(Files.readAllBytes(dir.resolve("t2"))).isEqualTo(bytes(9_990, 10_000));
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void transferFromAnyChannelAdvancesTheSourceNotThisPosition(Impl impl) throws IOException {
        Path path = dir.resolve("dst");
        try (FileChannel ch = impl.open(path, CREATE, READ, WRITE);
             FileChannel src = FileChannel.open(fileWithData(), READ)) {
            src.position(9_000);
            assertThat(ch.transferFrom(src, 10, 5_000)).isEqualTo(1_000);
            assertThat(src.position()).isEqualTo(10_000);
            assertThat(ch.transferFrom(src, 10, 5_000)).isZero();
            ByteArrayInputStream in = new ByteArrayInputStream(bytes(0, 300));
            assertThat(ch.transferFrom(Channels.newChannel(in), 2_000, 200)).isEqualTo(200);
            assertThat(in.available()).isEqualTo(100);
            assertThat(ch.position()).isZero();
            assertThat(ch.size()).isEqualTo(2_200);
        }
        byte[] file = Files.readAllBytes(path);
        assertThat(Arrays.copyOfRange(file, 10, 1_010)).isEqualTo(bytes(9_000, 10_000));
        assertThat(Arrays.copyOfRange(file, 2_000, 2_200)).isEqualTo(bytes(0, 200));
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void largeTransfersBetweenBothKindsOfChannelCopyEveryByte(Impl impl) throws IOException {
        byte[] big = TestSupport.randomBytes(3 * 1024 * 1024 + 17, 11);
        Path source = Files.write(dir.resolve("big"), big);
        try (FileChannel ch = impl.open(source, READ);
             FileChannel jdkCopy = FileChannel.open(dir.resolve("copy1"), CREATE, WRITE);
             FileChannel auraCopy = aura(dir.resolve("copy2"), CREATE, READ, WRITE);
             FileChannel back = impl.open(dir.resolve("copy3"), CREATE, WRITE)) {
            long n = 0;
            while (n < big.length) {
                n += ch.transferTo(n, big.length - n, jdkCopy);
            }
            n = 0;
            while (n < big.length) {
                n += ch.transferTo(n, Long.MAX_VALUE, auraCopy);
            }
            auraCopy.position(0);
            n = 0;
            while (n < big.length) {
                n += back.transferFrom(auraCopy, n, big.length - n);
            }
            assertThat(auraCopy.position()).isEqualTo(big.length);
            assertThat(back.transferFrom(auraCopy, n, 10)).isZero();
        }
        assertThat(Files.readAllBytes(dir.resolve("copy1"))).isEqualTo(big);
        assertThat(Files.readAllBytes(dir.resolve("copy2"))).isEqualTo(big);
        assertThat(Files.readAllBytes(dir.resolve("copy3"))).isEqualTo(big);
    }

    @SuppressWarnings("try") // closes a resource early on purpose
    @ParameterizedTest
    @EnumSource(Impl.class)
    void transferMisuse(Impl impl) throws IOException {
        try (FileChannel ch = impl.open(fileWithData(), READ);
             FileChannel readOnlyTarget = FileChannel.open(dir.resolve("data"), READ);
             FileChannel writeOnly = impl.open(dir.resolve("w"), CREATE, WRITE)) {
            assertThatThrownBy(() -> ch.transferTo(0, 10, readOnlyTarget)).isInstanceOf(NonWritableChannelException.class);
            assertThatThrownBy(() -> ch.transferTo(-1, 10, writeOnly)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> ch.transferTo(0, -1, writeOnly)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> writeOnly.transferTo(0, 10, writeOnly)).isInstanceOf(NonReadableChannelException.class);
            assertThatThrownBy(() -> ch.transferFrom(readOnlyTarget, 0, 10)).isInstanceOf(NonWritableChannelException.class);
            assertThatThrownBy(() -> writeOnly.transferFrom(writeOnly, 0, 10)).isInstanceOf(NonReadableChannelException.class);
            assertThatThrownBy(() -> writeOnly.transferFrom(ch, -1, 10)).isInstanceOf(IllegalArgumentException.class);
            readOnlyTarget.close();
            assertThatThrownBy(() -> ch.transferTo(0, 10, readOnlyTarget)).isInstanceOf(ClosedChannelException.class);
            assertThatThrownBy(() -> writeOnly.transferFrom(readOnlyTarget, 0, 10)).isInstanceOf(ClosedChannelException.class);
        }
    }

    // ---- open options --------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Impl.class)
    void appendWritesGoToTheEndAndThePositionIsTheSize(Impl impl) throws IOException {
        Path path = fileWithData();
        try (FileChannel ch = impl.open(path, APPEND)) {
            assertThat(ch.position()).isEqualTo(10_000);
            ch.position(5);
            assertThat(ch.write(ByteBuffer.wrap(new byte[] {1, 2}))).isEqualTo(2);
            assertThat(ch.position()).isEqualTo(10_002);
            assertThat(ch.write(ByteBuffer.wrap(new byte[] {3}), 0)).isEqualTo(1);
            assertThat(ch.write(new ByteBuffer[] {ByteBuffer.wrap(new byte[] {4}), ByteBuffer.wrap(new byte[] {5})}))
                    .isEqualTo(2);
            assertThat(ch.size()).isEqualTo(10_005);
            assertThat(ch.position()).isEqualTo(10_005);
            assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(1))).isInstanceOf(NonReadableChannelException.class);
        }
        byte[] file = Files.readAllBytes(path);
        assertThat(Arrays.copyOfRange(file, 0, 10_000)).isEqualTo(DATA);
        assertThat(Arrays.copyOfRange(file, 10_000, 10_005)).containsExactly(1, 2, 3, 4, 5);
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void createCreateNewAndTruncateExisting(Impl impl) throws IOException {
        Path path = dir.resolve("c");
        assertThatThrownBy(() -> impl.open(path, WRITE)).isInstanceOf(NoSuchFileException.class);
        assertThatThrownBy(() -> impl.open(path, READ, CREATE)).isInstanceOf(NoSuchFileException.class);
        try (FileChannel ch = impl.open(path, CREATE_NEW, WRITE)) {
            ch.write(ByteBuffer.wrap(DATA));
        }
        assertThatThrownBy(() -> impl.open(path, CREATE_NEW, WRITE)).isInstanceOf(FileAlreadyExistsException.class);
        try (FileChannel ch = impl.open(path, CREATE, READ)) {
            assertThat(ch.size()).isEqualTo(10_000);
        }
        try (FileChannel ch = impl.open(path, TRUNCATE_EXISTING, READ)) { // without WRITE: ignored
            assertThat(ch.size()).isEqualTo(10_000);
        }
        try (FileChannel ch = impl.open(path, TRUNCATE_EXISTING, WRITE)) {
            assertThat(ch.size()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void invalidOptionCombinationsAreRejected(Impl impl) {
        Path path = dir.resolve("x");
        assertThatThrownBy(() -> impl.open(path, READ, APPEND)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> impl.open(path, APPEND, TRUNCATE_EXISTING)).isInstanceOf(IllegalArgumentException.class);
        OpenOption bogus = new OpenOption() {};
        assertThatThrownBy(() -> impl.open(path, bogus)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> impl.open(path, Set.of(CREATE, WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")),
                new FileAttribute<String>() {
                    @Override
                    public String name() {
                        return "posix:owner";
                    }

                    @Override
                    public String value() {
                        return "root";
                    }
                })).isInstanceOf(UnsupportedOperationException.class);
        assertThat(Files.exists(path)).isFalse();
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void deleteOnCloseUnlinksAtOnceAndTheChannelStillWorks(Impl impl) throws IOException {
        Path path = fileWithData();
        try (FileChannel ch = impl.open(path, READ, WRITE, DELETE_ON_CLOSE)) {
            ch.write(ByteBuffer.wrap(new byte[] {9}), 10_000);
            ByteBuffer buf = ByteBuffer.allocate(20_000);
            assertThat(ch.read(buf, 0)).isEqualTo(10_001);
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, 10_001);
            assertThat(map.get(10_000)).isEqualTo((byte) 9);
            try (FileLock lock = ch.lock()) {
                assertThat(lock.isValid()).isTrue();
            }
        }
        assertThat(Files.exists(path, LinkOption.NOFOLLOW_LINKS)).isFalse();
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void syncAndDsyncWritesArrive(Impl impl) throws IOException {
        Path path = dir.resolve("s");
        try (FileChannel ch = impl.open(path, CREATE, WRITE, SYNC);
             FileChannel ch2 = impl.open(path, WRITE, DSYNC)) {
            assertThat(ch.write(ByteBuffer.wrap(DATA, 0, 100))).isEqualTo(100);
            assertThat(ch2.write(ByteBuffer.wrap(DATA, 100, 10), 100)).isEqualTo(10);
        }
        assertThat(Files.readAllBytes(path)).isEqualTo(bytes(0, 110));
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void permissionsAttributeAppliesAtCreationUnderTheUmask(Impl impl) throws IOException {
        Path path = dir.resolve("perm");
        FileAttribute<?> attr = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrw-rw-"));
        try (FileChannel ch = impl.open(path, Set.of(CREATE_NEW, WRITE), attr)) {
            assertThat(ch.isOpen()).isTrue();
        }
        String expected = PosixFilePermissions.toString(Files.getPosixFilePermissions(createReference(attr)));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(path))).isEqualTo(expected);
        // Attributes do nothing to a file that exists already.
        try (FileChannel ch = impl.open(path, Set.of(CREATE, WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("---------")))) {
            assertThat(ch.size()).isZero();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(path))).isEqualTo(expected);
        }
    }

    /** A file created by the JDK's own {@code Files.createFile} with {@code attr}: the umask applied. */
    private Path createReference(FileAttribute<?> attr) throws IOException {
        return Files.createFile(dir.resolve("reference"), attr);
    }

    // ---- map and locks -------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Impl.class)
    void mapReadsAndWritesTheFile(Impl impl) throws IOException {
        Path path = fileWithData();
        try (FileChannel ch = impl.open(path, READ, WRITE)) {
            MappedByteBuffer ro = ch.map(FileChannel.MapMode.READ_ONLY, 100, 10);
            assertThat(ro.isReadOnly()).isTrue();
            byte[] got = new byte[10];
            ro.get(got);
            assertThat(got).isEqualTo(bytes(100, 110));
            MappedByteBuffer rw = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4);
            rw.put(0, (byte) 0x55);
            ByteBuffer check = ByteBuffer.allocate(1);
            ch.read(check, 0);
            assertThat(check.get(0)).isEqualTo((byte) 0x55);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 200, 8, arena);
                assertThat(seg.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo(DATA[200]);
            }
            assertThatThrownBy(() -> ch.map(FileChannel.MapMode.READ_ONLY, -1, 1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> ch.map(FileChannel.MapMode.READ_ONLY, 0, -1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 1L << 32)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> ch.map(null, 0, 1)).isInstanceOf(NullPointerException.class);
        }
        try (FileChannel readOnly = impl.open(path, READ); FileChannel writeOnly = impl.open(path, WRITE)) {
            assertThatThrownBy(() -> readOnly.map(FileChannel.MapMode.READ_WRITE, 0, 1))
                    .isInstanceOf(NonWritableChannelException.class);
            assertThatThrownBy(() -> writeOnly.map(FileChannel.MapMode.READ_ONLY, 0, 1))
                    .isInstanceOf(NonReadableChannelException.class);
        }
    }

    @SuppressWarnings("try") // closes a resource early on purpose
    @ParameterizedTest
    @EnumSource(Impl.class)
    void locksBelongToThisChannelAndOverlapsAreDetected(Impl impl) throws IOException {
        Path path = fileWithData();
        try (FileChannel ch = impl.open(path, READ, WRITE);
             FileChannel other = FileChannel.open(path, READ, WRITE)) {
            FileLock lock = ch.lock(0, 100, false);
            assertThat(lock.channel()).isSameAs(ch);
            assertThat(lock.acquiredBy()).isSameAs(ch);
            assertThat(lock.isShared()).isFalse();
            assertThat(lock.position()).isZero();
            assertThat(lock.size()).isEqualTo(100);
            assertThatThrownBy(() -> ch.tryLock(50, 10, false)).isInstanceOf(OverlappingFileLockException.class);
            assertThatThrownBy(() -> other.lock(0, 10, true)).isInstanceOf(OverlappingFileLockException.class);
            FileLock second = ch.tryLock(100, 0, true);
            assertThat(second).isNotNull();
            assertThat(second.size()).isEqualTo(Long.MAX_VALUE - 100);
            lock.release();
            assertThat(lock.isValid()).isFalse();
            lock.release(); // releasing twice is allowed
            assertThat(second.isValid()).isTrue();
            assertThatThrownBy(() -> ch.lock(-1, 10, false)).isInstanceOf(IllegalArgumentException.class);
            ch.close();
            assertThat(second.isValid()).isFalse();
            assertThatThrownBy(second::release).isInstanceOf(ClosedChannelException.class);
            try (FileLock again = other.tryLock()) {
                assertThat(again).isNotNull();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void lockModesFollowTheAccessMode(Impl impl) throws IOException {
        Path path = fileWithData();
        try (FileChannel readOnly = impl.open(path, READ); FileChannel writeOnly = impl.open(path, WRITE)) {
            assertThatThrownBy(readOnly::lock).isInstanceOf(NonWritableChannelException.class);
            assertThatThrownBy(readOnly::tryLock).isInstanceOf(NonWritableChannelException.class);
            assertThatThrownBy(() -> writeOnly.lock(0, 1, true)).isInstanceOf(NonReadableChannelException.class);
            assertThatThrownBy(() -> readOnly.lock(-1, 1, false)).isInstanceOf(NonWritableChannelException.class);
            try (FileLock shared = readOnly.lock(0, 10, true)) {
                assertThat(shared.isShared()).isTrue();
            }
            try (FileLock exclusive = writeOnly.tryLock(20, 10, false)) {
                assertThat(exclusive).isNotNull();
            }
        }
    }

    // ---- misuse and closed channels ------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Impl.class)
    void accessModeAndArgumentMisuse(Impl impl) throws IOException {
        Path path = fileWithData();
        try (FileChannel readOnly = impl.open(path, READ); FileChannel writeOnly = impl.open(path, WRITE)) {
            ByteBuffer buf = ByteBuffer.allocate(4);
            assertThatThrownBy(() -> readOnly.write(buf)).isInstanceOf(NonWritableChannelException.class);
            assertThatThrownBy(() -> readOnly.write(buf, 0)).isInstanceOf(NonWritableChannelException.class);
            assertThatThrownBy(() -> readOnly.write(new ByteBuffer[] {buf})).isInstanceOf(NonWritableChannelException.class);
            assertThatThrownBy(() -> writeOnly.read(buf)).isInstanceOf(NonReadableChannelException.class);
            assertThatThrownBy(() -> writeOnly.read(buf, 0)).isInstanceOf(NonReadableChannelException.class);
            assertThatThrownBy(() -> writeOnly.read(new ByteBuffer[] {buf})).isInstanceOf(NonReadableChannelException.class);
            assertThatThrownBy(() -> readOnly.read(buf, -1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> writeOnly.write(buf, -1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> readOnly.position(-1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> readOnly.read((ByteBuffer) null)).isInstanceOf(NullPointerException.class);
            assertThatThrownBy(() -> readOnly.read(null, 0)).isInstanceOf(NullPointerException.class);
            assertThatThrownBy(() -> writeOnly.write((ByteBuffer) null)).isInstanceOf(NullPointerException.class);
            assertThatThrownBy(() -> writeOnly.write(null, 0)).isInstanceOf(NullPointerException.class);
            assertThat(buf.position()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void everyOperationOfAClosedChannelThrowsClosedChannelException(Impl impl) throws IOException {
        Path path = fileWithData();
        FileChannel ch = impl.open(path, READ, WRITE);
        ch.close();
        ch.close(); // idempotent
        assertThat(ch.isOpen()).isFalse();
        ByteBuffer buf = ByteBuffer.allocate(4);
        List<ThrowingCall> calls = List.of(() -> ch.read(buf), () -> ch.read(buf, 0), () -> ch.read(new ByteBuffer[] {buf}),
                () -> ch.write(buf), () -> ch.write(buf, 0), () -> ch.write(new ByteBuffer[] {buf}), ch::position,
                () -> ch.position(1), ch::size, () -> ch.truncate(1), () -> ch.force(true),
                () -> ch.transferTo(0, 1, Channels.newChannel(new ByteArrayOutputStream())),
                () -> ch.transferFrom(Channels.newChannel(new ByteArrayInputStream(new byte[1])), 0, 1),
                () -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 1), ch::lock, ch::tryLock,
                () -> ch.read((ByteBuffer) null), () -> ch.write((ByteBuffer) null));
        for (ThrowingCall call : calls) {
            assertThatThrownBy(call::run).isInstanceOf(ClosedChannelException.class);
        }
        assertThatThrownBy(() -> ch.read(null, 0)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> ch.read(null, -1)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> ch.read(buf, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @FunctionalInterface
    interface ThrowingCall {
        void run() throws Exception;
    }

    // ---- asynchronous close and interrupts -----------------------------------------------------

    /** A read that blocks until someone writes: on a FIFO opened for reading and writing. */
    private FileChannel blockedReader(Impl impl) throws Exception {
        return impl.open(Fifo.create(dir.resolve("fifo")), READ, WRITE);
    }

    @SuppressWarnings("try") // closes a resource early on purpose
    @ParameterizedTest
    @EnumSource(Impl.class)
    void closingFromAnotherThreadWakesABlockedReadWithAsynchronousCloseException(Impl impl) throws Exception {
        try (FileChannel ch = blockedReader(impl)) {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicBoolean reading = new AtomicBoolean();
            Thread reader = Thread.ofPlatform().start(() -> {
                try {
                    reading.set(true);
                    ch.read(ByteBuffer.allocate(16));
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            TestSupport.awaitCondition("the reader to block", () -> reading.get() && blockedInNative(reader));
            ch.close();
            TestSupport.joinAll(List.of(reader));
            assertThat(thrown.get()).isExactlyInstanceOf(AsynchronousCloseException.class);
            assertThat(ch.isOpen()).isFalse();
        }
    }

    /** A platform thread blocked in read(2) shows as RUNNABLE: see that its stack is in the read. */
    private static boolean blockedInNative(Thread t) {
        return Arrays.stream(t.getStackTrace()).anyMatch(e -> e.isNativeMethod()
                || e.getMethodName().equals("park") || e.getMethodName().equals("parkNanos"));
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void interruptingABlockedReadClosesTheChannelAndThrowsClosedByInterrupt(Impl impl) throws Exception {
        try (FileChannel ch = blockedReader(impl)) {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicBoolean stillInterrupted = new AtomicBoolean();
            Thread reader = Thread.ofPlatform().start(() -> {
                try {
                    ch.read(ByteBuffer.allocate(16));
                } catch (Throwable t) {
                    thrown.set(t);
                    stillInterrupted.set(Thread.currentThread().isInterrupted());
                }
            });
            TestSupport.awaitCondition("the reader to block", () -> blockedInNative(reader));
            reader.interrupt();
            TestSupport.joinAll(List.of(reader));
            assertThat(thrown.get()).isExactlyInstanceOf(ClosedByInterruptException.class);
            assertThat(stillInterrupted.get()).isTrue();
            assertThat(ch.isOpen()).isFalse();
        }
    }

    /**
     * The interrupt wakes a reader parked on io_uring before {@link Thread#interrupt()} reaches
     * the channel's interruptor; a reader that left first used to unregister it, so the
     * interrupter closed nothing and the channel stayed open (about 1 in 50 tries). Many tries,
     * each must end with the channel closed. Virtual readers too for AuraFileChannel; the JDK's
     * FileChannel pins a virtual thread in read(2) of a FIFO and its close then waits for the
     * read forever (the interrupter hangs), so its oracle, and AuraFileChannel in JDK mode, run
     * on platform threads only.
     */
    @ParameterizedTest
    @EnumSource(Impl.class)
    void everyInterruptOfABlockedReadLeavesTheChannelClosed(Impl impl) throws Exception {
        for (int i = 0; i < 200; i++) {
            try (FileChannel ch = impl.open(Fifo.create(dir.resolve("fifo" + i)), READ, WRITE)) {
                AtomicReference<Throwable> thrown = new AtomicReference<>();
                Runnable read = () -> {
                    try {
                        ch.read(ByteBuffer.allocate(16));
                    } catch (Throwable t) {
                        thrown.set(t);
                    }
                };
                boolean virtual = i % 2 == 1 && impl == Impl.AURA && AuraIO.backend() == Backend.IO_URING;
                Thread reader = (virtual ? Thread.ofVirtual() : Thread.ofPlatform()).start(read);
                TestSupport.awaitCondition("the reader to block", () -> blockedInNative(reader));
                reader.interrupt();
                TestSupport.joinAll(List.of(reader));
                assertThat(thrown.get()).as("try %d", i).isExactlyInstanceOf(ClosedByInterruptException.class);
                assertThat(ch.isOpen()).as("channel open after try %d", i).isFalse();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void anInterruptedThreadClosesTheChannelInsteadOfDoingIo(Impl impl) throws Exception {
        Path path = dir.resolve("i");
        try (FileChannel ch = impl.open(path, CREATE, READ, WRITE)) {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicBoolean stillInterrupted = new AtomicBoolean();
            Thread t = Thread.ofVirtual().unstarted(() -> {
                Thread.currentThread().interrupt();
                try {
                    ch.write(ByteBuffer.wrap(new byte[] {1}));
                } catch (Throwable e) {
                    thrown.set(e);
                    stillInterrupted.set(Thread.currentThread().isInterrupted());
                }
            });
            t.start();
            TestSupport.joinAll(List.of(t));
            assertThat(thrown.get()).isExactlyInstanceOf(ClosedByInterruptException.class);
            assertThat(stillInterrupted.get()).isTrue();
            assertThat(ch.isOpen()).isFalse();
            assertThat(Files.size(path)).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void anInterruptedThreadCallingPositionOrSizeClosesTheChannel(Impl impl) throws Exception {
        try (FileChannel a = impl.open(fileWithData(), READ); FileChannel b = impl.open(dir.resolve("data"), READ)) {
            Thread.currentThread().interrupt();
            try {
                assertThatThrownBy(a::position).isExactlyInstanceOf(ClosedByInterruptException.class);
                assertThatThrownBy(b::size).isExactlyInstanceOf(ClosedByInterruptException.class);
                assertThat(Thread.currentThread().isInterrupted()).isTrue();
            } finally {
                Thread.interrupted();
            }
            assertThat(a.isOpen()).isFalse();
            assertThat(b.isOpen()).isFalse();
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void anInterruptedThreadTakingALockClosesTheChannel(Impl impl) throws Exception {
        try (FileChannel ch = impl.open(fileWithData(), READ, WRITE)) {
            Thread.currentThread().interrupt();
            try {
                assertThatThrownBy(ch::lock).isExactlyInstanceOf(java.nio.channels.FileLockInterruptionException.class);
                assertThat(Thread.currentThread().isInterrupted()).isTrue();
            } finally {
                Thread.interrupted();
            }
            assertThat(ch.isOpen()).isFalse();
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void anInterruptedThreadTruncatingClosesTheChannel(Impl impl) throws Exception {
        try (FileChannel ch = impl.open(fileWithData(), READ, WRITE)) {
            Thread.currentThread().interrupt();
            try {
                assertThatThrownBy(() -> ch.truncate(5)).isExactlyInstanceOf(ClosedByInterruptException.class);
            } finally {
                Thread.interrupted();
            }
            assertThat(ch.isOpen()).isFalse();
        }
        assertThat(Files.size(dir.resolve("data"))).isEqualTo(10_000);
    }

    // ---- O_DIRECT ----------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Impl.class)
    void directIoWithAlignedBuffersAndPositions(Impl impl) throws IOException {
        Path path = fileWithData();
        try (FileChannel ch = impl.open(path, READ, WRITE, Direct.DIRECT); Arena arena = Arena.ofConfined()) {
            ByteBuffer buf = Direct.aligned(arena, Direct.ALIGN).asByteBuffer();
            assertThat(ch.read(buf)).isEqualTo(Direct.ALIGN);
            assertThat(contents(buf)).isEqualTo(bytes(0, Direct.ALIGN));
            assertThat(ch.position()).isEqualTo(Direct.ALIGN);
            buf.clear();
            assertThat(ch.read(buf, 2L * Direct.ALIGN)).isEqualTo(10_000 - 2 * Direct.ALIGN);
            buf.clear();
            assertThat(ch.write(buf, 3L * Direct.ALIGN)).isEqualTo(Direct.ALIGN);
            assertThat(ch.size()).isEqualTo(4L * Direct.ALIGN);
            ByteBuffer misaligned = Direct.aligned(arena, 2L * Direct.ALIGN).asByteBuffer().position(1).limit(1 + Direct.ALIGN);
            assertThatThrownBy(() -> ch.read(misaligned, 0)).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> ch.read(Direct.aligned(arena, Direct.ALIGN).asByteBuffer(), 1))
                    .isInstanceOf(IOException.class);
        }
    }

    // ---- FIFOs and devices: files with no position of their own --------------------------------

    /**
     * Opens {@code fifo} with {@code options} on a new virtual thread, which keeps what the open
     * gave (the channel or the exception) and whether its interrupt status was set after it.
     */
    private static final class FifoOpener {
        final AtomicReference<Object> outcome = new AtomicReference<>();
        final AtomicBoolean interruptedAfter = new AtomicBoolean();
        final Thread thread;

        FifoOpener(Impl impl, Path fifo, OpenOption... options) {
            thread = Thread.ofVirtual().start(() -> {
                try {
                    outcome.set(impl.open(fifo, options));
                } catch (Throwable t) {
                    outcome.set(t);
                }
                interruptedAfter.set(Thread.currentThread().isInterrupted());
            });
        }

        /** Asserts that the open still waits, parked (not holding its carrier) where {@code impl} is ours. */
        void assertStillWaiting(Impl impl) throws InterruptedException {
            thread.join(200);
            assertThat(thread.isAlive()).as("%s: the open returned %s instead of waiting", impl, outcome.get())
                    .isTrue();
            if (impl == Impl.AURA && AuraIO.backend() == Backend.IO_URING) {
                TestSupport.awaitCondition("the opening virtual thread to park",
                        () -> thread.getState() == Thread.State.WAITING);
            }
        }

        FileChannel channel() throws InterruptedException {
            TestSupport.joinAll(List.of(thread));
            assertThat(outcome.get()).isInstanceOf(FileChannel.class);
            return (FileChannel) outcome.get();
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void openingAFifoForWritingWaitsForAReader(Impl impl) throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        FifoOpener writer = new FifoOpener(impl, fifo, WRITE);
        writer.assertStillWaiting(impl);
        try (FileChannel reader = FileChannel.open(fifo, READ); FileChannel w = writer.channel()) {
            assertThat(w.write(ByteBuffer.wrap(new byte[] {1, 2, 3}))).isEqualTo(3);
            ByteBuffer got = ByteBuffer.allocate(3);
            assertThat(reader.read(got)).isEqualTo(3);
            assertThat(contents(got)).containsExactly(1, 2, 3);
        }
    }

    @SuppressWarnings("try") // closes the writer early on purpose: its reader then sees the end
    @ParameterizedTest
    @EnumSource(Impl.class)
    void openingAFifoForReadingWaitsForAWriter(Impl impl) throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        FifoOpener reader = new FifoOpener(impl, fifo, READ);
        reader.assertStillWaiting(impl);
        try (FileChannel writer = FileChannel.open(fifo, WRITE); FileChannel r = reader.channel()) {
            writer.write(ByteBuffer.wrap(new byte[] {4, 5}));
            writer.close();
            ByteBuffer got = ByteBuffer.allocate(8);
            assertThat(r.read(got)).isEqualTo(2);
            assertThat(r.read(got)).isEqualTo(-1); // the writer is gone: end of stream
        }
    }

    @SuppressWarnings("try") // the reader only has to be open
    @ParameterizedTest
    @EnumSource(Impl.class)
    void anInterruptDoesNotEndAFifoOpenAndItsStatusIsKept(Impl impl) throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        FifoOpener writer = new FifoOpener(impl, fifo, WRITE);
        writer.assertStillWaiting(impl);
        writer.thread.interrupt();
        writer.assertStillWaiting(impl); // the JDK's open(2) is not interruptible
        try (FileChannel reader = FileChannel.open(fifo, READ); FileChannel w = writer.channel()) {
            assertThat(w.isOpen()).isTrue();
            assertThat(writer.interruptedAfter).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void positionalTransfersOnAFifoFailWithIllegalSeekAndConsumeNothing(Impl impl) throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        // O_RDWR opens without waiting and keeps both ends open for the channel under test.
        try (FileChannel other = FileChannel.open(fifo, READ, WRITE);
             FileChannel reader = impl.open(fifo, READ);
             FileChannel writer = impl.open(fifo, WRITE)) {
            other.write(ByteBuffer.wrap("hello world".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
            for (FileChannel ch : List.of(reader, writer)) {
                assertThatThrownBy(ch::position).isInstanceOf(IOException.class).hasMessageContaining("Illegal seek");
                assertThatThrownBy(() -> ch.position(3)).isInstanceOf(IOException.class)
                        .hasMessageContaining("Illegal seek");
                assertThat(ch.size()).isZero();
            }
            assertThatThrownBy(() -> reader.read(ByteBuffer.allocate(4), 1000)).isInstanceOf(IOException.class)
                    .hasMessageContaining("Illegal seek");
            assertThatThrownBy(() -> reader.read(ByteBuffer.allocate(4), 0)).isInstanceOf(IOException.class)
                    .hasMessageContaining("Illegal seek");
            assertThat(reader.read(ByteBuffer.allocate(0), 0)).isZero(); // nothing to move: no pread
            assertThatThrownBy(() -> writer.write(ByteBuffer.wrap(new byte[] {1}), 0)).isInstanceOf(IOException.class)
                    .hasMessageContaining("Illegal seek");
            assertThatThrownBy(() -> reader.transferTo(0, 4, Channels.newChannel(new ByteArrayOutputStream())))
                    .isInstanceOf(IOException.class).hasMessageContaining("Illegal seek");
            assertThatThrownBy(() -> writer.transferFrom(Channels.newChannel(new ByteArrayInputStream(new byte[4])), 0, 4))
                    .isInstanceOf(IOException.class).hasMessageContaining("Illegal seek");
            assertThat(reader.isOpen()).isTrue();
            assertThat(writer.isOpen()).isTrue();
            // The refused reads consumed nothing: relative reads, plain and scattering, see it all.
            ByteBuffer hell = ByteBuffer.allocate(4);
            assertThat(reader.read(hell)).isEqualTo(4);
            assertThat(new String(contents(hell), java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("hell");
            ByteBuffer[] rest = {ByteBuffer.allocate(3), ByteBuffer.allocate(10)};
            assertThat(reader.read(rest)).isEqualTo(7);
            assertThat(new String(contents(rest[0]), java.nio.charset.StandardCharsets.US_ASCII)
                    + new String(contents(rest[1]), java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("o world");
            assertThat(writer.write(ByteBuffer.wrap(new byte[] {7}))).isEqualTo(1);
            assertThat(writer.write(new ByteBuffer[] {ByteBuffer.wrap(new byte[] {8}), ByteBuffer.wrap(new byte[] {9})}))
                    .isEqualTo(2);
            ByteBuffer written = ByteBuffer.allocate(3);
            assertThat(reader.read(written)).isEqualTo(3);
            assertThat(contents(written)).containsExactly(7, 8, 9);
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void devicesKeepTheirOwnPositionWhichReadsDoNotMove(Impl impl) throws IOException {
        for (String device : List.of("/dev/zero", "/dev/urandom", "/dev/full", "/dev/null")) {
            Path path = Path.of(device);
            assumeTrue(Files.isReadable(path) && Files.isWritable(path), device + " not accessible");
            try (FileChannel ch = impl.open(path, READ, WRITE)) {
                int expected = device.equals("/dev/null") ? -1 : 100;
                assertThat(ch.read(ByteBuffer.allocate(100))).as(device).isEqualTo(expected);
                assertThat(ch.position()).as(device).isZero();
                assertThat(ch.read(new ByteBuffer[] {ByteBuffer.allocate(10), ByteBuffer.allocate(10)}))
                        .as(device).isEqualTo(device.equals("/dev/null") ? -1 : 20);
                assertThat(ch.position()).as(device).isZero();
                assertThat(ch.read(ByteBuffer.allocate(10), 1000)).as(device).isEqualTo(expected == -1 ? -1 : 10);
                assertThat(ch.position(5000).position()).as(device).isZero();
                assertThat(ch.size()).as(device).isZero();
                if (device.equals("/dev/full")) {
                    assertThatThrownBy(() -> ch.write(ByteBuffer.allocate(10))).isInstanceOf(IOException.class)
                            .hasMessageContaining("No space left on device");
                } else {
                    assertThat(ch.write(ByteBuffer.allocate(10))).as(device).isEqualTo(10);
                }
                assertThat(ch.position()).as(device).isZero();
            }
        }
    }

    // ---- the file system's limits ------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Impl.class)
    void aPositionPastTheFileSystemsLargestFileIsRefusedAsByLseek(Impl impl) throws IOException {
        Path path = fileWithData();
        String type = Files.getFileStore(path).type();
        assumeTrue(type.equals("ext4"), () -> "needs ext4's 16 TiB limit, the test directory is on " + type);
        try (FileChannel ch = impl.open(path, READ, WRITE)) {
            ch.position(17);
            assertThat(ch.position(1L << 43).position()).isEqualTo(1L << 43);
            assertThatThrownBy(() -> ch.position(1L << 50)).isInstanceOf(IOException.class)
                    .hasMessageContaining("Invalid argument");
            assertThatThrownBy(() -> ch.position(Long.MAX_VALUE)).isInstanceOf(IOException.class)
                    .hasMessageContaining("Invalid argument");
            assertThat(ch.position()).isEqualTo(1L << 43); // unchanged by the refused ones
            assertThat(ch.read(ByteBuffer.allocate(10), 1L << 50)).isEqualTo(-1);
            assertThatThrownBy(() -> ch.write(ByteBuffer.allocate(10), 1L << 50)).isInstanceOf(IOException.class)
                    .hasMessageContaining("File too large");
            assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(10), Long.MAX_VALUE)).isInstanceOf(IOException.class)
                    .hasMessageContaining("Invalid argument");
            assertThat(ch.isOpen()).isTrue();
            assertThat(ch.size()).isEqualTo(DATA.length);
        }
    }

    // ---- O_DIRECT: what the JDK checks, and where it stops ---------------------------------------

    /** The test directory, and tmpfs where there is one: they report O_DIRECT alignment differently. */
    private List<Path> directDirectories() throws IOException {
        List<Path> dirs = new java.util.ArrayList<>(List.of(dir.path()));
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm) && Files.getFileStore(shm).type().equals("tmpfs")) {
            dirs.add(Files.createTempDirectory(shm, "auraio-contract"));
        }
        return dirs;
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void directTransfersStopAtTheFirstChunkThatIsNotAligned(Impl impl) throws IOException {
        for (Path d : directDirectories()) {
            Path path = Files.write(d.resolve("direct-" + impl), DATA); // 10,000 bytes
            try {
                try (FileChannel ch = impl.open(path, READ, WRITE, Direct.DIRECT)) {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    assertThat(ch.transferTo(0, 100_000, Channels.newChannel(out))).as("%s", d).isEqualTo(8192);
                    assertThat(out.toByteArray()).isEqualTo(bytes(0, 8192));
                    assertThat(ch.transferFrom(Channels.newChannel(new ByteArrayInputStream(new byte[10_000])), 0, 100_000))
                            .as("%s", d).isEqualTo(8192);
                    assertThat(ch.transferFrom(Channels.newChannel(new ByteArrayInputStream(new byte[20_000])), 0, 100_000))
                            .as("%s", d).isEqualTo(16_384);
                    assertThatThrownBy(() -> ch.transferTo(100, 8192, Channels.newChannel(new ByteArrayOutputStream())))
                            .isInstanceOf(IOException.class);
                }
            } finally {
                Files.delete(path);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void emptyDirectTransfersAtAMisalignedPositionAreRefused(Impl impl) throws IOException {
        try (FileChannel ch = impl.open(fileWithData(), READ, WRITE, Direct.DIRECT)) {
            assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(0), 100)).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> ch.write(ByteBuffer.allocate(0), 100)).isInstanceOf(IOException.class);
            assertThat(ch.read(ByteBuffer.allocate(0), Direct.ALIGN)).isZero();
            assertThat(ch.write(ByteBuffer.allocate(0), Direct.ALIGN)).isZero();
            ch.position(100);
            assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(0))).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> ch.write(ByteBuffer.allocate(0))).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(0)})).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> ch.write(new ByteBuffer[] {ByteBuffer.allocate(0)})).isInstanceOf(IOException.class);
            ch.position(0);
            assertThat(ch.read(new ByteBuffer[] {ByteBuffer.allocate(0)})).isZero();
            assertThat(ch.isOpen()).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void scatteringDirectReadsTakeTheBuffersTheKernelTakes(Impl impl) throws IOException {
        for (Path d : directDirectories()) {
            Path path = Files.write(d.resolve("scatter-" + impl), DATA);
            try (FileChannel ch = impl.open(path, READ, WRITE, Direct.DIRECT); Arena arena = Arena.ofConfined()) {
                // 512-aligned, not page-aligned: ext4 (512-byte DIO memory alignment) and tmpfs take it.
                ByteBuffer b512 = arena.allocate(3L * Direct.ALIGN, Direct.ALIGN).asSlice(512, 2L * Direct.ALIGN)
                        .asByteBuffer();
                assertThat(ch.read(new ByteBuffer[] {b512})).as("%s", d).isEqualTo(2L * Direct.ALIGN);
                assertThat(contents(b512)).isEqualTo(bytes(0, 2 * Direct.ALIGN));
                ch.position(0);
                assertThat(ch.write(new ByteBuffer[] {b512.flip()})).as("%s", d).isEqualTo(2L * Direct.ALIGN);
                ch.position(0);
                // A buffer length that is not a multiple of the alignment: refused before the kernel.
                assertThatThrownBy(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(100)}))
                        .isInstanceOf(IOException.class);
            } finally {
                Files.delete(path);
            }
        }
    }

    // ---- the AuraFileChannel entry points -----------------------------------------------------

    @Test
    void openOnTheDefaultEngineGoesThroughTheRing() throws IOException {
        Path path = fileWithData();
        if (engine == null) { // JDK mode (FallbackTest runs this class so): the JDK's FileChannel serves it
            try (AuraFileChannel ch = AuraFileChannel.open(path, READ)) {
                assertThat(ch.backend()).isEqualTo(Backend.JDK);
                assertThatThrownBy(ch::engine).isInstanceOf(UnsupportedOperationException.class);
                ByteBuffer buf = ByteBuffer.allocate(10_000);
                assertThat(ch.read(buf)).isEqualTo(10_000);
                assertThat(contents(buf)).isEqualTo(DATA);
            }
            return;
        }
        long before = AuraIO.defaultEngine().stats().opsCompleted();
        try (AuraFileChannel ch = AuraFileChannel.open(path, READ)) {
            assertThat(ch.engine()).isSameAs(AuraIO.defaultEngine());
            ByteBuffer buf = ByteBuffer.allocate(10_000);
            assertThat(ch.read(buf)).isEqualTo(10_000);
            assertThat(contents(buf)).isEqualTo(DATA);
        }
        assertThat(AuraIO.defaultEngine().stats().opsCompleted()).isGreaterThan(before);
    }

    @Test
    void pathsOfOtherFileSystemsAreRefused() throws IOException {
        Path zip = dir.resolve("z.zip");
        try (var fs = java.nio.file.FileSystems.newFileSystem(zip, java.util.Map.of("create", "true"))) {
            assertThatThrownBy(() -> aura(fs.getPath("/a"), READ))
                    .isInstanceOf(java.nio.file.ProviderMismatchException.class);
        }
    }
}
