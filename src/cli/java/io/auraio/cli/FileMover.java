package io.auraio.cli;

import io.auraio.AuraFile;
import io.auraio.AuraFiles;
import io.auraio.AuraIOException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * Moves regular files' bytes for {@code auraio cp}: up to {@link #MAX_FILES} files at once, each on
 * its own virtual thread. Where source and target share a file system the kernel copies them
 * ({@code copy_file_range}, {@link #copyInKernel}), as coreutils' cp does. Otherwise (across file
 * systems, {@code --direct}, a FIFO) they go through {@link AuraFile}s: a file larger than one
 * chunk split among up to {@link #WORKERS_PER_FILE} virtual threads that each read a chunk and
 * write it, so reads of one chunk overlap writes of another, every chunk through one of at most
 * {@link #BUFFERS} native buffers shared by all files, which bounds the memory and the requests in
 * flight whatever the tree holds. A file with holes ({@link Extents}) is copied as cp
 * {@code --sparse=auto} copies it: its data extents only, so the copy keeps the holes.
 */
final class FileMover implements AutoCloseable {
    static final int CHUNK = 512 * 1024;
    static final int BUFFERS = 48;
    static final int MAX_FILES = 64;
    static final int WORKERS_PER_FILE = 8;
    /** Bytes a {@code copy_file_range} call is asked for: {@code AuraFiles.copyRange}'s most. */
    static final long KERNEL_RANGE = 8L << 20;
    /** Threads copying one large file's ranges in the kernel at once. */
    static final int KERNEL_WORKERS_PER_FILE = Math.max(2, Runtime.getRuntime().availableProcessors());
    /** O_DIRECT transfers are padded to this; 4096 satisfies every local file system's DIOALIGN. */
    private static final int DIRECT_ALIGNMENT = 4096;
    /** {@code EPIPE}: a write into a pipe whose reader is gone. */
    private static final int EPIPE = 32;

    private final ChunkBuffers buffers = new ChunkBuffers(BUFFERS, CHUNK, DIRECT_ALIGNMENT);
    private final Semaphore files = new Semaphore(MAX_FILES);
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final boolean direct;
    private final boolean preserve;
    private final Set<PosixFilePermission> umask;
    private final Consumer<String> problems;
    private final LongAdder bytes = new LongAdder();
    private final LongAdder filesDone = new LongAdder();
    private final LongAdder directFallbacks = new LongAdder();
    /** A target that is a pipe lost its reader (EPIPE): the copy stops, as cp killed by SIGPIPE. */
    private volatile boolean readerGone;

    /**
     * @param direct   open both ends with O_DIRECT where the file system allows it
     * @param preserve {@code cp -p}: permissions, owner where allowed, times
     * @param umask    the process's umask, taken off a new file's permissions without {@code -p}
     * @param problems takes one message (without the program name) per failed file
     */
    FileMover(boolean direct, boolean preserve, Set<PosixFilePermission> umask, Consumer<String> problems) {
        this.direct = direct;
        this.preserve = preserve;
        this.umask = umask;
        this.problems = problems;
    }

    /** {@return bytes written so far} */
    long bytes() {
        return bytes.sum();
    }

    /** {@return files completed so far, copied or failed} */
    long files() {
        return filesDone.sum();
    }

    /** {@return files that asked for O_DIRECT but went through the page cache: their file system refused O_DIRECT} */
    long directFallbacks() {
        return directFallbacks.sum();
    }

    /**
     * Starts copying {@code source} to {@code target}; returns once it has started, waiting first
     * while {@link #MAX_FILES} files are in flight. A failure is reported to the problem sink.
     *
     * @param existed whether {@code target} exists (it is then truncated and keeps its permissions, as with cp)
     */
    void submit(Path source, String sourceName, Path target, String targetName, PosixFileAttributes attrs,
                boolean existed) throws InterruptedException {
        files.acquire();
        threads.execute(() -> {
            try {
                copy(source, sourceName, target, targetName, attrs, existed);
            } catch (Failure f) {
                if (!f.readerGone) {
                    problems.accept(f.getMessage());
                }
            } catch (InterruptedException e) {
                problems.accept("interrupted while copying " + Problems.quote(sourceName));
            } finally {
                filesDone.increment();
                files.release();
            }
        });
    }

    /**
     * {@return whether a write into a target pipe (cp FILE /dev/stdout | head) found its reader gone}
     * cp dies of SIGPIPE there, silently; the JVM ignores the signal, so the failure is not
     * reported and the command stops and exits as the shell would report cp's death (141).
     */
    boolean readerGone() {
        return readerGone;
    }

    /** Waits until every file submitted so far is done, copied or failed. */
    void awaitIdle() throws InterruptedException {
        files.acquire(MAX_FILES);
        files.release(MAX_FILES);
    }

    /** Waits for every submitted file, then frees the buffers. */
    @Override
    public void close() {
        threads.close();
        buffers.close();
    }

    /** A file's failure, with cp's message for it. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        /** The target is a pipe whose reader is gone: nothing to report (cp would die of SIGPIPE). */
        final boolean readerGone;

        Failure(String message) {
            this(message, false);
        }

        Failure(String message, boolean readerGone) {
            super(message, null, false, false);
            this.readerGone = readerGone;
        }
    }

    private void copy(Path source, String sourceName, Path target, String targetName, PosixFileAttributes attrs,
                      boolean existed) throws Failure, InterruptedException {
        boolean directHere = direct;
        AuraFile in;
        try {
            in = open(source, directHere, StandardOpenOption.READ);
        } catch (IOException e) {
            if (!directHere) {
                throw new Failure("cannot open " + Problems.quote(sourceName) + " for reading: " + Problems.reason(e));
            }
            directHere = false; // the file system refuses O_DIRECT: copy through the page cache
            directFallbacks.increment();
            try {
                in = open(source, false, StandardOpenOption.READ);
            } catch (IOException again) {
                throw new Failure("cannot open " + Problems.quote(sourceName) + " for reading: " + Problems.reason(again));
            }
        }
        try (AuraFile input = in) {
            AuraFile output;
            // A target that did not exist is created exclusively, as cp's O_EXCL: a name another
            // process made meanwhile is an error, not a file to overwrite.
            OpenOption[] create = existed
                    ? new OpenOption[] {StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                            StandardOpenOption.TRUNCATE_EXISTING}
                    : new OpenOption[] {StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW};
            try {
                output = open(target, directHere, create);
            } catch (IOException e) {
                if (!directHere) {
                    throw new Failure("cannot create regular file " + Problems.quote(targetName) + ": "
                            + Problems.reason(e));
                }
                directHere = false;
                directFallbacks.increment();
                try {
                    // Not exclusive: the refused O_DIRECT open may have made the file already.
                    output = open(target, false, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                            StandardOpenOption.TRUNCATE_EXISTING);
                } catch (IOException again) {
                    throw new Failure("cannot create regular file " + Problems.quote(targetName) + ": "
                            + Problems.reason(again));
                }
            }
            long length;
            try (AuraFile out = output) {
                length = copyBytes(input, sourceName, out, targetName, attrs.size(), attrs.isRegularFile(), directHere);
            } catch (IOException e) {
                throw new Failure("failed to close " + Problems.quote(targetName) + ": " + Problems.reason(e));
            }
            if (directHere && length % DIRECT_ALIGNMENT != 0) {
                // The last O_DIRECT write was padded to the alignment; cut the padding off.
                try (FileChannel ch = FileChannel.open(target, StandardOpenOption.WRITE)) {
                    ch.truncate(length);
                } catch (IOException e) {
                    throw new Failure("cannot truncate " + Problems.quote(targetName) + ": " + Problems.reason(e));
                }
            }
        } catch (IOException e) {
            throw new Failure("failed to close " + Problems.quote(sourceName) + ": " + Problems.reason(e));
        }
        try {
            applyAttributes(target, attrs, preserve ? specialBits(source) : 0, existed, preserve, umask);
        } catch (IOException e) {
            throw new Failure("preserving permissions for " + Problems.quote(targetName) + ": " + Problems.reason(e));
        }
    }

    private static AuraFile open(Path path, boolean direct, OpenOption... options) throws IOException {
        if (!direct) {
            return ToolEngine.open(path, options);
        }
        OpenOption[] withDirect = java.util.Arrays.copyOf(options, options.length + 1);
        withDirect[options.length] = DirectOption.DIRECT;
        return ToolEngine.open(path, withDirect);
    }

    /**
     * Copies the announced {@code size} in chunks (several at once for a large file), then
     * whatever the file holds past it (it grew, or it is a FIFO or a /proc file). {@return the bytes copied}
     */
    private long copyBytes(AuraFile in, String inName, AuraFile out, String outName, long size, boolean regular,
                           boolean direct) throws Failure, InterruptedException {
        if (regular && !direct && size > 0) {
            long hole = Extents.nextHole(in, 0);
            if (hole >= 0 && hole < size) {
                return copySparse(in, inName, out, outName);
            }
        }
        if (regular && !direct) {
            long copied = copyInKernel(in, inName, out, outName, size);
            if (copied >= 0) {
                return copied;
            }
        }
        long position = 0;
        if (size > CHUNK) {
            position = copyChunks(in, inName, out, outName, size, direct);
        }
        // The rest, one chunk at a time: small files, and anything past the announced size.
        MemorySegment buf = buffers.take();
        try {
            while (!(direct && position % DIRECT_ALIGNMENT != 0)) { // an O_DIRECT file ends at its short read
                int n = direct ? readDirect(in, inName, buf, CHUNK, position) : read(in, inName, buf, position);
                if (n <= 0) {
                    break;
                }
                write(out, outName, buf, n, position, direct);
                position += n;
                if (regular && n < CHUNK && position >= size) {
                    break; // a short read at the announced end of a regular file: its end
                }
            }
            return position;
        } finally {
            buffers.give(buf);
        }
    }

    /**
     * Copies a file with holes as coreutils' cp ({@code --sparse=auto}) does: only its data
     * extents ({@link Extents}), each at its own offset, in the kernel where it can (else read
     * and written), then the size set, so that every hole of the source (first, between data, last)
     * is a hole of the copy. Extents are taken as the file is now: data written past the size
     * announced is copied, and the copy gets the size the source has once its data is copied.
     * {@return the copy's size}
     */
    private long copySparse(AuraFile in, String inName, AuraFile out, String outName)
            throws Failure, InterruptedException {
        boolean inKernel = true;
        long position = 0;
        long data;
        while ((data = nextData(in, inName, position)) >= 0) {
            long hole = Extents.nextHole(in, data);
            if (hole < 0) {
                throw new Failure("error reading " + Problems.quote(inName) + ": cannot find the end of its data at "
                        + data);
            }
            bytes.add(data - position); // the hole before: copied as far as a reader can tell
            long end = hole;
            if (inKernel) {
                long n = copyRange(in, inName, out, outName, data, Math.min(hole - data, KERNEL_RANGE));
                if (n < 0) {
                    inKernel = false; // another file system: read and write (nothing was copied)
                } else if (n > 0 && data + n < hole) {
                    end = hole - data - n > KERNEL_RANGE
                            ? copyRangesInParallel(in, inName, out, outName, data + n, hole)
                            : copyRest(in, inName, out, outName, data + n, hole);
                } else {
                    end = data + n;
                }
            }
            if (!inKernel) {
                end = copyByReading(in, inName, out, outName, data, hole);
            }
            if (end < hole) {
                break; // the source shrank: it ends about here
            }
            position = hole;
        }
        long length;
        try {
            length = in.size();
        } catch (IOException e) {
            throw new Failure("cannot stat " + Problems.quote(inName) + ": " + Problems.reason(e));
        }
        if (length > position) {
            bytes.add(length - position); // the last hole
        }
        try {
            Extents.setSize(out, length); // the final size: the hole after the last data, or less if it shrank
        } catch (IOException e) {
            throw new Failure("failed to extend " + Problems.quote(outName) + ": " + Problems.reason(e));
        }
        return length;
    }

    private static long nextData(AuraFile in, String inName, long position) throws Failure {
        try {
            return Extents.nextData(in, position);
        } catch (IOException e) {
            throw new Failure("error reading " + Problems.quote(inName) + ": " + Problems.reason(e));
        }
    }

    /** Copies {@code [from, to)} in the kernel, range after range. {@return the end reached: {@code to}, or less at the source's end} */
    private long copyRest(AuraFile in, String inName, AuraFile out, String outName, long from, long to)
            throws Failure {
        long position = from;
        while (position < to) {
            long n = copyMore(in, inName, out, outName, position, Math.min(to - position, KERNEL_RANGE));
            if (n == 0) {
                break;
            }
            position += n;
        }
        return position;
    }

    /** Copies {@code [from, to)} through a pooled buffer. {@return the end reached: {@code to}, or less at the source's end} */
    private long copyByReading(AuraFile in, String inName, AuraFile out, String outName, long from, long to)
            throws Failure, InterruptedException {
        MemorySegment buf = buffers.take();
        try {
            long position = from;
            while (position < to) {
                int want = (int) Math.min(CHUNK, to - position);
                int got = readFully(in, inName, buf, want, position);
                write(out, outName, buf, got, position, false);
                position += got;
                if (got < want) {
                    break;
                }
            }
            return position;
        } finally {
            buffers.give(buf);
        }
    }

    /**
     * Copies with {@code copy_file_range} ({@link AuraFiles#copyRange}), as coreutils' cp does: the
     * bytes go from page cache to page cache inside the kernel, one copy instead of a read and a
     * write through user memory. A large file's ranges are copied by several threads at once.
     * Copies until the source's end as it is now (past {@code size} if it grew; a copy of a file
     * that shrank meanwhile is cut at the end found). {@return the bytes copied, or -1 if the
     * kernel cannot copy between these two files (other file systems: FUSE to ext4), when nothing
     * was copied and the caller reads and writes}
     */
    private long copyInKernel(AuraFile in, String inName, AuraFile out, String outName, long size)
            throws Failure, InterruptedException {
        // The first range on this thread tells whether the kernel can copy between these two at
        // all. One byte more than the file announced: a short count then marks the end, so a small
        // file takes a single call.
        long first = Math.min(size, KERNEL_RANGE) + 1;
        long n = copyRange(in, inName, out, outName, 0, first);
        if (n < 0) {
            return -1;
        }
        long position = n;
        if (n < first && position >= size) {
            return position;
        }
        if (n > 0 && size - position > KERNEL_RANGE) {
            position = copyRangesInParallel(in, inName, out, outName, position, size);
            if (position < size) {
                truncate(out, outName, position); // the source shrank: no range copied past its end stays
                return position;
            }
        }
        // The rest, in order: what is left of a file of a few ranges, and anything past the announced size.
        while (n != 0 && (n = copyMore(in, inName, out, outName, position, KERNEL_RANGE)) > 0) {
            position += n;
        }
        return position;
    }

    /**
     * Copies {@code [from, size)} in ranges, several threads at once. Should one fail (a full disk,
     * an error reading), the others stop taking ranges and the copy is cut where the lowest failed
     * range stopped ({@link #cutAfterFailure}), so that it holds a prefix of the source as cp's does.
     * {@return the end reached: {@code size}, or where the source was found to end if it shrank}
     */
    private long copyRangesInParallel(AuraFile in, String inName, AuraFile out, String outName, long from, long size)
            throws Failure, InterruptedException {
        long ranges = (size - from + KERNEL_RANGE - 1) / KERNEL_RANGE;
        int workers = (int) Math.min(ranges, KERNEL_WORKERS_PER_FILE);
        AtomicLong next = new AtomicLong();
        AtomicLong end = new AtomicLong(size);
        List<Thread> started = new ArrayList<>(workers);
        Failure[] failures = new Failure[workers];
        long[] failedAt = new long[workers];
        for (int w = 0; w < workers; w++) {
            int index = w;
            started.add(Thread.ofVirtual().start(() -> {
                long position = from;
                try {
                    long range;
                    while ((range = next.getAndIncrement()) < ranges) {
                        position = from + range * KERNEL_RANGE;
                        long stop = Math.min(position + KERNEL_RANGE, size);
                        while (position < stop) {
                            long n = copyMore(in, inName, out, outName, position, stop - position);
                            if (n == 0) { // the end of the source: it shrank
                                end.accumulateAndGet(position, Math::min);
                                next.set(ranges);
                                break;
                            }
                            position += n;
                        }
                    }
                } catch (Failure f) {
                    // copy_file_range copied [range start, position) of this range before it failed.
                    failures[index] = f;
                    failedAt[index] = position;
                    next.set(ranges);
                }
            }));
        }
        for (Thread t : started) {
            t.join();
        }
        cutAfterFailure(out, outName, failures, failedAt);
        return end.get();
    }

    private long copyRange(AuraFile in, String inName, AuraFile out, String outName, long position, long count)
            throws Failure {
        long n;
        try {
            n = AuraFiles.copyRange(in, position, out, position, count);
        } catch (IOException e) {
            // coreutils 9's words when its copy_file_range fails: it cannot tell which side did either.
            throw new Failure("error copying " + Problems.quote(inName) + " to " + Problems.quote(outName) + ": "
                    + Problems.reason(e));
        }
        if (n > 0) {
            bytes.add(n);
        }
        return n;
    }

    /** {@link #copyRange} after a first range was copied: the kernel cannot refuse now without a reason. */
    private long copyMore(AuraFile in, String inName, AuraFile out, String outName, long position, long count)
            throws Failure {
        long n = copyRange(in, inName, out, outName, position, count);
        if (n < 0) {
            throw new Failure("error copying " + Problems.quote(inName) + " to " + Problems.quote(outName)
                    + ": the kernel refused to go on copying");
        }
        return n;
    }

    private static void truncate(AuraFile out, String outName, long length) throws Failure {
        if (!Files.isRegularFile(out.path())) {
            // A FIFO or a device keeps what was written, as cp leaves it; and opening a FIFO
            // again for writing waits for a reader, which may never come (cp FILE FIFO | head).
            return;
        }
        try (FileChannel ch = FileChannel.open(out.path(), StandardOpenOption.WRITE)) {
            ch.truncate(length);
        } catch (IOException e) {
            throw new Failure("cannot truncate " + Problems.quote(outName) + ": " + Problems.reason(e));
        }
    }

    /**
     * Copies the announced {@code size} in chunks, up to {@link #WORKERS_PER_FILE} threads at once,
     * each taking the next chunk: chunks are handed out in order, but written in whatever order
     * their threads get there. Should one fail (a full disk, an error reading), the others stop
     * taking chunks and the copy is cut at the lowest chunk not written ({@link #cutAfterFailure}),
     * so that it holds a prefix of the source, as cp's does. {@return {@code size}}
     */
    private long copyChunks(AuraFile in, String inName, AuraFile out, String outName, long size, boolean direct)
            throws Failure, InterruptedException {
        long chunks = (size + CHUNK - 1) / CHUNK;
        int workers = (int) Math.min(chunks, WORKERS_PER_FILE);
        AtomicLong next = new AtomicLong();
        List<Thread> started = new ArrayList<>(workers);
        Failure[] failures = new Failure[workers];
        long[] failedAt = new long[workers];
        for (int w = 0; w < workers; w++) {
            int index = w;
            started.add(Thread.ofVirtual().start(() -> {
                MemorySegment buf;
                try {
                    buf = buffers.take();
                } catch (InterruptedException e) {
                    failures[index] = new Failure("interrupted while copying " + Problems.quote(inName));
                    failedAt[index] = size; // no chunk taken, none lost: the others go on
                    return;
                }
                long position = 0;
                try {
                    long chunk;
                    while ((chunk = next.getAndIncrement()) < chunks) {
                        position = chunk * CHUNK;
                        int want = (int) Math.min(CHUNK, size - position);
                        int got = direct ? readDirect(in, inName, buf, want, position)
                                : readFully(in, inName, buf, want, position);
                        write(out, outName, buf, got, position, direct);
                        if (got < want) {
                            next.set(chunks); // the file shrank: stop at its new end
                        }
                    }
                } catch (Failure f) {
                    // Nothing of this chunk counts as written: a failed write may have written
                    // part of it, a failed read none of it.
                    failures[index] = f;
                    failedAt[index] = position;
                    next.set(chunks);
                } finally {
                    buffers.give(buf);
                }
            }));
        }
        for (Thread t : started) {
            t.join();
        }
        cutAfterFailure(out, outName, failures, failedAt);
        return size;
    }

    /**
     * After a file's workers have all stopped: if any failed, cuts the copy at the lowest offset
     * that failed and throws that failure, the one cp, copying in order, would have met first.
     * Chunks and ranges are handed out in order, so every one below the lowest failure was
     * copied whole, while others above it may have been written before it failed: without the
     * cut a copy stopped by a full disk or a bad read of the source had holes (zeros where the
     * source has data) between data. With it, the copy is a prefix of the source, as cp leaves
     * (on a full disk a shorter one than cp's: the space that chunks past the cut took is freed).
     *
     * @param failedAt where each worker's failure left its part: the copy holds the source up to there
     */
    private void cutAfterFailure(AuraFile out, String outName, Failure[] failures, long[] failedAt) throws Failure {
        int first = -1;
        for (int w = 0; w < failures.length; w++) {
            if (failures[w] != null && (first < 0 || failedAt[w] < failedAt[first])) {
                first = w;
            }
        }
        if (first < 0) {
            return;
        }
        try {
            // FileChannel.truncate only shortens: a copy that ends before the cut (nothing past it written) stays.
            truncate(out, outName, failedAt[first]);
        } catch (Failure cut) {
            // The copy may hold holes: say so, after cp's message for the failure itself.
            problems.accept(failures[first].getMessage());
            throw cut;
        }
        throw failures[first];
    }

    private static int read(AuraFile in, String name, MemorySegment buf, long position) throws Failure {
        try {
            return in.read(buf, position);
        } catch (IOException e) {
            throw new Failure("error reading " + Problems.quote(name) + ": " + Problems.reason(e));
        }
    }

    /** Reads until {@code want} bytes or the end of the file; {@return the count} */
    private static int readFully(AuraFile in, String name, MemorySegment buf, int want, long position) throws Failure {
        int got = 0;
        while (got < want) {
            int n = read(in, name, buf.asSlice(got, want - got), position + got);
            if (n < 0) {
                break;
            }
            got += n;
        }
        return got;
    }

    /**
     * Reads up to {@code want} bytes with O_DIRECT: lengths rounded up to the alignment, and a
     * read that ends off the alignment is the end of the file. {@return the count, 0 at the end}
     */
    private static int readDirect(AuraFile in, String name, MemorySegment buf, int want, long position)
            throws Failure {
        int aligned = (want + DIRECT_ALIGNMENT - 1) / DIRECT_ALIGNMENT * DIRECT_ALIGNMENT;
        int got = 0;
        while (got < want) {
            int n = read(in, name, buf.asSlice(got, aligned - got), position + got);
            if (n <= 0) {
                break;
            }
            got += n;
            if (got % DIRECT_ALIGNMENT != 0) {
                break;
            }
        }
        return got;
    }

    private void write(AuraFile out, String name, MemorySegment buf, int n, long position, boolean direct)
            throws Failure {
        if (n == 0) {
            return;
        }
        long length = direct ? (n + DIRECT_ALIGNMENT - 1) / DIRECT_ALIGNMENT * DIRECT_ALIGNMENT : n;
        try {
            out.writeFully(buf.asSlice(0, length), position);
        } catch (IOException e) {
            // EPIPE: io_uring's errno, or the JDK's message where AuraFile runs on a FileChannel.
            boolean pipeReaderGone = e instanceof AuraIOException a ? a.errno() == EPIPE
                    : "Broken pipe".equals(e.getMessage());
            if (pipeReaderGone) {
                readerGone = true;
            }
            throw new Failure("error writing " + Problems.quote(name) + ": " + Problems.reason(e), pipeReaderGone);
        }
        bytes.add(n);
    }

    private static final Set<PosixFilePermission> ALL_READ_WRITE = PosixFilePermissions.fromString("rw-rw-rw-");
    private static final Set<PosixFilePermission> ALL = PosixFilePermissions.fromString("rwxrwxrwx");

    /**
     * {@return the permissions a new file (created with 0666, as AuraFile creates) or directory
     * (0777, as Files.createDirectory) has under {@code umask}}, so that the common case, a source
     * with exactly those, needs no chmod.
     */
    private static Set<PosixFilePermission> createdWith(boolean directory, Set<PosixFilePermission> umask) {
        Set<PosixFilePermission> created = EnumSet.copyOf(directory ? ALL : ALL_READ_WRITE);
        created.removeAll(umask);
        return created;
    }

    /** {@return {@code permissions} as the nine low bits of a mode} */
    private static int modeBits(Set<PosixFilePermission> permissions) {
        int mode = 0;
        for (PosixFilePermission p : permissions) {
            mode |= 1 << (8 - p.ordinal()); // OWNER_READ (0400) first, OTHERS_EXECUTE (01) last
        }
        return mode;
    }

    /**
     * {@return the set-user-ID, set-group-ID and sticky bits of {@code source}'s mode} (not in
     * {@link PosixFilePermission}): 0 where they cannot be read.
     */
    static int specialBits(Path source) {
        try {
            return (Integer) Files.getAttribute(source, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07000;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return 0;
        }
    }

    /**
     * Gives a copy its attributes as cp does: a new file or directory the source's permission bits
     * less the umask; with {@code -p} (preserve) every permission bit, the owner and group where
     * the process may set them (cp -p ignores a refusal), and the access and modification times.
     *
     * @param special the set-user-ID, set-group-ID and sticky bits to set with the permissions
     *                ({@link #specialBits}): cp -p keeps them, cp -r a directory's sticky bit
     */
    static void applyAttributes(Path target, PosixFileAttributes source, int special, boolean existed,
                                boolean preserve, Set<PosixFilePermission> umask) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(target, PosixFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS);
        if (view == null) {
            return;
        }
        if (preserve) {
            try {
                view.setOwner(source.owner());
                view.setGroup(source.group());
            } catch (IOException refused) {
                // As cp -p: an owner the process may not give is not an error.
            }
        }
        if ((preserve || !existed) && !source.isSymbolicLink()) { // a link's own permissions are fixed on Linux
            Set<PosixFilePermission> wanted = EnumSet.noneOf(PosixFilePermission.class);
            wanted.addAll(source.permissions());
            if (!preserve) {
                wanted.removeAll(umask);
            }
            if (special != 0) {
                // After the owner: a change of owner clears the set-user-ID and set-group-ID bits.
                Files.setAttribute(target, "unix:mode", modeBits(wanted) | special, LinkOption.NOFOLLOW_LINKS);
            } else if (preserve || !wanted.equals(createdWith(source.isDirectory(), umask))) {
                view.setPermissions(wanted);
            }
        }
        if (preserve) {
            view.setTimes(source.lastModifiedTime(), source.lastAccessTime(), null);
        }
    }
}
