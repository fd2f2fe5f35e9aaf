package io.auraio.spi;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchService;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The platform's default file system with {@link AuraFileSystemProvider} as its provider: its
 * paths are {@link AuraPath}s, so that the JDK's static helpers ({@code FileChannel.open},
 * {@code Files.*}), which find the provider through the path, reach the Aura provider.
 */
final class AuraFileSystem extends FileSystem {
    private final AuraFileSystemProvider provider;
    private final FileSystem delegate;

    AuraFileSystem(AuraFileSystemProvider provider, FileSystem delegate) {
        this.provider = provider;
        this.delegate = delegate;
    }

    /** {@return {@code path} as a path of this file system; null stays null} */
    Path wrap(Path path) {
        if (path == null || path instanceof AuraPath) {
            return path;
        }
        return new AuraPath(this, path);
    }

    /**
     * {@return the platform path for {@code path}}: a path of this file system, or already one of
     * the platform's
     *
     * @throws ProviderMismatchException for a path of any other file system
     */
    Path unwrap(Path path) {
        if (path instanceof AuraPath a) {
            if (a.getFileSystem() != this) {
                throw new ProviderMismatchException();
            }
            return a.delegate();
        }
        if (path.getFileSystem() == delegate) {
            return path;
        }
        throw new ProviderMismatchException();
    }

    /** {@return the platform path, or {@code path} itself when it belongs to another provider} */
    Path unwrapIfOurs(Path path) {
        return path instanceof AuraPath a && a.getFileSystem() == this ? a.delegate() : path;
    }

    @Override
    public AuraFileSystemProvider provider() {
        return provider;
    }

    @Override
    public void close() throws IOException {
        delegate.close();
    }

    @Override
    public boolean isOpen() {
        return delegate.isOpen();
    }

    @Override
    public boolean isReadOnly() {
        return delegate.isReadOnly();
    }

    @Override
    public String getSeparator() {
        return delegate.getSeparator();
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        List<Path> roots = new ArrayList<>();
        for (Path root : delegate.getRootDirectories()) {
            roots.add(wrap(root));
        }
        return roots;
    }

    @Override
    public Iterable<FileStore> getFileStores() {
        // The stores as Files.getFileStore gives them (AuraFileStore): the platform's store is
        // never equal to one of those (its equals wants its own class), so a store looked up in
        // this list was not found. Lazy, as the platform's: each iteration reads the mounts again.
        return () -> {
            Iterator<FileStore> platformStores = delegate.getFileStores().iterator();
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return platformStores.hasNext();
                }

                @Override
                public FileStore next() {
                    FileStore store = platformStores.next();
                    return new AuraFileStore(store, AuraFileStore.mountPoint(store, delegate));
                }
            };
        };
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return delegate.supportedFileAttributeViews();
    }

    @Override
    public Path getPath(String first, String... more) {
        return wrap(delegate.getPath(first, more));
    }

    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        PathMatcher matcher = delegate.getPathMatcher(syntaxAndPattern);
        return path -> matcher.matches(unwrapIfOurs(path));
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        return delegate.getUserPrincipalLookupService();
    }

    @Override
    public WatchService newWatchService() throws IOException {
        // Keys and events with this file system's paths (AuraWatchService says why).
        return new AuraWatchService(this, delegate.newWatchService());
    }

    @Override
    public String toString() {
        return delegate.toString();
    }
}
