package io.auraio;

/**
 * What serves the I/O of files opened without an explicit engine ({@link AuraFile#open(java.nio.file.Path,
 * java.nio.file.OpenOption...)}, {@link AuraFiles}): io_uring, or the JDK's own {@link
 * java.nio.channels.FileChannel} where io_uring cannot be used. {@link AuraIO#backend()} tells which
 * one this JVM uses; {@link AuraFile#backend()} tells it for one file.
 */
public enum Backend {
    /** Requests go to the rings of an {@link Engine}: the {@linkplain AuraIO#defaultEngine() default engine} or one given to {@code open}. */
    IO_URING,
    /**
     * Requests are plain {@link java.nio.channels.FileChannel} calls on the calling thread: chosen
     * when io_uring cannot be used ({@code kernel.io_uring_disabled}, a seccomp profile, a kernel
     * without io_uring, {@code ENOMEM} under the memlock limit) or when {@code -Dauraio.backend=jdk} asks for it.
     */
    JDK
}
