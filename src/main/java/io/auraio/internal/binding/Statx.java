package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;

/** {@code struct statx} ({@code <linux/stat.h>}) offsets and the masks the library asks for. */
public final class Statx {
    public static final long BYTES = 256;
    public static final int AT_FDCWD = -100;
    public static final int AT_EMPTY_PATH = 0x1000;
    /** {@code AT_STATX_DONT_SYNC}: answer from cached attributes, never ask a FUSE daemon or NFS server. */
    public static final int AT_STATX_DONT_SYNC = 0x4000;

    public static final int STATX_TYPE = 0x1;
    public static final int STATX_MODE = 0x2;
    /** {@code STATX_NLINK}: the link count. */
    public static final int STATX_NLINK = 0x4;
    public static final int STATX_SIZE = 0x200;
    public static final int STATX_DIOALIGN = 0x2000;
    /** {@code STATX_MNT_ID} (Linux 5.8): the mount ID, as in {@code /proc/self/mountinfo}. */
    public static final int STATX_MNT_ID = 0x1000;
    /**
     * {@code STATX_MNT_ID_UNIQUE} (Linux 6.8): {@code stx_mnt_id} is the mount's unique 64-bit ID
     * (as {@code listmount}/{@code statmount} give it), which no other mount gets after it.
     */
    public static final int STATX_MNT_ID_UNIQUE = 0x4000;
    /** {@code STATX_BASIC_STATS}: what {@code stat(2)} returns. */
    public static final int STATX_BASIC_STATS = 0x7ff;
    public static final int STATX_BTIME = 0x800;
    /** {@code AT_SYMLINK_NOFOLLOW}: report a symbolic link itself. */
    public static final int AT_SYMLINK_NOFOLLOW = 0x100;
    /** {@code AT_REMOVEDIR}: {@code unlinkat} removes a directory. */
    public static final int AT_REMOVEDIR = 0x200;
    /** {@code AT_SYMLINK_FOLLOW}: {@code linkat} links the target of a symbolic link. */
    public static final int AT_SYMLINK_FOLLOW = 0x400;
    /** {@code RENAME_NOREPLACE}: {@code renameat2} fails with EEXIST rather than replace. */
    public static final int RENAME_NOREPLACE = 1;

    private static final long STX_MASK = 0;              // __u32 stx_mask
    private static final long STX_BLKSIZE = 4;           // __u32 stx_blksize
    private static final long STX_ATTRIBUTES = 8;        // __u64 stx_attributes
    private static final long STX_NLINK = 16;            // __u32 stx_nlink
    private static final long STX_UID = 20;              // __u32 stx_uid
    private static final long STX_GID = 24;              // __u32 stx_gid
    private static final long STX_MODE = 28;             // __u16 stx_mode
    private static final long STX_INO = 32;              // __u64 stx_ino
    private static final long STX_BLOCKS = 48;           // __u64 stx_blocks
    private static final long STX_ATIME = 64;            // struct statx_timestamp { __s64 tv_sec; __u32 tv_nsec; }
    private static final long STX_BTIME = 80;
    private static final long STX_CTIME = 96;
    private static final long STX_MTIME = 112;
    private static final long STX_RDEV_MAJOR = 128;      // __u32 each
    private static final long STX_RDEV_MINOR = 132;
    private static final long STX_SIZE = 40;             // __u64 stx_size
    private static final long STX_DEV_MAJOR = 136;       // __u32 stx_dev_major
    private static final long STX_DEV_MINOR = 140;       // __u32 stx_dev_minor
    private static final long STX_MNT_ID = 144;         // __u64 stx_mnt_id
    private static final long STX_DIO_MEM_ALIGN = 152;   // __u32 stx_dio_mem_align
    private static final long STX_DIO_OFFSET_ALIGN = 156; // __u32 stx_dio_offset_align

    private static final int S_IFMT = 0xF000;
    public static final int S_IFREG = 0x8000;
    public static final int S_IFLNK = 0xA000;
    /** {@code S_IFMT} values: the file types. */
    public static final int S_IFIFO = 0x1000;
    public static final int S_IFCHR = 0x2000;
    public static final int S_IFDIR = 0x4000;
    public static final int S_IFBLK = 0x6000;
    public static final int S_IFSOCK = 0xC000;

    private Statx() {}

    public static int mask(MemorySegment statx) {
        return statx.get(JAVA_INT, STX_MASK);
    }

    public static long size(MemorySegment statx) {
        return statx.get(JAVA_LONG, STX_SIZE);
    }

    public static int blockSize(MemorySegment statx) {
        return statx.get(JAVA_INT, STX_BLKSIZE);
    }

