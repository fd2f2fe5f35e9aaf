package io.auraio.cli;

import io.auraio.AuraIOException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;

/**
 * The words coreutils prints for a failure: the C library's {@code strerror} text of the errno
 * behind a JDK or AuraIO exception, and names quoted as {@code cp} quotes them, so that
 * {@code auraio cp}'s and {@code auraio hash}'s messages read like those of the tools they stand in for.
 */
final class Problems {
    private Problems() {}

    /** {@return the strerror text behind {@code e}, e.g. "No such file or directory"} */
    static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "Permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "File exists";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "Directory not empty";
        }
        if (e instanceof NotDirectoryException) {
            return "Not a directory";
        }
        if (e instanceof NotLinkException) {
            return "Invalid argument";
        }
        if (e instanceof FileSystemLoopException) {
            return "Too many levels of symbolic links";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason(); // the JDK's UnixException text is strerror's
        }
        String message = e.getMessage();
        if (e instanceof AuraIOException && message != null) {
            int colon = message.lastIndexOf(": ");
            return colon >= 0 ? message.substring(colon + 2) : message; // "read: Input/output error"
        }
        return message != null ? message : e.getClass().getSimpleName();
    }

    /** {@return {@code name} quoted as coreutils quotes a file name in a message: 'name', or "name" if it holds a quote} */
    static String quote(Object name) {
        String s = String.valueOf(name);
        return s.indexOf('\'') >= 0 ? "\"" + s + "\"" : "'" + s + "'";
    }

    /**
     * {@return {@code name} as coreutils' {@code quotef} writes it: as it is when the shell would
     * take it so, otherwise quoted as {@link #quote}}
     */
    static String quoteIfNeeded(String name) {
        if (name.isEmpty()) {
            return "''";
        }
        for (int i = 0; i < name.length(); ) {
            int c = name.codePointAt(i);
            boolean safe = c < 128 ? Character.isLetterOrDigit(c) || "%+,-./:=@_^".indexOf(c) >= 0
                    : Character.isLetterOrDigit(c);
            if (!safe) {
                return quote(name);
            }
            i += Character.charCount(c);
        }
        return name;
    }
}
