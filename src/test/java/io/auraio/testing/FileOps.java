package io.auraio.testing;

import io.auraio.AuraFileChannel;
import io.auraio.AuraFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The calls a differential test makes on either side: {@link #JDK}, the {@code Files} calls
 * (through whichever provider owns the path: the platform's, or {@code AuraFileSystemProvider}'s
 * for its paths), and {@link #AURA}, the same calls through {@link AuraFiles}.
 */
public interface FileOps {
    long size(Path p) throws IOException;

    byte[] readAllBytes(Path p) throws IOException;

    String readString(Path p) throws IOException;

    Path write(Path p, byte[] bytes, OpenOption... options) throws IOException;

    Path copy(Path source, Path target, CopyOption... options) throws IOException;

    Path move(Path source, Path target, CopyOption... options) throws IOException;

    boolean exists(Path p, LinkOption... options);

    void checkAccess(Path p, AccessMode... modes) throws IOException;

    boolean isSameFile(Path p, Path q) throws IOException;

    BasicFileAttributes readAttributes(Path p, LinkOption... options) throws IOException;

    void delete(Path p) throws IOException;

    boolean deleteIfExists(Path p) throws IOException;

    Path createDirectory(Path p, FileAttribute<?>... attrs) throws IOException;

    Path createDirectories(Path p) throws IOException;

    Path createSymbolicLink(Path link, Path target) throws IOException;

    Path createLink(Path link, Path existing) throws IOException;

    Stream<Path> list(Path p) throws IOException;

    /** {@code Files.walk}; at a depth of {@link Integer#MAX_VALUE}, the overload without one. */
    Stream<Path> walk(Path p, int depth, FileVisitOption... options) throws IOException;

    /** {@code FileChannel.open}, or {@code AuraFileChannel.open}. */
    FileChannel open(Path p, Set<OpenOption> options) throws IOException;

    FileOps JDK = new FileOps() {
        public long size(Path p) throws IOException {
            return Files.size(p);
        }

        public byte[] readAllBytes(Path p) throws IOException {
            return Files.readAllBytes(p);
        }

        public String readString(Path p) throws IOException {
            return Files.readString(p);
        }

        public Path write(Path p, byte[] bytes, OpenOption... options) throws IOException {
            return Files.write(p, bytes, options);
        }

        public Path copy(Path source, Path target, CopyOption... options) throws IOException {
            return Files.copy(source, target, options);
        }

        public Path move(Path source, Path target, CopyOption... options) throws IOException {
            return Files.move(source, target, options);
        }

        public boolean exists(Path p, LinkOption... options) {
            return Files.exists(p, options);
        }

        public void checkAccess(Path p, AccessMode... modes) throws IOException {
            p.getFileSystem().provider().checkAccess(p, modes);
        }

        public boolean isSameFile(Path p, Path q) throws IOException {
            return Files.isSameFile(p, q);
        }

        public BasicFileAttributes readAttributes(Path p, LinkOption... options) throws IOException {
            return Files.readAttributes(p, BasicFileAttributes.class, options);
        }

        public void delete(Path p) throws IOException {
            Files.delete(p);
        }

        public boolean deleteIfExists(Path p) throws IOException {
            return Files.deleteIfExists(p);
        }

        public Path createDirectory(Path p, FileAttribute<?>... attrs) throws IOException {
            return Files.createDirectory(p, attrs);
        }

        public Path createDirectories(Path p) throws IOException {
            return Files.createDirectories(p);
        }

        public Path createSymbolicLink(Path link, Path target) throws IOException {
            return Files.createSymbolicLink(link, target);
        }

        public Path createLink(Path link, Path existing) throws IOException {
            return Files.createLink(link, existing);
        }

        public Stream<Path> list(Path p) throws IOException {
            return Files.list(p);
        }

        public Stream<Path> walk(Path p, int depth, FileVisitOption... options) throws IOException {
            return depth == Integer.MAX_VALUE ? Files.walk(p, options) : Files.walk(p, depth, options);
        }

        public FileChannel open(Path p, Set<OpenOption> options) throws IOException {
            return FileChannel.open(p, options);
        }
    };

    FileOps AURA = new FileOps() {
        public long size(Path p) throws IOException {
            return AuraFiles.size(p);
        }

        public byte[] readAllBytes(Path p) throws IOException {
            return AuraFiles.readAllBytes(p);
        }

        public String readString(Path p) throws IOException {
            return AuraFiles.readString(p);
        }

        public Path write(Path p, byte[] bytes, OpenOption... options) throws IOException {
            return AuraFiles.write(p, bytes, options);
        }

        public Path copy(Path source, Path target, CopyOption... options) throws IOException {
            return AuraFiles.copy(source, target, options);
        }

        public Path move(Path source, Path target, CopyOption... options) throws IOException {
            return AuraFiles.move(source, target, options);
        }

        public boolean exists(Path p, LinkOption... options) {
            return AuraFiles.exists(p, options);
        }

        public void checkAccess(Path p, AccessMode... modes) throws IOException {
            AuraFiles.checkAccess(p, modes);
        }

        public boolean isSameFile(Path p, Path q) throws IOException {
            return AuraFiles.isSameFile(p, q);
        }

        public BasicFileAttributes readAttributes(Path p, LinkOption... options) throws IOException {
            return AuraFiles.readAttributes(p, BasicFileAttributes.class, options);
        }

        public void delete(Path p) throws IOException {
            AuraFiles.delete(p);
        }

        public boolean deleteIfExists(Path p) throws IOException {
            return AuraFiles.deleteIfExists(p);
        }

        public Path createDirectory(Path p, FileAttribute<?>... attrs) throws IOException {
            return AuraFiles.createDirectory(p, attrs);
        }

        public Path createDirectories(Path p) throws IOException {
            return AuraFiles.createDirectories(p);
        }

        public Path createSymbolicLink(Path link, Path target) throws IOException {
            return AuraFiles.createSymbolicLink(link, target);
        }

        public Path createLink(Path link, Path existing) throws IOException {
            return AuraFiles.createLink(link, existing);
        }

        public Stream<Path> list(Path p) throws IOException {
            return AuraFiles.list(p);
        }

        public Stream<Path> walk(Path p, int depth, FileVisitOption... options) throws IOException {
            return depth == Integer.MAX_VALUE ? AuraFiles.walk(p, options) : AuraFiles.walk(p, depth, options);
        }

        public FileChannel open(Path p, Set<OpenOption> options) throws IOException {
            return AuraFileChannel.open(p, options);
        }
    };
}
