package io.auraio.internal.binding;

/** {@code IORING_OP_*} values from {@code <linux/io_uring.h>} (the enum's positions). */
public final class Opcode {
    public static final int NOP = 0;
    public static final int READV = 1;
    public static final int WRITEV = 2;
    public static final int FSYNC = 3;
    public static final int READ_FIXED = 4;
    public static final int WRITE_FIXED = 5;
    public static final int SYNC_FILE_RANGE = 8;
    public static final int ASYNC_CANCEL = 14;
    public static final int FALLOCATE = 17;
    public static final int OPENAT = 18;
    public static final int CLOSE = 19;
    public static final int STATX = 21;
    public static final int READ = 22;
    public static final int WRITE = 23;
    public static final int FADVISE = 24;
    public static final int RENAMEAT = 35;
    public static final int UNLINKAT = 36;
    public static final int MKDIRAT = 37;
    public static final int SYMLINKAT = 38;
    public static final int LINKAT = 39;
    /** Linux 6.9 and later. */
    public static final int FTRUNCATE = 55;
    /** One past the highest opcode the probe buffer asks about. */
    static final int PROBE_OPS = 256;

    /** {@code IORING_FSYNC_DATASYNC}: {@code sqe->fsync_flags} for fdatasync. */
    public static final int FSYNC_DATASYNC = 1;
    /** {@code IOSQE_FIXED_FILE}: {@code sqe->fd} is an index into the registered files. */
    public static final int SQE_FIXED_FILE = 1;
    /** {@code IOSQE_IO_LINK}: the next SQE starts only once this one has succeeded. */
    public static final int SQE_IO_LINK = 4;
    /** {@code IOSQE_ASYNC}: the kernel runs the request in io-wq without trying it inline first. */
    public static final int SQE_ASYNC = 16;

    private Opcode() {}

    public static String name(int opcode) {
        return switch (opcode) {
            case NOP -> "nop";
            case READV -> "readv";
            case WRITEV -> "writev";
            case FSYNC -> "fsync";
            case READ_FIXED -> "read_fixed";
            case WRITE_FIXED -> "write_fixed";
            case ASYNC_CANCEL -> "async_cancel";
            case OPENAT -> "openat";
            case CLOSE -> "close";
            case STATX -> "statx";
            case READ -> "read";
            case WRITE -> "write";
            case SYNC_FILE_RANGE -> "sync_file_range";
            case FALLOCATE -> "fallocate";
            case FADVISE -> "fadvise";
            case RENAMEAT -> "renameat";
            case UNLINKAT -> "unlinkat";
            case MKDIRAT -> "mkdirat";
            case SYMLINKAT -> "symlinkat";
            case LINKAT -> "linkat";
            case FTRUNCATE -> "ftruncate";
            default -> "opcode " + opcode;
        };
    }
}
