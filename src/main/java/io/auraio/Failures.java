package io.auraio;

import io.auraio.internal.binding.Errno;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
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

    /** Maps an {@code open} failure as the JDK's {@code UnixException.translateToIOException} does. */
    static IOException open(Path path, int errno) {
        String file = path.toString();
        return switch (errno) {
            case Errno.ENOENT -> new NoSuchFileException(file);
            case Errno.EEXIST -> new FileAlreadyExistsException(file);
            case Errno.EACCES, Errno.EPERM -> new AccessDeniedException(file);
            case Errno.ELOOP -> new FileSystemException(file, null,
                    Errno.message(errno) + " or unable to access attributes of symbolic link");
            case Errno.ESHUTDOWN -> io("open " + file, errno);
            default -> new FileSystemException(file, null, Errno.message(errno));
        };
    }
}
