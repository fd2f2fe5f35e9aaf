package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every {@link SystemCall}, made both ways the binding can make it: by its number through
 * {@code syscall(2)} and through libc's function of its name (the way on an architecture whose
 * numbers the binding does not know). Each result is checked against the JDK's view of the same
 * file, so a wrong number, a wrong argument order or a dropped argument fails here.
 */
class SystemCallTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    enum Route { NUMBER, FUNCTION }

    private static final int O_NONBLOCK = 04000;
    private static final int F_GETFL = 3;
    private static final int SEEK_END = 2;
    private static final int PROT_READ = 1;
    private static final int MAP_SHARED = 1;
    private static final int S_IFREG = 0100000;
    private static final int RWF_APPEND = 0x10;
    private static final int UNKNOWN_RWF_FLAG = 0x40000000;
    private static final int EOPNOTSUPP = 95;

    /** The call through the route under test, errno left in {@code state}. */
    private static long call(Route route, SystemCall call, MemorySegment state, long a1, long a2, long a3, long a4,
                             long a5, long a6) throws Throwable {
        return switch (route) {
            case NUMBER -> call.callByNumber(state, a1, a2, a3, a4, a5, a6, MemorySegment.NULL);
            case FUNCTION -> (long) call.viaFunction().invokeExact(state, a1, a2, a3, a4, a5, a6, MemorySegment.NULL);
        };
    }

    private static void assumeRoute(Route route) {
        assumeTrue(route == Route.FUNCTION || SystemCall.numbersKnownForThisArchitecture(),
                "no system call numbers for " + System.getProperty("os.arch"));
    }

    @ParameterizedTest
    @EnumSource(Route.class)
    void aFileOpenedWrittenReadStatedCopiedMappedTruncatedAndClosedAgreesWithTheJdk(Route route) throws Throwable {
        assumeRoute(route);
        Path file = dir.resolve("file");
        Path copy = dir.resolve("copy");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(NativeAccess.CAPTURE_LAYOUT);
            int fd = (int) call(route, SystemCall.OPENAT, state, Statx.AT_FDCWD, arena.allocateFrom(file.toString())
                    .address(), OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_CLOEXEC, 0640, 0, 0);
            assertThat(fd).as("openat").isNotNegative();
            assertThat(Files.getPosixFilePermissions(file)).as("the mode, a variadic argument")
                    .isEqualTo(PosixFilePermissions.fromString("rw-r-----"));

            MemorySegment hello = arena.allocateFrom("hello", US_ASCII);
            assertThat(call(route, SystemCall.PWRITE64, state, fd, hello.address(), 5, 0, 0, 0)).isEqualTo(5);
            MemorySegment iov = arena.allocate(16, 8);
            MemorySegment world = arena.allocateFrom(" world", US_ASCII);
            iov.set(JAVA_LONG, 0, world.address());
            iov.set(JAVA_LONG, 8, 6);
            // At 0, but RWF_APPEND: a flag lost on the way would overwrite "hello".
            assertThat(call(route, SystemCall.PWRITEV2, state, fd, iov.address(), 1, 0, 0, RWF_APPEND))
                    .as("pwritev2, appending").isEqualTo(6);
            assertThat(call(route, SystemCall.FSYNC, state, fd, 0, 0, 0, 0, 0)).isZero();
            assertThat(call(route, SystemCall.FDATASYNC, state, fd, 0, 0, 0, 0, 0)).isZero();
            assertThat(Files.readString(file, US_ASCII)).isEqualTo("hello world");

            MemorySegment into = arena.allocate(16);
            iov.set(JAVA_LONG, 0, into.address());
            iov.set(JAVA_LONG, 8, 16);
            // pos_l = 6, pos_h = 0, flags = RWF_NOWAIT: the skipped pos_h must not shift the flags.
            assertThat(call(route, SystemCall.PREADV2, state, fd, iov.address(), 1, 6, 0, Libc.RWF_NOWAIT))
                    .as("preadv2 from 6").isEqualTo(5);
            assertThat(into.asSlice(0, 5).toArray(JAVA_BYTE)).isEqualTo("world".getBytes(US_ASCII));
            assertThat(call(route, SystemCall.PREADV2, state, fd, iov.address(), 1, 0, 0, UNKNOWN_RWF_FLAG))
                    .as("preadv2 with a flag the kernel does not know").isEqualTo(-1);
            assertThat(NativeAccess.errno(state)).isEqualTo(EOPNOTSUPP);

            MemorySegment stat = arena.allocate(256, 8);
            assertThat(call(route, SystemCall.FSTAT, state, fd, stat.address(), 0, 0, 0, 0)).isZero();
            assertThat(stat.get(JAVA_LONG, 48)).as("st_size").isEqualTo(Files.size(file));
            MemorySegment statx = arena.allocate(Statx.BYTES, 8);
            assertThat(call(route, SystemCall.STATX, state, fd, arena.allocateFrom("").address(),
                    Statx.AT_EMPTY_PATH, Statx.STATX_TYPE, statx.address(), 0)).isZero();
            assertThat(Statx.fileType(statx)).isEqualTo(S_IFREG);
            assertThat(call(route, SystemCall.LSEEK, state, fd, 0, SEEK_END, 0, 0, 0)).isEqualTo(11);
            assertThat(call(route, SystemCall.FCNTL, state, fd, F_GETFL, 0, 0, 0, 0) & 3).as("access mode")
                    .isEqualTo(OpenFlags.O_RDWR);

            int out = (int) call(route, SystemCall.OPENAT, state, Statx.AT_FDCWD, arena.allocateFrom(copy.toString())
                    .address(), OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_CLOEXEC, 0600, 0, 0);
            assertThat(out).isNotNegative();
            MemorySegment offsets = arena.allocate(JAVA_LONG, 2);
            offsets.setAtIndex(JAVA_LONG, 0, 6);
            offsets.setAtIndex(JAVA_LONG, 1, 1);
            assertThat(call(route, SystemCall.COPY_FILE_RANGE, state, fd, offsets.address(), out,
                    offsets.address() + 8, 100, 0)).as("copy_file_range of 'world' to 1").isEqualTo(5);
            assertThat(call(route, SystemCall.CLOSE, state, out, 0, 0, 0, 0, 0)).isZero();
            assertThat(Files.readAllBytes(copy)).isEqualTo("\0world".getBytes(US_ASCII));

            long mapped = call(route, SystemCall.MMAP, state, 0, 4096, PROT_READ, MAP_SHARED, fd, 0);
            assertThat(mapped).as("mmap").isNotEqualTo(-1L);
            assertThat(MemorySegment.ofAddress(mapped).reinterpret(11).toArray(JAVA_BYTE))
                    .isEqualTo("hello world".getBytes(US_ASCII));
            assertThat(call(route, SystemCall.MUNMAP, state, mapped, 4096, 0, 0, 0, 0)).isZero();

            assertThat(call(route, SystemCall.FTRUNCATE, state, fd, 5, 0, 0, 0, 0)).isZero();
            assertThat(Files.size(file)).isEqualTo(5);
            assertThat(call(route, SystemCall.CLOSE, state, fd, 0, 0, 0, 0, 0)).isZero();
            assertThat(call(route, SystemCall.CLOSE, state, fd, 0, 0, 0, 0, 0)).as("closed twice").isEqualTo(-1);
            assertThat(NativeAccess.errno(state)).isEqualTo(Errno.EBADF);
        }
    }

    @ParameterizedTest
    @EnumSource(Route.class)
    void anEventfdCountsWhatIsWrittenAndAnEmptyNonBlockingOneSaysEagain(Route route) throws Throwable {
        assumeRoute(route);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(NativeAccess.CAPTURE_LAYOUT);
            int efd = (int) call(route, SystemCall.EVENTFD2, state, 0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK, 0, 0, 0,
                    0);
            assertThat(efd).isNotNegative();
            MemorySegment value = arena.allocate(JAVA_LONG);
            value.set(JAVA_LONG, 0, 3);
            assertThat(call(route, SystemCall.WRITE, state, efd, value.address(), 8, 0, 0, 0)).isEqualTo(8);
            assertThat(call(route, SystemCall.WRITE, state, efd, value.address(), 8, 0, 0, 0)).isEqualTo(8);
            value.set(JAVA_LONG, 0, 0);
            assertThat(call(route, SystemCall.READ, state, efd, value.address(), 8, 0, 0, 0)).isEqualTo(8);
            assertThat(value.get(JAVA_LONG, 0)).isEqualTo(6);
            assertThat(call(route, SystemCall.READ, state, efd, value.address(), 8, 0, 0, 0)).isEqualTo(-1);
            assertThat(NativeAccess.errno(state)).isEqualTo(Errno.EAGAIN);
            assertThat(call(route, SystemCall.FCNTL, state, efd, F_GETFL, 0, 0, 0, 0) & O_NONBLOCK).isNotZero();
            assertThat(call(route, SystemCall.CLOSE, state, efd, 0, 0, 0, 0, 0)).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Route.class)
    void aMissingFileIsEnoentInErrno(Route route) throws Throwable {
        assumeRoute(route);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(NativeAccess.CAPTURE_LAYOUT);
            state.set(JAVA_INT, 0, 0);
            long fd = call(route, SystemCall.OPENAT, state, Statx.AT_FDCWD,
                    arena.allocateFrom(dir.resolve("missing").toString()).address(), OpenFlags.O_RDONLY, 0, 0, 0);
            assertThat(fd).isEqualTo(-1);
            assertThat(NativeAccess.errno(state)).isEqualTo(Errno.ENOENT);
        }
    }

    /** The calls with no libc wrapper go by number on every architecture, and have no function route. */
    @Test
    void callsWithoutALibcFunctionAreTheUniversalNumbers() {
        Set<SystemCall> universal = EnumSet.of(SystemCall.OPENAT2, SystemCall.FACCESSAT2, SystemCall.IO_URING_SETUP,
                SystemCall.IO_URING_ENTER, SystemCall.IO_URING_REGISTER, SystemCall.STATMOUNT, SystemCall.LISTMOUNT);
        for (SystemCall call : SystemCall.values()) {
            assertThat(call.hasFunction()).as(call.name()).isEqualTo(!universal.contains(call));
        }
        assertThat(SystemCall.canHold()).as("holding needs the numbers")
                .isEqualTo(SystemCall.numbersKnownForThisArchitecture()
                        && !"libc".equals(System.getProperty(SystemCall.PROPERTY)));
    }
}
