package io.auraio.internal.platform;

import java.nio.file.FileSystems;
import java.nio.file.spi.FileSystemProvider;

/**
 * The JDK's own provider of {@code file:} paths, for the few calls that need a JDK channel the
 * {@code java.io} classes cannot open (a directory's): {@link FileSystems#getDefault()}'s provider,
 * unless that is {@code io.auraio.spi.AuraFileSystemProvider}, installed as the default, whose
 * calls would come back to this library; then the platform provider it wraps, which it gives here
 * when it is made (the JDK makes the default provider before any path exists).
 */
public final class PlatformProvider {
    private static final String AURA_PROVIDER = "io.auraio.spi.AuraFileSystemProvider";

    private static volatile FileSystemProvider wrapped;

    private PlatformProvider() {}

    /** Called by the library's provider with the provider it wraps; the first one is kept. */
    public static void wraps(FileSystemProvider platform) {
        if (wrapped == null && !platform.getClass().getName().equals(AURA_PROVIDER)) {
            wrapped = platform;
        }
    }

    /** {@return the JDK's provider of {@code file:} paths, never the library's} */
    public static FileSystemProvider get() {
        FileSystemProvider provider = FileSystems.getDefault().provider();
        if (!provider.getClass().getName().equals(AURA_PROVIDER)) {
            return provider;
        }
        FileSystemProvider platform = wrapped;
        if (platform == null) { // made by the JDK as the default: it gave its platform provider first
            throw new IllegalStateException("the default provider did not name the provider it wraps");
        }
        return platform;
    }
}