    public static boolean isRegularFile(MemorySegment statx) {
        return (Short.toUnsignedInt(statx.get(JAVA_SHORT, STX_MODE)) & S_IFMT) == S_IFREG;
    }

    /** {@return the file type bits of {@code stx_mode}: {@link #S_IFIFO}, {@link #S_IFCHR}, ... or regular} */
    public static int fileType(MemorySegment statx) {
        return Short.toUnsignedInt(statx.get(JAVA_SHORT, STX_MODE)) & S_IFMT;
    }

    /**
     * {@return the mount ID, of the kind this process knows mounts by ({@link MountIds}), or -1
     * when the kernel gave none of that kind} The {@code statx} must have asked for
     * {@link MountIds#statxMask()}.
     */
    public static long mountId(MemorySegment statx) {
        return (mask(statx) & MountIds.statxMask()) != 0 ? statx.get(JAVA_LONG, STX_MNT_ID) : -1;
    }

    /** {@return the memory alignment O_DIRECT needs, or 0 when the kernel or filesystem did not say} */
    public static int directMemoryAlignment(MemorySegment statx) {
        return (mask(statx) & STATX_DIOALIGN) != 0 ? statx.get(JAVA_INT, STX_DIO_MEM_ALIGN) : 0;
    }

    /** {@return the file offset and length alignment O_DIRECT needs, or 0 when unknown} */
    public static int directOffsetAlignment(MemorySegment statx) {
        return (mask(statx) & STATX_DIOALIGN) != 0 ? statx.get(JAVA_INT, STX_DIO_OFFSET_ALIGN) : 0;
    }

    /** {@return {@code stx_mode}: file type and permission bits} */
    public static int mode(MemorySegment statx) {
        return Short.toUnsignedInt(statx.get(JAVA_SHORT, STX_MODE));
    }

    public static long attributes(MemorySegment statx) {
        return statx.get(JAVA_LONG, STX_ATTRIBUTES);
    }

    public static int linkCount(MemorySegment statx) {
        return statx.get(JAVA_INT, STX_NLINK);
    }

    public static int uid(MemorySegment statx) {
        return statx.get(JAVA_INT, STX_UID);
    }

    public static int gid(MemorySegment statx) {
        return statx.get(JAVA_INT, STX_GID);
    }

    public static long inode(MemorySegment statx) {
        return statx.get(JAVA_LONG, STX_INO);
    }

    public static long blocks(MemorySegment statx) {
        return statx.get(JAVA_LONG, STX_BLOCKS);
    }

    /** {@return seconds and nanoseconds of the last access} */
    public static long accessSeconds(MemorySegment statx) {
        return statx.get(JAVA_LONG, STX_ATIME);
    }

    public static int accessNanos(MemorySegment statx) {
        return statx.get(JAVA_INT, STX_ATIME + 8);
    }

    public static long birthSeconds(MemorySegment statx) {
        return statx.get(JAVA_LONG, STX_BTIME);
    }

    public static int birthNanos(MemorySegment statx) {
        return statx.get(JAVA_INT, STX_BTIME + 8);
    }

    public static long changeSeconds(MemorySegment statx) {
        return statx.get(JAVA_LONG, STX_CTIME);
    }

    public static int changeNanos(MemorySegment statx) {
        return statx.get(JAVA_INT, STX_CTIME + 8);
    }

    public static long modifySeconds(MemorySegment statx) {
        return statx.get(JAVA_LONG, STX_MTIME);
    }

    public static int modifyNanos(MemorySegment statx) {
        return statx.get(JAVA_INT, STX_MTIME + 8);
    }

    /**
     * {@return the device of the file system holding the file, as glibc's {@code makedev(major,
     * minor)}: the JDK's {@code unix:dev}}
     */
    public static long deviceNumber(MemorySegment statx) {
        return makedev(statx.get(JAVA_INT, STX_DEV_MAJOR), statx.get(JAVA_INT, STX_DEV_MINOR));
    }

    /** {@return the device a device file stands for, as {@code makedev(major, minor)}} */
    public static long rdev(MemorySegment statx) {
        return makedev(statx.get(JAVA_INT, STX_RDEV_MAJOR), statx.get(JAVA_INT, STX_RDEV_MINOR));
    }

    /** glibc's {@code makedev}, so values compare with the JDK's {@code unix:dev} and {@code unix:rdev}. */
    static long makedev(int major, int minor) {
        long ma = Integer.toUnsignedLong(major);
        long mi = Integer.toUnsignedLong(minor);
        return ((ma & 0xfffL) << 8) | ((ma & 0xfffff000L) << 32) | (mi & 0xffL) | ((mi & 0xffffff00L) << 12);
    }
}
