package io.auraio;

/** Access pattern advice for {@code posix_fadvise(2)} ({@link Engine#fadviseAsync}). */
public enum Advice {
    /** No particular pattern ({@code POSIX_FADV_NORMAL}). */
    NORMAL(0),
    /** Random access: read-ahead off ({@code POSIX_FADV_RANDOM}). */
    RANDOM(1),
    /** Sequential access: more read-ahead ({@code POSIX_FADV_SEQUENTIAL}). */
    SEQUENTIAL(2),
    /** The range will be read soon: start reading it into the page cache ({@code POSIX_FADV_WILLNEED}). */
    WILL_NEED(3),
    /** The range will not be read soon: its clean cached pages may be dropped ({@code POSIX_FADV_DONTNEED}). */
    DONT_NEED(4),
    /** The range will be read once ({@code POSIX_FADV_NOREUSE}). */
    NO_REUSE(5);

    final int value;

    Advice(int value) {
        this.value = value;
    }
}
