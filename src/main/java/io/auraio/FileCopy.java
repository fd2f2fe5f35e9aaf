package io.auraio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.CopyOption;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.List;
import java.util.Objects;

/**
 * {@link AuraFiles#copy}: {@code Files.copy}'s rules, with a regular file's bytes copied in the
 * kernel ({@link AuraFiles#copyRange}) or, across file systems, moved through {@link AuraFile}s.
 */
final class FileCopy {
    private FileCopy() {}

    static Path copy(Path source, Path target, CopyOption... options) throws IOException {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(target, "target");
        boolean replace = false;
        boolean copyAttributes = false;
        boolean followLinks = true;
        for (CopyOption option : Objects.requireNonNull(options, "options")) {
            if (option == StandardCopyOption.REPLACE_EXISTING) {
                replace = true;
            } else if (option == StandardCopyOption.COPY_ATTRIBUTES) {
                copyAttributes = true;
            } else if (option == LinkOption.NOFOLLOW_LINKS) {
                followLinks = false;
            } else {
                Objects.requireNonNull(option, "options contains null");
                throw new UnsupportedOperationException("Unsupported copy option: " + option);
            }
        }
        if (AuraFiles.servedByFiles(source) || AuraFiles.servedByFiles(target)) {
            return Files.copy(source, target, options); // across file systems, or without io_uring
        }
        LinkOption[] linkOptions = followLinks ? new LinkOption[0] : new LinkOption[] {LinkOption.NOFOLLOW_LINKS};
        PosixFileAttributes attrs = Files.readAttributes(source, PosixFileAttributes.class, linkOptions);
        if (!attrs.isRegularFile()) {
            return Files.copy(source, target, options);
        }
        boolean created = false;
        // The source is opened before the target is looked at, as the JDK checks that it can be
        // read first: a source this user cannot read fails with AccessDeniedException and leaves
        // an existing target alone (REPLACE_EXISTING deleted it before the open failed).
        try (AuraFile in = AuraFiles.open(source, StandardOpenOption.READ)) {
            BasicFileAttributes existing = targetAttributes(target);
            if (existing != null) {
                if (Objects.equals(existing.fileKey(), attrs.fileKey()) && existing.fileKey() != null) {
                    return target; // the same file: Files.copy does nothing
                }
                if (!replace) {
                    throw new FileAlreadyExistsException(target.toString());
                }
                Files.deleteIfExists(target);
            }
            // The whole mode (setuid, setgid, sticky too), as the JDK's copy creates the target with.
            int mode = (Integer) Files.getAttribute(source, "unix:mode", linkOptions) & 07777;
            try (AuraFile out = AuraFile.open(AuraIO.defaultEngine(), target,
                    List.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), mode)) {
                out.setUninterruptible();
                created = true;
                copyBytes(in, out);
            }
            if (copyAttributes) {
                copyAttributes(source, target, attrs, mode, linkOptions);
            }
        } catch (IOException | RuntimeException | Error e) {
            if (created) {
                deleteQuietly(target, e); // as Files.copy: no partial copy is left behind
            }
            throw e;
        }
        return target;
    }

    private static BasicFileAttributes targetAttributes(Path target) throws IOException {
        try {
            return Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        }
    }

    /**
     * Copies inside the kernel where it can (one file system), as {@code Files.copy} does on Linux:
     * page cache to page cache, one copy instead of a read and a write through this process, until
     * the end of the source. {@return false if the kernel cannot copy between these two, when
     * nothing was copied}
     */
    private static boolean copiedInKernel(AuraFile in, AuraFile out) throws IOException {
        long position = 0;
        long n;
        while ((n = AuraFiles.copyRange(in, position, out, position, AuraFiles.COPY_RANGE_MAX)) > 0) {
            position += n;
        }
        if (n < 0 && position > 0) {
            throw new IOException("copy_file_range refused to go on after " + position + " bytes");
        }
        return n == 0;
    }

    /** Copies the announced size in chunks, each worker with its own native buffer, then whatever follows. */
    private static void copyBytes(AuraFile in, AuraFile out) throws IOException {
        if (copiedInKernel(in, out)) {
            return;
        }
        long size = in.size();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffers = arena.allocate((long) Chunks.workers(size) * Chunks.CHUNK, 4096);
            long end = Chunks.forEach(size, (worker, offset, length) -> {
                MemorySegment buf = buffers.asSlice((long) worker * Chunks.CHUNK, length);
                long n = AuraFiles.readAsMuch(in, buf, offset);
                out.writeFully(buf.asSlice(0, n), offset);
                return n;
            });
            if (end == size) {
                // The file may be longer than it said (it grew, or it is a /proc file of size 0).
                MemorySegment buf = buffers.asSlice(0, Chunks.CHUNK);
                long position = size;
                int n;
                while ((n = in.read(buf, position)) >= 0) {
                    out.writeFully(buf.asSlice(0, n), position);
                    position += n;
                }
            }
        }
    }

    /**
     * {@code COPY_ATTRIBUTES}, as the JDK's copy: the owner and group where the process may change
     * them (first: a change of owner clears the setuid and setgid bits), the whole mode, the
     * times, and the user-defined extended attributes (best effort, as the JDK's). The mode
     * without it was given at creation, less the umask, as the JDK's.
     */
    private static void copyAttributes(Path source, Path target, PosixFileAttributes attrs, int mode,
                                       LinkOption[] linkOptions) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(target, PosixFileAttributeView.class);
        if (view == null) {
            return; // not a POSIX file system: nothing the JDK would copy either
        }
        try {
            view.setOwner(attrs.owner());
            view.setGroup(attrs.group());
        } catch (IOException ignored) {
            // Like Files.copy: the owner is copied only where the process may change it.
        }
        Files.setAttribute(target, "unix:mode", mode);
        view.setTimes(attrs.lastModifiedTime(), attrs.lastAccessTime(), null);
        copyUserAttributes(source, target, linkOptions);
    }

    /** The user-defined extended attributes ({@code user.*}), each on a best-effort basis, as the JDK's copy. */
    private static void copyUserAttributes(Path source, Path target, LinkOption[] linkOptions) {
        UserDefinedFileAttributeView from = Files.getFileAttributeView(source, UserDefinedFileAttributeView.class,
                linkOptions);
        UserDefinedFileAttributeView to = Files.getFileAttributeView(target, UserDefinedFileAttributeView.class);
        if (from == null || to == null) {
            return;
        }
        List<String> names;
        try {
            names = from.list();
        } catch (IOException | UnsupportedOperationException e) {
            return; // a file system without them
        }
        for (String name : names) {
            try {
                ByteBuffer value = ByteBuffer.allocate(from.size(name));
                from.read(name, value);
                to.write(name, value.flip());
            } catch (IOException | UnsupportedOperationException | IllegalArgumentException ignored) {
                // best effort, as the JDK's
            }
        }
    }

    private static void deleteQuietly(Path target, Throwable failure) {
        try {
            Files.deleteIfExists(target);
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }
}
