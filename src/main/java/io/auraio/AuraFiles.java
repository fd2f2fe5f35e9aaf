package io.auraio;

import static io.auraio.MetadataRequest.RESULT;
import static io.auraio.MetadataRequest.STAT;

import io.auraio.MetadataRequest.Decoder;
import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.binding.Statx;
import io.auraio.internal.engine.IoEngine;
import io.auraio.internal.offload.SlowFileSystems;
import io.auraio.internal.offload.BatchedIterator;
import io.auraio.internal.offload.BlockingOffload;
import io.auraio.internal.offload.MetadataRouting;
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
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * {@link Files}' whole-file methods served by {@link AuraFile}: for scripts and tools that read,
 * write and copy files and want them to go through io_uring without managing an engine. Each method
 * has the signature, defaults and exceptions of the {@code Files} method of the same name.
 *
 * <p>Files are opened with {@link AuraFile#open(Path, OpenOption...)} on the {@linkplain
 * AuraIO#defaultEngine() default engine}. Large transfers are split into chunks of 256 KiB worked on by up to
 * 16 virtual threads, so up to 16 requests are in flight for one file. A chunked read or write is not
 * atomic: as with {@code Files}, a file changed meanwhile by someone else gives unspecified contents.
 *
 * <p>As {@code Files}' methods, these ignore interrupts: a thread whose interrupt status is set, or
 * gets set meanwhile, reads, writes or copies as usual and keeps its status (the JDK makes the
 * channels under these methods uninterruptible). A path of another file system than the default
 * one (a zip file system's) is handed to the {@code Files} method itself, as are all paths where
 * io_uring cannot be used ({@link AuraIO#backend()} is {@link Backend#JDK}): each answer is then
 * the JDK's. So are a platform thread's calls while the default engine starts, which they do not
 * wait for (in a fresh JVM 0.1-0.3 s, where the JDK's first read of a small file takes a few
 * milliseconds): the first of them starts it on a daemon thread; a virtual thread's call waits for
 * it, as does every call where {@value AuraIO#BACKEND_PROPERTY} is {@code io_uring}.
 *
 * <p>All methods are safe to call from any number of threads.
 */
public final class AuraFiles {
    /**
     * The length past which {@link Files#readAllBytes} grows its array by the least it needs
     * ({@code jdk.internal.util.ArraysSupport.SOFT_MAX_ARRAY_LENGTH}); it allocates a file's
     * announced size up to {@code Integer.MAX_VALUE} (the VM may refuse some of the last bytes).
     */
    private static final int SOFT_MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;
    /** The least length of an array that grows past the announced size ({@code Files}' {@code BUFFER_SIZE}). */
    private static final int TAIL_READ = 8192;
    private static final OpenOption[] DEFAULT_WRITE_OPTIONS = {
        StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE
    };

    private AuraFiles() {}

    // ---- size ---------------------------------------------------------------------------------

    /**
     * {@return the size of the file at {@code path} in bytes, following symbolic links} As
     * {@link Files#size(Path)}: answered on the caller when every name of the path is in the dentry
     * cache and its file system is local (nothing to wait for); else, with io_uring, a {@code statx}
     * through the default engine's ring.
     *
     * @param path the file
     * @throws NoSuchFileException if it does not exist
     * @throws java.nio.file.AccessDeniedException if a directory on the path cannot be searched
     * @throws IOException if another I/O error occurs
     */
    public static long size(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        if (servedByFiles(path)) {
            return Files.size(path);
        }
        FileStat cached = CachedMetadata.stat(path, true);
        if (cached != null) {
            return cached.size(); // every name cached, a local file system: nothing to wait for
        }
        if (SlowFileSystems.isSlowPath(path)) {
            // A ring's STATX always runs in one of its few bounded io-wq workers; statx calls a
            // hung FUSE daemon or NFS server holds would take them all (HungMountOpenTest).
            return offload().call(path, () -> Files.size(path));
        }
        IoEngine core = AuraIO.defaultEngine().core();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment statx = arena.allocate(Statx.BYTES, 8);
            MemorySegment cPath = NativePath.allocate(arena, path);
            long r = core.execute(Opcode.STATX, 0, Statx.AT_FDCWD, statx.address(), cPath.address(),
                    Statx.STATX_SIZE, 0, 0);
            if (r < 0) {
                // As Files.size (the JDK's readAttributes): "file/x" where file is no directory
                // does not exist, rather than failing with "Not a directory".
                throw Failures.open(path, r == -Errno.ENOTDIR ? Errno.ENOENT : (int) -r);
            }
            return Statx.size(statx);
        }
    }

    /**
     * {@return whether the {@code Files} method itself serves {@code path}: a path of another file
     * system (which names no host file), a JVM where io_uring cannot be used, or a platform thread's
     * call while the default engine starts ({@link BackendChoice#backendForOneCall})}
     */
    static boolean servedByFiles(Path path) {
        return !NativePath.isDefaultFileSystem(path) || BackendChoice.backendForOneCall() == Backend.JDK;
    }

    /** Opens a file for these methods: uninterruptible, as the JDK's channels under {@code Files}. */
    static AuraFile open(Path path, OpenOption... options) throws IOException {
        AuraFile file = AuraFile.open(path, options);
        file.setUninterruptible();
        return file;
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
     * @throws OutOfMemoryError with "Required array size too large" if it is larger than
     *         {@code Integer.MAX_VALUE} bytes, as {@code Files}; the VM's own if it cannot allocate
     *         the array
     * @throws IOException if another I/O error occurs, e.g. "Is a directory"
     */
    public static byte[] readAllBytes(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        if (servedByFiles(path)) {
            return Files.readAllBytes(path);
        }
        try (AuraFile file = open(path, StandardOpenOption.READ)) {
            long size = file.size();
            if (size > Integer.MAX_VALUE) { // as Files: a size up to Integer.MAX_VALUE is the VM's to refuse
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

    /**
     * Reads past {@code bytes.length} until the end of the file, into the array {@code Files}
     * returns: an array of 8192 bytes or more grows (to {@link #grownLength}) only once a byte past
     * its end has been read, as {@code Files}' does, so a file that did not grow is returned with
     * no larger copy made, and the limits are {@code Files}'; a smaller one grows at once, the
     * result trimmed to the bytes read.
     */
    private static byte[] readTail(AuraFile file, byte[] bytes) throws IOException {
        byte[] buf = bytes;
        int count = bytes.length;
        while (true) {
            if (count == buf.length) {
                if (count >= TAIL_READ) {
                    byte[] one = new byte[1];
                    if (file.read(MemorySegment.ofArray(one), count) < 0) {
                        return buf;
                    }
                    buf = Arrays.copyOf(buf, grownLength(count));
                    buf[count++] = one[0];
                    continue;
                }
                buf = Arrays.copyOf(buf, grownLength(count));
            }
            int n = file.read(MemorySegment.ofArray(buf).asSlice(count), count);
            if (n < 0) {
                return count == buf.length ? buf : Arrays.copyOf(buf, count);
            }
            count += n;
        }
    }

    /**
     * {@return the length {@code Files.readAllBytes} grows a full array of {@code length} bytes to,
     * one more byte having been read} {@code ArraysSupport.newLength(length, 1, length)}, at least
     * 8192: double, else the soft maximum, else one more.
     *
     * @throws OutOfMemoryError as that method, when {@code length} is {@code Integer.MAX_VALUE}
     */
    static int grownLength(int length) {
        int preferred = length + Math.max(1, length);
        if (preferred > 0 && preferred <= SOFT_MAX_ARRAY_LENGTH) {
            return Math.max(preferred, TAIL_READ);
        }
        int least = length + 1;
        if (least < 0) {
            throw new OutOfMemoryError("Required array length " + length + " + 1 is too large");
        }
        return Math.max(least, SOFT_MAX_ARRAY_LENGTH);
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
        if (servedByFiles(path)) {
            return Files.readString(path, charset);
        }
        byte[] bytes = readAllBytes(path);
        try {
            return charset.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            // Files.readString decodes UTF-8 with String's own decoder, which finds the same first
            // error as a CharsetDecoder but says another input length for some (1 where it says 2
            // for a sequence cut short at the end, 4 where it says 1 for an out-of-range one);
            // other charsets' exceptions are the decoder's in both. (The file is not read again:
            // a FIFO's or a /proc file's bytes would not be the same, or would never come.)
            if (charset.equals(StandardCharsets.UTF_8)) {
                int length = utf8MalformedLength(bytes);
                if (length > 0) {
                    throw new MalformedInputException(length);
                }
            }
            throw e;
        }
    }

    /**
     * {@return the input length that {@code Files.readString} reports for the first malformed
     * sequence of {@code src} in UTF-8, or 0 if there is none} The checks and lengths of
     * {@code java.lang.String}'s {@code decodeUTF8_UTF16} (JDK 17 to 25) where it does not
     * replace: a sequence cut short is 1 long (2 for a 3-byte one whose second byte is already
     * wrong), a bad 3-byte sequence or encoded surrogate 3, a bad or out-of-range 4-byte one 4,
     * anything else 1.
     */
    static int utf8MalformedLength(byte[] src) {
        int sp = 0;
        int sl = src.length;
        while (sp < sl) {
            int b1 = src[sp++];
            if (b1 >= 0) {
                continue;
            }
            if ((b1 >> 5) == -2 && (b1 & 0x1e) != 0) { // C2..DF
                if (sp < sl && isContinuation(src[sp])) {
                    sp++;
                    continue;
                }
                return 1;
            } else if ((b1 >> 4) == -2) { // E0..EF
                if (sp + 1 < sl) {
                    int b2 = src[sp++];
                    int b3 = src[sp++];
                    if ((b1 == (byte) 0xe0 && (b2 & 0xe0) == 0x80) || !isContinuation(b2) || !isContinuation(b3)) {
                        return 3; // overlong or not continued
                    }
                    char c = (char) (((b1 & 0x0f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f));
                    if (Character.isSurrogate(c)) {
                        return 3;
                    }
                    continue;
                }
                if (sp < sl && ((b1 == (byte) 0xe0 && (src[sp] & 0xe0) == 0x80) || !isContinuation(src[sp]))) {
                    return 2;
                }
                return 1;
            } else if ((b1 >> 3) == -2) { // F0..F7
                if (sp + 2 < sl) {
                    int b2 = src[sp++];
                    int b3 = src[sp++];
                    int b4 = src[sp++];
                    int uc = ((b1 & 0x07) << 18) | ((b2 & 0x3f) << 12) | ((b3 & 0x3f) << 6) | (b4 & 0x3f);
                    if (!isContinuation(b2) || !isContinuation(b3) || !isContinuation(b4)
                            || !Character.isSupplementaryCodePoint(uc)) {
                        return 4; // not continued, overlong, or past U+10FFFF
                    }
                    continue;
                }
                return 1;
            } else {
                return 1; // a continuation byte, C0, C1, F8..FF
            }
        }
        return 0;
    }

    private static boolean isContinuation(int b) {
        return (b & 0xc0) == 0x80;
    }

    // ---- writing ------------------------------------------------------------------------------

    /**
     * Writes {@code bytes} to the file, as {@link Files#write(Path, byte[], OpenOption...)}: with no
     * options {@code CREATE}, {@code TRUNCATE_EXISTING} and {@code WRITE}; with options, those plus
     * {@code WRITE}. Without {@code APPEND} the chunks are written with several requests in flight;
     * when one fails (no space left, a quota, the file size limit), the file is cut back to the
     * first chunk not written (never below its size before the call) and written on from there in
     * order, so that it is left as {@code Files.write} leaves it: the bytes from the start that
     * could be written. (Of a longer file not truncated first, bytes past that point may already
     * be new ones where {@code Files} leaves the old.)
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
        if (servedByFiles(path)) {
            return Files.write(path, bytes, options);
        }
        Set<OpenOption> set = writeOptions(options);
        try (AuraFile file = open(path, set.toArray(OpenOption[]::new))) {
            MemorySegment all = MemorySegment.ofArray(bytes);
            if (set.contains(StandardOpenOption.APPEND) || file.fileType() != AuraFile.REGULAR_FILE) {
                // O_APPEND ignores the position, and so does a FIFO, a terminal, a socket: the order
                // of writes is the order of the bytes there (chunks written at once arrived shuffled).
                file.writeFully(all, 0);
            } else {
                writeChunks(file, all, set);
            }
        }
        return path;
    }

    /**
     * Writes {@code all} at 0 in chunks with several requests in flight. When a chunk fails (no
     * space, a quota, an I/O error), chunks past it may have been written, leaving a file longer
     * than {@code Files}' one writer in order would (holes included): the file is cut back to the
     * first chunk not written (never below its size before the write) and written on from there
     * in order, so the file left and the exception are those of {@code Files.write}.
     */
    private static void writeChunks(AuraFile file, MemorySegment all, Set<OpenOption> options) throws IOException {
        long before = options.contains(StandardOpenOption.TRUNCATE_EXISTING)
                || options.contains(StandardOpenOption.CREATE_NEW) || all.byteSize() <= Chunks.CHUNK ? 0 : file.size();
        BitSet written = new BitSet();
        try {
            Chunks.forEach(all.byteSize(), (worker, offset, length) -> {
                file.writeFully(all.asSlice(offset, length), offset);
                synchronized (written) {
                    written.set((int) (offset / Chunks.CHUNK));
                }
                return length;
            });
        } catch (IOException e) {
            long resume;
            synchronized (written) {
                resume = Math.min((long) written.nextClearBit(0) * Chunks.CHUNK, all.byteSize());
            }
            try {
                file.truncateOwnDescriptor(Math.max(resume, before)); // never past its size: those bytes are written
                file.writeFully(all.asSlice(resume), resume);
            } catch (IOException | RuntimeException again) {
                again.addSuppressed(e);
                throw again;
            }
        }
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
            set.add(option); // a null one: the open's NullPointerException, once every option is checked for READ
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
     *         UTF-8 and ISO-8859-1, where {@code Files} reports it as unmappable
     * @throws UnmappableCharacterException if a character has no encoding in {@code charset}, with
     *         {@code Files}' input length (in ISO-8859-1, 1 for a surrogate pair too)
     * @throws CharacterCodingException on another encoding error
     * @throws IOException as for {@link #write(Path, byte[], OpenOption...)}
     */
    public static Path writeString(Path path, CharSequence csq, Charset charset, OpenOption... options)
            throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(csq, "csq");
        Objects.requireNonNull(charset, "charset");
        if (servedByFiles(path)) {
            return Files.writeString(path, csq, charset, options);
        }
        ByteBuffer encoded;
        try {
            // The text Files encodes: String.valueOf(csq), not the sequence's chars.
            encoded = charset.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(String.valueOf(csq)));
        } catch (CharacterCodingException e) {
            // Files.writeString encodes UTF-8 and ISO-8859-1 with String's own coder, which calls
            // every char it cannot encode unmappable, with input length 1: a lone surrogate (which
            // the encoder calls malformed) and, in ISO-8859-1, a surrogate pair too (the encoder
            // says 2). Answered as it does, without a cause, as its exception has none. Other
            // charsets (US-ASCII's malformed lone surrogate too) are the encoder's, as in Files.
            if (charset.equals(StandardCharsets.UTF_8) || charset.equals(StandardCharsets.ISO_8859_1)) {
                throw new UnmappableCharacterException(1);
            }
            throw e;
        }
        byte[] bytes = new byte[encoded.remaining()];
        encoded.get(bytes);
        return write(path, bytes, options);
    }

    // ---- copying ------------------------------------------------------------------------------

    /**
     * Copies a file, as {@link Files#copy(Path, Path, CopyOption...)}. A regular file's bytes are
     * copied inside the kernel ({@link #copyRange}, {@code copy_file_range(2)}, as {@code Files.copy}
     * on Linux) where source and target are on one file system, and otherwise go through
     * {@link AuraFile}s, in chunks with several reads and writes in flight; the target is
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

    /** The most bytes one {@link #copyRange} call copies, so that a close waits for no more. */
    static final long COPY_RANGE_MAX = 8L << 20;

    /**
     * Copies up to {@code count} bytes of {@code source}, from {@code sourcePosition}, into
     * {@code target} at {@code targetPosition} inside the kernel, with {@code copy_file_range(2)}:
     * from page cache to page cache (or by sharing extents, on a file system with reflinks), never
     * through this process's memory. Neither file's position is used or changed. As the system
     * call, it may copy fewer bytes than asked (at most 8 MiB a call, so that a close of either
     * file waits no longer than that); call again for the rest.
     *
     * <p>The call blocks in the kernel while it reads and writes, and io_uring has no opcode for
     * it: from a virtual thread it is made on the blocking offload's platform threads while the
     * caller parks, so a cold disk or a slow file system holds no carrier.
     *
     * <p>Where the kernel cannot copy between these two files this returns {@code -1} at once,
     * having copied nothing, and the caller copies by reading and writing: files on different file
     * systems, a file opened with {@code DIRECT} or {@code APPEND}, a file served by the
     * {@linkplain Backend#JDK JDK backend}, a file system without the call, a FIFO or device.
     *
     * @param source         the file to copy from, open for reading
     * @param sourcePosition where to start reading, {@code >= 0}
     * @param target         the file to copy to, open for writing
     * @param targetPosition where to start writing, {@code >= 0}; a hole is left before it if it is
     *                       past the end of {@code target}
     * @param count          the most bytes to copy, {@code >= 0}
     * @return the bytes copied: {@code 0} if {@code sourcePosition} is at or past the end of
     *         {@code source} or {@code count} is 0; {@code -1} if the kernel cannot copy between
     *         these two files
     * @throws IllegalArgumentException if a position or the count is negative
     * @throws java.nio.channels.NonReadableChannelException if {@code source} is not open for reading
     * @throws java.nio.channels.NonWritableChannelException if {@code target} is not open for writing
     * @throws java.nio.channels.ClosedChannelException if either file is closed
     * @throws IOException if an I/O error occurs, e.g. "No space left on device"
     */
    public static long copyRange(AuraFile source, long sourcePosition, AuraFile target, long targetPosition,
                                 long count) throws IOException {
        return copyRange(source, sourcePosition, target, targetPosition, count, false, false);
    }

    /**
     * {@link #copyRange(AuraFile, long, AuraFile, long, long)}; with {@code callForNone}, a count
     * of 0 is the kernel's call too, whose checks of the positions a channel's transfer reports as
     * the JDK's does ("File too large" past the largest file); with {@code directToo}, a
     * {@code DIRECT} file is copied by the kernel too, as {@code FileChannel}'s transfers have it
     * copy one: then the kernel copies through a pipe, whole aligned blocks, at most a pipe's worth
     * or two a call, and refuses misaligned positions and counts ("Invalid argument": -1 here).
     */
    static long copyRange(AuraFile source, long sourcePosition, AuraFile target, long targetPosition, long count,
                          boolean callForNone, boolean directToo) throws IOException {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(target, "target");
        if (sourcePosition < 0 || targetPosition < 0 || count < 0) {
            throw new IllegalArgumentException("negative position or count: " + sourcePosition + ", "
                    + targetPosition + ", " + count);
        }
        // Checked before anything else, as FileChannel's transfers check theirs.
        source.withDescriptor(fd -> null);
        target.withDescriptor(fd -> null);
        OpenMode in = source.mode();
        OpenMode out = target.mode();
        if (!in.read()) {
            throw new java.nio.channels.NonReadableChannelException();
        }
        if (!out.write()) {
            throw new java.nio.channels.NonWritableChannelException();
        }
        if (source.backend() == Backend.JDK || target.backend() == Backend.JDK
                || !directToo && (in.direct() || out.direct()) || out.append()) {
            return -1; // O_DIRECT: copy_file_range would go through the page cache; O_APPEND: EBADF
        }
        if (source.engineClosed() || target.engineClosed()) {
            // As every request on a file of a closed engine (a read of the same files says this):
            // the copy runs on the offload, not the engine, and went on as if nothing had closed.
            throw Failures.io("copy_file_range", Errno.ESHUTDOWN);
        }
        if (count == 0 && !callForNone) {
            return 0;
        }
        long length = Math.min(count, COPY_RANGE_MAX);
        long r = BlockingOffload.shared().call(source.path(), target.path(),
                () -> source.withDescriptor(inFd -> target.withDescriptor(
                        outFd -> Libc.copyFileRange(inFd, sourcePosition, outFd, targetPosition, length))));
        if (r >= 0) {
            return r;
        }
        int errno = (int) -r;
        return switch (errno) {
            // EXDEV: different file systems (the kernel copies across them only where both are of one
            // type that can); EINVAL: not regular files, or overlapping ranges of one file.
            case Errno.EXDEV, Errno.EOPNOTSUPP, Errno.ENOSYS, Errno.EINVAL, Errno.ESPIPE, Errno.EISDIR -> -1;
            default -> throw Failures.io("copy_file_range", errno);
        };
    }

    // ---- metadata: through the ring where io_uring has an opcode, else off the carrier ----------

    /*
     * From a virtual thread, with -Dauraio.metadata=ring, calls with an io_uring opcode (statx,
     * unlinkat, mkdirat, renameat, symlinkat, linkat) are engine requests on the default engine:
     * the caller parks, no thread is held (by default they go to the offload: MetadataRouting says
     * why). When such a request fails, the Files method itself is made on the blocking offload's
     * platform threads, so the exception is the JDK's own, type and message, and what the JDK does
     * beyond the system call (a move across file systems, deleting a replaced target) is done the
     * JDK's way. The rest (no opcode) goes to the offload directly. A platform caller makes the
     * Files call on its own thread: it has no carrier to hold.
     */

    /**
     * {@return the default engine, for a request on {@code path} from a virtual thread, or null to
     * use Files} Only with {@code -Dauraio.metadata=ring}: see {@link MetadataRouting} for why the
     * offload is the default.
     */
    private static Engine ring(Path path) {
        if (!MetadataRouting.ring || !Thread.currentThread().isVirtual() || servedByFiles(path)) {
            return null;
        }
        try {
            return AuraIO.defaultEngine();
        } catch (AuraIOException e) {
            return null;
        }
    }

    /** {@return the request's result, or a negated errno; ENOMEM when its memory could not be had} */
    private static <T> Engine.Outcome<T> attempt(Engine engine, MetaRequest request, Decoder<T> decoder) {
        try {
            return engine.attempt(request.prepare(engine.core()), decoder);
        } catch (AuraIOException e) {
            return new Engine.Outcome<>(-e.errno(), null);
        }
    }

    @FunctionalInterface
    private interface MetaRequest {
        MetadataRequest prepare(IoEngine core) throws AuraIOException;
    }

    /**
     * {@return whether the file exists} As {@link Files#exists(Path, LinkOption...)}; from a virtual
     * thread, answered on the caller when the path's names are in the dentry cache (a cached
     * negative entry too) on a local file system, else off the caller's carrier: with
     * {@code -Dauraio.metadata=ring} a {@code statx} through the default engine's ring, else on the
     * blocking offload.
     *
     * @param path    the file
     * @param options {@link LinkOption#NOFOLLOW_LINKS} not to follow a symbolic link
     */
    public static boolean exists(Path path, LinkOption... options) {
        Objects.requireNonNull(path, "path");
        if (Thread.currentThread().isVirtual()) {
            int cached = CachedMetadata.exists(path, MetadataRequest.followLinks(options));
            if (cached >= 0) {
                return cached == 1;
            }
        }
        Engine engine = ring(path);
        if (engine != null) {
            long r = attempt(engine, core -> MetadataRequest.stat(core, path, options), RESULT).result();
            if (r >= 0) {
                return true;
            }
            if (r == -Errno.ENOENT || r == -Errno.ENOTDIR) {
                return false;
            }
        }
        return offloaded(path) ? offload().call(path, () -> Files.exists(path, options)) : Files.exists(path, options);
    }

    /**
     * Checks that the file exists and that the real user may access it as {@code modes} ask, as
     * {@link java.nio.file.spi.FileSystemProvider#checkAccess} of the platform's provider (what
     * {@link Files#isReadable}, {@link Files#isWritable} and {@link Files#isExecutable} ask), following
     * symbolic links. From a virtual thread, answered on the caller when every name of the path is
     * in the dentry cache and its file system is local (nothing to wait for), else off the caller's
     * carrier on the blocking offload, where a refusal's exception is the JDK's own.
     *
     * @param path  the file
     * @param modes {@link AccessMode}s to check; none checks that the file exists
     * @throws NoSuchFileException if it does not exist
     * @throws java.nio.file.AccessDeniedException if an access asked for is denied
     * @throws IOException if another I/O error occurs
     */
    public static void checkAccess(Path path, AccessMode... modes) throws IOException {
        Objects.requireNonNull(path, "path");
        int mode = 0;
        for (AccessMode m : modes) {
            mode |= switch (Objects.requireNonNull(m, "mode")) {
                case READ -> 4;
                case WRITE -> 2;
                case EXECUTE -> 1;
            };
        }
        if (Thread.currentThread().isVirtual() && CachedMetadata.accessible(path, mode)) {
            return; // (a platform thread's own access(2) is one system call where this is four)
        }
        if (!offloaded(path)) {
            path.getFileSystem().provider().checkAccess(path, modes);
            return;
        }
        offload().call(path, () -> {
            path.getFileSystem().provider().checkAccess(path, modes);
            return null;
        });
    }

    /**
     * {@return whether the two paths name the same file} As {@link Files#isSameFile}: equal paths
     * without a look; from a virtual thread, two paths of this file system whose names are all in
     * the dentry cache, on a local file system, are compared by device and inode on the caller, as
     * the platform compares them; else {@code Files.isSameFile} off the caller's carrier on the
     * blocking offload, whose exceptions are the JDK's.
     *
     * @param path  a path
     * @param path2 another path
     * @throws IOException if either cannot be looked up
     */
    public static boolean isSameFile(Path path, Path path2) throws IOException {
        Objects.requireNonNull(path, "path");
        if (path.equals(path2)) {
            return true;
        }
        Objects.requireNonNull(path2, "path2");
        if (Thread.currentThread().isVirtual() && path2.getFileSystem() == path.getFileSystem()) {
            FileStat a = CachedMetadata.stat(path, true);
            FileStat b = a == null ? null : CachedMetadata.stat(path2, true);
            if (b != null) {
                return a.device() == b.device() && a.inode() == b.inode();
            }
        }
        return offloaded(path) ? offload().call(path, path2, () -> Files.isSameFile(path, path2))
                : Files.isSameFile(path, path2);
    }

    /**
     * Reads a file's attributes, as {@link Files#readAttributes(Path, Class, LinkOption...)}. From a
     * virtual thread, {@link BasicFileAttributes} (the JDK's values, and the JDK's {@code fileKey()},
     * asked for off the carrier when first called) are
     * read on the caller when every name of the path is in the dentry cache and its file system is
     * local (nothing to wait for), else with {@code -Dauraio.metadata=ring} with a {@code statx}
     * through the default engine's ring; other types, and failures, are read by {@code Files} off
     * the caller's carrier.
     *
     * @param path    the file
     * @param type    {@code BasicFileAttributes.class}, {@code PosixFileAttributes.class}, ...
     * @param options {@link LinkOption#NOFOLLOW_LINKS} not to follow a symbolic link
     * @param <A>     the attributes' type
     * @return the attributes
     * @throws UnsupportedOperationException if {@code type} is not supported
     * @throws NoSuchFileException if the file does not exist
     * @throws IOException if another I/O error occurs
     */
    public static <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(type, "type");
        if (type == BasicFileAttributes.class && Thread.currentThread().isVirtual()) {
            FileStat cached = CachedMetadata.stat(path, MetadataRequest.followLinks(options));
            if (cached != null) {
                return type.cast(new JdkKeyedAttributes(cached, path, options));
            }
        }
        Engine engine = type == BasicFileAttributes.class ? ring(path) : null;
        if (engine != null) {
            Engine.Outcome<FileStat> o = attempt(engine, core -> MetadataRequest.stat(core, path, options), STAT);
            if (o.result() >= 0) {
                return type.cast(new JdkKeyedAttributes(o.value(), path, options));
            }
        }
        return offloaded(path) ? offload().call(path, () -> Files.readAttributes(path, type, options))
                : Files.readAttributes(path, type, options);
    }

    /**
     * Deletes a file, as {@link Files#delete(Path)}; from a virtual thread, an {@code unlinkat}
     * through the default engine's ring with {@code -Dauraio.metadata=ring}, else off the
     * carrier on the blocking offload.
     *
     * @param path the file or empty directory
     * @throws NoSuchFileException if it does not exist
     * @throws java.nio.file.DirectoryNotEmptyException if it is a directory that is not empty
     * @throws IOException if another I/O error occurs
     */
    public static void delete(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        if (ringDelete(path) == 0) {
            return;
        }
        if (!offloaded(path)) {
            Files.delete(path);
            return;
        }
        offload().call(path, () -> {
            Files.delete(path);
            return null;
        });
    }

    /**
     * Deletes a file if it exists, as {@link Files#deleteIfExists(Path)}; from a virtual thread, an
     * {@code unlinkat} through the default engine's ring with {@code -Dauraio.metadata=ring}, else off the
     * carrier on the blocking offload.
     *
     * @param path the file or empty directory
     * @return whether it was deleted
     * @throws java.nio.file.DirectoryNotEmptyException if it is a directory that is not empty
     * @throws IOException if another I/O error occurs
     */
    public static boolean deleteIfExists(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        long r = ringDelete(path);
        if (r == 0) {
            return true;
        }
        if (r == -Errno.ENOENT) {
            return false;
        }
        return offloaded(path) ? offload().call(path, () -> Files.deleteIfExists(path)) : Files.deleteIfExists(path);
    }

    /**
     * {@return 0 when the ring deleted {@code path}; else a negated errno, or ENOSYS when the ring
     * is not used} A directory is removed with {@code AT_REMOVEDIR} after {@code unlink} said EISDIR.
     */
    private static long ringDelete(Path path) {
        Engine engine = ring(path);
        if (engine == null) {
            return -Errno.ENOSYS;
        }
        long r = attempt(engine, core -> MetadataRequest.unlink(core, path, false), RESULT).result();
        if (r == -Errno.EISDIR) {
            r = attempt(engine, core -> MetadataRequest.unlink(core, path, true), RESULT).result();
        }
        return r;
    }

    /**
     * Creates a directory, as {@link Files#createDirectory(Path, FileAttribute...)}; from a virtual
     * thread, a name that the dentry cache shows to exist is refused on the caller (no attributes
     * given), else a {@code mkdirat} through the default engine's ring with
     * {@code -Dauraio.metadata=ring}, else off the carrier on the blocking offload.
     *
     * @param dir   the directory
     * @param attrs {@code posix:permissions} at most
     * @return {@code dir}
     * @throws UnsupportedOperationException if an attribute is not supported
     * @throws FileAlreadyExistsException if {@code dir} exists
     * @throws IOException if another I/O error occurs, e.g. the parent does not exist
     */
    public static Path createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        Objects.requireNonNull(dir, "dir");
        if (attrs.length == 0 && Thread.currentThread().isVirtual() && CachedMetadata.exists(dir, false) == 1) {
            // mkdir's answer for a name that exists (even a dangling link), told from the cache:
            // the JDK's exception, whose message is the path. (With attributes the JDK checks
            // them first: left to it.) Files.createDirectories of an existing directory starts so.
            throw new FileAlreadyExistsException(dir.toString());
        }
        Engine engine = ring(dir);
        if (engine != null && attempt(engine, core -> MetadataRequest.mkdir(core, dir, attrs), RESULT).result() == 0) {
            return dir;
        }
        return offloaded(dir) ? offload().call(dir, () -> Files.createDirectory(dir, attrs))
                : Files.createDirectory(dir, attrs);
    }

    /**
     * Creates a directory and its missing parents, as
     * {@link Files#createDirectories(Path, FileAttribute...)}; from a virtual thread, the common
     * cases (the directory is created, or exists) take one {@code mkdirat} (and a {@code statx})
     * through the default engine's ring with {@code -Dauraio.metadata=ring}, the others are made by {@code Files} off the carrier.
     *
     * @param dir   the directory
     * @param attrs attributes for the directories created
     * @return {@code dir}
     * @throws UnsupportedOperationException if an attribute is not supported
     * @throws FileAlreadyExistsException if {@code dir} exists but is not a directory
     * @throws IOException if another I/O error occurs
     */
    public static Path createDirectories(Path dir, FileAttribute<?>... attrs) throws IOException {
        Objects.requireNonNull(dir, "dir");
        Engine engine = ring(dir);
        if (engine != null) {
            long r = attempt(engine, core -> MetadataRequest.mkdir(core, dir, attrs), RESULT).result();
            if (r == 0) {
                return dir;
            }
            if (r == -Errno.EEXIST) {
                Engine.Outcome<FileStat> o = attempt(engine, core -> MetadataRequest.stat(core, dir), STAT);
                if (o.result() >= 0 && o.value().isDirectory()) {
                    return dir;
                }
            }
        }
        return offloaded(dir) ? offload().call(dir, () -> Files.createDirectories(dir, attrs))
                : Files.createDirectories(dir, attrs);
    }

    /**
     * Moves or renames a file, as {@link Files#move(Path, Path, CopyOption...)}; from a virtual
     * thread, a {@code renameat} through the default engine's ring with {@code -Dauraio.metadata=ring}, else off the carrier on the
     * blocking offload (the rename with {@code RENAME_NOREPLACE}
     * unless {@link StandardCopyOption#REPLACE_EXISTING} or {@link StandardCopyOption#ATOMIC_MOVE}
     * is given); a move the rename cannot do (another file system, a replaced directory) is made
     * by {@code Files} off the carrier.
     *
     * @param source  the file to move
     * @param target  where to
     * @param options {@link StandardCopyOption#REPLACE_EXISTING}, {@link StandardCopyOption#ATOMIC_MOVE}
     * @return {@code target}
     * @throws UnsupportedOperationException if an option is not supported
     * @throws FileAlreadyExistsException if {@code target} exists and {@code REPLACE_EXISTING} is not given
     * @throws java.nio.file.DirectoryNotEmptyException if {@code REPLACE_EXISTING} is given and
     *         {@code target} is a non-empty directory
     * @throws java.nio.file.AtomicMoveNotSupportedException if {@code ATOMIC_MOVE} cannot be done
     * @throws IOException if another I/O error occurs
     */
    public static Path move(Path source, Path target, CopyOption... options) throws IOException {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(target, "target");
        Engine engine = ring(source);
        if (engine != null && NativePath.isDefaultFileSystem(target)) {
            CopyOption[] renameOptions = renameOptions(options);
            if (renameOptions != null
                    && attempt(engine, core -> MetadataRequest.rename(core, source, target, renameOptions), RESULT)
                    .result() == 0) {
                return target;
            }
        }
        return offloaded(source) && offloaded(target)
                ? offload().call(source, target, () -> Files.move(source, target, options))
                : Files.move(source, target, options);
    }

    /**
     * {@return the options of a {@code renameat} that does what {@code Files.move} with
     * {@code options} does when the rename succeeds, or null to leave the move to Files}
     */
    private static CopyOption[] renameOptions(CopyOption... options) {
        boolean replace = false;
        for (CopyOption o : Objects.requireNonNull(options, "options")) {
            if (o == StandardCopyOption.REPLACE_EXISTING || o == StandardCopyOption.ATOMIC_MOVE) {
                replace = true; // an atomic move replaces an existing target, as rename(2)
            } else if (o != LinkOption.NOFOLLOW_LINKS) {
                // COPY_ATTRIBUTES too: the JDK's move refuses it ("Unsupported option"), where a
                // rename would move the file. Files throws the JDK's exception for each.
                return null;
            }
        }
        return replace ? new CopyOption[] {StandardCopyOption.REPLACE_EXISTING} : new CopyOption[0];
    }

    /**
     * Creates a symbolic link, as {@link Files#createSymbolicLink(Path, Path, FileAttribute...)};
     * from a virtual thread, a {@code symlinkat} through the default engine's ring with {@code -Dauraio.metadata=ring}, else off the
     * carrier on the blocking offload.
     *
     * @param link   the link to create
     * @param target what it points to, stored as given
     * @param attrs  none are supported, as on Linux's JDK
     * @return {@code link}
     * @throws UnsupportedOperationException if an attribute is given
     * @throws FileAlreadyExistsException if {@code link} exists
     * @throws IOException if another I/O error occurs
     */
    public static Path createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs) throws IOException {
        Objects.requireNonNull(link, "link");
        Objects.requireNonNull(target, "target");
        Engine engine = Objects.requireNonNull(attrs, "attrs").length == 0 ? ring(link) : null;
        if (engine != null && NativePath.isDefaultFileSystem(target)
                && attempt(engine, core -> MetadataRequest.symlink(core, link, target), RESULT).result() == 0) {
            return link;
        }
        return offloaded(link) ? offload().call(link, () -> Files.createSymbolicLink(link, target, attrs))
                : Files.createSymbolicLink(link, target, attrs);
    }

    /**
     * Creates a hard link, as {@link Files#createLink(Path, Path)} (a symbolic link
     * {@code existing} is linked itself, not followed); from a virtual thread, a {@code linkat}
     * through the default engine's ring with {@code -Dauraio.metadata=ring}, else off the
     * carrier on the blocking offload.
     *
     * @param link     the link to create
     * @param existing the existing file
     * @return {@code link}
     * @throws FileAlreadyExistsException if {@code link} exists
     * @throws IOException if another I/O error occurs
     */
    public static Path createLink(Path link, Path existing) throws IOException {
        Objects.requireNonNull(link, "link");
        Objects.requireNonNull(existing, "existing");
        Engine engine = ring(link);
        if (engine != null && NativePath.isDefaultFileSystem(existing) && attempt(engine,
                core -> MetadataRequest.link(core, link, existing, LinkOption.NOFOLLOW_LINKS), RESULT).result() == 0) {
            return link;
        }
        return offloaded(link) ? offload().call(link, existing, () -> Files.createLink(link, existing))
                : Files.createLink(link, existing);
    }

    /**
     * Lists a directory lazily, as {@link Files#list(Path)}: from a virtual thread, the directory is
     * opened and its entries are read (a batch at a time) off the caller's carrier. Close the stream
     * (try-with-resources) to close the directory.
     *
     * @param dir the directory
     * @return its entries, resolved against {@code dir}
     * @throws java.nio.file.NotDirectoryException if {@code dir} is not a directory
     * @throws IOException if another I/O error occurs when opening it; errors while reading it are
     *         thrown as {@link java.io.UncheckedIOException} by the stream, as {@code Files.list}'s
     */
    public static Stream<Path> list(Path dir) throws IOException {
        Objects.requireNonNull(dir, "dir");
        if (!NativePath.isDefaultFileSystem(dir)) { // a platform thread's stream too: a virtual one may iterate it
            return Files.list(dir);
        }
        return batched(dir, offload().call(dir, () -> Files.list(dir)), Spliterator.DISTINCT);
    }

    /**
     * Walks a file tree lazily, depth first, as {@link Files#walk(Path, FileVisitOption...)}: from a
     * virtual thread, every {@code stat} and directory read of the walk is made off the caller's
     * carrier (a batch of entries at a time). Close the stream to close the directories left open.
     *
     * @param start   the first entry
     * @param options {@link FileVisitOption#FOLLOW_LINKS} to follow symbolic links
     * @return {@code start}, then the entries below it
     * @throws SecurityException as {@code Files.walk}
     * @throws IOException if {@code start} cannot be read; later errors are thrown as
     *         {@link java.io.UncheckedIOException} by the stream, as {@code Files.walk}'s
     */
    public static Stream<Path> walk(Path start, FileVisitOption... options) throws IOException {
        return walk(start, Integer.MAX_VALUE, options);
    }

    /**
     * As {@link #walk(Path, FileVisitOption...)} to at most {@code maxDepth} levels below
     * {@code start}, as {@link Files#walk(Path, int, FileVisitOption...)}.
     *
     * @param start    the first entry
     * @param maxDepth how many levels of directories to visit (0: {@code start} only)
     * @param options  {@link FileVisitOption#FOLLOW_LINKS} to follow symbolic links
     * @return {@code start}, then the entries below it
     * @throws IllegalArgumentException if {@code maxDepth} is negative
     * @throws IOException if {@code start} cannot be read
     */
    public static Stream<Path> walk(Path start, int maxDepth, FileVisitOption... options) throws IOException {
        Objects.requireNonNull(start, "start");
        if (!NativePath.isDefaultFileSystem(start)) { // a platform thread's stream too: a virtual one may iterate it
            return Files.walk(start, maxDepth, options);
        }
        return batched(start, offload().call(start, () -> Files.walk(start, maxDepth, options)), 0);
    }

    /**
     * {@return the pool for calls that may wait} Looked up at each use, not kept in a static field: its
     * creation reads the mount table through native calls (the JVM's first foreign-function links,
     * ~100 ms), which this class's initialisation would otherwise cost every first call, the JDK's
     * included.
     */
    private static BlockingOffload offload() {
        return BlockingOffload.shared();
    }

    /**
     * {@return whether a call on {@code path} from this thread goes to the offload: a virtual
     * thread's, on the host's file system} A platform thread's call runs on itself, as the offload
     * would run it, without the offload's creation (the mount table read through native calls).
     */
    private static boolean offloaded(Path path) {
        return Thread.currentThread().isVirtual() && NativePath.isDefaultFileSystem(path);
    }

    /** {@return {@code stream}'s elements drawn in batches on the offload; closing it closes {@code stream}} */
    private static Stream<Path> batched(Path path, Stream<Path> stream, int characteristics) {
        BatchedIterator<Path> entries = new BatchedIterator<>(offload(), path, stream.iterator());
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(entries, characteristics), false)
                .onClose(() -> {
                    stream.close();
                    entries.discardTaken();
                });
    }
}
