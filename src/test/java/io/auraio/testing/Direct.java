package io.auraio.testing;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.OpenOption;

/** O_DIRECT helpers for tests. */
public final class Direct {
    /**
     * {@code com.sun.nio.file.ExtendedOpenOption.DIRECT}. Looked up by name: the tests are compiled
     * inside module {@code io.auraio}, which does not read {@code jdk.unsupported}; on the class
     * path at run time the class is visible.
     */
    public static final OpenOption DIRECT = lookUpDirect();

    /** Alignment used for every O_DIRECT buffer, offset and length in the tests: the page size. */
    public static final int ALIGN = 4096;

    private Direct() {}

    private static OpenOption lookUpDirect() {
        try {
            return (OpenOption) Class.forName("com.sun.nio.file.ExtendedOpenOption").getField("DIRECT").get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** {@return {@code size} bytes from {@code arena}, aligned to {@link #ALIGN}} */
    public static MemorySegment aligned(Arena arena, long size) {
        return arena.allocate(size, ALIGN);
    }
}
