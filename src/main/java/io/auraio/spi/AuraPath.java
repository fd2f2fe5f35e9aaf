package io.auraio.spi;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.Objects;

/**
 * A path of an {@link AuraFileSystem}: the platform's path inside, so that
 * {@code path.getFileSystem().provider()} is the {@link AuraFileSystemProvider} and
 * {@code FileChannel.open}, {@code Files.*} reach it. Every operation is the platform path's,
 * with paths wrapped on the way out and unwrapped on the way in.
 */
final class AuraPath implements Path {
    private final AuraFileSystem fileSystem;
    private final Path delegate;

    AuraPath(AuraFileSystem fileSystem, Path delegate) {
        this.fileSystem = fileSystem;
        this.delegate = delegate;
    }

    /** {@return the platform path this one wraps} */
    Path delegate() {
        return delegate;
    }

    private Path wrap(Path p) {
        return fileSystem.wrap(p);
    }

    @Override
    public AuraFileSystem getFileSystem() {
        return fileSystem;
    }

    @Override
    public boolean isAbsolute() {
        return delegate.isAbsolute();
    }

    @Override
    public Path getRoot() {
        return wrap(delegate.getRoot());
    }

    @Override
    public Path getFileName() {
        return wrap(delegate.getFileName());
    }

    @Override
    public Path getParent() {
        return wrap(delegate.getParent());
    }

    @Override
    public int getNameCount() {
        return delegate.getNameCount();
    }

    @Override
    public Path getName(int index) {
        return wrap(delegate.getName(index));
    }

    @Override
    public Path subpath(int beginIndex, int endIndex) {
        return wrap(delegate.subpath(beginIndex, endIndex));
    }

    @Override
    public boolean startsWith(Path other) {
        // As the platform's path: a path of another provider is never a prefix.
        return Objects.requireNonNull(other) instanceof AuraPath a && delegate.startsWith(a.delegate);
    }

    @Override
    public boolean endsWith(Path other) {
        return Objects.requireNonNull(other) instanceof AuraPath a && delegate.endsWith(a.delegate);
    }

    @Override
    public Path normalize() {
        return wrap(delegate.normalize());
    }

    @Override
    public Path resolve(Path other) {
        return wrap(delegate.resolve(fileSystem.unwrap(other)));
    }

    @Override
    public Path relativize(Path other) {
        return wrap(delegate.relativize(fileSystem.unwrap(other)));
    }

    @Override
    public URI toUri() {
        return delegate.toUri();
    }

    @Override
    public Path toAbsolutePath() {
        return wrap(delegate.toAbsolutePath());
    }

    @Override
    public Path toRealPath(LinkOption... options) throws IOException {
        return wrap(delegate.toRealPath(options));
    }

    /** A file of the local file system: {@code Path.toFile} would refuse it unless this is the default file system. */
    @Override
    public File toFile() {
        return new File(toString());
    }

    /**
     * As the platform's: a watch service of another file system, the platform's or another
     * provider instance's included, is refused with {@code ProviderMismatchException} (its keys
     * would have given that file system's paths, never equal to this one's).
     */
    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers)
            throws IOException {
        if (watcher instanceof AuraWatchService ours && ours.fileSystem() == fileSystem) {
            // this file system's: its keys wrap the platform's
            return ours.wrap(delegate.register(ours.platform(), events, modifiers));
        }
        Objects.requireNonNull(watcher); // as the platform's: no message
        throw new ProviderMismatchException();
    }

    @Override
    public int compareTo(Path other) {
        return delegate.compareTo(fileSystem.unwrap(other));
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof AuraPath a && a.fileSystem == fileSystem && delegate.equals(a.delegate);
    }

    @Override
    public int hashCode() {
        return delegate.hashCode();
    }

    @Override
    public String toString() {
        return delegate.toString();
    }
}
