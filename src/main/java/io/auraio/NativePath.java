package io.auraio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/** The C string the kernel is given for a {@link Path}, as the JDK's {@code UnixPath} makes it. */
final class NativePath {
    private NativePath() {}

    /**
     * {@return {@code path} as a NUL-terminated string in {@code arena}} The empty path names the
     * current directory, as everywhere in the JDK ({@code Files.readAllBytes(Path.of(""))} says
     * "Is a directory"); the kernel would refuse an empty string with ENOENT.
     */
    static MemorySegment of(Arena arena, Path path) {
        String s = path.toString();
        return arena.allocateFrom(s.isEmpty() ? "." : s);
    }
}
