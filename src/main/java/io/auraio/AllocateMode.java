package io.auraio;

/** What {@code fallocate(2)} does to a range ({@link Engine#fallocateAsync}): its {@code mode} argument. */
public enum AllocateMode {
    /** Allocates the range, extending the file when the range ends past its size (mode 0). */
    ALLOCATE(0),
    /** Allocates the range without changing the file's size ({@code FALLOC_FL_KEEP_SIZE}). */
    KEEP_SIZE(0x01),
    /** Deallocates the range, which then reads as zeros; the size stays ({@code FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE}). */
    PUNCH_HOLE(0x03),
    /** Zeroes the range, allocating it; may extend the file ({@code FALLOC_FL_ZERO_RANGE}). */
    ZERO_RANGE(0x10);

    final int bits;

    AllocateMode(int bits) {
        this.bits = bits;
    }
}
