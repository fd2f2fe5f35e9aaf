package io.auraio;

import io.auraio.internal.offload.BlockingOffload;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Map;

/**
 * The {@link BasicFileAttributes} {@link AuraFiles#readAttributes} (and through it the provider)
 * returns where it read them itself ({@code statx} on the caller or through the ring): a
 * {@link FileStat}'s values, with the JDK's own {@link #fileKey()}.
 *
 * <p>Keys are compared with {@code equals}: {@code Files.walk} and {@code walkFileTree} following
 * links compare a directory's key with its ancestors' to find a loop, and tools that count hard
 * links once keep them in sets. The same file must give equal keys whichever way its attributes
 * were read (the JDK's on a platform thread or on the offload, these on a cached name), and the
 * JDK's key equals only its own kind. So the key is the JDK's, asked for the first time
 * {@code fileKey()} is called (most callers never call it), on the offload from a virtual thread,
 * and accepted only if it names the device and inode read here; if the name now leads to another
 * file (replaced in between), the key of the file read here ({@link FileStat.Key}).
 */
final class JdkKeyedAttributes implements BasicFileAttributes {
    private final FileStat stat;
    private final Path path;
    private final LinkOption[] options;
    private Object key;

    JdkKeyedAttributes(FileStat stat, Path path, LinkOption... options) {
        this.stat = stat;
        this.path = path;
        this.options = options.clone();
    }

    @Override
    public FileTime lastModifiedTime() {
        return stat.lastModifiedTime();
    }

    @Override
    public FileTime lastAccessTime() {
        return stat.lastAccessTime();
    }

    @Override
    public FileTime creationTime() {
        return stat.creationTime();
    }

    @Override
    public boolean isRegularFile() {
        return stat.isRegularFile();
    }

    @Override
    public boolean isDirectory() {
        return stat.isDirectory();
    }

    @Override
    public boolean isSymbolicLink() {
        return stat.isSymbolicLink();
    }

    @Override
    public boolean isOther() {
        return stat.isOther();
    }

    @Override
    public long size() {
        return stat.size();
    }

    /** {@return the JDK's key of the file these attributes were read of} */
    @Override
    public Object fileKey() {
        Object k = key;
        if (k == null) {
            key = k = jdkKey();
        }
        return k;
    }

    private Object jdkKey() {
        try {
            Map<String, Object> jdk = BlockingOffload.shared().call(path,
                    () -> Files.readAttributes(path, "unix:dev,ino,fileKey", options));
            Object jdkKey = jdk.get("fileKey");
            if (jdkKey != null && jdk.get("dev") instanceof Long dev && dev == stat.device()
                    && jdk.get("ino") instanceof Long ino && ino == stat.inode()) {
                return jdkKey;
            }
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            // Gone, or no unix view: the key of the file read here.
        }
        return stat.fileKey();
    }
}
