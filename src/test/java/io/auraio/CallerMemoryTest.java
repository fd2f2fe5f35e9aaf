package io.auraio;

import static io.auraio.testing.TestSupport.awaitCondition;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Caller memory whose arena another thread closes, or which belongs to another thread, side by
 * side with the JDK's FileChannel: the kernel must never write into memory that was freed, and a
 * confined arena's memory is refused to other threads.
 */
@ExtendWith(IoUringAvailable.class)
@org.junit.jupiter.api.Timeout(120)
class CallerMemoryTest {
    /** Big enough that malloc maps it on its own and hands the same address to the next one. */
    private static final int BIG = 64 << 20;
    private static final byte MARK = 0x5a;

    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(1).build());

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    // ---- a shared arena closed while a read waits ---------------------------------------------

    @Test
    void theJdksFileChannelRefusesToCloseASharedArenaWhileItsReadWaits() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        try (FileChannel ch = FileChannel.open(fifo, READ, WRITE)) {
            Arena arena = Arena.ofShared();
            ByteBuffer dst = arena.allocate(BIG).asByteBuffer();
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread reader = Thread.ofPlatform().start(() -> outcome.set(outcomeOf(() -> ch.read(dst))));
            awaitCondition("the read to wait", () -> reader.getState() == Thread.State.RUNNABLE && readerInNative(reader));
            // The read holds the arena's session: close fails until it returns (retried, as the
            // read may not have acquired it at the first try).
            awaitCondition("close to be refused", () -> {
                try {
                    arena.close();
                    throw new AssertionError("FileChannel let the arena close under its read");
                } catch (IllegalStateException acquired) {
                    return acquired.getMessage().contains("acquired");
                }
            });
            feed(fifo);
            reader.join(TestSupport.HANG.toMillis());
            assertThat(outcome.get()).isEqualTo(16);
            arena.close();
        }
    }

    @Test
    void anAuraFileChannelReadNeverWritesIntoASharedArenaClosedWhileItWaits() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        try (AuraFileChannel ch = AuraFileChannel.open(shared.engine(), fifo, READ, WRITE)) {
            assertReadIntoClosedArenaWritesNothing(dst -> ch.read(dst.asByteBuffer()), () -> feed(fifo));
        }
    }

    @Test
    void anAuraFileReadNeverWritesIntoASharedArenaClosedWhileItWaits() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        try (AuraFile file = AuraFile.open(shared.engine(), fifo, READ, WRITE)) {
            assertReadIntoClosedArenaWritesNothing(dst -> file.read(dst, 0), () -> feed(fifo));
        }
    }

    @Test
    void aFutureReadNeverWritesIntoASharedArenaClosedWhileItWaits() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        try (AuraFile file = AuraFile.open(shared.engine(), fifo, READ, WRITE)) {
            Arena arena = Arena.ofShared();
            MemorySegment dst = arena.allocate(BIG);
            CompletableFuture<Long> read = shared.engine().readAsync(file.fd(), BufferRef.of(dst), BIG, 0);
            awaitCondition("the read to wait in the kernel", () -> shared.engine().pendingCount() == 1);
            MemorySegment reused = closeAndReallocate(arena, dst);
            feed(fifo);
            assertThatThrownBy(() -> read.get(TestSupport.HANG.toMillis(), TimeUnit.MILLISECONDS))
                    .hasCauseInstanceOf(AuraIOException.class)
                    .satisfies(e -> assertThat(((AuraIOException) e.getCause()).errno()).isEqualTo(14)); // EFAULT
            assertUntouched(reused);
        }
    }

    /**
     * A mapped file truncated under the mapping: the kernel's read into it would fail with EFAULT,
     * and the copy out of the pool buffer (on the poller) faults (SIGBUS, which the JVM reports as
     * InternalError). That is the request's EFAULT, not a failure that stops the ring.
     */
    @Test
    void aFutureReadIntoAMappingTruncatedMeanwhileFailsWithEfaultAndTheRingGoesOn() throws Exception {
        Path source = Files.write(dir.resolve("source"), new byte[8192]);
        Path mapped = Files.write(dir.resolve("mapped"), new byte[8192]);
        try (Arena arena = Arena.ofShared();
             java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(mapped, READ, WRITE);
             AuraFile file = AuraFile.open(shared.engine(), source, READ)) {
            MemorySegment dst = ch.map(java.nio.channels.FileChannel.MapMode.READ_WRITE, 0, 8192, arena);
            ch.truncate(0); // the mapping's pages are gone: touching them raises SIGBUS
            CompletableFuture<Long> read = shared.engine().readAsync(file.fd(), BufferRef.of(dst), 8192, 0);
            assertThatThrownBy(() -> read.get(TestSupport.HANG.toMillis(), TimeUnit.MILLISECONDS))
                    .hasCauseInstanceOf(AuraIOException.class)
                    .satisfies(e -> assertThat(((AuraIOException) e.getCause()).errno()).isEqualTo(14)); // EFAULT
            assertThat(shared.engine().fatalError()).isNull();
            try (Arena own = Arena.ofShared()) {
                MemorySegment ok = own.allocate(8192);
                assertThat(shared.engine().readAsync(file.fd(), BufferRef.of(ok), 8192, 0)
                        .get(TestSupport.HANG.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo(8192);
            }
        }
    }

    /**
     * The write's side: copying a truncated mapping into the pool buffer faults at submission.
     * The caller gets EFAULT, as FileChannel's write of such memory gets the kernel's "Bad
     * address", and the pool buffer goes back.
     */
    @Test
    void aFutureWriteFromAMappingTruncatedBeforeFailsWithEfaultAndLeaksNothing() throws Exception {
        Path target = Files.write(dir.resolve("target"), new byte[0]);
        Path mapped = Files.write(dir.resolve("mapped"), new byte[8192]);
        try (Arena arena = Arena.ofShared();
             java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(mapped, READ, WRITE);
             AuraFile file = AuraFile.open(shared.engine(), target, WRITE)) {
            MemorySegment src = ch.map(java.nio.channels.FileChannel.MapMode.READ_WRITE, 0, 8192, arena);
            ch.truncate(0);
            long before = shared.engine().core().pool().outstandingBuffers();
            assertThatThrownBy(() -> shared.engine().writeAsync(file.fd(), BufferRef.of(src), 8192, 0))
                    .isInstanceOf(AuraIOException.class)
                    .satisfies(e -> assertThat(((AuraIOException) e).errno()).isEqualTo(14)); // EFAULT
            assertThatThrownBy(() -> shared.engine().writevAsync(file.fd(), new MemorySegment[] {src}, 0))
                    .isInstanceOf(AuraIOException.class)
                    .satisfies(e -> assertThat(((AuraIOException) e).errno()).isEqualTo(14));
            assertThat(shared.engine().core().pool().outstandingBuffers()).as("pool buffers not returned").isEqualTo(before);
            assertThat(Files.size(target)).isZero();
        }
    }

    @Test
    void aCallbackReadNeverWritesIntoASharedArenaClosedWhileItWaits() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        try (AuraFile file = AuraFile.open(shared.engine(), fifo, READ, WRITE)) {
            Arena arena = Arena.ofShared();
            MemorySegment dst = arena.allocate(BIG);
            AtomicLong result = new AtomicLong(Long.MIN_VALUE);
            shared.engine().read(file.fd(), BufferRef.of(dst), BIG, 0, (request, r) -> result.set(r));
            awaitCondition("the read to wait in the kernel", () -> shared.engine().pendingCount() == 1);
            MemorySegment reused = closeAndReallocate(arena, dst);
            feed(fifo);
            shared.engine().drain(TestSupport.HANG.toMillis());
            assertThat(result.get()).isEqualTo(-14); // -EFAULT: the bytes had nowhere to go
            assertUntouched(reused);
        }
    }

    @Test
    void aCallbackReadOfSharedArenaMemoryHasItsBytesInPlaceOnceItIsNoLongerPending() throws Exception {
        Path path = dir.resolve("r");
        byte[] content = TestSupport.randomBytes(3 * 4096, 11);
        Files.write(path, content);
        try (Arena arena = Arena.ofShared(); AuraFile file = AuraFile.open(shared.engine(), path, READ)) {
            MemorySegment dst = arena.allocate(content.length);
            AtomicLong result = new AtomicLong(Long.MIN_VALUE);
            Request request = shared.engine().read(file.fd(), BufferRef.of(dst), content.length, 0, (r, n) -> result.set(n));
            // No poll yet: the callback has not run, but the request is done, so the bytes must be
            // where the caller asked for them (the kernel read into a copy of the caller's memory).
            awaitCondition("the read to complete", () -> !request.isPending());
            assertThat(dst.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(content);
            shared.engine().drain(TestSupport.HANG.toMillis());
            assertThat(result.get()).isEqualTo(content.length);
        }
    }

    @Test
    void writesOfSharedArenaMemoryThroughEveryFormStillWriteTheBytes() throws Exception {
        Path path = dir.resolve("w");
        byte[] content = TestSupport.randomBytes(3 * 4096, 7);
        try (Arena arena = Arena.ofShared();
             AuraFile file = AuraFile.open(shared.engine(), path, READ, WRITE, java.nio.file.StandardOpenOption.CREATE)) {
            MemorySegment src = arena.allocate(content.length);
            MemorySegment.copy(content, 0, src, ValueLayout.JAVA_BYTE, 0, content.length);
            assertThat(shared.engine().writeAsync(file.fd(), BufferRef.of(src.asSlice(0, 4096)), 4096, 0).join()).isEqualTo(4096);
            MemorySegment[] iov = {src.asSlice(4096, 100), src.asSlice(4196, 8092)};
            assertThat(shared.engine().writevAsync(file.fd(), iov, 4096).join()).isEqualTo(8192);
            MemorySegment back = arena.allocate(content.length);
            assertThat(shared.engine().readvAsync(file.fd(), new MemorySegment[] {back.asSlice(0, 5000), back.asSlice(5000)}, 0)
                    .join()).isEqualTo(content.length);
            assertThat(back.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(content);
            MemorySegment again = arena.allocate(content.length);
            assertThat(shared.engine().readAsync(file.fd(), BufferRef.of(again), content.length, 0).join())
                    .isEqualTo(content.length);
            assertThat(again.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(content);
        }
        assertThat(Files.readAllBytes(path)).isEqualTo(content);
    }

    // ---- a confined arena's memory from another thread ----------------------------------------

    @Test
    void aConfinedArenasMemoryFromAnotherThreadIsRefusedAsByFileChannel() throws Exception {
        Path path = Files.write(dir.resolve("f"), new byte[100]);
        try (Arena arena = Arena.ofConfined();
             FileChannel jdk = FileChannel.open(path, READ, WRITE);
             AuraFileChannel ours = AuraFileChannel.open(shared.engine(), path, READ, WRITE);
             AuraFile file = AuraFile.open(shared.engine(), path, READ, WRITE)) {
            MemorySegment segment = arena.allocate(10);
            ByteBuffer buffer = segment.asByteBuffer();
            AtomicReference<Object> jdkRead = new AtomicReference<>();
            AtomicReference<Object> jdkWrite = new AtomicReference<>();
            AtomicReference<Object> oursRead = new AtomicReference<>();
            AtomicReference<Object> oursWrite = new AtomicReference<>();
            AtomicReference<Object> fileRead = new AtomicReference<>();
            AtomicReference<Object> fileWrite = new AtomicReference<>();
            AtomicReference<Object> vectored = new AtomicReference<>();
            Thread other = Thread.ofVirtual().start(() -> {
                jdkRead.set(outcomeOf(() -> jdk.read(buffer, 0)));
                jdkWrite.set(outcomeOf(() -> jdk.write(buffer, 0)));
                oursRead.set(outcomeOf(() -> ours.read(buffer, 0)));
                oursWrite.set(outcomeOf(() -> ours.write(buffer, 0)));
                fileRead.set(outcomeOf(() -> file.read(segment, 0)));
                fileWrite.set(outcomeOf(() -> file.write(segment, 0)));
                vectored.set(outcomeOf(() -> ours.read(new ByteBuffer[] {buffer})));
            });
            other.join(TestSupport.HANG.toMillis());
            assertThat(jdkRead.get()).isInstanceOf(WrongThreadException.class);
            assertThat(jdkWrite.get()).isInstanceOf(WrongThreadException.class);
            assertThat(oursRead.get()).isInstanceOf(WrongThreadException.class);
            assertThat(oursWrite.get()).isInstanceOf(WrongThreadException.class);
            assertThat(fileRead.get()).isInstanceOf(WrongThreadException.class);
            assertThat(fileWrite.get()).isInstanceOf(WrongThreadException.class);
            assertThat(vectored.get()).isInstanceOf(WrongThreadException.class);
            // Its owner may: as FileChannel.
            assertThat(ours.read(buffer, 0)).isEqualTo(10);
            assertThat(file.read(segment, 0)).isEqualTo(10);
        }
    }

    @Test
    void theEnginesCallbackAndFutureFormsRefuseAConfinedArenasMemory() throws Exception {
        Path path = Files.write(dir.resolve("f"), new byte[100]);
        try (Arena arena = Arena.ofConfined(); AuraFile file = AuraFile.open(shared.engine(), path, READ, WRITE)) {
            MemorySegment segment = arena.allocate(10);
            assertThatThrownBy(() -> shared.engine().readAsync(file.fd(), BufferRef.of(segment), 10, 0))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("confined");
            assertThatThrownBy(() -> shared.engine().write(file.fd(), BufferRef.of(segment), 10, 0, null))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("confined");
            assertThatThrownBy(() -> shared.engine().readvAsync(file.fd(), new MemorySegment[] {segment}, 0))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("confined");
            assertThatThrownBy(() -> shared.engine().writev(file.fd(), new MemorySegment[] {segment}, 0, null))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("confined");
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------

    @FunctionalInterface
    private interface Read {
        int into(MemorySegment dst) throws Exception;
    }

    @FunctionalInterface
    private interface Action {
        Object run() throws Exception;
    }

    @FunctionalInterface
    private interface Feed {
        void run() throws Exception;
    }

    /**
     * Starts {@code read} into a big shared-arena segment of an empty FIFO, closes the arena (which
     * public API cannot prevent), maps new memory where it was, feeds the FIFO: the read must not
     * complete normally, and the new memory must not receive the bytes.
     */
    private static void assertReadIntoClosedArenaWritesNothing(Read read, Feed feed) throws Exception {
        Arena arena = Arena.ofShared();
        MemorySegment dst = arena.allocate(BIG);
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread reader = Thread.ofVirtual().start(() -> outcome.set(outcomeOf(() -> read.into(dst))));
        awaitCondition("the read to wait in the kernel", () -> shared.engine().pendingCount() == 1);
        MemorySegment reused = closeAndReallocate(arena, dst);
        feed.run();
        reader.join(TestSupport.HANG.toMillis());
        assertThat(outcome.get()).as("the read's outcome").isInstanceOf(IllegalStateException.class);
        assertUntouched(reused);
    }

    /** Closes {@code arena} and allocates the same size again, usually at the same address. */
    private static MemorySegment closeAndReallocate(Arena arena, MemorySegment freed) {
        long address = freed.address();
        arena.close();
        MemorySegment fresh = Arena.ofAuto().allocate(BIG); // zeroed
        if (fresh.address() != address) {
            System.getLogger(CallerMemoryTest.class.getName()).log(System.Logger.Level.INFO,
                    "the freed memory was not reused at once; the check below is weaker");
        }
        return fresh;
    }

    private static void assertUntouched(MemorySegment reused) throws InterruptedException {
        // A write into freed memory lands while the FIFO's bytes are delivered; give a stray
        // completion time to show before looking (a check of absence, not of timing).
        Thread.sleep(100);
        assertThat(reused.asSlice(0, 4096).toArray(ValueLayout.JAVA_BYTE))
                .as("memory allocated after the arena was closed").containsOnly((byte) 0);
    }

    private static Object outcomeOf(Action action) {
        try {
            return action.run();
        } catch (Throwable t) {
            return t;
        }
    }

    /**
     * Whether {@code t} is in the JDK's native read ({@code FileDispatcherImpl.read0}), which it
     * calls holding the buffer's arena. Not any native method: on a loaded machine the reader was
     * seen in another one (class loading, say) before its read had acquired the arena, and the
     * close then succeeded.
     */
    private static boolean readerInNative(Thread t) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.isNativeMethod() && e.getMethodName().startsWith("read")) {
                return true;
            }
        }
        return false;
    }

    /** Writes 16 marked bytes into the FIFO through a writer of its own (the reader holds its channel's position lock). */
    private static void feed(Path fifo) throws java.io.IOException {
        try (FileChannel writer = FileChannel.open(fifo, WRITE)) {
            writer.write(ByteBuffer.wrap(marks(16)));
        }
    }

    private static byte[] marks(int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, MARK);
        return b;
    }
}
