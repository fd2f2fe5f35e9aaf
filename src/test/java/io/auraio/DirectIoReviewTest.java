package io.auraio;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.spi.AuraFileSystemProvider;
import io.auraio.testing.Commands;
import io.auraio.testing.Descriptors;
import io.auraio.testing.Direct;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.Pipe;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * O_DIRECT ({@code ExtendedOpenOption.DIRECT}) through {@link AuraFile} and {@link AuraFileChannel},
 * with the JDK's {@code FileChannel.open(..., DIRECT)} side by side as the oracle: what each
 * misaligned or odd transfer gives (result, exception type, file contents, channel position), the
 * end of a file whose size is no block multiple, APPEND, the calls that move no data, transfers,
 * page-cache coherence with buffered and mapped readers, truncation under many readers, and that
 * refused calls leave no pool buffer, request or descriptor behind.
 */
@ExtendWith(IoUringAvailable.class)
class DirectIoReviewTest {
    private static final int ALIGN = Direct.ALIGN;
    private static final byte[] DATA = TestSupport.randomBytes(10_000, 25);

    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(1).build());

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** Directories this test made on tmpfs, removed after it. */
    private final List<Path> tmpfsDirectories = new ArrayList<>();

    @AfterEach
    void removeTmpfsDirectories() throws IOException {
        for (Path d : tmpfsDirectories) {
            TestDirectory.deleteRecursively(d);
        }
    }

    /** One call on an open channel, with an arena for its buffers. */
    interface Call {
        Object run(FileChannel ch, Arena arena) throws Exception;
    }

    private FileChannel open(boolean aura, Path path, OpenOption... options) throws IOException {
        var set = new HashSet<>(Arrays.asList(options));
        return aura ? AuraFileChannel.open(shared.engine(), path, set) : FileChannel.open(path, set);
    }

    /**
     * The outcome of {@code call} on a fresh copy of {@code contents} in {@code directory}: the
     * result or the exception's kind (an {@code AuraIOException} is the {@code IOException} the JDK
     * throws), the channel's position after it, whether an aligned read still works, and the file
     * left behind. {@code messages} gets the exception's message, if any.
     */
    private String outcome(boolean aura, Path directory, String name, byte[] contents, Call call,
            List<String> messages, OpenOption... options) throws IOException {
        Path path = Files.write(directory.resolve(name + (aura ? "-aura" : "-jdk")), contents);
        try {
            String result;
            try (FileChannel ch = open(aura, path, options); Arena arena = Arena.ofConfined()) {
                try {
                    result = "ok " + call.run(ch, arena);
                } catch (Exception e) {
                    messages.add(e.getMessage());
                    result = (e instanceof IOException && e.getClass() != EOFException.class ? "IOException"
                            : e.getClass().getSimpleName());
                }
                result += " at " + ch.position();
                if (Arrays.asList(options).contains(READ)) {
                    // The channel still serves: an aligned read after the refusal.
                    result += ", then " + ch.read(Direct.aligned(arena, ALIGN).asByteBuffer(), 0);
                }
            }
            byte[] left = Files.readAllBytes(path);
            return result + "; file " + left.length + " bytes" + (Arrays.equals(left, contents) ? " unchanged"
                    : " " + Arrays.hashCode(left));
        } finally {
            Files.delete(path);
        }
    }

    /** The test directory, and tmpfs where O_DIRECT opens there: each reports its alignment its own way. */
    private List<Path> directDirectories() throws IOException {
        List<Path> dirs = new ArrayList<>(List.of(dir.path()));
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm) && Files.getFileStore(shm).type().equals("tmpfs")) {
            Path probe = Files.createTempFile(shm, "auraio-direct", ".probe");
            try {
                FileChannel.open(probe, READ, Direct.DIRECT).close();
                tmpfsDirectories.add(Files.createTempDirectory(shm, "auraio-direct"));
                dirs.add(tmpfsDirectories.getLast());
            } catch (IOException e) {
                // this kernel's tmpfs refuses O_DIRECT: openOnTmpfsFailsOrWorksAsFileChannel compares that
            } finally {
                Files.delete(probe);
            }
        }
        return dirs;
    }

    /** {@return whether O_DIRECT on {@code directory}'s file system refuses misaligned memory} tmpfs takes any. */
    private static boolean kernelRefusesMisalignedMemory(Path directory) throws IOException {
        return !Files.getFileStore(directory).type().equals("tmpfs");
    }

    // ---- what is refused, and what is left after the refusal ----------------------------------------

    /** Misuses both FileChannel and the kernel refuse on every file system (a 1-byte or 100-byte misalignment). */
    private static Map<String, Call> misuses() {
        Map<String, Call> m = new LinkedHashMap<>();
        m.put("read at position 100", (ch, a) -> ch.read(Direct.aligned(a, ALIGN).asByteBuffer(), 100));
        m.put("write at position 100", (ch, a) -> ch.write(Direct.aligned(a, ALIGN).asByteBuffer(), 100));
        m.put("read of 100 bytes", (ch, a) -> ch.read(Direct.aligned(a, 100).asByteBuffer(), 0));
        m.put("write of 4196 bytes", (ch, a) -> ch.write(Direct.aligned(a, ALIGN + 100).asByteBuffer(), 0));
        m.put("read into an address + 1", (ch, a) -> ch.read(Direct.aligned(a, 2 * ALIGN).asSlice(1, ALIGN)
                .asByteBuffer(), 0));
        m.put("write from an address + 1", (ch, a) -> ch.write(Direct.aligned(a, 2 * ALIGN).asSlice(1, ALIGN)
                .asByteBuffer(), 0));
        m.put("read into buffer position 1", (ch, a) -> ch.read(Direct.aligned(a, 2 * ALIGN).asByteBuffer()
                .position(1).limit(1 + ALIGN), 0));
        m.put("read-only write from an address + 1", (ch, a) -> ch.write(Direct.aligned(a, 2 * ALIGN)
                .asSlice(1, ALIGN).asByteBuffer().asReadOnlyBuffer(), 0));
        m.put("heap write of 100 bytes", (ch, a) -> ch.write(ByteBuffer.allocate(100), 0));
        m.put("read-only heap write of 100 bytes", (ch, a) -> ch.write(ByteBuffer.allocate(100).asReadOnlyBuffer(), 0));
        m.put("read into a read-only buffer at 100", (ch, a) -> ch.read(ByteBuffer.allocateDirect(ALIGN)
                .asReadOnlyBuffer(), 100));
        m.put("empty read at 100", (ch, a) -> ch.read(ByteBuffer.allocate(0), 100));
        m.put("relative write at 100", (ch, a) -> ch.position(100).write(Direct.aligned(a, ALIGN).asByteBuffer()));
        m.put("relative read at the end (10,000)", (ch, a) -> ch.position(10_000)
                .read(Direct.aligned(a, ALIGN).asByteBuffer()));
        m.put("scattering read with a 100-byte heap buffer", (ch, a) -> ch.read(new ByteBuffer[] {
            ByteBuffer.allocate(ALIGN), ByteBuffer.allocate(100)}));
        m.put("gathering write with an empty and a 3-byte buffer", (ch, a) -> ch.write(new ByteBuffer[] {
            Direct.aligned(a, ALIGN).asByteBuffer(), ByteBuffer.allocate(0), ByteBuffer.allocate(3)}));
        // Lengths and position aligned, one buffer's address not: the kernel's EINVAL, after the heap
        // buffer before it was copied into pool memory (which must go back).
        m.put("(kernel) scattering read, heap then an address + 1", (ch, a) -> ch.read(new ByteBuffer[] {
            ByteBuffer.allocate(ALIGN), Direct.aligned(a, 2 * ALIGN).asSlice(1, ALIGN).asByteBuffer()}));
        m.put("(kernel) gathering write, heap then an address + 1", (ch, a) -> ch.write(new ByteBuffer[] {
            ByteBuffer.allocate(ALIGN), Direct.aligned(a, 2 * ALIGN).asSlice(1, ALIGN).asByteBuffer()}));
        // An automatic arena's memory reaches the ring as a pool copy (another thread may free it):
        // the copy must keep the misalignment the kernel refuses.
        m.put("(kernel) scattering read into an automatic arena's address + 1", (ch, a) -> ch.read(new ByteBuffer[] {
            Arena.ofAuto().allocate(2 * ALIGN, ALIGN).asSlice(1, ALIGN).asByteBuffer()}));
        m.put("(kernel) gathering write from a direct buffer's address + 1", (ch, a) -> ch.write(new ByteBuffer[] {
            ByteBuffer.allocateDirect(3 * ALIGN).alignedSlice(ALIGN).position(1).limit(1 + ALIGN).slice()}));
        m.put("transfer to a pipe from 100", (ch, a) -> {
            Pipe pipe = Pipe.open();
            try (var sink = pipe.sink()) {
                return ch.transferTo(100, 5000, sink);
            } finally {
                pipe.source().close();
            }
        });
        m.put("transfer of 5,000 bytes from a pipe", (ch, a) -> {
            Pipe pipe = Pipe.open();
            try (var source = pipe.source()) {
                try (var sink = pipe.sink()) {
                    sink.write(ByteBuffer.allocate(5000));
                }
                return ch.transferFrom(source, 0, 20_000);
            }
        });
        return m;
    }

    @Test
    void misalignedTransfersAreRefusedAsFileChannelRefusesThemAndChangeNothing() throws IOException {
        for (Path d : directDirectories()) {
            for (Map.Entry<String, Call> e : misuses().entrySet()) {
                List<String> jdkMessages = new ArrayList<>();
                List<String> auraMessages = new ArrayList<>();
                String name = "misuse";
                String jdk = outcome(false, d, name, DATA, e.getValue(), jdkMessages, READ, WRITE, Direct.DIRECT);
                String aura = outcome(true, d, name, DATA, e.getValue(), auraMessages, READ, WRITE, Direct.DIRECT);
                assertThat(aura).as("%s on %s (JDK: %s)", e.getKey(), d, jdkMessages).isEqualTo(jdk);
                if (e.getKey().startsWith("(kernel)") && !kernelRefusesMisalignedMemory(d)) {
                    continue; // the kernel judges a scattered buffer's address: tmpfs takes any, as with FileChannel
                }
                assertThat(aura).as(e.getKey()).startsWith("IOException at ")
                        .endsWith(", then 4096; file 10000 bytes unchanged");
                // What the library checks itself says what must be aligned to what; the rest is the kernel's.
                assertThat(auraMessages).singleElement().asString().as(e.getKey())
                        .matches("O_DIRECT requires the (file position|transfer length|buffer address) .* to be a "
                                + "multiple of \\d+|Invalid argument");
            }
        }
    }

    @Test
    void heapAndReadOnlyBuffersAndEmptyTransfersAreServedAsFileChannelServesThem() throws IOException {
        Map<String, Call> m = new LinkedHashMap<>();
        m.put("heap read", (ch, a) -> {
            ByteBuffer b = ByteBuffer.allocate(2 * ALIGN);
            return ch.read(b, ALIGN) + " " + Arrays.hashCode(Arrays.copyOf(b.array(), b.position()));
        });
        // A heap buffer at an odd offset: the JDK copies through an aligned buffer of its own.
        m.put("heap read at buffer position 1", (ch, a) -> {
            ByteBuffer b = ByteBuffer.allocate(2 * ALIGN).position(1).limit(1 + ALIGN);
            return ch.read(b, 0) + " " + b.position() + " " + Arrays.hashCode(b.array());
        });
        m.put("heap write extending the file", (ch, a) -> ch.write(ByteBuffer.wrap(TestSupport.randomBytes(ALIGN, 3)),
                3 * ALIGN) + " size " + ch.size());
        m.put("read-only direct write", (ch, a) -> ch.write(Direct.aligned(a, ALIGN).fill((byte) 7).asByteBuffer()
                .asReadOnlyBuffer(), 0));
        m.put("read-only heap write", (ch, a) -> ch.write(ByteBuffer.allocate(ALIGN).asReadOnlyBuffer(), ALIGN));
        m.put("read into a read-only buffer", (ch, a) -> ch.read(Direct.aligned(a, ALIGN).asByteBuffer()
                .asReadOnlyBuffer(), 0));
        m.put("empty read at 4096", (ch, a) -> ch.read(ByteBuffer.allocate(0), ALIGN));
        m.put("empty scattering read at 0", (ch, a) -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(0)}));
        m.put("scattering read, heap and direct", (ch, a) -> {
            ByteBuffer[] b = {ByteBuffer.allocate(ALIGN), Direct.aligned(a, 2 * ALIGN).asByteBuffer()};
            return ch.read(b) + " " + b[0].position() + " " + b[1].position();
        });
        m.put("gathering write, heap and direct", (ch, a) -> ch.write(new ByteBuffer[] {
            ByteBuffer.wrap(TestSupport.randomBytes(ALIGN, 4)), Direct.aligned(a, ALIGN).fill((byte) 5).asByteBuffer()}));
        m.put("write past the end", (ch, a) -> ch.write(Direct.aligned(a, ALIGN).fill((byte) 9).asByteBuffer(),
                1 << 20) + " size " + ch.size());
        m.put("truncate to 5000, force, then read", (ch, a) -> {
            ch.truncate(5000);
            ch.force(true);
            ByteBuffer b = Direct.aligned(a, 2 * ALIGN).asByteBuffer();
            return ch.size() + " " + ch.read(b, 0) + " " + ch.read(b.clear(), ALIGN) + " " + ch.read(b.clear(), 2 * ALIGN);
        });
        m.put("truncate to 3, then write at 4096", (ch, a) -> {
            ch.truncate(3);
            return ch.write(Direct.aligned(a, ALIGN).asByteBuffer(), ALIGN) + " size " + ch.size();
        });
        m.put("lock", (ch, a) -> {
            try (FileLock lock = ch.lock(1, 100, false)) {
                return lock.isValid() + " " + lock.isShared();
            }
        });
        m.put("map", (ch, a) -> {
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 1, 100);
            return map.get(0) + " " + map.get(99);
        });
        m.put("map a segment and write it", (ch, a) -> {
            MemorySegment map = ch.map(FileChannel.MapMode.READ_WRITE, 3, 100, a);
            map.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            return map.byteSize();
        });
        m.put("transfer to a pipe", (ch, a) -> {
            Pipe pipe = Pipe.open();
            try (var sink = pipe.sink()) {
                return ch.transferTo(0, 20_000, sink);
            } finally {
                pipe.source().close();
            }
        });
        m.put("transfer of 8,192 bytes from a pipe", (ch, a) -> {
            Pipe pipe = Pipe.open();
            try (var source = pipe.source()) {
                try (var sink = pipe.sink()) {
                    sink.write(ByteBuffer.wrap(TestSupport.randomBytes(2 * ALIGN, 5)));
                }
                return ch.transferFrom(source, ALIGN, 20_000) + " size " + ch.size();
            }
        });
        m.put("transfer to a buffered file", (ch, a) -> {
            try (FileChannel out = FileChannel.open(Files.createTempFile(dir.path(), "out", ""), WRITE)) {
                return ch.transferTo(0, 20_000, out) + " " + out.size();
            }
        });
        for (Map.Entry<String, Call> e : m.entrySet()) {
            List<String> messages = new ArrayList<>();
            String jdk = outcome(false, dir.path(), "served", DATA, e.getValue(), messages, READ, WRITE, Direct.DIRECT);
            String aura = outcome(true, dir.path(), "served", DATA, e.getValue(), messages, READ, WRITE, Direct.DIRECT);
            assertThat(aura).as("%s %s", e.getKey(), messages).isEqualTo(jdk);
        }
    }

    /**
     * The alignment is what {@code statx(STATX_DIOALIGN)} reports (the device's logical block, 512
     * bytes on most disks), as AuraFile's javadoc says; FileChannel asks for the file store's block
     * size (4096). What only the kernel's alignment allows is served with the file's bytes, not
     * refused and not moved through the page cache behind the caller's back.
     */
    @Test
    void transfersAlignedToTheKernelsAlignmentAreServedWithTheFilesBytes() throws IOException {
        Path path = Files.write(dir.resolve("dioalign"), DATA);
        try (AuraFile file = AuraFile.open(shared.engine(), path, READ, WRITE, Direct.DIRECT); Arena arena = Arena.ofConfined()) {
            int align = file.directOffsetAlignment();
            long blockSize = Files.getFileStore(path).getBlockSize();
            assumeTrue(align < blockSize, () -> "this file system's O_DIRECT alignment (" + align
                    + ") is its block size: nothing between the two to check");
            MemorySegment buffer = Direct.aligned(arena, 2L * ALIGN);
            MemorySegment slice = buffer.asSlice(align, align);
            assertThat(file.read(slice, align)).isEqualTo(align);
            assertThat(slice.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(DATA, align, 2 * align));
            slice.fill((byte) 0x5a);
            assertThat(file.write(slice, 2L * align)).isEqualTo(align);
            byte[] expected = DATA.clone();
            Arrays.fill(expected, 2 * align, 3 * align, (byte) 0x5a);
            assertThat(Files.readAllBytes(path)).isEqualTo(expected);
            try (FileChannel jdk = FileChannel.open(path, READ, Direct.DIRECT)) {
                // The JDK refuses it: the difference AuraFileChannel's javadoc names.
                assertThatThrownBy(() -> jdk.read(slice.asByteBuffer(), align)).isInstanceOf(IOException.class)
                        .hasMessageContaining("block size (" + blockSize + ")");
            }
            // Below the kernel's alignment: refused by the library before the kernel.
            assertThatThrownBy(() -> file.read(buffer.asSlice(0, align / 2), 0)).isInstanceOf(AuraIOException.class)
                    .hasMessage("O_DIRECT requires the transfer length (" + align / 2 + " bytes) to be a multiple of "
                            + align);
        }
    }

    // ---- the end of a file whose size is no block multiple ----------------------------------------

    @Test
    void readsAtTheEndOfAFileThatIsNoBlockMultipleAreShortThenMinusOne() throws IOException {
        Call sequence = (ch, a) -> {
            ByteBuffer b = Direct.aligned(a, 2 * ALIGN).asByteBuffer();
            List<Object> out = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                b.clear();
                try {
                    out.add(ch.read(b) + "@" + ch.position());
                } catch (IOException e) {
                    out.add("refused@" + ch.position());
                }
            }
            out.add(ch.read(b.clear(), 2 * ALIGN) + "/" + b.position());
            out.add(ch.read(b.clear(), 3 * ALIGN));
            out.add(ch.read(b.clear(), 1 << 20));
            ch.position(2 * ALIGN);
            out.add(ch.read(new ByteBuffer[] {b.clear()}, 0, 1) + "@" + ch.position());
            out.add(ch.position(3 * ALIGN).read(new ByteBuffer[] {b.clear()}, 0, 1));
            return out;
        };
        for (Path d : directDirectories()) {
            List<String> messages = new ArrayList<>();
            String jdk = outcome(false, d, "eof", DATA, sequence, messages, READ, Direct.DIRECT);
            String aura = outcome(true, d, "eof", DATA, sequence, messages, READ, Direct.DIRECT);
            assertThat(aura).as("%s", d).isEqualTo(jdk)
                    .startsWith("ok [8192@8192, 1808@10000, refused@10000, 1808/1808, -1, -1, 1808@10000, -1]");
        }
    }

    /**
     * readFully's javadoc: "EOFException if the end of the file comes first". With DIRECT the read
     * that reaches the end is short by a count that is no block multiple, so the next read's
     * position is misaligned: that read must not be tried (it was, and the caller got "O_DIRECT
     * requires the file position (10000) ..." instead of the end of the file).
     */
    @Test
    void readFullyPastTheEndOfADirectFileThrowsEofException() throws IOException {
        Path path = Files.write(dir.resolve("fully"), DATA);
        try (AuraFile file = AuraFile.open(shared.engine(), path, READ, Direct.DIRECT); Arena arena = Arena.ofConfined()) {
            ByteBuffer buffer = Direct.aligned(arena, 3L * ALIGN).asByteBuffer();
            assertThatThrownBy(() -> file.readFully(buffer, 0)).isInstanceOf(EOFException.class)
                    .hasMessageContaining("end of file at position 10000");
            assertThat(buffer.position()).isEqualTo(10_000);
            assertThat(buffer.flip()).isEqualTo(ByteBuffer.wrap(DATA));
            MemorySegment segment = Direct.aligned(arena, 3L * ALIGN);
            assertThatThrownBy(() -> file.readFully(segment, 0)).isInstanceOf(EOFException.class)
                    .hasMessageContaining("end of file at position 10000");
            assertThat(segment.asSlice(0, 10_000).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(DATA);
            ByteBuffer heap = ByteBuffer.allocate(3 * ALIGN);
            assertThatThrownBy(() -> file.readFully(heap, ALIGN)).isInstanceOf(EOFException.class)
                    .hasMessageContaining("end of file at position 10000");
            assertThat(heap.position()).isEqualTo(10_000 - ALIGN);
            // Reads that end before the end of the file are whole.
            file.readFully(buffer.clear().limit(2 * ALIGN), 0);
            assertThat(buffer.position()).isEqualTo(2 * ALIGN);
            // A misaligned start is still the misuse it is.
            assertThatThrownBy(() -> file.readFully(buffer.clear(), 100)).isInstanceOf(AuraIOException.class)
                    .hasMessageStartingWith("O_DIRECT requires the file position (100)");
        }
    }

    // ---- APPEND --------------------------------------------------------------------------------

    @Test
    void appendWithDirectWritesAtTheEndWhereItIsAlignedAndIsRefusedWhereNot() throws IOException {
        Call append = (ch, a) -> {
            String s = ch.write(Direct.aligned(a, ALIGN).fill((byte) 3).asByteBuffer()) + " " + ch.position();
            s += " " + ch.write(ByteBuffer.wrap(TestSupport.randomBytes(ALIGN, 6)), 0) + " " + ch.position();
            return s + " " + ch.size();
        };
        for (Path d : directDirectories()) {
            for (byte[] contents : List.of(Arrays.copyOf(DATA, 2 * ALIGN), DATA)) {
                List<String> messages = new ArrayList<>();
                String jdk = outcome(false, d, "append", contents, append, messages, WRITE, APPEND, Direct.DIRECT);
                String aura = outcome(true, d, "append", contents, append, messages, WRITE, APPEND, Direct.DIRECT);
                assertThat(aura).as("%s, %d bytes %s", d, contents.length, messages).isEqualTo(jdk);
            }
        }
    }

    // ---- transfers between two files, DIRECT on either side ---------------------------------------

    /** A transfer between a 20,000-byte file and an empty one, opened as {@code aura} says. */
    interface Transfer {
        long run(FileChannel from, FileChannel to) throws IOException;
    }

    private String transfer(boolean aura, String name, OpenOption[] fromOptions, OpenOption[] toOptions,
            Transfer transfer) throws IOException {
        Path from = Files.write(dir.resolve(name + (aura ? "-aura-from" : "-jdk-from")), TestSupport.randomBytes(20_000, 11));
        Path to = Files.write(dir.resolve(name + (aura ? "-aura-to" : "-jdk-to")), new byte[0]);
        String result;
        try (FileChannel in = open(aura, from, fromOptions); FileChannel out = open(aura, to, toOptions)) {
            try {
                result = "ok " + transfer.run(in, out);
            } catch (IOException e) {
                result = "IOException";
            }
            result += ", positions " + in.position() + " " + out.position();
        }
        return result + ", target " + Files.size(to) + " bytes " + Arrays.hashCode(Files.readAllBytes(to));
    }

    /**
     * The JDK's transfer from a file channel of 16 KiB or more maps the source, which takes any
     * position and count where O_DIRECT reads need aligned ones; a transfer from a DIRECT
     * AuraFileChannel read from the source's position with the transfer's length, and was refused
     * ("O_DIRECT requires the transfer length (20000 bytes) ..."): it reads the aligned blocks
     * around the range now, as its transferTo does.
     */
    @Test
    void transfersBetweenFilesWithDirectOnEitherSideEndAsTheJdksDo() throws IOException {
        OpenOption[] directRead = {READ, Direct.DIRECT};
        OpenOption[] bufferedRead = {READ};
        OpenOption[] directWrite = {WRITE, Direct.DIRECT};
        OpenOption[] bufferedWrite = {WRITE};
        record Case(String name, OpenOption[] from, OpenOption[] to, Transfer transfer) {}
        List<Case> cases = List.of(
                new Case("from a DIRECT file", directRead, bufferedWrite, (in, out) -> out.transferFrom(in, 0, 20_000)),
                new Case("from a DIRECT file at 100", directRead, bufferedWrite,
                        (in, out) -> out.transferFrom(in.position(100), 0, 20_000)),
                new Case("from a DIRECT file at 4096, at most", directRead, bufferedWrite,
                        (in, out) -> out.transferFrom(in.position(4096), 10, Long.MAX_VALUE)),
                new Case("8 KiB from a DIRECT file", directRead, bufferedWrite, (in, out) -> out.transferFrom(in, 0, 8192)),
                new Case("5,000 bytes from a DIRECT file at 100", directRead, bufferedWrite,
                        (in, out) -> out.transferFrom(in.position(100), 0, 5000)),
                new Case("16 KiB into a DIRECT file", bufferedRead, directWrite, (in, out) -> in.transferTo(0, 16_384, out)),
                new Case("20,000 bytes into a DIRECT file", bufferedRead, directWrite, (in, out) -> in.transferTo(0, 20_000, out)),
                new Case("16 KiB DIRECT to DIRECT", directRead, directWrite, (in, out) -> in.transferTo(0, 16_384, out)),
                new Case("20,000 bytes DIRECT to DIRECT", directRead, directWrite, (in, out) -> in.transferTo(0, 20_000, out)),
                new Case("from a DIRECT file at 100, to", directRead, bufferedWrite, (in, out) -> in.transferTo(100, 19_000, out)),
                // The JDK writes its mapping of the source in one write, which DIRECT refuses as a whole.
                new Case("16 KiB from a file into a DIRECT one", bufferedRead, directWrite,
                        (in, out) -> out.transferFrom(in, 0, 16_384)),
                new Case("20,000 bytes from a file into a DIRECT one", bufferedRead, directWrite,
                        (in, out) -> out.transferFrom(in, 0, 20_000)),
                new Case("16 KiB from a file at 100 into a DIRECT one", bufferedRead, directWrite,
                        (in, out) -> out.transferFrom(in.position(100), 0, 16_384)),
                new Case("16 KiB from a file at 4096 into a DIRECT one, at most", bufferedRead, directWrite,
                        (in, out) -> out.transferFrom(in.position(ALIGN), 0, Long.MAX_VALUE)),
                new Case("from the end of a file into a DIRECT one", bufferedRead, directWrite,
                        (in, out) -> out.transferFrom(in.position(20_000), 0, 20_000)),
                new Case("20,000 bytes from a DIRECT file into a DIRECT one", directRead, directWrite,
                        (in, out) -> out.transferFrom(in, 0, 20_000)));
        for (Case c : cases) {
            String jdk = transfer(false, "transfer", c.from(), c.to(), c.transfer());
            String aura = transfer(true, "transfer", c.from(), c.to(), c.transfer());
            assertThat(aura).as(c.name()).isEqualTo(jdk);
        }
        // From the JDK's own channel into a DIRECT AuraFileChannel: the same refusal, nothing written.
        Path from = Files.write(dir.resolve("jdk-source"), TestSupport.randomBytes(20_000, 12));
        Path to = Files.write(dir.resolve("aura-target"), new byte[0]);
        try (FileChannel in = FileChannel.open(from, READ); FileChannel out = open(true, to, directWrite)) {
            assertThatThrownBy(() -> out.transferFrom(in, 0, 20_000)).isInstanceOf(AuraIOException.class)
                    .hasMessageStartingWith("O_DIRECT requires the transfer length (20000 bytes)");
            assertThat(in.position()).isZero();
            assertThatThrownBy(() -> out.transferFrom(in.position(100), 0, 16_384)).isInstanceOf(AuraIOException.class)
                    .hasMessageStartingWith("O_DIRECT requires the buffer address (a page + 100)");
            assertThat(out.transferFrom(in.position(0), 0, 16_384)).isEqualTo(16_384);
        }
        assertThat(Files.readAllBytes(to)).isEqualTo(Arrays.copyOf(Files.readAllBytes(from), 16_384));
    }

    // ---- page-cache coherence -------------------------------------------------------------------

    @Test
    void directReadsSeeBufferedWritesAndBufferedAndMappedReadsSeeDirectWrites() throws IOException {
        byte[] contents = TestSupport.nonZeroBytes(16 * ALIGN, 8);
        Path path = Files.write(dir.resolve("coherence"), contents);
        try (AuraFile direct = AuraFile.open(shared.engine(), path, READ, WRITE, Direct.DIRECT);
             AuraFile buffered = AuraFile.open(shared.engine(), path, READ);
             FileChannel jdk = FileChannel.open(path, READ, WRITE);
             Arena arena = Arena.ofConfined()) {
            // A buffered write through another descriptor, still in the page cache: the DIRECT read sees it.
            byte[] first = TestSupport.nonZeroBytes(ALIGN, 9);
            assertThat(jdk.write(ByteBuffer.wrap(first), 2 * ALIGN)).isEqualTo(ALIGN);
            MemorySegment block = Direct.aligned(arena, ALIGN);
            assertThat(direct.read(block, 2L * ALIGN)).isEqualTo(ALIGN);
            assertThat(block.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(first);
            // The buffered AuraFile reads the file often enough to serve it from a mapping.
            ByteBuffer heap = ByteBuffer.allocate(ALIGN);
            for (int i = 0; i < 10 * 64 && (buffered.mappedReads() == null || !buffered.mappedReads().isMapped()); i++) {
                buffered.read(heap.clear(), (i % 16) * (long) ALIGN);
            }
            if (buffered.mappedReads() != null) { // else mapped reads are off in this JVM: the page cache serves
                assertThat(buffered.mappedReads().isMapped()).as("mapped after repeated page-cache hits").isTrue();
            }
            long served = buffered.mappedReads() == null ? 0 : buffered.mappedReads().served();
            MappedByteBuffer map = jdk.map(FileChannel.MapMode.READ_ONLY, 0, 16 * ALIGN);
            map.get(3 * ALIGN); // its page in memory, as the stale copy would be
            // A DIRECT write drops the cached pages: every reader then sees the new bytes.
            byte[] second = TestSupport.nonZeroBytes(ALIGN, 10);
            MemorySegment.copy(second, 0, block, ValueLayout.JAVA_BYTE, 0, ALIGN);
            assertThat(direct.write(block, 3L * ALIGN)).isEqualTo(ALIGN);
            System.arraycopy(first, 0, contents, 2 * ALIGN, ALIGN);
            System.arraycopy(second, 0, contents, 3 * ALIGN, ALIGN);
            // Each read alike, from the ring, the page cache, then the mapping again once the pages
            // are back (the file read over, as it was to be mapped).
            for (int i = 0; i < 20 * 64 && (i < 3 || buffered.mappedReads() != null
                    && buffered.mappedReads().served() == served); i++) {
                assertThat(buffered.read(heap.clear(), 3L * ALIGN)).isEqualTo(ALIGN);
                assertThat(heap.array()).isEqualTo(second);
                ByteBuffer part = ByteBuffer.allocate(100);
                assertThat(buffered.read(part, 3L * ALIGN + 7)).isEqualTo(100);
                assertThat(part.array()).isEqualTo(Arrays.copyOfRange(second, 7, 107));
                int at = (i % 16) * ALIGN;
                assertThat(buffered.read(heap.clear(), at)).isEqualTo(ALIGN);
                assertThat(heap.array()).as("block at %d", at).isEqualTo(Arrays.copyOfRange(contents, at, at + ALIGN));
            }
            if (buffered.mappedReads() != null) {
                assertThat(buffered.mappedReads().served()).as("reads the mapping served after the write")
                        .isGreaterThan(served);
            }
            byte[] mapped = new byte[ALIGN];
            map.get(3 * ALIGN, mapped);
            assertThat(mapped).isEqualTo(second);
            ByteBuffer jdkRead = ByteBuffer.allocate(ALIGN);
            jdk.read(jdkRead, 3L * ALIGN);
            assertThat(jdkRead.array()).isEqualTo(second);
        }
    }

    // ---- truncation under many readers ------------------------------------------------------------

    /**
     * Virtual threads read with DIRECT at aligned positions while another thread shrinks and
     * regrows the file: every read returns -1 or whole bytes of the file as it was (the generation
     * byte the block was written with, or zeros where the file was regrown), none throws or hangs,
     * and the ring serves on.
     */
    @Test
    void directReadsWhileTheFileIsTruncatedEndAndReturnWhatTheFileHeld() throws Exception {
        int blocks = 64;
        Path path = dir.resolve("truncated");
        try (FileChannel writer = FileChannel.open(path, java.nio.file.StandardOpenOption.CREATE, READ, WRITE);
             AuraFile file = AuraFile.open(shared.engine(), path, READ, Direct.DIRECT)) {
            byte[] block = new byte[ALIGN];
            for (int i = 0; i < blocks; i++) {
                Arrays.fill(block, (byte) 1);
                writer.write(ByteBuffer.wrap(block), (long) i * ALIGN);
            }
            AtomicBoolean stop = new AtomicBoolean();
            ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
            List<Thread> readers = new ArrayList<>();
            for (int t = 0; t < 32; t++) {
                readers.add(Thread.ofVirtual().start(() -> {
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment buffer = Direct.aligned(arena, 2L * ALIGN);
                        while (!stop.get()) {
                            long at = ThreadLocalRandom.current().nextInt(blocks) * (long) ALIGN;
                            buffer.fill((byte) 7);
                            int n = file.read(buffer, at);
                            if (n == -1) {
                                continue;
                            }
                            for (int i = 0; i < n; i++) {
                                byte b = buffer.get(ValueLayout.JAVA_BYTE, i);
                                if (b != 0 && b != 1) {
                                    wrong.add(n + " bytes at " + at + ": byte " + i + " is " + b);
                                    break;
                                }
                            }
                        }
                    } catch (Throwable e) {
                        wrong.add(e.toString());
                    }
                }));
            }
            for (int round = 0; round < 200; round++) {
                writer.truncate(ThreadLocalRandom.current().nextInt(blocks * ALIGN));
                writer.write(ByteBuffer.wrap(new byte[] {0}), (long) blocks * ALIGN - 1); // regrown with a hole
                if (round % 10 == 0) {
                    Thread.sleep(1); // lets the readers run between changes on a machine with few cores
                }
            }
            stop.set(true);
            TestSupport.assertAllEnd(readers, TestSupport.HANG, () -> "readers of a truncated file");
            assertThat(wrong).isEmpty();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment last = Direct.aligned(arena, ALIGN);
                assertThat(file.read(last, (long) (blocks - 1) * ALIGN)).isEqualTo(ALIGN);
                assertThat(last.get(ValueLayout.JAVA_BYTE, ALIGN - 1)).isZero();
            }
        }
    }

    // ---- no leak after refusals ------------------------------------------------------------------

    @Test
    void refusedCallsLeaveNoPoolBufferRequestOrDescriptorBehind() throws Exception {
        Path path = Files.write(dir.resolve("refused"), DATA);
        Map<Integer, String> before = null;
        for (int round = 0; round < 50; round++) {
            if (round == 1) {
                before = Descriptors.open(); // after one round: what the JDK opens once (a pipe's first use) stays
            }
            try (AuraFileChannel ch = AuraFileChannel.open(shared.engine(), path, READ, WRITE, Direct.DIRECT);
                 Arena arena = Arena.ofConfined()) {
                for (Map.Entry<String, Call> e : misuses().entrySet()) {
                    if (e.getKey().startsWith("(kernel)") && !kernelRefusesMisalignedMemory(dir.path())) {
                        continue;
                    }
                    assertThatThrownBy(() -> e.getValue().run(ch, arena)).as(e.getKey()).isInstanceOf(IOException.class);
                }
                MemorySegment misaligned = Direct.aligned(arena, 2L * ALIGN).asSlice(1, ALIGN);
                AuraFile file = ch.file();
                assertThatThrownBy(() -> file.read(misaligned, 0)).isInstanceOf(AuraIOException.class)
                        .hasMessageStartingWith("O_DIRECT requires the buffer address (0x");
                assertThatThrownBy(() -> file.write(MemorySegment.ofArray(new byte[100]), 0))
                        .isInstanceOf(AuraIOException.class)
                        .hasMessage("O_DIRECT requires the transfer length (100 bytes) to be a multiple of "
                                + file.directOffsetAlignment());
                // A shared arena's memory goes to the ring as a pool copy: the kernel's EINVAL gives it back.
                ch.position(0);
                if (kernelRefusesMisalignedMemory(dir.path())) {
                    try (Arena shared = Arena.ofShared()) {
                        assertThatThrownBy(() -> ch.read(new ByteBuffer[] {shared.allocate(ALIGN, ALIGN).asByteBuffer(),
                            shared.allocate(2L * ALIGN, ALIGN).asSlice(1, ALIGN).asByteBuffer()}))
                                .isInstanceOf(IOException.class).hasMessage("Invalid argument");
                    }
                }
                assertThat(shared.engine().core().pool().outstandingBuffers()).as("pool buffers after refusals").isZero();
            }
        }
        Descriptors.assertNoneNew(before, "49 rounds of refused calls");
        assertThat(Files.readAllBytes(path)).isEqualTo(DATA);
    }

    // ---- where O_DIRECT is opened ------------------------------------------------------------------

    @Test
    void openOnTmpfsFailsOrWorksAsFileChannel() throws IOException {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm) && Files.getFileStore(shm).type().equals("tmpfs"),
                "no writable tmpfs at /dev/shm");
        Path path = Files.write(Files.createTempFile(shm, "auraio-direct", ".open"), DATA);
        try {
            List<String> messages = new ArrayList<>();
            Call read = (ch, a) -> ch.read(Direct.aligned(a, 4 * ALIGN).asByteBuffer(), 0);
            String jdk;
            String aura;
            try {
                jdk = outcome(false, shm, path.getFileName() + "x", DATA, read, messages, READ, Direct.DIRECT);
            } catch (IOException e) {
                jdk = "open: " + e.getClass().getSimpleName() + " " + e.getMessage();
            }
            try {
                aura = outcome(true, shm, path.getFileName() + "x", DATA, read, messages, READ, Direct.DIRECT);
            } catch (IOException e) {
                aura = "open: " + e.getClass().getSimpleName() + " " + e.getMessage();
            }
            assertThat(aura).isEqualTo(jdk);
        } finally {
            Files.delete(path);
        }
    }

    /**
     * overlayfs (a container's root) hands O_DIRECT to the file below it: a file of the lower layer
     * is read as it is, a DIRECT write copies it up first, and each misuse is refused as on the
     * layer's own file system. Needs root to mount an overlay; skipped otherwise.
     */
    @Test
    void onOverlayfsDirectIsTheLayersAndMisusesAreRefusedAsFileChannelRefusesThem() throws Exception {
        Path lower = Files.createDirectories(dir.resolve("lower"));
        Path upper = Files.createDirectories(dir.resolve("upper"));
        Path work = Files.createDirectories(dir.resolve("work"));
        Path merged = Files.createDirectories(dir.resolve("merged"));
        Files.write(lower.resolve("data"), DATA);
        Commands.Ran mount = Commands.run(new ProcessBuilder("mount", "-t", "overlay", "overlay", "-o",
                "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work, merged.toString()),
                java.time.Duration.ofSeconds(30));
        assumeTrue(mount.succeeded(), "cannot mount an overlay here (root needed): " + mount);
        try {
            Path data = merged.resolve("data");
            try (AuraFile file = AuraFile.open(shared.engine(), data, READ, WRITE, Direct.DIRECT);
                 FileChannel jdk = FileChannel.open(data, READ, Direct.DIRECT);
                 Arena arena = Arena.ofConfined()) {
                ByteBuffer aura = Direct.aligned(arena, 4L * ALIGN).asByteBuffer();
                ByteBuffer expected = Direct.aligned(arena, 4L * ALIGN).asByteBuffer();
                assertThat(file.read(aura, 0)).isEqualTo(jdk.read(expected, 0)).isEqualTo(DATA.length);
                assertThat(aura.flip()).isEqualTo(expected.flip()).isEqualTo(ByteBuffer.wrap(DATA));
                MemorySegment block = Direct.aligned(arena, ALIGN).fill((byte) 0x33);
                assertThat(file.write(block, ALIGN)).isEqualTo(ALIGN); // the copy-up, then the write
            }
            byte[] written = DATA.clone();
            Arrays.fill(written, ALIGN, 2 * ALIGN, (byte) 0x33);
            assertThat(Files.readAllBytes(data)).isEqualTo(written);
            assertThat(Files.readAllBytes(lower.resolve("data"))).as("the lower layer").isEqualTo(DATA);
            for (Map.Entry<String, Call> e : misuses().entrySet()) {
                List<String> messages = new ArrayList<>();
                String jdk = outcome(false, merged, "misuse", DATA, e.getValue(), messages, READ, WRITE, Direct.DIRECT);
                String aura = outcome(true, merged, "misuse", DATA, e.getValue(), messages, READ, WRITE, Direct.DIRECT);
                assertThat(aura).as("%s %s", e.getKey(), messages).isEqualTo(jdk);
                if (!e.getKey().startsWith("(kernel)") || kernelRefusesMisalignedMemory(upper)) {
                    assertThat(aura).as(e.getKey()).startsWith("IOException at ")
                            .endsWith(", then 4096; file 10000 bytes unchanged");
                }
            }
        } finally {
            new ProcessBuilder("umount", "-l", merged.toString()).inheritIO().start()
                    .waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /** The provider's channels with DIRECT are AuraFileChannels with the same rules. */
    @Test
    void theProvidersChannelsTakeDirectWithTheSameRules() throws Exception {
        Path path = Files.write(dir.resolve("provider"), DATA);
        FileSystem fs = new AuraFileSystemProvider(FileSystems.getDefault().provider())
                .getFileSystem(URI.create("file:///"));
        Path ours = fs.getPath(path.toAbsolutePath().toString());
        String outcome = TestSupport.onVirtualThread(() -> {
            try (FileChannel ch = FileChannel.open(ours, READ, WRITE, Direct.DIRECT); Arena arena = Arena.ofConfined()) {
                ByteBuffer b = Direct.aligned(arena, 4L * ALIGN).asByteBuffer();
                String s = ch.getClass().getSimpleName() + " " + ch.read(b, 0) + " "
                        + b.flip().equals(ByteBuffer.wrap(DATA));
                try {
                    ch.read(b.clear(), 100);
                    s += " read at 100";
                } catch (IOException e) {
                    s += " refused at 100";
                }
                return s;
            }
        });
        assertThat(outcome).isEqualTo("AuraFileChannel 10000 true refused at 100");
    }
}
