package io.auraio.cli;

import io.auraio.AuraFile;
import io.auraio.AuraIOException;
import io.auraio.Backend;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Where a file's data and holes lie, for {@code auraio cp} to copy a sparse file as coreutils' cp
 * ({@code --sparse=auto}) does: only the data, at the same offsets, and the size set at the end,
 * so that the holes stay holes. {@code lseek(2)} with {@code SEEK_DATA} and {@code SEEK_HOLE} on
 * the descriptor of an open {@link AuraFile} ({@link AuraFile#fd()}), and {@code ftruncate(2)} to
 * give the copy its size.
 *
 * <p>Why here and not in the library: the JDK has no such call to be read alongside (its
 * {@code FileChannel} and {@code Files.copy} know no holes), so a public {@code AuraFile} method
 * would be API without a JDK counterpart, for one user; the CLI already runs with native access,
 * and the library's public {@code fd()} is all it needs. The call is made on the caller's thread:
 * on a local file system it reads the extent tree the open already brought in (no I/O waited
 * for); a FUSE file system that implements {@code lseek} answers it as one request (the kernel
 * stops asking one that does not).
 */
final class Extents {
    /** {@code SEEK_DATA} from {@code <unistd.h>} (Linux). */
    static final int SEEK_DATA = 3;
    /** {@code SEEK_HOLE} from {@code <unistd.h>} (Linux). */
    static final int SEEK_HOLE = 4;
    /** {@code ENXIO}: SEEK_DATA at or past the last data, or SEEK_HOLE past the end. */
    private static final int ENXIO = 6;

    private Extents() {}

    // The downcalls, each linked on first use in a holder class (a stub per shape is 5-20 ms of a
    // short run's start): a copy without a regular file pays for none, a copy without holes or
    // errors only for lseek, which prepare() links off the copy's path.

    private static final class Errno {
        static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
        static final VarHandle VALUE = CAPTURE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    }

    private static final class Seek {
        static final MethodHandle LSEEK = Linker.nativeLinker().downcallHandle(
                Linker.nativeLinker().defaultLookup().find("lseek").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT),
                Linker.Option.captureCallState("errno"));

        /** Does nothing; the first call initialises the class, which links the handle. */
        static void link() {}
    }

    private static final class Resize {
        static final MethodHandle FTRUNCATE = Linker.nativeLinker().downcallHandle(
                Linker.nativeLinker().defaultLookup().find("ftruncate").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
                Linker.Option.captureCallState("errno"));
    }

    private static final class Words {
        static final MethodHandle STRERROR = Linker.nativeLinker().downcallHandle(
                Linker.nativeLinker().defaultLookup().find("strerror").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    }

    /**
     * Links the {@code lseek} every copy of a regular file makes, on a thread of its own: started
     * with {@code cp}, it runs while the engine starts instead of after it, on the copy's path.
     */
    static void prepare() {
        Thread.ofPlatform().daemon().name("auraio-extents").start(Seek::link);
    }

    /**
     * Sets the size of {@code file}, longer or shorter, with {@code ftruncate(2)} on its descriptor
     * ({@code FileChannel.truncate} only shortens): a copy that ends in a hole gets its length so.
     *
     * @throws AuraIOException with the errno if it fails, or EBADF for a file served by the JDK backend
     */
    static void setSize(AuraFile file, long size) throws AuraIOException {
        if (file.backend() == Backend.JDK) {
            throw new AuraIOException("no descriptor to set the size of " + file.path(), 9);
        }
        int errno;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Errno.CAPTURE);
            int r = (int) Resize.FTRUNCATE.invokeExact(state, file.fd(), size);
            errno = r == 0 ? 0 : (int) Errno.VALUE.get(state, 0L);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("ftruncate", t);
        }
        if (errno != 0) {
            throw new AuraIOException("ftruncate: " + errnoMessage(errno), errno);
        }
    }

    /** {@return strerror's words for {@code errno}, as cp prints them} */
    private static String errnoMessage(int errno) {
        try {
            MemorySegment text = (MemorySegment) Words.STRERROR.invokeExact(errno);
            return text.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    /**
     * {@return the offset of the first hole at or after {@code position} (the file's end if none
     * before it), or -1 if it cannot be told: the file is served by the JDK backend (no
     * descriptor), or the file system or the file's type knows no SEEK_HOLE (EINVAL, ENXIO past
     * the end, ESPIPE...)} A file whose first hole is at its end has no hole.
     */
    static long nextHole(AuraFile file, long position) {
        long r = seek(file, position, SEEK_HOLE);
        return r >= 0 ? r : -1;
    }

    /**
     * {@return the offset of the first data at or after {@code position}, or -1 if there is none
     * (only a hole up to the end, or {@code position} at or past the end)}
     *
     * @throws AuraIOException with the errno for any other failure
     */
    static long nextData(AuraFile file, long position) throws AuraIOException {
        long r = seek(file, position, SEEK_DATA);
        if (r >= 0) {
            return r;
        }
        if (r == -ENXIO) {
            return -1;
        }
        throw new AuraIOException("lseek: " + errnoMessage((int) -r), (int) -r);
    }

    /** {@return lseek's result, or a negated errno; -EBADF for a file without a descriptor} */
    private static long seek(AuraFile file, long position, int whence) {
        if (file.backend() == Backend.JDK) {
            return -9; // EBADF: the JDK's FileChannel keeps its descriptor to itself
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Errno.CAPTURE);
            long r = (long) Seek.LSEEK.invokeExact(state, file.fd(), position, whence);
            return r >= 0 ? r : -(int) Errno.VALUE.get(state, 0L);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("lseek", t);
        }
    }
}
