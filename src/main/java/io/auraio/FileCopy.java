package io.auraio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

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
        boolean created = false;
        try (AuraFile in = AuraFiles.open(source, StandardOpenOption.READ)) {
            try (AuraFile out = AuraFiles.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                created = true;
                copyBytes(in, out);
            }
            setAttributes(target, attrs, copyAttributes);
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
     * As the JDK's copy: the target gets the source's permission bits less the umask, or with
     * {@code COPY_ATTRIBUTES} all of them, the owner where allowed, and the times.
     */
    private static void setAttributes(Path target, PosixFileAttributes source, boolean copyAttributes)
            throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(target, PosixFileAttributeView.class);
        if (view == null) {
            return; // not a POSIX file system: nothing the JDK would copy either
        }
        Set<PosixFilePermission> wanted = EnumSet.noneOf(PosixFilePermission.class);
        wanted.addAll(source.permissions());
        if (!copyAttributes) {
            wanted.removeAll(Umask.permissions());
        }
        if (!wanted.equals(view.readAttributes().permissions())) {
            view.setPermissions(wanted);
        }
        if (copyAttributes) {
            try {
                view.setOwner(source.owner());
                view.setGroup(source.group());
            } catch (IOException ignored) {
                // Like Files.copy: the owner is copied only where the process may change it.
            }
            view.setTimes(source.lastModifiedTime(), source.lastAccessTime(), null);
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
