package io.auraio.spi;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.util.Iterator;
import java.util.Set;

/** The platform's directory stream with its entries as paths of the {@link AuraFileSystem}. */
class AuraDirectoryStream implements DirectoryStream<Path> {
    final AuraFileSystem fileSystem;
    private final DirectoryStream<Path> delegate;

    private AuraDirectoryStream(AuraFileSystem fileSystem, DirectoryStream<Path> delegate) {
        this.fileSystem = fileSystem;
        this.delegate = delegate;
    }

    /**
     * {@return {@code delegate} with this file system's paths: a {@link SecureDirectoryStream} where
     * {@code delegate} is one, as the platform's is on Linux}
     */
    static AuraDirectoryStream of(AuraFileSystem fileSystem, DirectoryStream<Path> delegate) {
        if (delegate instanceof SecureDirectoryStream<Path> secure) {
            return new Secure(fileSystem, secure);
        }
        return new AuraDirectoryStream(fileSystem, delegate);
    }

    @Override
    public Iterator<Path> iterator() {
        Iterator<Path> entries = delegate.iterator();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return entries.hasNext();
            }

            @Override
            public Path next() {
                return fileSystem.wrap(entries.next());
            }

            @Override
            public void remove() {
                entries.remove();
            }
        };
    }

    @Override
    public void close() throws IOException {
        delegate.close();
    }

    /**
     * The platform's {@link SecureDirectoryStream}: paths given are unwrapped to the platform's
     * (which the platform stream requires), paths handed out wrapped.
     */
    private static final class Secure extends AuraDirectoryStream implements SecureDirectoryStream<Path> {
        private final SecureDirectoryStream<Path> secure;

        Secure(AuraFileSystem fileSystem, SecureDirectoryStream<Path> secure) {
            super(fileSystem, secure);
            this.secure = secure;
        }

        @Override
        public SecureDirectoryStream<Path> newDirectoryStream(Path path, LinkOption... options) throws IOException {
            return (Secure) of(fileSystem, secure.newDirectoryStream(fileSystem.unwrap(path), options));
        }

        @Override
        public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options,
                                                  FileAttribute<?>... attrs) throws IOException {
            return secure.newByteChannel(fileSystem.unwrap(path), options, attrs);
        }

        @Override
        public void deleteFile(Path path) throws IOException {
            secure.deleteFile(fileSystem.unwrap(path));
        }

        @Override
        public void deleteDirectory(Path path) throws IOException {
            secure.deleteDirectory(fileSystem.unwrap(path));
        }

        @Override
        public void move(Path srcpath, SecureDirectoryStream<Path> targetdir, Path targetpath) throws IOException {
            // The platform stream accepts only its own kind of target directory.
            SecureDirectoryStream<Path> target = targetdir instanceof Secure s ? s.secure : targetdir;
            secure.move(fileSystem.unwrap(srcpath), target, fileSystem.unwrap(targetpath));
        }

        @Override
        public <V extends FileAttributeView> V getFileAttributeView(Class<V> type) {
            return secure.getFileAttributeView(type);
        }

        @Override
        public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
            return secure.getFileAttributeView(fileSystem.unwrap(path), type, options);
        }
    }
}
