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
    public static final int STATX_SIZE = 0x200;
    public static final int STATX_DIOALIGN = 0x2000;
    /** {@code STATX_MNT_ID} (Linux 5.8): the mount ID, as in {@code /proc/self/mountinfo}. */
    public static final int STATX_MNT_ID = 0x1000;

    private static final long STX_MASK = 0;              // __u32 stx_mask
    private static final long STX_BLKSIZE = 4;           // __u32 stx_blksize
    private static final long STX_MODE = 28;             // __u16 stx_mode
    private static final long STX_SIZE = 40;             // __u64 stx_size
    private static final long STX_MNT_ID = 144;         // __u64 stx_mnt_id
    private static final long STX_DIO_MEM_ALIGN = 152;   // __u32 stx_dio_mem_align
    private static final long STX_DIO_OFFSET_ALIGN = 156; // __u32 stx_dio_offset_align

    private static final int S_IFMT = 0xF000;
    private static final int S_IFREG = 0x8000;
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

    /** {@return the mount ID, or -1 when the kernel did not give one} */
    public static long mountId(MemorySegment statx) {
        return (mask(statx) & STATX_MNT_ID) != 0 ? statx.get(JAVA_LONG, STX_MNT_ID) : -1;
    }

    /** {@return the memory alignment O_DIRECT needs, or 0 when the kernel or filesystem did not say} */
    public static int directMemoryAlignment(MemorySegment statx) {
        return (mask(statx) & STATX_DIOALIGN) != 0 ? statx.get(JAVA_INT, STX_DIO_MEM_ALIGN) : 0;
    }

    /** {@return the file offset and length alignment O_DIRECT needs, or 0 when unknown} */
    public static int directOffsetAlignment(MemorySegment statx) {
        return (mask(statx) & STATX_DIOALIGN) != 0 ? statx.get(JAVA_INT, STX_DIO_OFFSET_ALIGN) : 0;
    }
}
