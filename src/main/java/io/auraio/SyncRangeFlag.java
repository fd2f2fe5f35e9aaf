package io.auraio;

/** Flags of {@code sync_file_range(2)} ({@link Engine#syncFileRangeAsync}). */
public enum SyncRangeFlag {
    /** Waits for writeback of the range already under way before starting ({@code SYNC_FILE_RANGE_WAIT_BEFORE}). */
    WAIT_BEFORE(1),
    /** Starts writeback of the range's dirty pages ({@code SYNC_FILE_RANGE_WRITE}). */
    WRITE(2),
    /** Waits for the range's writeback to finish ({@code SYNC_FILE_RANGE_WAIT_AFTER}). */
    WAIT_AFTER(4);

    final int bits;

    SyncRangeFlag(int bits) {
        this.bits = bits;
    }
}
