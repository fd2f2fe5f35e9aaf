package io.auraio;

import io.auraio.internal.binding.Statx;
import java.lang.foreign.MemorySegment;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * A file's attributes as {@code statx(2)} reports them ({@link Engine#statxAsync(java.nio.file.Path,
 * java.nio.file.LinkOption...)}), readable as the JDK's {@link BasicFileAttributes}: the values are
 * those {@code Files.readAttributes(path, BasicFileAttributes.class)} and the {@code unix:*}
 * attributes report for the same file.
 *
 * @param mode             {@code st_mode}: the file type and permission bits
 * @param size             size in bytes
 * @param blocks           512-byte blocks allocated
 * @param blockSize        the preferred I/O block size
 * @param linkCount        hard links
 * @param uid              owner user id
 * @param gid              owner group id
 * @param inode            inode number
 * @param device           device of the file system holding the file ({@code unix:dev})
 * @param rdev             the device a device file stands for ({@code unix:rdev}), 0 for others
 * @param lastAccessTime   time of last access
 * @param lastModifiedTime time of last modification
 * @param lastChangeTime   time of last status change ({@code unix:ctime})
 * @param birthTime        creation time, or null where the file system does not report one
 */
public record FileStat(int mode, long size, long blocks, int blockSize, int linkCount, int uid, int gid, long inode,
                       long device, long rdev, FileTime lastAccessTime, FileTime lastModifiedTime,
                       FileTime lastChangeTime, FileTime birthTime) implements BasicFileAttributes {
    private static final int S_IFMT = 0xF000;

    /**
     * The key the JDK's {@code fileKey()} stands for on Linux: device and inode.
     *
     * @param device the device of the file system
     * @param inode  the inode number
     */
    public record Key(long device, long inode) {}

    static FileStat of(MemorySegment statx) {
        boolean birth = (Statx.mask(statx) & Statx.STATX_BTIME) != 0;
        return new FileStat(Statx.mode(statx), Statx.size(statx), Statx.blocks(statx), Statx.blockSize(statx),
                Statx.linkCount(statx), Statx.uid(statx), Statx.gid(statx), Statx.inode(statx), Statx.deviceNumber(statx),
                Statx.rdev(statx), time(Statx.accessSeconds(statx), Statx.accessNanos(statx)),
                time(Statx.modifySeconds(statx), Statx.modifyNanos(statx)),
                time(Statx.changeSeconds(statx), Statx.changeNanos(statx)),
                birth ? time(Statx.birthSeconds(statx), Statx.birthNanos(statx)) : null);
    }

    /**
     * As the JDK's {@code UnixFileAttributes} makes it: in nanoseconds where they fit a long, else
     * in microseconds, else in seconds. Never through {@link Instant}, whose range (about a
     * billion years) a file's 64-bit time may exceed (tmpfs keeps any, and utimensat sets any):
     * the decoding runs on the ring's poller, where a throw would fail the request and stop the ring.
     */
    private static FileTime time(long seconds, int nanos) {
        long n = Integer.toUnsignedLong(nanos);
        if (n == 0) {
            return FileTime.from(seconds, TimeUnit.SECONDS);
        }
        try {
            return FileTime.from(Math.addExact(n, Math.multiplyExact(seconds, 1_000_000_000L)), TimeUnit.NANOSECONDS);
        } catch (ArithmeticException beyondNanos) {
            try {
                return FileTime.from(Math.addExact(Math.multiplyExact(seconds, 1_000_000L), n / 1_000),
                        TimeUnit.MICROSECONDS);
            } catch (ArithmeticException beyondMicros) {
                return FileTime.from(seconds, TimeUnit.SECONDS);
            }
        }
    }

    /** {@return the file type bits of {@link #mode()}} */
    private int type() {
        return mode & S_IFMT;
    }

    /** {@return the creation time where the file system reports one, else the last modification time, as the JDK} */
    @Override
    public FileTime creationTime() {
        return birthTime != null ? birthTime : lastModifiedTime;
    }

    @Override
    public boolean isRegularFile() {
        return type() == Statx.S_IFREG;
    }

    @Override
    public boolean isDirectory() {
        return type() == Statx.S_IFDIR;
    }

    @Override
    public boolean isSymbolicLink() {
        return type() == Statx.S_IFLNK;
    }

    @Override
    public boolean isOther() {
        return !isRegularFile() && !isDirectory() && !isSymbolicLink();
    }

    /** {@return a {@link Key} of device and inode} */
    @Override
    public Object fileKey() {
        return new Key(device, inode);
    }

    /** {@return the permission bits of {@link #mode()} ({@code 07777})} */
    public int permissions() {
        return mode & 07777;
    }
}
