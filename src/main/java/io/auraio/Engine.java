package io.auraio;

import static io.auraio.MetadataRequest.DESCRIPTOR;
import static io.auraio.MetadataRequest.RESULT;
import static io.auraio.MetadataRequest.STAT;

import io.auraio.MetadataRequest.Decoder;
import io.auraio.internal.adaptive.AimdController;
import io.auraio.internal.adaptive.LatencyHistogram;
import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.IoUring;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.engine.AsyncCompletion;
import io.auraio.internal.engine.CompletionCounters;
import io.auraio.internal.engine.IoEngine;
import io.auraio.internal.engine.RequestHandle;
import io.auraio.internal.engine.RingConfig;
import io.auraio.internal.engine.RingPoller;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.CopyOption;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A set of io_uring rings, each owned and driven by one dedicated platform poller thread, that
 * serves the requests of {@link AuraFile}s (the reference's {@code auraio_engine_t}).
 *
 * <p>Callers block in plain {@code read}/{@code write} calls: each request is handed to a ring's
 * poller, the calling thread (virtual or platform) parks on its own request, and the poller
 * unparks it when the kernel reports the result. A virtual thread therefore never holds its
 * carrier while the device works.
 *
 * <p>Besides serving {@code AuraFile}s, an engine takes requests on any file descriptor in the
 * reference's three forms: blocking (through {@link AuraFile}), callback ({@link #read(int,
 * BufferRef, long, long, Callback)} and friends, whose callbacks run on the threads that call
 * {@link #poll()}, {@link #await(long)}, {@link #run()} or {@link #drain(long)}), and future
 * ({@link #readAsync} and friends). Blocking requests complete through the pollers whether or not
 * anyone polls: completed callback requests waiting for a poll never hold up a blocking request,
 * and a callback may itself make blocking calls (see {@link Callback}). Requests that may never
 * finish (reads of a FIFO or pipe; requests in the kernel far longer than the ring's latencies
 * explain, such as reads of a hung FUSE or NFS file) stop counting against the ring's in-flight
 * limit, so they do not hold up other files' requests.
 *
 * <p>Requests on paths take paths of the default file system; a path whose string holds a NUL
 * character (only a {@code Path} implementation other than the JDK's can) is refused with
 * {@link java.nio.file.InvalidPathException}, as the JDK refuses such a string, before anything is
 * submitted.
 *
 * <p>An engine is safe for use by any number of threads. It owns native memory and threads, so
 * close it when done: its poller threads are not daemon threads, so an engine left open keeps the
 * JVM from exiting when {@code main} returns (as an executor that is never shut down does;
 * {@link System#exit} still ends it). {@link AuraIO#defaultEngine()} is a shared engine for scripts
 * that is never closed, and whose pollers are daemon threads.
 */
public final class Engine implements AutoCloseable {
    private final IoEngine core;
    private final Options options;
    private final boolean shared;
    private final String name;
    /** Set once by {@link #create(Options, boolean)} before the engine is handed out; volatile for a close() on
     *  a thread the engine reached without a happens-before edge. */
    private volatile EngineMonitoring monitoring;

    private Engine(IoEngine core, Options options, boolean shared, String name) {
        this.core = core;
        this.options = options;
        this.shared = shared;
        this.name = name;
    }

    /**
     * Creates an engine with the default {@link Options}: one ring per available processor.
     *
     * @return a new engine
     * @throws AuraIOException if io_uring cannot be used; the message names the cause (ring setup
     *         refused with EPERM, ENOMEM under a low memlock limit, liburing missing where
     *         {@code -Dauraio.binding=liburing} asks for it, EAGAIN when a ring's thread cannot be
     *         started at the process's thread limit...) and {@link AuraIOException#errno()}
     *         carries the errno; nothing the attempt started is left open
     */
    public static Engine create() throws AuraIOException {
        return create(Options.defaults());
    }

    /**
     * Creates an engine.
     *
     * @param options the configuration
     * @return a new engine
     * @throws AuraIOException if io_uring cannot be used or a ring cannot be set up as asked
     *         (e.g. {@code enableSqpoll} refused by the kernel, EAGAIN: a ring's thread cannot
     *         be started at the process's thread limit, or ENOMEM: the rings' tables, sized by
     *         {@code ringCount} and {@code queueDepth}, do not fit the Java heap); the message
     *         names the cause, and nothing the attempt started is left open
     * @throws IllegalArgumentException if an open engine already has {@link Options#name()}
     */
    public static Engine create(Options options) throws AuraIOException {
        return create(options, false);
    }

    static Engine create(Options options, boolean shared) throws AuraIOException {
        Objects.requireNonNull(options, "options");
        String name = EngineMonitoring.reserveName(options.name(), shared);
        Engine engine = null;
        boolean started = false;
        try {
            engine = start(options, shared, name);
            engine.monitoring = EngineMonitoring.start(engine);
            started = true;
            return engine;
        } finally {
            if (!started) {
                if (engine != null) {
                    engine.core.close();
                }
                EngineMonitoring.releaseName(name);
            }
        }
    }

    private static Engine start(Options options, boolean shared, String name) throws AuraIOException {
        SharedCleaner.start(); // its files' cleaner: started now, so that no open has to start a thread
        int rings = options.ringCount() > 0 ? options.ringCount() : Runtime.getRuntime().availableProcessors();
        RingConfig config = new RingConfig(options.queueDepth(), options.initialInFlight(), options.minInFlight(),
                targetP99Nanos(options.maxP99LatencyMs()), !options.disableAdaptive(), options.enableSqpoll(),
                options.sqpollIdleMs(), shared);
        IoEngine.Selection selection = IoEngine.Selection.valueOf(options.ringSelect().name());
        try {
            return new Engine(IoEngine.start(rings, config, selection, options.bufferAlignment()), options, shared,
                    name);
        } catch (IoUring.SetupException e) {
            String what = options.enableSqpoll() ? "cannot set up an io_uring with SQPOLL (enableSqpoll): "
                    : "cannot set up an io_uring: ";
            throw new AuraIOException(what + e.getMessage() + likelyCause(e.errno()), e.errno(), e);
        } catch (OutOfMemoryError e) {
            // As FileChannel.map turns the JDK's OutOfMemoryError into an IOException: a size the
            // caller chose does not fit, which a caller can act on. Nothing of the engine is left.
            throw new AuraIOException("cannot create the engine: the Java heap (at most "
                    + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MiB) has no room for " + rings
                    + " rings of queue depth " + options.queueDepth() + ": use fewer rings, a smaller queue depth,"
                    + " or a larger -Xmx", Errno.ENOMEM, e);
        } catch (LinkageError | IllegalArgumentException e) {
            throw liburingUnavailable(e);
        } catch (IllegalStateException e) {
            // liburing is first loaded on a ring's poller thread, whose failure arrives wrapped.
            if (e.getCause() instanceof LinkageError || e.getCause() instanceof IllegalArgumentException) {
                throw liburingUnavailable(e.getCause());
            }
            throw e;
        }
    }

    private static AuraIOException liburingUnavailable(Throwable failure) {
        return new AuraIOException("io_uring is unavailable: " + IoEngine.bindingFailure(failure), Errno.ENOSYS,
                failure);
    }

    /** What usually makes io_uring_setup fail with {@code errno}, for the message a user reads. */
    private static String likelyCause(int errno) {
        return switch (errno) {
            case Errno.EPERM -> "; io_uring is refused to this process (sysctl kernel.io_uring_disabled,"
                    + " or a seccomp profile such as a container runtime's default)";
            case Errno.ENOMEM -> "; the locked-memory limit is too low for the rings (ulimit -l,"
                    + " RLIMIT_MEMLOCK): raise it or use fewer rings or a smaller queue depth";
            case Errno.ENOSYS -> "; the kernel has no io_uring (Linux 5.6 or later, CONFIG_IO_URING), or a seccomp"
                    + " profile hides it";
            case Errno.EMFILE, Errno.ENFILE -> "; the process or the system is out of file descriptors (ulimit -n,"
                    + " RLIMIT_NOFILE): close some, or raise the limit";
            case Errno.EAGAIN -> "; the process may start no more threads (a container's pids limit, ulimit -u,"
                    + " RLIMIT_NPROC), each ring needs one: let some end, raise the limit, or use fewer rings";
            default -> "";
        };
    }

    /**
     * {@return this engine's name: {@link Options#name()}, {@code default} for the default engine,
     * or {@code engine-N}} Unique among open engines; it names the engine's MXBean
     * ({@code io.auraio:type=Engine,name=<name>}, see {@link io.auraio.management.EngineMXBean};
     * registered by a background thread moments after creation, so that creating the first
     * engine does not wait for the platform MBean server to start), its Flight Recorder events
     * and its Micrometer tag.
     */
    public String name() {
        return name;
    }

    /** {@return the options this engine was created with} */
    public Options options() {
        return options;
    }

    /** {@return the number of rings} */
    public int ringCount() {
        return core.ringCount();
    }

    /** {@return whether {@link #close()} has been called} */
    public boolean isClosed() {
        return core.isClosed();
    }

    IoEngine core() {
        return core;
    }

    /** Requests queued, in the kernel or completing, over all rings; for tests and stats. */
    int pendingCount() {
        return core.pendingCount();
    }

    // ---- requests ---------------------------------------------------------------------------

    private RequestHandle submit(int kind, PreparedRequest p, AsyncCompletion completion) throws RingPoller.Refused {
        return core.submit(kind, p.opcode(), p.sqeFlags(), p.fd(), p.offset(), p.address(), p.length(),
                p.opFlags(), p.bufIndex(), completion, p.ownedMemory(), p.fixedBuffer(), p.fixedFile());
    }

    /**
     * A callback's or future's completion whose request is finished ({@link PreparedRequest#finish}) on
     * the poller, before it stops being pending: a caller that sees it done finds a read's bytes
     * in its memory, as when the kernel wrote there itself, and the request's Buffers and copies
     * are back before the engine's close returns (not later, on the thread that runs the callback
     * or completes the future).
     */
    private abstract class FinishedOnPoller implements AsyncCompletion {
        private final PreparedRequest prepared;

        FinishedOnPoller(PreparedRequest prepared) {
            this.prepared = prepared;
        }

        @Override
        public final long kernelDone(long result) {
            return prepared.finish(core, result);
        }
    }

    private Request submitCallback(String op, int fd, PreparedRequest p, Callback callback, Object attachment)
            throws AuraIOException {
        Request request = new Request(this, fd, attachment);
        AsyncCompletion completion = new FinishedOnPoller(p) {
            @Override
            public void complete(long result) {
                if (callback != null) {
                    callback.completed(request, result);
                }
            }
        };
        core.callbackSubmitting();
        try {
            request.bind(submit(RingPoller.KIND_CALLBACK, p, completion));
        } catch (RingPoller.Refused e) {
            core.callbackNotSubmitted();
            p.unprepare(core);
            throw Failures.request(op, e.errno(), e.errno() == Errno.EAGAIN ? "every request slot of the ring is taken"
                    : "the engine is closed");
        }
        return request;
    }

    private CompletableFuture<Long> submitFuture(String op, PreparedRequest p) {
        CompletableFuture<Long> future = new CompletableFuture<>();
        AsyncCompletion completion = new FinishedOnPoller(p) {
            @Override
            public void complete(long result) {
                if (result < 0) {
                    future.completeExceptionally(Failures.io(op, (int) -result));
                } else {
                    future.complete(result);
                }
            }
        };
        try {
            submit(RingPoller.KIND_FUTURE, p, completion);
        } catch (RingPoller.Refused e) {
            p.unprepare(core);
            future.completeExceptionally(Failures.request(op, e.errno(), e.errno() == Errno.EAGAIN
                    ? "every request slot of the ring is taken" : "the engine is closed"));
        }
        return future;
    }

    /**
     * Submits a read of up to {@code length} bytes at {@code offset} of {@code fd} into
     * {@code buf} (the reference's {@code auraio_read}); {@code callback} gets the bytes read (0 at
     * end of file) or a negated errno.
     *
     * @param fd       an open file descriptor, e.g. {@link AuraFile#fd()}
     * @param buf      native memory, or a registered buffer slice ({@code READ_FIXED})
     * @param length   bytes to read, at most {@code buf}'s size and 2^31 - 4096
     * @param offset   file offset, {@code >= 0}
     * @param callback receives the result; may be null (fire and forget)
     * @param attachment any object, returned by {@link Request#attachment()}
     * @return the request, for {@link #cancel(Request)} and {@link Request#isPending()}
     * @throws IllegalArgumentException if {@code fd} or {@code offset} is negative, {@code length}
     *         is out of range or larger than the buffer, or a registered slice is out of range
     * @throws IllegalStateException if {@code buf} is memory of a closed or a confined arena, or a closed
     *         {@link Buffer}
     * @throws AuraIOException {@linkplain AuraIOException#isAgain() EAGAIN} when every request slot
     *         of the chosen ring is taken (retry after completions), {@linkplain
     *         AuraIOException#isShutdown() ESHUTDOWN} when the engine is closed, {@linkplain
     *         AuraIOException#isBusy() EBUSY} when registered buffers are being unregistered,
     *         ENOENT when {@code buf} is registered but nothing is, EOVERFLOW when
     *         {@code offset + length} overflows
     */
    public Request read(int fd, BufferRef buf, long length, long offset, Callback callback, Object attachment)
            throws AuraIOException {
        return submitCallback("read", fd, PreparedRequest.transfer(core, true, fd, buf, length, offset), callback,
                attachment);
    }

    /**
     * As {@link #read(int, BufferRef, long, long, Callback, Object)} with no attachment.
     *
     * @param fd       an open file descriptor
     * @param buf      the memory to read into
     * @param length   bytes to read
     * @param offset   file offset
     * @param callback receives the result; may be null
     * @return the request
     * @throws IllegalArgumentException as for the full form
     * @throws IllegalStateException if {@code buf} is memory of a closed or a confined arena, or a closed
     *         {@link Buffer}
     * @throws AuraIOException as for the full form
     */
    public Request read(int fd, BufferRef buf, long length, long offset, Callback callback) throws AuraIOException {
        return read(fd, buf, length, offset, callback, null);
    }

    /**
     * Submits a write of {@code length} bytes of {@code buf} at {@code offset} of {@code fd} (the
     * reference's {@code auraio_write}); {@code callback} gets the bytes written or a negated errno.
     *
     * @param fd       an open file descriptor
     * @param buf      native memory, or a registered buffer slice ({@code WRITE_FIXED})
     * @param length   bytes to write
     * @param offset   file offset, {@code >= 0}
     * @param callback receives the result; may be null
     * @param attachment any object, or null
     * @return the request
     * @throws IllegalArgumentException as for {@link #read(int, BufferRef, long, long, Callback, Object)}
     * @throws IllegalStateException if {@code buf} is memory of a closed or a confined arena, or a closed
     *         {@link Buffer}
     * @throws AuraIOException as for {@link #read(int, BufferRef, long, long, Callback, Object)}
     */
    public Request write(int fd, BufferRef buf, long length, long offset, Callback callback, Object attachment)
            throws AuraIOException {
        return submitCallback("write", fd, PreparedRequest.transfer(core, false, fd, buf, length, offset), callback,
                attachment);
    }

    /**
     * As {@link #write(int, BufferRef, long, long, Callback, Object)} with no attachment.
     *
     * @param fd       an open file descriptor
     * @param buf      the memory to write
     * @param length   bytes to write
     * @param offset   file offset
     * @param callback receives the result; may be null
     * @return the request
     * @throws IllegalArgumentException as for the full form
     * @throws IllegalStateException if {@code buf} is memory of a closed or a confined arena, or a closed
     *         {@link Buffer}
     * @throws AuraIOException as for the full form
     */
    public Request write(int fd, BufferRef buf, long length, long offset, Callback callback) throws AuraIOException {
        return write(fd, buf, length, offset, callback, null);
    }

    /**
     * Submits a scatter read into {@code iov}, in order, from {@code offset} (the reference's
     * {@code auraio_readv}). The segments are used as {@link BufferRef.Memory} describes (copied
     * when another thread may free them meanwhile); the iovec array itself is managed by the library.
     *
     * @param fd       an open file descriptor
     * @param iov      1 to 1024 native, writable segments
     * @param offset   file offset, {@code >= 0}
     * @param callback receives the total bytes read or a negated errno; may be null
     * @param attachment any object, or null
     * @return the request
     * @throws IllegalArgumentException if {@code fd} or {@code offset} is negative, or {@code iov}
     *         is empty, too long, holds a heap or read-only segment or more than 2^31 - 4096 bytes
     * @throws IllegalStateException if a segment of {@code iov} is memory of a closed or a confined arena
     * @throws AuraIOException EAGAIN, ESHUTDOWN or ENOMEM as for {@code read}
     */
    public Request readv(int fd, MemorySegment[] iov, long offset, Callback callback, Object attachment)
            throws AuraIOException {
        return submitCallback("readv", fd, PreparedRequest.vector(core, true, fd, iov, offset), callback, attachment);
    }

    /**
     * As {@link #readv(int, MemorySegment[], long, Callback, Object)} with no attachment.
     *
     * @param fd       an open file descriptor
     * @param iov      the segments to fill
     * @param offset   file offset
     * @param callback receives the result; may be null
     * @return the request
     * @throws IllegalArgumentException as for the full form
     * @throws IllegalStateException if a segment of {@code iov} is memory of a closed or a confined arena
     * @throws AuraIOException as for the full form
     */
    public Request readv(int fd, MemorySegment[] iov, long offset, Callback callback) throws AuraIOException {
        return readv(fd, iov, offset, callback, null);
    }

    /**
     * Submits a gather write of {@code iov}, in order, at {@code offset} (the reference's
     * {@code auraio_writev}).
     *
     * @param fd       an open file descriptor
     * @param iov      1 to 1024 native segments
     * @param offset   file offset, {@code >= 0}
     * @param callback receives the total bytes written or a negated errno; may be null
     * @param attachment any object, or null
     * @return the request
     * @throws IllegalArgumentException as for {@link #readv(int, MemorySegment[], long, Callback, Object)},
     *         except that read-only segments are accepted
     * @throws IllegalStateException if a segment of {@code iov} is memory of a closed or a confined arena
     * @throws AuraIOException as for {@link #readv(int, MemorySegment[], long, Callback, Object)}
     */
    public Request writev(int fd, MemorySegment[] iov, long offset, Callback callback, Object attachment)
            throws AuraIOException {
        return submitCallback("writev", fd, PreparedRequest.vector(core, false, fd, iov, offset), callback, attachment);
    }

    /**
     * As {@link #writev(int, MemorySegment[], long, Callback, Object)} with no attachment.
     *
     * @param fd       an open file descriptor
     * @param iov      the segments to write
     * @param offset   file offset
     * @param callback receives the result; may be null
     * @return the request
     * @throws IllegalArgumentException as for the full form
     * @throws IllegalStateException if a segment of {@code iov} is memory of a closed or a confined arena
     * @throws AuraIOException as for the full form
     */
    public Request writev(int fd, MemorySegment[] iov, long offset, Callback callback) throws AuraIOException {
        return writev(fd, iov, offset, callback, null);
    }

    /**
     * Submits an {@code fsync} (data and metadata; the reference's {@code AURAIO_FSYNC_DEFAULT}).
     *
     * @param fd       an open file descriptor
     * @param callback receives 0 or a negated errno; may be null
     * @param attachment any object, or null
     * @return the request
     * @throws IllegalArgumentException if {@code fd} is negative
     * @throws AuraIOException EAGAIN or ESHUTDOWN
     */
    public Request fsync(int fd, Callback callback, Object attachment) throws AuraIOException {
        return submitCallback("fsync", fd, PreparedRequest.sync(fd, false), callback, attachment);
    }

    /**
     * As {@link #fsync(int, Callback, Object)} with no attachment.
     *
     * @param fd       an open file descriptor
     * @param callback receives the result; may be null
     * @return the request
     * @throws IllegalArgumentException if {@code fd} is negative
     * @throws AuraIOException as for the full form
     */
    public Request fsync(int fd, Callback callback) throws AuraIOException {
        return fsync(fd, callback, null);
    }

    /**
     * Submits an {@code fdatasync}: data only, metadata when needed to read it back (the
     * reference's {@code AURAIO_FSYNC_DATASYNC}).
     *
     * @param fd       an open file descriptor
     * @param callback receives 0 or a negated errno; may be null
     * @param attachment any object, or null
     * @return the request
     * @throws IllegalArgumentException if {@code fd} is negative
     * @throws AuraIOException as for {@link #fsync(int, Callback, Object)}
     */
    public Request fdatasync(int fd, Callback callback, Object attachment) throws AuraIOException {
        return submitCallback("fdatasync", fd, PreparedRequest.sync(fd, true), callback, attachment);
    }

    /**
     * As {@link #fdatasync(int, Callback, Object)} with no attachment.
     *
     * @param fd       an open file descriptor
     * @param callback receives the result; may be null
     * @return the request
     * @throws IllegalArgumentException if {@code fd} is negative
     * @throws AuraIOException as for the full form
     */
    public Request fdatasync(int fd, Callback callback) throws AuraIOException {
        return fdatasync(fd, callback, null);
    }

    /**
     * The future form of {@link #read(int, BufferRef, long, long, Callback)}: completes with the
     * bytes read, or exceptionally with an {@link AuraIOException} carrying the errno (also for
     * EAGAIN and ESHUTDOWN at submission). Stages attached to the future never run on a poller
     * thread.
     *
     * @param fd     an open file descriptor
     * @param buf    the memory to read into
     * @param length bytes to read
     * @param offset file offset
     * @return the future result
     * @throws IllegalArgumentException for invalid arguments, as for the callback form
     * @throws IllegalStateException if {@code buf} is memory of a closed or a confined arena, or a closed
     *         {@link Buffer}
     * @throws AuraIOException when {@code offset + length} overflows, or for a registered slice
     *         while nothing is registered or an unregister drains
     */
    public CompletableFuture<Long> readAsync(int fd, BufferRef buf, long length, long offset) throws AuraIOException {
        return submitFuture("read", PreparedRequest.transfer(core, true, fd, buf, length, offset));
    }

    /**
     * The future form of {@link #write(int, BufferRef, long, long, Callback)}.
     *
     * @param fd     an open file descriptor
     * @param buf    the memory to write
     * @param length bytes to write
     * @param offset file offset
     * @return the future result
     * @throws IllegalArgumentException as for {@link #readAsync}
     * @throws IllegalStateException if {@code buf} is memory of a closed or a confined arena, or a closed
     *         {@link Buffer}
     * @throws AuraIOException as for {@link #readAsync}
     */
    public CompletableFuture<Long> writeAsync(int fd, BufferRef buf, long length, long offset) throws AuraIOException {
        return submitFuture("write", PreparedRequest.transfer(core, false, fd, buf, length, offset));
    }

    /**
     * The future form of {@link #readv(int, MemorySegment[], long, Callback)}.
     *
     * @param fd     an open file descriptor
     * @param iov    the segments to fill
     * @param offset file offset
     * @return the future result
     * @throws IllegalArgumentException for invalid arguments, as for the callback form
     * @throws IllegalStateException if a segment of {@code iov} is memory of a closed or a confined arena
     * @throws AuraIOException ENOMEM when the iovec array cannot be allocated
     */
    public CompletableFuture<Long> readvAsync(int fd, MemorySegment[] iov, long offset) throws AuraIOException {
        return submitFuture("readv", PreparedRequest.vector(core, true, fd, iov, offset));
    }

    /**
     * The future form of {@link #writev(int, MemorySegment[], long, Callback)}.
     *
     * @param fd     an open file descriptor
     * @param iov    the segments to write
     * @param offset file offset
     * @return the future result
     * @throws IllegalArgumentException for invalid arguments, as for the callback form
     * @throws IllegalStateException if a segment of {@code iov} is memory of a closed or a confined arena
     * @throws AuraIOException ENOMEM when the iovec array cannot be allocated
     */
    public CompletableFuture<Long> writevAsync(int fd, MemorySegment[] iov, long offset) throws AuraIOException {
        return submitFuture("writev", PreparedRequest.vector(core, false, fd, iov, offset));
    }

    /**
     * The future form of {@link #fsync(int, Callback)}.
     *
     * @param fd an open file descriptor
     * @return the future result (0)
     * @throws IllegalArgumentException if {@code fd} is negative
     */
    public CompletableFuture<Long> fsyncAsync(int fd) {
        return submitFuture("fsync", PreparedRequest.sync(fd, false));
    }

    /**
     * The future form of {@link #fdatasync(int, Callback)}.
     *
     * @param fd an open file descriptor
     * @return the future result (0)
     * @throws IllegalArgumentException if {@code fd} is negative
     */
    public CompletableFuture<Long> fdatasyncAsync(int fd) {
        return submitFuture("fdatasync", PreparedRequest.sync(fd, true));
    }

    // ---- metadata requests ----------------------------------------------------------------------

    /** Whether {@code ftruncate} goes to the offload: forced by tests; else where the kernel lacks the opcode. */
    static volatile boolean forceTruncateOffload;

    boolean truncateOnRing() {
        return !forceTruncateOffload && core.ring(0).supports(Opcode.FTRUNCATE);
    }

    /**
     * Runs a metadata request with the caller parked until the kernel completes it: the blocking
     * form, for {@link AuraFiles} and the file system provider. Not interruptible, as the JDK's
     * calls are not; the interrupt status is kept.
     */
    <T> T execute(MetadataRequest meta, Decoder<T> decoder) throws IOException {
        Outcome<T> o = attempt(meta, decoder);
        if (o.result() < 0) {
            throw meta.failure((int) -o.result());
        }
        return o.value();
    }

    /**
     * A blocking request's result (a negated errno on failure) and, on success, what it decoded.
     *
     * @param result the kernel's result
     * @param value  the decoded value, null on failure
     */
    record Outcome<T>(long result, T value) {}

    /** As {@link #execute}, but a failure is returned as its negated errno, for callers that try another way. */
    <T> Outcome<T> attempt(MetadataRequest meta, Decoder<T> decoder) {
        PreparedRequest p = meta.prepared();
        try {
            long r;
            if (p.opcode() == Opcode.FTRUNCATE && !truncateOnRing()) {
                r = truncateOffloaded(p);
            } else {
                r = core.execute(p.opcode(), p.sqeFlags(), p.fd(), p.offset(), p.address(), p.length(),
                        p.opFlags(), 0);
            }
            return new Outcome<>(r, r < 0 ? null : decoder.decode(p.ownedMemory(), r));
        } finally {
            p.unprepare(core);
        }
    }

    /**
     * {@code ftruncate} where the kernel has no {@code IORING_OP_FTRUNCATE} (before 6.9): made on
     * the blocking offload's threads while a virtual caller parks. {@return 0 or a negated errno}
     */
    private static long truncateOffloaded(PreparedRequest p) {
        int fd = p.fd(); // the plain descriptor: a registered one names its slot only on the ring
        return io.auraio.internal.offload.BlockingOffload.shared().call(Path.of("/proc/self/fd/" + fd),
                () -> (long) io.auraio.internal.binding.Libc.ftruncate(fd, p.offset()));
    }

    private <T> Request submitMetaCallback(MetadataRequest meta, Decoder<T> decoder, MetaListener<T> listener,
                                           Object attachment) throws AuraIOException {
        PreparedRequest p = meta.prepared();
        long offloaded = 0;
        if (p.opcode() == Opcode.FTRUNCATE && !truncateOnRing()) {
            // Made now, on the offload; the result reaches the callback through a NOP, so the
            // callback still runs where callbacks run.
            offloaded = truncateOffloaded(p);
            p.unprepare(core);
            p = new PreparedRequest(Opcode.NOP, 0, 0, 0, 0, 0, 0, 0, null, null, false, false);
        }
        PreparedRequest q = p;
        long substitute = offloaded;
        boolean nop = q.opcode() == Opcode.NOP;
        Request request = new Request(this, q.fd(), attachment);
        AsyncCompletion completion = new AsyncCompletion() {
            private T value;

            @Override
            public long kernelDone(long result) {
                long r = nop ? substitute : result;
                if (r >= 0) {
                    value = decoder.decode(q.ownedMemory(), r);
                }
                return r;
            }

            @Override
            public void complete(long result) {
                forgetOpened(q, result);
                listener.completed(request, result, result >= 0 ? value : null);
            }
        };
        core.callbackSubmitting();
        try {
            request.bind(submit(RingPoller.KIND_CALLBACK, q, completion));
        } catch (RingPoller.Refused e) {
            core.callbackNotSubmitted();
            q.unprepare(core);
            throw Failures.request(meta.op(), e.errno(), e.errno() == Errno.EAGAIN
                    ? "every request slot of the ring is taken" : "the engine is closed");
        }
        return request;
    }

    /**
     * A descriptor an {@code openat} opened leaves the registered table before anyone has it, as
     * {@link AuraFile#open}'s does: a slot may hold a file closed since under its number (a raw
     * descriptor closed without unregistering, or one registered while its AuraFile closed), which
     * requests on the new descriptor would reach. Off the poller: this waits for every ring.
     */
    private void forgetOpened(PreparedRequest p, long result) {
        if (p.opcode() == Opcode.OPENAT && result >= 0) {
            core.forgetFile((int) result);
        }
    }

    /** How a metadata callback request reports: a {@link Callback}, or a {@link StatCallback} with the value. */
    @FunctionalInterface
    interface MetaListener<T> {
        void completed(Request request, long result, T value);
    }

    private Request submitMetaCallback(MetadataRequest meta, Callback callback, Object attachment)
            throws AuraIOException {
        return submitMetaCallback(meta, RESULT, (request, result, value) -> {
            if (callback != null) {
                callback.completed(request, result);
            }
        }, attachment);
    }

    private <T> CompletableFuture<T> submitMetaFuture(MetadataRequest meta, Decoder<T> decoder) {
        CompletableFuture<T> future = new CompletableFuture<>();
        PreparedRequest p = meta.prepared();
        if (p.opcode() == Opcode.FTRUNCATE && !truncateOnRing()) {
            Thread.ofVirtual().name("auraio-ftruncate").start(() -> {
                try {
                    future.complete(execute(meta, decoder));
                } catch (IOException | RuntimeException e) {
                    future.completeExceptionally(e);
                }
            });
            return future;
        }
        AsyncCompletion completion = new AsyncCompletion() {
            private T value;

            @Override
            public long kernelDone(long result) {
                if (result >= 0) {
                    value = decoder.decode(p.ownedMemory(), result);
                }
                return result;
            }

            @Override
            public void complete(long result) {
                forgetOpened(p, result);
                if (result < 0) {
                    future.completeExceptionally(meta.failure((int) -result));
                } else {
                    future.complete(value);
                }
            }
        };
        try {
            submit(RingPoller.KIND_FUTURE, p, completion);
        } catch (RingPoller.Refused e) {
            p.unprepare(core);
            future.completeExceptionally(Failures.request(meta.op(), e.errno(), e.errno() == Errno.EAGAIN
                    ? "every request slot of the ring is taken" : "the engine is closed"));
        }
        return future;
    }

    /**
     * Submits an {@code openat} of {@code path} (relative to the working directory) with the
     * JDK's open options, as {@link java.nio.file.Files#newByteChannel(Path, OpenOption...)} reads
     * them; {@code callback} gets the new descriptor (close it with {@link #close(int, Callback,
     * Object)} or {@link #closeAsync(int)}) or a negated errno. Files are created with mode
     * {@code 0666} less the umask. Kernels try such an open without blocking first, so opening a
     * FIFO does not wait for its other end: open FIFOs with {@link AuraFile#open}.
     *
     * @param path       a path of the default file system
     * @param callback   receives the result; may be null (the descriptor then leaks)
     * @param attachment any object, or null
     * @param options    {@link java.nio.file.StandardOpenOption}s, {@link LinkOption#NOFOLLOW_LINKS},
     *                   {@code ExtendedOpenOption.DIRECT}; none means {@code READ}
     * @return the request
     * @throws IllegalArgumentException for an invalid combination of options, as {@code Files}
     * @throws UnsupportedOperationException for {@code DELETE_ON_CLOSE} or an unknown option
     * @throws java.nio.file.ProviderMismatchException if {@code path} is not of the default file system
     * @throws AuraIOException EAGAIN, ESHUTDOWN, or ENOMEM for the path's memory
     */
    public Request openat(Path path, Callback callback, Object attachment, OpenOption... options)
            throws AuraIOException {
        return submitMetaCallback(MetadataRequest.open(core, path, options), callback, attachment);
    }

    /**
     * The future form of {@link #openat(Path, Callback, Object, OpenOption...)}: completes with the
     * new descriptor, or exceptionally with the exception {@code Files} would throw
     * ({@link java.nio.file.NoSuchFileException}, {@link java.nio.file.FileAlreadyExistsException},
     * {@link java.nio.file.AccessDeniedException}, {@link java.nio.file.FileSystemException}), or
     * an {@link AuraIOException} when the request never ran (EAGAIN, ESHUTDOWN).
     *
     * @param path    a path of the default file system
     * @param options as for the callback form
     * @return the future descriptor
     * @throws IllegalArgumentException as for the callback form
     * @throws UnsupportedOperationException as for the callback form
     * @throws AuraIOException ENOMEM for the path's memory
     */
    public CompletableFuture<Integer> openatAsync(Path path, OpenOption... options) throws AuraIOException {
        return submitMetaFuture(MetadataRequest.open(core, path, options), DESCRIPTOR);
    }

    /**
     * Submits a {@code close} of {@code fd}; {@code callback} gets 0 or a negated errno. A
     * registered file slot holding {@code fd} is emptied first.
     *
     * @param fd         the descriptor
     * @param callback   receives the result; may be null
     * @param attachment any object, or null
     * @return the request
     * @throws IllegalArgumentException if {@code fd} is negative or one of the engine's own
     *         descriptors ({@link #pollFd()}, a ring's) while it is open
     * @throws AuraIOException EAGAIN or ESHUTDOWN
     */
    public Request close(int fd, Callback callback, Object attachment) throws AuraIOException {
        return submitMetaCallback(MetadataRequest.close(core, fd), callback, attachment);
    }

    /**
     * The future form of {@link #close(int, Callback, Object)}: completes with 0, or exceptionally
     * with an {@link AuraIOException} (EBADF for a descriptor that is not open).
     *
     * @param fd the descriptor
     * @return the future result
     * @throws IllegalArgumentException as for {@link #close(int, Callback, Object)}
     */
    public CompletableFuture<Long> closeAsync(int fd) {
        return submitMetaFuture(MetadataRequest.close(core, fd), RESULT);
    }

    /**
     * Submits a {@code statx} of {@code path}: {@code callback} gets its attributes, as
     * {@link java.nio.file.Files#readAttributes(Path, Class, LinkOption...)} reports them.
     *
     * @param path       a path of the default file system
     * @param callback   receives the result; may be null
     * @param attachment any object, or null
     * @param options    {@link LinkOption#NOFOLLOW_LINKS} to report a symbolic link itself
     * @return the request
     * @throws java.nio.file.ProviderMismatchException if {@code path} is not of the default file system
     * @throws AuraIOException EAGAIN, ESHUTDOWN, or ENOMEM
     */
    public Request statx(Path path, StatCallback callback, Object attachment, LinkOption... options)
            throws AuraIOException {
        return submitMetaCallback(MetadataRequest.stat(core, path, options), STAT, statListener(callback), attachment);
    }

    private static MetaListener<FileStat> statListener(StatCallback callback) {
        return (request, result, stat) -> {
            if (callback != null) {
                callback.completed(request, result, stat);
            }
        };
    }

    /**
     * The future form of {@link #statx(Path, StatCallback, Object, LinkOption...)}: completes with
     * the attributes, or exceptionally as {@code Files.readAttributes} would throw.
     *
     * @param path    a path of the default file system
     * @param options {@link LinkOption#NOFOLLOW_LINKS} to report a symbolic link itself
     * @return the future attributes
     * @throws AuraIOException ENOMEM
     */
    public CompletableFuture<FileStat> statxAsync(Path path, LinkOption... options) throws AuraIOException {
        return submitMetaFuture(MetadataRequest.stat(core, path, options), STAT);
    }

    /**
     * Submits a {@code statx} of the open descriptor {@code fd} ({@code AT_EMPTY_PATH}).
     *
     * @param fd         an open descriptor
     * @param callback   receives the result; may be null
     * @param attachment any object, or null
     * @return the request
     * @throws IllegalArgumentException if {@code fd} is negative
     * @throws AuraIOException EAGAIN, ESHUTDOWN, or ENOMEM
     */
    public Request statx(int fd, StatCallback callback, Object attachment) throws AuraIOException {
        return submitMetaCallback(MetadataRequest.stat(core, fd), STAT, statListener(callback), attachment);
    }

    /**
     * The future form of {@link #statx(int, StatCallback, Object)}.
     *
     * @param fd an open descriptor
     * @return the future attributes; exceptionally an {@link AuraIOException} (EBADF...)
     * @throws IllegalArgumentException if {@code fd} is negative
     * @throws AuraIOException ENOMEM
     */
    public CompletableFuture<FileStat> statxAsync(int fd) throws AuraIOException {
        return submitMetaFuture(MetadataRequest.stat(core, fd), STAT);
    }

    /**
     * Submits a {@code fallocate} of {@code length} bytes at {@code offset}; {@code callback} gets 0
     * or a negated errno (EOPNOTSUPP where the file system cannot do {@code mode}).
     *
     * @param fd         a descriptor open for writing
     * @param offset     start of the range, {@code >= 0}
     * @param length     bytes, {@code > 0}
     * @param mode       what to do to the range
     * @param callback   receives the result; may be null
     * @param attachment any object, or null
     * @return the request
     * @throws IllegalArgumentException if {@code fd} or {@code offset} is negative, {@code length} is
     *         not positive, or the range overflows a file offset
     * @throws AuraIOException EAGAIN or ESHUTDOWN
     */
    public Request fallocate(int fd, long offset, long length, AllocateMode mode, Callback callback,
                             Object attachment) throws AuraIOException {
        return submitMetaCallback(MetadataRequest.allocate(fd, offset, length, mode), callback, attachment);
    }

    /**
     * The future form of {@link #fallocate(int, long, long, AllocateMode, Callback, Object)}.
     *
     * @param fd     a descriptor open for writing
     * @param offset start of the range
     * @param length bytes
     * @param mode   what to do to the range
     * @return the future result (0); exceptionally an {@link AuraIOException}
     * @throws IllegalArgumentException as for the callback form
     */
    public CompletableFuture<Long> fallocateAsync(int fd, long offset, long length, AllocateMode mode) {
        return submitMetaFuture(MetadataRequest.allocate(fd, offset, length, mode), RESULT);
    }

    /**
     * Submits an {@code ftruncate} to {@code length} bytes ({@code IORING_OP_FTRUNCATE}, Linux
     * 6.9 and later; on older kernels the call is made on the library's blocking offload threads,
     * and this method returns once it is done, its result going to {@code callback} as usual).
     *
     * @param fd         a descriptor open for writing
     * @param length     the new size, {@code >= 0}
     * @param callback   receives 0 or a negated errno; may be null
     * @param attachment any object, or null
     * @return the request
     * @throws IllegalArgumentException if {@code fd} or {@code length} is negative
     * @throws AuraIOException EAGAIN or ESHUTDOWN
     */
    public Request ftruncate(int fd, long length, Callback callback, Object attachment) throws AuraIOException {
        return submitMetaCallback(MetadataRequest.truncate(fd, length), callback, attachment);
    }

    /**
     * The future form of {@link #ftruncate(int, long, Callback, Object)}.
     *
     * @param fd     a descriptor open for writing
     * @param length the new size
     * @return the future result (0); exceptionally an {@link AuraIOException}
     * @throws IllegalArgumentException if {@code fd} or {@code length} is negative
     */
    public CompletableFuture<Long> ftruncateAsync(int fd, long length) {
        return submitMetaFuture(MetadataRequest.truncate(fd, length), RESULT);
    }

    /**
     * Submits a {@code sync_file_range}: writeback of a range's dirty pages, without the file's
     * metadata (not a durability guarantee: see {@code sync_file_range(2)}).
     *
     * @param fd         an open descriptor
     * @param offset     start of the range, {@code >= 0}
     * @param length     bytes, 0 to the end of the file, at most 2^32 - 1
     * @param callback   receives 0 or a negated errno; may be null
     * @param attachment any object, or null
     * @param flags      what to do; none does nothing
     * @return the request
     * @throws IllegalArgumentException if {@code fd} or {@code offset} is negative or {@code length}
     *         out of range
     * @throws AuraIOException EAGAIN or ESHUTDOWN
     */
    public Request syncFileRange(int fd, long offset, long length, Callback callback, Object attachment,
                                 SyncRangeFlag... flags) throws AuraIOException {
        return submitMetaCallback(MetadataRequest.syncRange(fd, offset, length, flags), callback, attachment);
    }

    /**
     * The future form of {@link #syncFileRange(int, long, long, Callback, Object, SyncRangeFlag...)}.
     *
     * @param fd     an open descriptor
     * @param offset start of the range
     * @param length bytes, 0 to the end of the file
     * @param flags  what to do
     * @return the future result (0)
     * @throws IllegalArgumentException as for the callback form
     */
    public CompletableFuture<Long> syncFileRangeAsync(int fd, long offset, long length, SyncRangeFlag... flags) {
        return submitMetaFuture(MetadataRequest.syncRange(fd, offset, length, flags), RESULT);
    }

    /**
     * Submits a {@code posix_fadvise}.
     *
     * @param fd         an open descriptor
     * @param offset     start of the range, {@code >= 0}
     * @param length     bytes, 0 to the end of the file, at most 2^32 - 1
     * @param advice     the access pattern
     * @param callback   receives 0 or a negated errno; may be null
     * @param attachment any object, or null
     * @return the request
     * @throws IllegalArgumentException if {@code fd} or {@code offset} is negative or {@code length}
     *         out of range
     * @throws AuraIOException EAGAIN or ESHUTDOWN
     */
    public Request fadvise(int fd, long offset, long length, Advice advice, Callback callback, Object attachment)
            throws AuraIOException {
        return submitMetaCallback(MetadataRequest.advise(fd, offset, length, advice), callback, attachment);
    }

    /**
     * The future form of {@link #fadvise(int, long, long, Advice, Callback, Object)}.
     *
     * @param fd     an open descriptor
     * @param offset start of the range
     * @param length bytes, 0 to the end of the file
     * @param advice the access pattern
     * @return the future result (0)
     * @throws IllegalArgumentException as for the callback form
     */
    public CompletableFuture<Long> fadviseAsync(int fd, long offset, long length, Advice advice) {
        return submitMetaFuture(MetadataRequest.advise(fd, offset, length, advice), RESULT);
    }

    /**
     * Submits an {@code unlinkat}: removes a file, or with {@code directory} an empty directory
     * ({@code AT_REMOVEDIR}).
     *
     * @param path       a path of the default file system
     * @param directory  whether to remove a directory
     * @param callback   receives 0 or a negated errno (ENOENT, ENOTEMPTY, EISDIR, ENOTDIR...); may be null
     * @param attachment any object, or null
     * @return the request
     * @throws AuraIOException EAGAIN, ESHUTDOWN, or ENOMEM
     */
    public Request unlinkat(Path path, boolean directory, Callback callback, Object attachment)
            throws AuraIOException {
        return submitMetaCallback(MetadataRequest.unlink(core, path, directory), callback, attachment);
    }

    /**
     * The future form of {@link #unlinkat(Path, boolean, Callback, Object)}: exceptionally as
     * {@link java.nio.file.Files#delete(Path)} throws ({@code NoSuchFileException},
     * {@code DirectoryNotEmptyException}, {@code FileSystemException}).
     *
     * @param path      a path of the default file system
     * @param directory whether to remove a directory
     * @return the future result (0)
     * @throws AuraIOException ENOMEM
     */
    public CompletableFuture<Long> unlinkatAsync(Path path, boolean directory) throws AuraIOException {
        return submitMetaFuture(MetadataRequest.unlink(core, path, directory), RESULT);
    }

    /**
     * Submits a {@code renameat2}: renames {@code source} to {@code target}, atomically. Without
     * {@link StandardCopyOption#REPLACE_EXISTING} an existing {@code target} is never replaced
     * ({@code RENAME_NOREPLACE}: EEXIST; file systems without it answer EINVAL).
     *
     * @param source     the file to rename
     * @param target     its new name, on the same file system (else EXDEV)
     * @param callback   receives 0 or a negated errno; may be null
     * @param attachment any object, or null
     * @param options    {@code REPLACE_EXISTING}; {@code ATOMIC_MOVE} and {@code NOFOLLOW_LINKS}
     *                   are accepted (a rename is both)
     * @return the request
     * @throws UnsupportedOperationException for another option ({@code COPY_ATTRIBUTES})
     * @throws AuraIOException EAGAIN, ESHUTDOWN, or ENOMEM
     */
    public Request renameat(Path source, Path target, Callback callback, Object attachment, CopyOption... options)
            throws AuraIOException {
        return submitMetaCallback(MetadataRequest.rename(core, source, target, options), callback, attachment);
    }

    /**
     * The future form of {@link #renameat(Path, Path, Callback, Object, CopyOption...)}:
     * exceptionally as {@code Files.move} throws ({@code FileAlreadyExistsException},
     * {@code DirectoryNotEmptyException}, {@code NoSuchFileException}, {@code FileSystemException}
     * for EXDEV).
     *
     * @param source  the file to rename
     * @param target  its new name
     * @param options as for the callback form
     * @return the future result (0)
     * @throws UnsupportedOperationException as for the callback form
     * @throws AuraIOException ENOMEM
     */
    public CompletableFuture<Long> renameatAsync(Path source, Path target, CopyOption... options)
            throws AuraIOException {
        return submitMetaFuture(MetadataRequest.rename(core, source, target, options), RESULT);
    }

    /**
     * Submits a {@code mkdirat}: creates a directory with mode {@code 0777}, or the
     * {@code posix:permissions} given, less the umask.
     *
     * @param dir        a path of the default file system
     * @param callback   receives 0 or a negated errno (EEXIST, ENOENT...); may be null
     * @param attachment any object, or null
     * @param attrs      {@link java.nio.file.attribute.PosixFilePermissions#asFileAttribute} at most
     * @return the request
     * @throws UnsupportedOperationException for another attribute
     * @throws AuraIOException EAGAIN, ESHUTDOWN, or ENOMEM
     */
    public Request mkdirat(Path dir, Callback callback, Object attachment, FileAttribute<?>... attrs)
            throws AuraIOException {
        return submitMetaCallback(MetadataRequest.mkdir(core, dir, attrs), callback, attachment);
    }

    /**
     * The future form of {@link #mkdirat(Path, Callback, Object, FileAttribute...)}: exceptionally
     * as {@code Files.createDirectory} throws.
     *
     * @param dir   a path of the default file system
     * @param attrs as for the callback form
     * @return the future result (0)
     * @throws UnsupportedOperationException for another attribute
     * @throws AuraIOException ENOMEM
     */
    public CompletableFuture<Long> mkdiratAsync(Path dir, FileAttribute<?>... attrs) throws AuraIOException {
        return submitMetaFuture(MetadataRequest.mkdir(core, dir, attrs), RESULT);
    }

    /**
     * Submits a {@code symlinkat}: creates {@code link}, a symbolic link holding {@code target}
     * as given (relative targets resolve against the link's directory when followed).
     *
     * @param link       the link to create
     * @param target     what it points to; need not exist
     * @param callback   receives 0 or a negated errno; may be null
     * @param attachment any object, or null
     * @return the request
     * @throws AuraIOException EAGAIN, ESHUTDOWN, or ENOMEM
     */
    public Request symlinkat(Path link, Path target, Callback callback, Object attachment) throws AuraIOException {
        return submitMetaCallback(MetadataRequest.symlink(core, link, target), callback, attachment);
    }

    /**
     * The future form of {@link #symlinkat(Path, Path, Callback, Object)}: exceptionally as
     * {@code Files.createSymbolicLink} throws.
     *
     * @param link   the link to create
     * @param target what it points to
     * @return the future result (0)
     * @throws AuraIOException ENOMEM
     */
    public CompletableFuture<Long> symlinkatAsync(Path link, Path target) throws AuraIOException {
        return submitMetaFuture(MetadataRequest.symlink(core, link, target), RESULT);
    }

    /**
     * Submits a {@code linkat}: creates {@code link}, a hard link to {@code existing}; a symbolic
     * link {@code existing} is followed unless {@link LinkOption#NOFOLLOW_LINKS} is given (which
     * links the symbolic link itself, as {@code Files.createLink} does on Linux).
     *
     * @param link       the link to create
     * @param existing   the existing file
     * @param callback   receives 0 or a negated errno; may be null
     * @param attachment any object, or null
     * @param options    {@code NOFOLLOW_LINKS}
     * @return the request
     * @throws AuraIOException EAGAIN, ESHUTDOWN, or ENOMEM
     */
    public Request linkat(Path link, Path existing, Callback callback, Object attachment, LinkOption... options)
            throws AuraIOException {
        return submitMetaCallback(MetadataRequest.link(core, link, existing, options), callback, attachment);
    }

    /**
     * The future form of {@link #linkat(Path, Path, Callback, Object, LinkOption...)}:
     * exceptionally as {@code Files.createLink} throws.
     *
     * @param link     the link to create
     * @param existing the existing file
     * @param options  {@code NOFOLLOW_LINKS}
     * @return the future result (0)
     * @throws AuraIOException ENOMEM
     */
    public CompletableFuture<Long> linkatAsync(Path link, Path existing, LinkOption... options)
            throws AuraIOException {
        return submitMetaFuture(MetadataRequest.link(core, link, existing, options), RESULT);
    }

    /**
     * Starts a chain of linked requests ({@code IOSQE_IO_LINK}): each starts only once the one
     * before it has succeeded, and the chain goes to the kernel as one unit. See
     * {@link RequestChain}.
     *
     * @return an empty chain, to fill and submit once
     */
    public RequestChain chain() {
        return new RequestChain(this);
    }

    /**
     * Asks for a request to be cancelled; best effort (the reference's {@code auraio_cancel}). A
     * cancelled request completes with {@code -ECANCELED}; one the kernel is already running may
     * complete normally instead.
     *
     * @param request a request of this engine
     * @return true when the cancellation was submitted; false when the request has already
     *         completed (the reference's EALREADY)
     * @throws IllegalArgumentException if {@code request} belongs to another engine
     * @throws AuraIOException {@linkplain AuraIOException#isShutdown() ESHUTDOWN} when the engine
     *         is closing (it cancels everything itself)
     */
    public boolean cancel(Request request) throws AuraIOException {
        Objects.requireNonNull(request, "request");
        if (request.engine() != this) {
            throw new IllegalArgumentException("the request belongs to another engine");
        }
        RequestHandle h = request.handle();
        int r = h == null ? -Errno.EALREADY : h.cancel();
        if (r == -Errno.EALREADY) {
            return false;
        }
        if (r < 0) {
            throw Failures.io("cancel", -r);
        }
        return true;
    }

    // ---- event processing -------------------------------------------------------------------

    /**
     * {@return a file descriptor that {@code poll(2)}/{@code epoll} report readable while callback
     * completions wait to be run by {@link #poll()} (level-triggered); valid until close, -1 once
     * the engine is closed (the number was closed with it and may name another file by then)}
     */
    public int pollFd() {
        return core.isClosed() ? -1 : core.pollFd();
    }

    /**
     * Runs the callbacks of every completed callback request, without waiting (the reference's
     * {@code auraio_poll}). Calls from several threads are serialized: callbacks run one thread at
     * a time, so this waits while another thread runs callbacks (not while it waits for
     * completions, as a {@link #run()} with nothing to do does).
     *
     * @return how many callbacks ran
     * @throws IllegalStateException when called from a callback
     */
    public int poll() {
        return core.poll();
    }

    /**
     * Waits until at least one callback request completes or the timeout passes, then runs the
     * callbacks of completed requests (the reference's {@code auraio_wait}). Returns at once when
     * no callback request is outstanding. {@link #stop()} does not end the wait, nor does a stop
     * still kept for the next {@link #run()}. Another thread may run the completions meanwhile (a
     * {@code run()}, say): this then returns 0, at the timeout or once no callback request is
     * outstanding; the timeout and an interrupt also bound the wait for a turn while another
     * thread runs callbacks.
     *
     * @param timeoutMillis -1 to wait without limit, 0 not to wait
     * @return how many callbacks ran
     * @throws InterruptedException if the thread is interrupted while waiting
     * @throws IllegalStateException when called from a callback
     * @throws IllegalArgumentException if {@code timeoutMillis} is below -1
     */
    public int await(long timeoutMillis) throws InterruptedException {
        return core.await(toNanos(timeoutMillis));
    }

    private static long toNanos(long timeoutMillis) {
        if (timeoutMillis < -1) {
            throw new IllegalArgumentException("timeout must be -1 (no limit) or >= 0 ms, was " + timeoutMillis);
        }
        return timeoutMillis < 0 ? -1 : TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    }

    /**
     * Runs callbacks as requests complete until {@link #stop()} is called or the engine closes
     * (the reference's {@code auraio_run}). While it waits for completions it holds up no other
     * caller: {@link #poll()}, {@link #await(long)} and {@link #drain(long)} on other threads run
     * callbacks too, one thread at a time.
     *
     * @throws InterruptedException if the thread is interrupted while waiting
     * @throws IllegalStateException when called from a callback
     */
    public void run() throws InterruptedException {
        core.run();
    }

    /**
     * Makes every {@link #run()} call in progress return after the callbacks at hand: the one
     * running callbacks and those waiting for their turn (calls are serialized). When no
     * {@code run()} is in progress, the next one returns after the callbacks at hand instead. A
     * {@code run()} started after that runs until the next {@code stop()}. From any thread,
     * callbacks included. Only {@code run()} is stopped: {@link #await(long)} and
     * {@link #drain(long)} wait as they would without it.
     */
    public void stop() {
        core.stop();
    }

    /**
     * Waits until every request of the engine (blocking, callback and future) has completed,
     * running callbacks meanwhile (the reference's {@code auraio_drain}). Requests submitted
     * meanwhile are waited for too. A future request's result is delivered to its
     * {@code CompletableFuture} on a thread of its own once the request is done, so that future
     * may complete a moment after this method returns (its dependent stages, which may call this
     * method, are not waited for). Callbacks that another thread runs meanwhile (a {@link #run()},
     * say) are waited for, not counted; the timeout and an interrupt also bound the wait for a
     * turn while another thread runs callbacks.
     *
     * @param timeoutMillis -1 to wait without limit, 0 to check once
     * @return how many callbacks ran
     * @throws AuraIOException with ETIMEDOUT when requests are still pending at the deadline
     * @throws InterruptedException if the thread is interrupted while waiting
     * @throws IllegalStateException when called from a callback
     */
    public int drain(long timeoutMillis) throws AuraIOException, InterruptedException {
        int n = core.drain(toNanos(timeoutMillis));
        if (n < 0) {
            throw new AuraIOException("drain: " + pendingCount() + " requests still pending after " + timeoutMillis
                    + " ms (" + Errno.message(Errno.ETIMEDOUT) + ")", Errno.ETIMEDOUT);
        }
        return n;
    }

    // ---- memory ---------------------------------------------------------------------------------

    /**
     * Allocates a native buffer aligned to {@link Options#bufferAlignment()} from the engine's
     * pool (the reference's {@code auraio_buffer_alloc}). Close it to give it back.
     *
     * @param size bytes, {@code >= 0}
     * @return the buffer
     * @throws IllegalArgumentException if {@code size} is negative
     * @throws AuraIOException with ENOMEM when native memory cannot be had, ESHUTDOWN when the
     *         engine is closed
     */
    public Buffer allocateBuffer(long size) throws AuraIOException {
        if (size < 0) {
            throw new IllegalArgumentException("size must be >= 0, was " + size);
        }
        if (core.isClosed()) {
            throw new AuraIOException("allocateBuffer: the engine is closed", Errno.ESHUTDOWN);
        }
        MemorySegment raw = core.pool().acquire(size);
        if (raw.equals(MemorySegment.NULL)) {
            throw new AuraIOException("allocateBuffer: cannot allocate " + size + " bytes ("
                    + Errno.message(Errno.ENOMEM) + ")", Errno.ENOMEM);
        }
        return new Buffer(core.pool(), raw, size);
    }

    /** The kernel's limit on one registered buffer ({@code io_sqe_buffer_register}). */
    private static final long MAX_REGISTERED_BUFFER = 1L << 30;

    /**
     * Registers buffers with every ring for {@code READ_FIXED}/{@code WRITE_FIXED} requests through
     * {@link BufferRef#fixed(int, long)} (the reference's {@code auraio_register_buffers}). The
     * kernel pins their pages and writes into them for as long as they are registered, which no
     * arena's {@code close()} could be made to wait for: so only memory that is never freed is
     * accepted here, that of the {@linkplain java.lang.foreign.Arena#global() global arena} (or a
     * segment of the global scope the caller made with {@code MemorySegment.reinterpret}, at its
     * own risk). For memory that is given back, register {@link Buffer}s with
     * {@link #registerBuffers(Buffer...)}: the library keeps them allocated until they are
     * unregistered. A read-only segment serves {@code WRITE_FIXED} only: a read into it is refused
     * with {@link IllegalArgumentException}, as a read into a read-only segment given directly.
     *
     * @param segments native segments of the global scope, 1 byte to 1 GiB each
     * @throws IllegalArgumentException if none is given, or one is not native, is empty or larger
     *         than 1 GiB, or may be freed while registered (not of the global scope)
     * @throws IllegalStateException if one is memory of a closed arena
     * @throws AuraIOException EBUSY when buffers are already registered (or still draining),
     *         ENOMEM when the memlock limit refuses the pinning, ESHUTDOWN when closed
     */
    public void registerBuffers(MemorySegment... segments) throws AuraIOException {
        Objects.requireNonNull(segments, "segments");
        for (int i = 0; i < segments.length; i++) {
            MemorySegment s = Objects.requireNonNull(segments[i], "segments[" + i + "]");
            // The kernel would pin freed memory, or memory freed later, and READ_FIXED requests
            // would write into whatever lives there then.
            if (s.isNative() && s.scope().isAlive() && !s.scope().equals(java.lang.foreign.Arena.global().scope())) {
                throw new IllegalArgumentException("segments[" + i + "] may be freed while registered (its arena can "
                        + "be closed, or it is freed once unreachable): register Buffers from allocateBuffer, which stay "
                        + "allocated until unregistered, or memory of Arena.global()");
            }
        }
        register(segments, null);
    }

    private void register(MemorySegment[] segments, Runnable onDropped) throws AuraIOException {
        if (segments.length == 0) {
            throw new IllegalArgumentException("registerBuffers needs at least one segment");
        }
        for (int i = 0; i < segments.length; i++) {
            MemorySegment s = Objects.requireNonNull(segments[i], "segments[" + i + "]");
            if (!s.isNative()) {
                throw new IllegalArgumentException("segments[" + i + "] must be native memory");
            }
            if (s.byteSize() == 0 || s.byteSize() > MAX_REGISTERED_BUFFER) {
                throw new IllegalArgumentException("segments[" + i + "] holds " + s.byteSize()
                        + " bytes; a registered buffer holds 1 byte to 1 GiB");
            }
            if (!s.scope().isAlive()) {
                throw new IllegalStateException("segments[" + i + "]'s arena is closed");
            }
        }
        int r = core.registerBuffers(segments, onDropped);
        if (r == -Errno.ENOMEM) {
            long bytes = 0;
            for (MemorySegment s : segments) {
                bytes += s.byteSize();
            }
            throw new AuraIOException("registerBuffers: " + Errno.message(Errno.ENOMEM) + "; pinning " + bytes
                    + " bytes is likely beyond the locked-memory limit (ulimit -l, RLIMIT_MEMLOCK): raise it,"
                    + " or register less", Errno.ENOMEM);
        }
        if (r < 0) {
            throw Failures.io("registerBuffers", -r);
        }
    }

    /**
     * Registers pool buffers; each stays allocated (even if closed) until unregistered.
     *
     * @param buffers open buffers from {@link #allocateBuffer}, 1 byte to 1 GiB each
     * @throws IllegalStateException if one is closed
     * @throws IllegalArgumentException if none is given, or one is empty or larger than 1 GiB
     * @throws AuraIOException as for {@link #registerBuffers(MemorySegment...)}
     */
    public void registerBuffers(Buffer... buffers) throws AuraIOException {
        Objects.requireNonNull(buffers, "buffers");
        Buffer[] owners = buffers.clone();
        MemorySegment[] segments = new MemorySegment[owners.length];
        int retained = 0;
        try {
            for (Buffer b : owners) {
                if (!Objects.requireNonNull(b, "buffer").retain()) {
                    throw new IllegalStateException("cannot register a closed Buffer");
                }
                segments[retained++] = b.segment();
            }
        } catch (RuntimeException e) {
            releaseUses(owners, retained);
            throw e;
        }
        // The owners are released by this registration's own drop (its unregister, or the
        // engine's close), handed over with it. Released through a field shared by every
        // registration, a deferred unregister that completed while another thread registered new
        // buffers released those instead (freed while the kernel had them pinned) and leaked its
        // own; and each requestUnregisterBuffers() call while draining added a stage to the future.
        java.util.concurrent.atomic.AtomicBoolean dropped = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable release = () -> {
            if (dropped.compareAndSet(false, true)) {
                releaseUses(owners, owners.length);
            }
        };
        try {
            register(segments, release);
        } catch (RuntimeException | AuraIOException e) {
            release.run(); // a failed registration is not dropped by anyone else
            throw e;
        }
    }

    private static void releaseUses(Buffer[] owners, int count) {
        for (int i = 0; i < count; i++) {
            owners[i].releaseUse();
        }
    }

    /**
     * Starts a deferred unregister of the registered buffers (the reference's
     * {@code auraio_request_unregister_buffers}): new fixed-buffer requests fail with EBUSY from
     * now on, and the kernel drops the buffers once the fixed-buffer requests in flight complete.
     * Safe in callbacks. Does nothing when no buffers are registered, nor while another thread's
     * {@code registerBuffers} has not returned yet.
     */
    public void requestUnregisterBuffers() {
        core.requestUnregisterBuffers(); // the registration's pool buffers are released with its drop
    }

    /**
     * Unregisters the registered buffers, waiting until the fixed-buffer requests in flight have
     * completed and the kernel has dropped them (the reference's
     * {@code auraio_unregister_buffers}). Inside a callback it only starts the deferred
     * unregister, as {@link #requestUnregisterBuffers()}. Does nothing when none are registered
     * (nor while another thread's {@code registerBuffers} has not returned yet).
     */
    public void unregisterBuffers() {
        CompletableFuture<Void> done = core.requestUnregisterBuffers();
        // `done` completes after the registration's pool buffers were released (Registration's
        // onDropped runs first), so a caller that returns finds them back.
        if (done != null && !core.isCallbackThread()) {
            IoEngine.awaitUninterruptibly(done);
        }
    }

    /**
     * Registers file descriptors with every ring (the reference's
     * {@code auraio_register_files}); later requests on these descriptors name them by index with
     * {@code IOSQE_FIXED_FILE}, which saves the kernel a file-table lookup per request.
     *
     * <p>A registered slot holds the kernel's own reference to the file: requests naming the
     * descriptor number reach the file that was registered, even after the number is closed and
     * given to another file. So a descriptor must leave the table before it is closed:
     * {@link AuraFile#close()} does this itself (it empties the slots holding its descriptor);
     * a descriptor closed by other means must be removed first with
     * {@link #updateFile updateFile(index, -1)} or {@link #unregisterFiles()}.
     *
     * <p>A request names the slot holding its descriptor when its ring puts it in the kernel;
     * the links of a {@link #chain() chain} after the first, which the kernel starts later, name
     * their plain descriptors.
     *
     * @param fds open descriptors; -1 leaves a slot empty
     * @throws IllegalArgumentException if {@code fds} is empty
     * @throws AuraIOException EBUSY when files are already registered, EBADF for a bad descriptor,
     *         ESHUTDOWN when closed
     */
    public void registerFiles(int... fds) throws AuraIOException {
        Objects.requireNonNull(fds, "fds");
        if (fds.length == 0) {
            throw new IllegalArgumentException("registerFiles needs at least one descriptor");
        }
        int r = core.registerFiles(fds);
        if (r < 0) {
            throw Failures.io("registerFiles", -r);
        }
    }

    /**
     * Replaces the registered descriptor at {@code index} (the reference's
     * {@code auraio_update_file}). A request already in the kernel keeps the file it named;
     * requests on the old or the new descriptor that reach the kernel while the update runs
     * name their plain descriptors.
     *
     * @param index a slot of the registered table
     * @param fd    the new descriptor, or -1 to empty the slot
     * @throws IllegalArgumentException if {@code index} is outside the registered table
     * @throws AuraIOException ENOENT when no files are registered, EBUSY while they drain, EBADF
     *         for a bad descriptor, ESHUTDOWN when closed
     */
    public void updateFile(int index, int fd) throws AuraIOException {
        int r = core.updateFile(index, fd);
        if (r == -Errno.EINVAL) {
            throw new IllegalArgumentException("index " + index + " is outside the registered file table");
        }
        if (r < 0) {
            throw Failures.io("updateFile", -r);
        }
    }

    /**
     * Starts a deferred unregister of the registered files (the reference's
     * {@code auraio_request_unregister_files}); requests submitted meanwhile use plain
     * descriptors. Safe in callbacks.
     */
    public void requestUnregisterFiles() {
        core.requestUnregisterFiles();
    }

    /**
     * Unregisters the registered files, waiting until requests that use them complete (the
     * reference's {@code auraio_unregister_files}); inside a callback it only starts the deferred
     * unregister.
     */
    public void unregisterFiles() {
        CompletableFuture<Void> done = core.requestUnregisterFiles();
        if (done != null && !core.isCallbackThread()) {
            IoEngine.awaitUninterruptibly(done);
        }
    }

    // ---- statistics -------------------------------------------------------------------------

    /**
     * {@return engine-wide statistics (the reference's {@code auraio_get_stats}); an immutable
     * snapshot, safe to take from any thread during I/O}
     */
    public Stats stats() {
        long ops = core.fastPathOps();
        long bytes = core.fastPathBytes();
        double throughput = 0;
        double p99 = 0;
        int limits = 0;
        int batches = 0;
        for (int i = 0; i < core.ringCount(); i++) {
            RingPoller ring = core.ring(i);
            AimdController c = ring.controller();
            CompletionCounters.Snapshot done = ring.completions();
            ops += done.ops();
            bytes += done.bytes();
            throughput += c.throughputBytesPerSecond();
            p99 = Math.max(p99, c.p99LatencyNanos() / 1e6);
            limits += c.inFlightLimit();
            batches += c.batchThreshold();
        }
        int peak = 0;
        for (int i = 0; i < core.ringCount(); i++) {
            peak = Math.max(peak, core.ring(i).peakInUse());
        }
        return new Stats(ops, bytes, throughput, p99, core.pendingCount(), limits, batches, core.adaptiveSpills(),
                peak);
    }

    /**
     * {@return statistics of ring {@code index} (the reference's {@code auraio_get_ring_stats})}
     *
     * @param index 0 to {@code ringCount() - 1}
     * @throws IndexOutOfBoundsException if {@code index} is out of range
     */
    public RingStats ringStats(int index) {
        Objects.checkIndex(index, core.ringCount());
        RingPoller ring = core.ring(index);
        AimdController c = ring.controller();
        CompletionCounters.Snapshot done = ring.completions();
        return new RingStats(index, done.ops(), done.bytes(), ring.inUse(), c.inFlightLimit(),
                c.batchThreshold(), Math.max(0, c.p99LatencyNanos()) / 1e6, c.throughputBytesPerSecond(),
                c.phase().code(), ring.queueDepth());
    }

    /**
     * {@return ring {@code index}'s latency histogram (the reference's
     * {@code auraio_get_histogram}): the controller's current window, or everything since creation
     * when adaptive tuning is disabled}
     *
     * @param index 0 to {@code ringCount() - 1}
     * @throws IndexOutOfBoundsException if {@code index} is out of range
     */
    public Histogram histogram(int index) {
        Objects.checkIndex(index, core.ringCount());
        LatencyHistogram.Snapshot s = core.ring(index).controller().histogram().snapshot();
        return new Histogram(s.buckets(), s.overflow(), s.totalCount(), s.bucketWidthUs(), s.maxTrackedUs());
    }

    // ---- runtime tuning -------------------------------------------------------------------------

    /**
     * {@return the controller's P99 target for {@link Options#maxP99LatencyMs()}} 0 (automatic)
     * stays 0; any positive target is at least 1 ns (a target under 1 ns was truncated to 0, the
     * automatic target) and at most a day, as {@link #setMaxP99Latency} makes it.
     */
    static long targetP99Nanos(double milliseconds) {
        if (milliseconds <= 0) {
            return 0;
        }
        double nanos = milliseconds * 1_000_000;
        return nanos >= MAX_P99_TARGET_NANOS ? MAX_P99_TARGET_NANOS : Math.max(1, (long) nanos);
    }

    /** The largest P99 target: a day, as a target beyond it is no target. */
    private static final long MAX_P99_TARGET_NANOS = java.time.Duration.ofDays(1).toNanos();

    /**
     * Sets the P99 latency target of every ring's adaptive controller at runtime (the reference's
     * {@code auraio_set_max_p99_latency}; {@link Options.Builder#maxP99LatencyMs} at creation): the
     * controller backs off the in-flight limit when the P99 exceeds it. Applied from the next
     * controller tick. The same setting as the MXBean's {@code TargetP99LatencyMillis}.
     *
     * @param target the target, or {@link java.time.Duration#ZERO} to let the controller find the knee
     * @throws IllegalArgumentException if {@code target} is negative
     */
    public void setMaxP99Latency(java.time.Duration target) {
        Objects.requireNonNull(target, "target");
        if (target.isNegative()) {
            throw new IllegalArgumentException("the P99 target must be >= 0 (0 = auto), was " + target);
        }
        long nanos = target.compareTo(java.time.Duration.ofDays(1)) > 0 ? MAX_P99_TARGET_NANOS : target.toNanos();
        for (int i = 0; i < core.ringCount(); i++) {
            core.ring(i).controller().setTargetP99Nanos(nanos);
        }
    }

    /**
     * Sets the floor of every ring's in-flight limit at runtime (the reference's
     * {@code auraio_set_min_in_flight}; {@link Options.Builder#minInFlight} at creation); a limit
     * below it is raised at once by each ring's poller (an idle ring's too), without this call
     * waiting for it. The floor of the adaptive controller: with
     * {@link Options.Builder#disableAdaptive(boolean) disableAdaptive(true)} the limit stays where
     * it was set.
     *
     * @param min 1 to {@link Options#queueDepth()}
     * @throws IllegalArgumentException if {@code min} is out of that range; no ring is changed then
     */
    public void setMinInFlight(int min) {
        core.ring(0).setMinInFlight(min); // checks the range before any ring changes
        for (int i = 1; i < core.ringCount(); i++) {
            core.ring(i).setMinInFlight(min);
        }
    }

    /**
     * Pins every ring's batch threshold (how many submissions the poller gathers before entering
     * the kernel) at runtime, or hands it back to the tuner (the reference's
     * {@code auraio_set_batch_threshold}).
     *
     * @param threshold 2 to 64, or 0 to let the tuner decide
     * @throws IllegalArgumentException if {@code threshold} is out of range; no ring is changed then
     */
    public void setBatchThreshold(int threshold) {
        core.ring(0).controller().setBatchThreshold(threshold);
        for (int i = 1; i < core.ringCount(); i++) {
            core.ring(i).controller().setBatchThreshold(threshold);
        }
    }

    /**
     * {@return whether the calling thread is running a completion callback of this engine (the
     * reference's "am I in a callback"): where {@link #close()}, {@link #poll()}, {@link #await},
     * {@link #run()} and {@link #drain} are refused}
     */
    public boolean isInCallback() {
        return core.isCallbackThread();
    }

    /**
     * {@return the failure that stopped one of the engine's rings, latched, or null while none has}
     * A ring stops when the library cannot deliver a completion (an internal error on its poller
     * thread, such as running out of memory for the thread that completes a future; that
     * request ends with EIO), or when a pass of its poller breaks off midway (an OutOfMemoryError
     * where the heap is full; also logged). The ring then shuts down in order: requests queued
     * on it end with ESHUTDOWN, those in the kernel are cancelled and waited for, and requests it
     * is chosen for afterwards fail with {@linkplain AuraIOException#isShutdown() ESHUTDOWN}.
     * Close the engine and create another. The reference's latched fatal error.
     */
    public Throwable fatalError() {
        for (int i = 0; i < core.ringCount(); i++) {
            Throwable t = core.ring(i).fatalError();
            if (t != null) {
                return t;
            }
        }
        return null;
    }

    /** {@return buffer pool statistics (the reference's {@code auraio_get_buffer_stats})} */
    public BufferStats bufferStats() {
        return new BufferStats(core.pool().outstandingBytes(), core.pool().outstandingBuffers(),
                core.pool().shardCount());
    }

    /**
     * Shuts the engine down: new requests fail with {@link AuraIOException#isShutdown()}, queued
     * requests fail the same way, requests in the kernel are cancelled (or allowed to finish when
     * the kernel cannot cancel them), every thread parked on a request wakes with its result or an
     * exception, native memory is freed only after the kernel is done with it, and the poller
     * threads exit. Every request that close ends, queued or in the kernel, of every form, fails
     * the same way: {@link AuraIOException#isShutdown()} (ESHUTDOWN; {@code -ESHUTDOWN} for a
     * callback); one the kernel completes anyway keeps its result. Blocks until all of that is done. Idempotent and callable from any thread.
     *
     * Callback requests that complete during the shutdown have their callbacks run on the
     * closing thread.
     *
     * @throws UnsupportedOperationException on the shared {@linkplain AuraIO#defaultEngine()
     *         default engine}, which other code may be using
     * @throws IllegalStateException when called from a completion callback
     */
    @Override
    public void close() {
        if (shared) {
            throw new UnsupportedOperationException("the default engine is shared and cannot be closed");
        }
        try {
            core.close(); // rethrows what a callback threw, once every callback ran; releases registered Buffers
        } finally {
            // Not after a close refused in a callback: the engine stays open, and keeps its name,
            // its MXBeans and its Flight Recorder events.
            if (core.isClosed()) {
                monitoring.stop();
            }
        }
    }

    @Override
    public String toString() {
        return "Engine[" + name + ", rings=" + ringCount() + (isClosed() ? ", closed" : "") + "]";
    }
}
