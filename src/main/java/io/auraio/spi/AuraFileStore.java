package io.auraio.spi;

import io.auraio.internal.offload.BlockingOffload;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileStoreAttributeView;

/**
 * The platform's file store, with the methods that make system calls ({@code statvfs} for the
 * space and block size, {@code getxattr} probes for the {@code user} view) made on the
 * {@link BlockingOffload}. Name, type and read-only state come from the mount table entry the
 * platform read when it made the store.
 */
final class AuraFileStore extends FileStore {
    private final FileStore platform;
    /** The platform path the store was asked for: its mount. */
    private final Path path;

    AuraFileStore(FileStore platform, Path path) {
        this.platform = platform;
        this.path = path;
    }

    /**
     * {@return where {@code store} (a store of the platform's {@code getFileStores()}) is mounted,
     * as a path of {@code platform}, for the offload's per-mount limit} The JDK's Unix store names
     * it only in its {@code toString}, "{@code /mount/point (name)}"; the root where that cannot
     * be read. The store's name is cut off as a whole: either part may hold " (" (a mount point,
     * or a source such as {@code mount -t tmpfs "a (b)" /mnt}), so no search for it can tell where
     * the point ends.
     */
    static Path mountPoint(FileStore store, java.nio.file.FileSystem platform) {
        String s = store.toString();
        String name = " (" + store.name() + ")";
        if (s.endsWith(name) && s.startsWith("/")) {
            try {
                return platform.getPath(s.substring(0, s.length() - name.length()));
            } catch (RuntimeException e) {
                // not a path: the root below
            }
        }
        return platform.getPath("/");
    }

    private static BlockingOffload offload() {
        return BlockingOffload.shared();
    }

    @Override
    public String name() {
        return platform.name();
    }

    @Override
    public String type() {
        return platform.type();
    }

    @Override
    public boolean isReadOnly() {
        return platform.isReadOnly();
    }

    @Override
    public long getTotalSpace() throws IOException {
        return offload().call(path, platform::getTotalSpace);
    }

    @Override
    public long getUsableSpace() throws IOException {
        return offload().call(path, platform::getUsableSpace);
    }

    @Override
    public long getUnallocatedSpace() throws IOException {
        return offload().call(path, platform::getUnallocatedSpace);
    }

    @Override
    public long getBlockSize() throws IOException {
        return offload().call(path, platform::getBlockSize);
    }

    @Override
    public boolean supportsFileAttributeView(Class<? extends FileAttributeView> type) {
        return offload().call(path, () -> platform.supportsFileAttributeView(type));
    }

    @Override
    public boolean supportsFileAttributeView(String name) {
        return offload().call(path, () -> platform.supportsFileAttributeView(name));
    }

    @Override
    public <V extends FileStoreAttributeView> V getFileStoreAttributeView(Class<V> type) {
        return platform.getFileStoreAttributeView(type);
    }

    @Override
    public Object getAttribute(String attribute) throws IOException {
        return offload().call(path, () -> platform.getAttribute(attribute));
    }

    /**
     * Equal to a store of this provider whose platform store is equal to this one's (for the
     * JDK's, the same device and mount entry). Never equal to a platform store: the platform's
     * {@code equals} wants its own class, so equality with it could hold one way only, and a
     * {@code HashSet} or {@code List.contains} would answer by the order of its arguments.
     */
    @Override
    public boolean equals(Object other) {
        return other instanceof AuraFileStore s && platform.equals(s.platform);
    }

    @Override
    public int hashCode() {
        return platform.hashCode();
    }

    @Override
    public String toString() {
        return platform.toString();
    }
}
