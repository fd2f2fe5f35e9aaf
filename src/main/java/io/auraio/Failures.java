package io.auraio;

import io.auraio.internal.binding.Errno;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** The one place where a negated errno becomes the exception a JDK user expects. */
final class Failures {
    private Failures() {}

    /** {@return an exception for operation {@code op} failing with {@code errno}} */
    static AuraIOException io(String op, int errno) {
        return new AuraIOException(op + ": " + Errno.message(errno), errno);
    }

    /**
     * {@return an exception for request {@code op} that did not reach the kernel because of
     * {@code why}, with {@code errno}} (a ring refused it, or memory for it could not be had).
     */
    static AuraIOException request(String op, int errno, String why) {
        return new AuraIOException(op + ": " + why + " (" + Errno.message(errno) + ")", errno);
    }

    /**
     * {@return the kernel's answer to a read or write itself} The JDK's message ({@code FileChannel}'s
     * read of a directory says "Is a directory"), with the errno.
     */
    static AuraIOException transfer(int errno) {
        return new AuraIOException(Errno.message(errno), errno);
    }

    /** Maps an {@code open} failure as the JDK's {@code UnixException.translateToIOException} does. */
    static IOException open(Path path, int errno) {
        return open(path, errno, false);
    }

    /**
     * As {@link #open(Path, int)}, for an open that did not follow a last symbolic link
     * ({@code O_NOFOLLOW}: {@code NOFOLLOW_LINKS}, {@code DELETE_ON_CLOSE}), whose ELOOP the JDK's
     * {@code UnixChannelFactory} reports as a plain {@link IOException} saying so.
     */
    static IOException open(Path path, int errno, boolean noFollow) {
        String file = path.toString();
        if (noFollow && errno == Errno.ELOOP) {
            return new IOException(Errno.message(errno) + " (NOFOLLOW_LINKS specified)");
        }
        return switch (errno) {
            case Errno.ENOENT -> new NoSuchFileException(file);
            case Errno.EEXIST -> new FileAlreadyExistsException(file);
            case Errno.EACCES -> new AccessDeniedException(file); // EPERM (an immutable file): the default's
            case Errno.ELOOP -> new FileSystemException(file, null,
                    Errno.message(errno) + " or unable to access attributes of symbolic link");
            case Errno.ESHUTDOWN -> io("open " + file, errno);
            default -> new FileSystemException(file, null, Errno.message(errno));
        };
    }

    /**
     * Maps the failure of a request on {@code file} (and {@code other}, for a rename or a link) as
     * the JDK's {@code UnixException.translateToIOException} does, so callers catch the same types
     * as from {@code Files}: a request that never ran (ESHUTDOWN, EAGAIN, ECANCELED) and one with no
     * path stay {@link AuraIOException}s with the errno.
     *
     * @param op     the operation, for requests without a path
     * @param file   the path the request named, or null
     * @param other  the second path, or null
     * @param errno  the errno
     * @param target the path an EEXIST or ENOTEMPTY names (a rename's target), or null for {@code file}
     */
    static IOException path(String op, Path file, Path other, int errno, Path target) {
        if (file == null || errno == Errno.ESHUTDOWN || errno == Errno.EAGAIN || errno == Errno.ECANCELED) {
            return io(op, errno);
        }
        String a = file.toString();
        String b = other == null ? null : other.toString();
        String t = target == null ? a : target.toString();
        return switch (errno) {
            case Errno.ENOENT -> new NoSuchFileException(a, b, null);
            case Errno.EACCES -> new AccessDeniedException(a, b, null);
            case Errno.EEXIST -> op.equals("unlinkat") ? new DirectoryNotEmptyException(a)
                    : new FileAlreadyExistsException(t);
            case Errno.ENOTEMPTY -> new DirectoryNotEmptyException(t);
            case Errno.ELOOP -> new FileSystemException(a, b,
                    Errno.message(errno) + " or unable to access attributes of symbolic link");
            default -> new FileSystemException(a, b, Errno.message(errno));
        };
    }
}
