package io.auraio;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;

/**
 * The bytes the kernel knows a path by, as the JDK's own file system uses them.
 *
 * <p>The JDK keeps a path of the default file system as the bytes it got from the kernel (or
 * encoded from the string it was given) and decodes them with {@code sun.jnu.encoding} (the
 * locale's charset: UTF-8, or US-ASCII under {@code LANG=C}) only for {@code toString()}, which
 * replaces bytes that do not decode with U+FFFD. So {@code toString()} encoded in that charset gives
 * the path's bytes back exactly unless it holds a U+FFFD; then the bytes are taken from
 * {@link Path#toUri()}, which percent-encodes every byte of the absolute path as it is (a name
 * that is not valid UTF-8, or any non-ASCII name under {@code LANG=C}). Both are public API.
 */
final class NativePath {
    /** The charset the JDK decodes path bytes with; {@code native.encoding}, then UTF-8, where the property is missing. */
    private static final Charset JNU = jnuCharset();
    private static final boolean JNU_IS_UTF_8 = JNU.equals(StandardCharsets.UTF_8);
    private static final char REPLACEMENT = '\uFFFD';

    private NativePath() {}

    private static Charset jnuCharset() {
        for (String property : new String[] {"sun.jnu.encoding", "native.encoding"}) {
            String name = System.getProperty(property);
            if (name != null) {
                try {
                    return Charset.forName(name);
                } catch (IllegalArgumentException unsupported) {
                    // try the next one
                }
            }
        }
        return Charset.defaultCharset();
    }

    /**
     * Throws {@link ProviderMismatchException} unless {@code path} is a path of a {@code file:}
     * file system (the platform's, or one that wraps it such as {@code io.auraio.spi}'s): a path
     * of a zip file system names no file of the host.
     */
    static void checkDefaultFileSystem(Path path) {
        if (!isDefaultFileSystem(path)) {
            throw new ProviderMismatchException("not a path of the default file system: " + path);
        }
    }

    /** {@return whether {@code path} is a path of a {@code file:} file system} */
    static boolean isDefaultFileSystem(Path path) {
        return "file".equalsIgnoreCase(path.getFileSystem().provider().getScheme());
    }

    /** {@return {@code path}'s bytes, NUL-terminated, in {@code arena}} */
    static MemorySegment allocate(Arena arena, Path path) {
        return allocate(arena, bytes(path));
    }

    /** {@return {@code bytes} (a path's, as {@link #bytes(Path)} gives them), NUL-terminated, in {@code arena}} */
    static MemorySegment allocate(Arena arena, byte[] bytes) {
        MemorySegment c = arena.allocate(bytes.length + 1L);
        MemorySegment.copy(bytes, 0, c, ValueLayout.JAVA_BYTE, 0, bytes.length);
        c.set(ValueLayout.JAVA_BYTE, bytes.length, (byte) 0);
        return c;
    }

    /** {@return the bytes of {@code path} (a path of the default file system), as the kernel knows them} */
    static byte[] bytes(Path path) {
        String s = path.toString();
        if (s.indexOf('\0') >= 0) {
            // Only a Path implementation other than the JDK's holds one (Path.of refuses it): the
            // kernel would stop at the NUL and act on another file, a prefix of this one.
            throw new InvalidPathException(s, "Nul character not allowed");
        }
        if (s.isEmpty()) {
            // The empty path names the current directory, as everywhere in the JDK
            // (Files.readAllBytes(Path.of("")) says "Is a directory"); the kernel refuses "" with ENOENT.
            return new byte[] {'.'};
        }
        if (s.indexOf(REPLACEMENT) < 0) {
            if (JNU_IS_UTF_8) {
                // The same bytes as the reporting encoder below (a path's string never holds an
                // unpaired surrogate: Path.of refuses one), at a fraction of its cost per open.
                return s.getBytes(StandardCharsets.UTF_8);
            }
            try {
                ByteBuffer encoded = JNU.newEncoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .encode(CharBuffer.wrap(s));
                byte[] bytes = new byte[encoded.remaining()];
                encoded.get(bytes);
                return bytes;
            } catch (CharacterCodingException e) {
                // Not a string the JDK decoded from bytes: take them from the URI below.
            }
        }
        return fromUri(path);
    }

    /**
     * The absolute path's bytes from its {@code file:} URI. The URI of an existing directory ends
     * with a {@code /} that the path has not; the name resolves to the same file without it.
     */
    private static byte[] fromUri(Path path) {
        URI uri = path.toUri();
        String raw = uri.getRawPath();
        ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%' && i + 2 < raw.length()) {
                out.write(Integer.parseInt(raw, i + 1, i + 3, 16));
                i += 2;
            } else {
                out.write(c); // the rest of a file: URI's path is ASCII
            }
        }
        byte[] bytes = out.toByteArray();
        for (byte b : bytes) {
            if (b == 0) {
                throw new InvalidPathException(path.toString(), "Nul character not allowed");
            }
        }
        if (bytes.length > 1 && bytes[bytes.length - 1] == '/') {
            return java.util.Arrays.copyOf(bytes, bytes.length - 1);
        }
        return bytes;
    }
}
