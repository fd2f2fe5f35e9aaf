package io.auraio;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.engine.AsyncCompletion;
import io.auraio.internal.engine.Link;
import io.auraio.internal.engine.RequestHandle;
import io.auraio.internal.engine.RingPoller;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Requests linked into a chain ({@code IOSQE_IO_LINK}), made with {@link Engine#chain()}: the
 * kernel starts each one only once the one before it has succeeded, so "write, then fdatasync"
 * or "read, then write" needs no round trip through the caller. The chain is submitted as one
 * unit: its requests go into the ring together, in one submission, and count against the ring's
 * in-flight limit as as many requests.
 *
 * <p>When a request fails, the ones after it complete with {@code -ECANCELED} (125) without
 * running, as the kernel does; a read or write that transfers fewer bytes than asked counts as
 * failed there. {@link Engine#cancel(Request)} of any request of a chain that has not reached the
 * kernel yet completes the whole chain with {@code -ECANCELED}. In the kernel, only the request
 * the kernel has started can be cancelled (the first one still pending): it and the ones after it
 * complete with {@code -ECANCELED}. A later request, waiting for the one before it, is not one
 * the kernel's cancel can find (it says ENOENT): {@code cancel} of it returns true, as the cancel
 * was sent, and the request runs when its turn comes; to stop a chain in the kernel, cancel its
 * first pending request. Closing the engine completes a queued chain with {@code -ESHUTDOWN} and
 * cancels one in the kernel. Closing an {@link AuraFile} whose {@link AuraFile#fd() descriptor} a
 * link names cancels the chain, from its first pending request whatever descriptor that one
 * names, so that no link runs on a file that reuses the number.
 *
 * <p>A chain is built by one thread, submitted once, and then done with; a chain the ring refused
 * ({@linkplain AuraIOException#isAgain() EAGAIN}, {@linkplain AuraIOException#isShutdown()
 * ESHUTDOWN}) was not submitted and may be submitted again. Memory and descriptors are checked at
 * submission, as for the single requests.
 */
public final class RequestChain {
    /** One request of the chain, prepared only at submission, so an abandoned builder holds nothing. */
    @FunctionalInterface
    private interface Step {
        PreparedRequest prepare() throws AuraIOException;
    }

    /** One link: its operation's name, the descriptor the caller gave, and how to prepare it. */
    private record Entry(String op, int fd, Step step) {}

    private final Engine engine;
    private final List<Entry> entries = new ArrayList<>();
    private boolean submitted;

    RequestChain(Engine engine) {
        this.engine = engine;
    }

    private RequestChain add(String op, int fd, Step step) {
        if (submitted) {
            throw new IllegalStateException("the chain was submitted");
        }
        entries.add(new Entry(op, fd, step));
        return this;
    }

    /**
     * Adds a read, as {@link Engine#read(int, BufferRef, long, long, Callback)}.
     *
     * @param fd     an open descriptor
     * @param buf    the memory to read into
     * @param length bytes to read
     * @param offset file offset
     * @return this chain
     */
    public RequestChain read(int fd, BufferRef buf, long length, long offset) {
        return add("read", fd, () -> PreparedRequest.transfer(engine.core(), true, fd, buf, length, offset));
    }

    /**
     * Adds a write, as {@link Engine#write(int, BufferRef, long, long, Callback)}.
     *
     * @param fd     an open descriptor
     * @param buf    the memory to write
     * @param length bytes to write
     * @param offset file offset
     * @return this chain
     */
    public RequestChain write(int fd, BufferRef buf, long length, long offset) {
        return add("write", fd, () -> PreparedRequest.transfer(engine.core(), false, fd, buf, length, offset));
    }

    /**
     * Adds an {@code fsync}.
     *
     * @param fd an open descriptor
     * @return this chain
     */
    public RequestChain fsync(int fd) {
        return add("fsync", fd, () -> PreparedRequest.sync(fd, false));
    }

    /**
     * Adds an {@code fdatasync}.
     *
     * @param fd an open descriptor
     * @return this chain
     */
    public RequestChain fdatasync(int fd) {
        return add("fdatasync", fd, () -> PreparedRequest.sync(fd, true));
    }

    /**
     * Adds a {@code fallocate}, as {@link Engine#fallocateAsync}.
     *
     * @param fd     a descriptor open for writing
     * @param offset start of the range
     * @param length bytes
     * @param mode   what to do to the range
     * @return this chain
     */
    public RequestChain fallocate(int fd, long offset, long length, AllocateMode mode) {
        return add("fallocate", fd, () -> MetadataRequest.allocate(fd, offset, length, mode).prepared());
    }

    /**
     * Adds an {@code ftruncate}, as {@link Engine#ftruncateAsync}; submitting fails with
     * {@link UnsupportedOperationException} on kernels without {@code IORING_OP_FTRUNCATE}
     * (before 6.9), where it cannot be linked.
     *
     * @param fd     a descriptor open for writing
     * @param length the new size
     * @return this chain
     */
    public RequestChain ftruncate(int fd, long length) {
        return add("ftruncate", fd, () -> {
            if (!engine.truncateOnRing()) {
                throw new UnsupportedOperationException("ftruncate cannot be linked: the kernel has no "
                        + "IORING_OP_FTRUNCATE (Linux 6.9)");
            }
            return MetadataRequest.truncate(fd, length).prepared();
        });
    }

    /**
     * Adds a {@code sync_file_range}, as {@link Engine#syncFileRangeAsync}.
     *
     * @param fd     an open descriptor
     * @param offset start of the range
     * @param length bytes, 0 to the end of the file
     * @param flags  what to do
     * @return this chain
     */
    public RequestChain syncFileRange(int fd, long offset, long length, SyncRangeFlag... flags) {
        return add("sync_file_range", fd,
                () -> MetadataRequest.syncRange(fd, offset, length, flags).prepared());
    }

    /**
     * Adds a {@code posix_fadvise}, as {@link Engine#fadviseAsync}.
     *
     * @param fd     an open descriptor
     * @param offset start of the range
     * @param length bytes, 0 to the end of the file
     * @param advice the access pattern
     * @return this chain
     */
    public RequestChain fadvise(int fd, long offset, long length, Advice advice) {
        return add("fadvise", fd, () -> MetadataRequest.advise(fd, offset, length, advice).prepared());
    }

    /**
     * Adds a {@code close} of {@code fd}, as {@link Engine#closeAsync}: for instance after the
     * writes and the {@code fsync} of a file.
     *
     * @param fd the descriptor
     * @return this chain
     */
    public RequestChain close(int fd) {
        return add("close", fd, () -> MetadataRequest.close(engine.core(), fd).prepared());
    }

    /** {@return how many requests the chain holds} */
    public int size() {
        return entries.size();
    }

    /** Prepares every request, undoing those already prepared if one fails. */
    private PreparedRequest[] prepareAll() throws AuraIOException {
        if (submitted) {
            throw new IllegalStateException("the chain was submitted");
        }
        if (entries.isEmpty()) {
            throw new IllegalStateException("the chain is empty");
        }
        int max = engine.options().queueDepth();
        if (entries.size() > max) {
            throw new IllegalArgumentException("a chain holds at most the queue depth (" + max + ") requests, this "
                    + "one " + entries.size());
        }
        PreparedRequest[] prepared = new PreparedRequest[entries.size()];
        try {
            // Closes first: preparing one empties the registered-file slot of its descriptor, so
            // the links before it must name the plain descriptor, not the slot it empties.
            for (int pass = 0; pass < 2; pass++) {
                for (int i = 0; i < prepared.length; i++) {
                    if (entries.get(i).op().equals("close") == (pass == 0)) {
                        prepared[i] = entries.get(i).step().prepare();
                    }
                }
            }
            PreparedRequest.checkChainMemory(prepared);
        } catch (RuntimeException | AuraIOException e) {
            for (PreparedRequest p : prepared) {
                if (p != null) {
                    p.unprepare(engine.core());
                }
            }
            throw e;
        }
        submitted = true;
        return prepared;
    }

    private static Link link(PreparedRequest p, AsyncCompletion completion) {
        return new Link(p.opcode(), p.sqeFlags(), p.fd(), p.offset(), p.address(), p.length(), p.opFlags(),
                p.bufIndex(), completion, p.ownedMemory(), p.fixedBuffer(), p.fixedFile());
    }

    /**
     * Submits the chain; {@code callback} gets each request's result, in the chain's order, as the
     * callback of a single request would (run by the engine's {@code poll}, {@code await},
     * {@code run} or {@code drain}).
     *
     * @param callback   receives every request's result; may be null
     * @param attachment any object, returned by every request's {@link Request#attachment()}
     * @return the requests, in the chain's order
     * @throws IllegalStateException if the chain is empty or was submitted, or as the single requests
     * @throws IllegalArgumentException if it holds more requests than the queue depth, or as the
     *         single requests
     * @throws UnsupportedOperationException for an {@code ftruncate} on a kernel that cannot link it
     * @throws AuraIOException {@linkplain AuraIOException#isAgain() EAGAIN} when fewer free slots
     *         than the chain's requests are left for callback and future requests (submit it again
     *         after completions),
     *         {@linkplain AuraIOException#isShutdown() ESHUTDOWN} when the engine is closed
     */
    public Request[] submit(Callback callback, Object attachment) throws AuraIOException {
        PreparedRequest[] prepared = prepareAll();
        int n = prepared.length;
        Request[] requests = new Request[n];
        Link[] links = new Link[n];
        for (int i = 0; i < n; i++) {
            PreparedRequest p = prepared[i];
            Request request = new Request(engine, entries.get(i).fd(), attachment); // the caller's, registered or not
            requests[i] = request;
            links[i] = link(p, new AsyncCompletion() {
                @Override
                public long kernelDone(long result) {
                    return p.finish(engine.core(), result);
                }

                @Override
                public void complete(long result) {
                    if (callback != null) {
                        callback.completed(request, result);
                    }
                }
            });
        }
        for (int i = 0; i < n; i++) {
            engine.core().callbackSubmitting();
        }
        try {
            RequestHandle[] handles = engine.core().submitChain(RingPoller.KIND_CALLBACK, links);
            for (int i = 0; i < n; i++) {
                requests[i].bind(handles[i]);
            }
        } catch (RingPoller.Refused e) {
            for (int i = 0; i < n; i++) {
                engine.core().callbackNotSubmitted();
                prepared[i].unprepare(engine.core());
            }
            submitted = false; // nothing reached the ring: EAGAIN means "again later", as for a single request
            throw refusal(e);
        }
        return requests;
    }

    private static AuraIOException refusal(RingPoller.Refused e) {
        return new AuraIOException("chain: " + (e.errno() == Errno.EAGAIN
                ? "not enough free request slots on the ring for the chain" : "the engine is closed") + " ("
                + Errno.message(e.errno()) + ")", e.errno());
    }

    /**
     * Submits the chain; the future completes once every request has: with their results, in the
     * chain's order, when all succeeded; else exceptionally with an {@link AuraIOException} for the
     * first request that failed, which names it and carries its errno (ECANCELED when a short read
     * or write before it broke the chain). Stages attached to it never run on a poller thread.
     *
     * @return the future results
     * @throws IllegalStateException if the chain is empty or was submitted, or as the single requests
     * @throws IllegalArgumentException if it holds more requests than the queue depth, or as the
     *         single requests
     * @throws UnsupportedOperationException for an {@code ftruncate} on a kernel that cannot link it
     * @throws AuraIOException as the single requests' future forms at preparation (ENOMEM...)
     */
    public CompletableFuture<long[]> submitAsync() throws AuraIOException {
        PreparedRequest[] prepared = prepareAll();
        int n = prepared.length;
        long[] results = new long[n];
        AtomicInteger left = new AtomicInteger(n);
        CompletableFuture<long[]> future = new CompletableFuture<>();
        Link[] links = new Link[n];
        for (int i = 0; i < n; i++) {
            PreparedRequest p = prepared[i];
            int index = i;
            links[i] = link(p, new AsyncCompletion() {
                @Override
                public long kernelDone(long result) {
                    return p.finish(engine.core(), result);
                }

                @Override
                public void complete(long result) {
                    results[index] = result;
                    if (left.decrementAndGet() == 0) {
                        settle(future, results, prepared);
                    }
                }
            });
        }
        try {
            engine.core().submitChain(RingPoller.KIND_FUTURE, links);
        } catch (RingPoller.Refused e) {
            for (PreparedRequest p : prepared) {
                p.unprepare(engine.core());
            }
            submitted = false; // nothing reached the ring: it may be submitted again
            future.completeExceptionally(refusal(e));
        }
        return future;
    }

    /** Completes {@code future} once every link has completed (the decrement orders their results). */
    private void settle(CompletableFuture<long[]> future, long[] results, PreparedRequest[] prepared) {
        for (int i = 0; i < results.length; i++) {
            if (results[i] < 0) {
                int errno = (int) -results[i];
                String why = Errno.message(errno);
                String before = i > 0 ? entries.get(i - 1).op() : "";
                if (errno == Errno.ECANCELED && (before.equals("read") || before.equals("write"))
                        && results[i - 1] >= 0 && results[i - 1] < prepared[i - 1].length()) {
                    why += ": request " + (i - 1) + " (" + entries.get(i - 1).op() + ") transferred "
                            + results[i - 1] + " of " + prepared[i - 1].length() + " bytes, which breaks the chain";
                }
                future.completeExceptionally(new AuraIOException("chain request " + i + " of " + results.length
                        + " (" + entries.get(i).op() + "): " + why, errno));
                return;
            }
        }
        future.complete(results);
    }

    @Override
    public String toString() {
        return "RequestChain" + entries.stream().map(Entry::op).toList();
    }
}
