package io.auraio;

import io.auraio.internal.binding.Opcode;
import io.auraio.internal.binding.Statx;
import io.auraio.internal.engine.IoEngine;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.charset.UnmappableCharacterException;
import java.nio.file.CopyOption;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * {@link Files}' whole-file methods served by {@link AuraFile}: for scripts and tools that read,
 * write and copy files and want them to go through io_uring without managing an engine. Each method
 * has the signature, defaults and exceptions of the {@code Files} method of the same name.
 *
 * <p>Files are opened with {@link AuraFile#open(Path, OpenOption...)}: on the {@linkplain
 * AuraIO#defaultEngine() default engine}, or on the JDK's {@code FileChannel} where io_uring cannot be
 * used ({@link AuraIO#backend()}). Large transfers are split into chunks of 256 KiB worked on by up to
 * 16 virtual threads, so up to 16 requests are in flight for one file. A chunked read or write is not
 * atomic: as with {@code Files}, a file changed meanwhile by someone else gives unspecified contents.
 *
 * <p>All methods are safe to call from any number of threads.
 */
public final class AuraFiles {
    /** The largest array {@link Files#readAllBytes} allocates. */
    private static final int MAX_ARRAY_SIZE = Integer.MAX_VALUE - 8;
    /** Read size once the announced size has been read and the file turns out longer (it grew, or is a {@code /proc} file). */
    private static final int TAIL_READ = 8192;
    private static final OpenOption[] DEFAULT_WRITE_OPTIONS = {
        StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE
    };

    private AuraFiles() {}

    // ---- size ---------------------------------------------------------------------------------

    /**
     * {@return the size of the file at {@code path} in bytes, following symbolic links} As
     * {@link Files#size(Path)}; with io_uring, {@code statx} goes through the default engine's ring.
     *
     * @param path the file
     * @throws NoSuchFileException if it does not exist
     * @throws java.nio.file.AccessDeniedException if a directory on the path cannot be searched
     * @throws IOException if another I/O error occurs
     */
    public static long size(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        if (AuraIO.backend() == Backend.JDK) {
            return Files.size(path);
        }
        IoEngine core = AuraIO.defaultEngine().core();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment statx = arena.allocate(Statx.BYTES, 8);
            MemorySegment cPath = NativePath.of(arena, path);
            long r = core.select().execute(Opcode.STATX, 0, Statx.AT_FDCWD, statx.address(), cPath.address(),
                    Statx.STATX_SIZE, 0, 0);
            if (r < 0) {
                throw Failures.open(path, (int) -r);
            }
            return Statx.size(statx);
        }
    }

    // ---- reading ------------------------------------------------------------------------------

    /**
     * Reads the whole file, as {@link Files#readAllBytes(Path)}: the bytes announced by its size, read
     * in chunks with several requests in flight, then whatever follows until the end of the file.
     *
     * @param path the file
     * @return its bytes
     * @throws NoSuchFileException if it does not exist
     * @throws java.nio.file.AccessDeniedException if it cannot be read
     * @throws OutOfMemoryError with "Required array size too large" if it is larger than an array can be
     * @throws IOException if another I/O error occurs, e.g. "Is a directory"
     */
    public static byte[] readAllBytes(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        try (AuraFile file = AuraFile.open(path, StandardOpenOption.READ)) {
            long size = file.size();
            if (size > MAX_ARRAY_SIZE) {
                throw new OutOfMemoryError("Required array size too large");
            }
            byte[] bytes = new byte[(int) size];
            MemorySegment all = MemorySegment.ofArray(bytes);
            long end = Chunks.forEach(size, (worker, offset, length) ->
                    readAsMuch(file, all.asSlice(offset, length), offset));
            if (end < size) {
                return Arrays.copyOf(bytes, (int) end); // it shrank while being read
            }
            return readTail(file, bytes);
        }
    }

    /** Reads into all of {@code dst} at {@code position}, fewer bytes only at the end of the file. {@return the bytes read} */
    static long readAsMuch(AuraFile file, MemorySegment dst, long position) throws IOException {
        long done = 0;
        while (done < dst.byteSize()) {
            int n = file.read(dst.asSlice(done), position + done);
            if (n < 0) {
                break;
            }
            done += n;
        }
        return done;
    }

    /** Reads past {@code bytes.length} until the end of the file, growing the array as {@code Files} does. */
    private static byte[] readTail(AuraFile file, byte[] bytes) throws IOException {
        byte[] buf = bytes;
        int count = bytes.length;
        while (true) {
            if (count == buf.length) {
                if (count == MAX_ARRAY_SIZE) {
                    // Only an end of file read ends the loop: is there more than an array can hold?
                    if (file.read(ByteBuffer.allocate(1), count) < 0) {
                        return buf;
                    }
                    throw new OutOfMemoryError("Required array size too large");
                }
                buf = Arrays.copyOf(buf, (int) Math.min(MAX_ARRAY_SIZE, Math.max((long) count << 1, TAIL_READ)));
            }
            int n = file.read(MemorySegment.ofArray(buf).asSlice(count), count);
            if (n < 0) {
                return count == buf.length ? buf : Arrays.copyOf(buf, count);
            }
            count += n;
        }
    }

    /**
     * Reads the whole file as UTF-8 text, as {@link Files#readString(Path)}.
     *
     * @param path the file
     * @return its text
     * @throws MalformedInputException if the file is not valid UTF-8
     * @throws IOException as for {@link #readAllBytes(Path)}
     * @throws OutOfMemoryError as for {@link #readAllBytes(Path)}
     */
    public static String readString(Path path) throws IOException {
        return readString(path, StandardCharsets.UTF_8);
    }

    /**
     * Reads the whole file as text in {@code charset}, as {@link Files#readString(Path, Charset)}:
     * malformed or unmappable input is an error, never replaced.
     *
     * @param path    the file
     * @param charset its charset
     * @return its text
     * @throws MalformedInputException if the bytes are not valid in {@code charset}
     * @throws UnmappableCharacterException if a character cannot be mapped
     * @throws CharacterCodingException on another decoding error
     * @throws IOException as for {@link #readAllBytes(Path)}
     * @throws OutOfMemoryError as for {@link #readAllBytes(Path)}
     */
    public static String readString(Path path, Charset charset) throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(charset, "charset");
        byte[] bytes = readAllBytes(path);
        return charset.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes))
                .toString();
    }

    // ---- writing ------------------------------------------------------------------------------

    /**
     * Writes {@code bytes} to the file, as {@link Files#write(Path, byte[], OpenOption...)}: with no
     * options {@code CREATE}, {@code TRUNCATE_EXISTING} and {@code WRITE}; with options, those plus
     * {@code WRITE}. Without {@code APPEND} the chunks are written with several requests in flight.
     *
     * @param path    the file
     * @param bytes   the bytes to write
     * @param options how to open the file, as for {@link AuraFile#open(Path, OpenOption...)}
     * @return {@code path}
     * @throws IllegalArgumentException if {@code options} contains {@code READ} or an invalid combination
     * @throws UnsupportedOperationException for an unsupported option
     * @throws NoSuchFileException if the file does not exist and neither {@code CREATE} nor
     *         {@code CREATE_NEW} is given
     * @throws FileAlreadyExistsException if {@code CREATE_NEW} is given and it exists
     * @throws IOException if another I/O error occurs
     */
    public static Path write(Path path, byte[] bytes, OpenOption... options) throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(bytes, "bytes");
        Set<OpenOption> set = writeOptions(options);
        try (AuraFile file = AuraFile.open(path, set.toArray(OpenOption[]::new))) {
            MemorySegment all = MemorySegment.ofArray(bytes);
            if (set.contains(StandardOpenOption.APPEND)) {
                file.writeFully(all, 0); // O_APPEND ignores the position: the order of writes is the order in the file
            } else {
                Chunks.forEach(bytes.length, (worker, offset, length) -> {
                    file.writeFully(all.asSlice(offset, length), offset);
                    return length;
                });
            }
        }
        return path;
    }

    /** {@link Files#newOutputStream}'s rules for the options of {@code write}. */
    private static Set<OpenOption> writeOptions(OpenOption... options) {
        Objects.requireNonNull(options, "options");
        Set<OpenOption> set = new HashSet<>();
        if (options.length == 0) {
            set.addAll(Arrays.asList(DEFAULT_WRITE_OPTIONS));
            return set;
        }
        for (OpenOption option : options) {
            if (option == StandardOpenOption.READ) {
                throw new IllegalArgumentException("READ not allowed");
            }
            set.add(Objects.requireNonNull(option, "options contains null"));
        }
        set.add(StandardOpenOption.WRITE);
        return set;
    }

    /**
     * Writes {@code csq} as UTF-8, as {@link Files#writeString(Path, CharSequence, OpenOption...)}.
     *
     * @param path    the file
     * @param csq     the text
     * @param options as for {@link #write(Path, byte[], OpenOption...)}
     * @return {@code path}
     * @throws UnmappableCharacterException if {@code csq} is not valid UTF-16 (a lone surrogate), as
     *         {@code Files} reports it; nothing is written
     * @throws IOException as for {@link #write(Path, byte[], OpenOption...)}
     */
    public static Path writeString(Path path, CharSequence csq, OpenOption... options) throws IOException {
        return writeString(path, csq, StandardCharsets.UTF_8, options);
    }

    /**
     * Writes {@code csq} in {@code charset}, as
     * {@link Files#writeString(Path, CharSequence, Charset, OpenOption...)}: the text is encoded
     * before the file is opened, so an encoding error leaves the file untouched.
     *
     * @param path    the file
     * @param csq     the text
     * @param charset the charset to encode it in
     * @param options as for {@link #write(Path, byte[], OpenOption...)}
     * @return {@code path}
     * @throws MalformedInputException if {@code csq} is malformed (a lone surrogate), except in
     *         UTF-8, ISO-8859-1 and US-ASCII, where {@code Files} reports it as unmappable
     * @throws UnmappableCharacterException if a character has no encoding in {@code charset}
     * @throws CharacterCodingException on another encoding error
     * @throws IOException as for {@link #write(Path, byte[], OpenOption...)}
     */
    public static Path writeString(Path path, CharSequence csq, Charset charset, OpenOption... options)
            throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(csq, "csq");
        Objects.requireNonNull(charset, "charset");
        ByteBuffer encoded;
        try {
            encoded = charset.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(csq));
        } catch (MalformedInputException e) {
            // Files.writeString encodes these three charsets with String's own coder, which calls a
            // lone surrogate unmappable rather than malformed: answer as it does.
            if (charset.equals(StandardCharsets.UTF_8) || charset.equals(StandardCharsets.ISO_8859_1)
                    || charset.equals(StandardCharsets.US_ASCII)) {
                UnmappableCharacterException unmappable = new UnmappableCharacterException(e.getInputLength());
                unmappable.initCause(e);
                throw unmappable;
            }
            throw e;
        }
        byte[] bytes = new byte[encoded.remaining()];
        encoded.get(bytes);
        return write(path, bytes, options);
    }

    // ---- copying ------------------------------------------------------------------------------

    /**
     * Copies a file, as {@link Files#copy(Path, Path, CopyOption...)}. A regular file's bytes go
     * through {@link AuraFile}s, in chunks with several reads and writes in flight; the target is
     * created with the source's permissions (less the umask), and on failure removed. Anything else
     * (a directory, which becomes an empty directory; with {@code NOFOLLOW_LINKS} a symbolic link;
     * a device or FIFO) is left to {@code Files.copy}.
     *
     * @param source  the file to copy
     * @param target  the copy
     * @param options {@link StandardCopyOption#REPLACE_EXISTING}, {@link StandardCopyOption#COPY_ATTRIBUTES}
     *                (permissions, owner where allowed, modification and access times),
     *                {@link LinkOption#NOFOLLOW_LINKS}
     * @return {@code target}
     * @throws UnsupportedOperationException for another option, e.g. {@code ATOMIC_MOVE}
     * @throws NoSuchFileException if {@code source} does not exist
     * @throws FileAlreadyExistsException if {@code target} exists and {@code REPLACE_EXISTING} is not
     *         given (unless it is the same file as {@code source}, which is left alone)
     * @throws java.nio.file.DirectoryNotEmptyException if {@code REPLACE_EXISTING} is given and
     *         {@code target} is a non-empty directory
     * @throws IOException if another I/O error occurs
     */
    public static Path copy(Path source, Path target, CopyOption... options) throws IOException {
        return FileCopy.copy(source, target, options);
    }
}
