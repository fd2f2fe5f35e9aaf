package io.auraio.spi;

import io.auraio.internal.offload.BatchedIterator;
import io.auraio.internal.offload.BlockingOffload;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * The platform's directory stream with its entries as paths of the {@link AuraFileSystem}. Its
 * entries are read in batches on the {@link BlockingOffload} (a virtual caller parks meanwhile),
 * and the filter is applied here, on the caller's thread.
 *
 * <p>As the platform's, the iterator is thread-safe, and once the stream is closed it returns no
 * more entries than the one a {@code hasNext} already found: the rest of a batch read ahead is
 * dropped.
 */
class AuraDirectoryStream implements DirectoryStream<Path> {
    final AuraFileSystem fileSystem;
    final BlockingOffload offload;
    /** The directory, a platform path: which mount the stream's calls touch. */
    final Path dir;
    private final DirectoryStream<Path> delegate;
    private final DirectoryStream.Filter<? super Path> filter;
    /** Set by {@link #close()}: the iterator is then at its end, read-ahead and all, as the platform's. */
    private volatile boolean closed;

    private AuraDirectoryStream(AuraFileSystem fileSystem, BlockingOffload offload, Path dir,
                                DirectoryStream<Path> delegate, DirectoryStream.Filter<? super Path> filter) {
        this.fileSystem = fileSystem;
        this.offload = offload;
        this.dir = dir;
        this.delegate = delegate;
        this.filter = filter;
    }

    /**
     * {@return {@code delegate} (which accepts every entry) with this file system's paths, filtered
     * by {@code filter}: a {@link SecureDirectoryStream} where {@code delegate} is one, as the
     * platform's is on Linux}
     */
    static AuraDirectoryStream of(AuraFileSystem fileSystem, BlockingOffload offload, Path dir,
                                  DirectoryStream<Path> delegate, DirectoryStream.Filter<? super Path> filter) {
        if (delegate instanceof SecureDirectoryStream<Path> secure) {
            return new Secure(fileSystem, offload, dir, secure, filter);
        }
        return new AuraDirectoryStream(fileSystem, offload, dir, delegate, filter);
    }

    @Override
    public Iterator<Path> iterator() {
        Iterator<Path> entries = new BatchedIterator<>(offload, dir, delegate.iterator());
        // Synchronized, as the platform's iterator: DirectoryStream's iterator is thread-safe,
        // and neither the batch nor the entry found ahead here may be taken by two threads.
        return new Iterator<>() {
            private Path next;

            @Override
            public synchronized boolean hasNext() {
                while (next == null && !closed && entries.hasNext()) {
                    Path entry = fileSystem.wrap(entries.next());
                    try {
                        if (filter.accept(entry)) {
                            next = entry;
                        }
                    } catch (IOException e) {
                        throw new DirectoryIteratorException(e); // as the platform's iterator
                    }
                }
                return next != null;
            }

            @Override
            public synchronized Path next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Path entry = next;
                next = null;
                return entry;
            }

            @Override
            public void remove() {
                throw new UnsupportedOperationException(); // as the platform's, with no message
            }
        };
    }

    @Override
    public void close() throws IOException {
        closed = true;
        delegate.close();
    }

    /**
     * The platform's {@link SecureDirectoryStream}: paths given are unwrapped to the platform's
     * (which the platform stream requires), paths handed out wrapped; its system calls are made on
     * the offload.
     */
    private static final class Secure extends AuraDirectoryStream implements SecureDirectoryStream<Path> {
        private final SecureDirectoryStream<Path> secure;

        Secure(AuraFileSystem fileSystem, BlockingOffload offload, Path dir, SecureDirectoryStream<Path> secure,
               DirectoryStream.Filter<? super Path> filter) {
            super(fileSystem, offload, dir, secure, filter);
            this.secure = secure;
        }

        /** {@return the platform path {@code path} (relative to this directory, or absolute) names} */
        private Path target(Path path) {
            return dir.resolve(path);
        }

        @Override
        public SecureDirectoryStream<Path> newDirectoryStream(Path path, LinkOption... options) throws IOException {
            Path p = fileSystem.unwrap(path);
            SecureDirectoryStream<Path> opened = offload.call(target(p), () -> secure.newDirectoryStream(p, options));
            return (Secure) of(fileSystem, offload, target(p), opened, entry -> true);
        }

        @Override
        public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options,
                                                  FileAttribute<?>... attrs) throws IOException {
            Path p = fileSystem.unwrap(path);
            return offload.call(target(p), () -> secure.newByteChannel(p, options, attrs));
        }

        @Override
        public void deleteFile(Path path) throws IOException {
            Path p = fileSystem.unwrap(path);
            offload.call(target(p), () -> {
                secure.deleteFile(p);
                return null;
            });
        }

        @Override
        public void deleteDirectory(Path path) throws IOException {
            Path p = fileSystem.unwrap(path);
            offload.call(target(p), () -> {
                secure.deleteDirectory(p);
                return null;
            });
        }

        @Override
        public void move(Path srcpath, SecureDirectoryStream<Path> targetdir, Path targetpath) throws IOException {
            // The platform stream accepts only its own kind of target directory.
            SecureDirectoryStream<Path> target = targetdir instanceof Secure s ? s.secure : targetdir;
            Path src = fileSystem.unwrap(srcpath);
            Path dst = fileSystem.unwrap(targetpath);
            Path dstDir = targetdir instanceof Secure s ? s.dir : null;
            offload.call(target(src), dstDir == null ? null : dstDir.resolve(dst), () -> {
                secure.move(src, target, dst);
                return null;
            });
        }

        @Override
        public <V extends FileAttributeView> V getFileAttributeView(Class<V> type) {
            return OffloadedView.of(type, secure.getFileAttributeView(type), dir);
        }

        @Override
        public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
            Path p = fileSystem.unwrap(path);
            return OffloadedView.of(type, secure.getFileAttributeView(p, type, options), target(p));
        }
    }
}
