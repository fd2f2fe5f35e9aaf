package io.auraio;

import io.auraio.internal.binding.Libc;
import io.auraio.internal.engine.IoEngine;
import io.auraio.internal.offload.BlockingOffload;
import java.nio.file.Path;

/**
 * Where the descriptor of an {@link AuraFile} opened on an engine is closed, and how: after its
 * requests of the engine's own forms are cancelled ({@link #cancelRequests}), with
 * {@code close(2)} on the caller when nothing can wait, else on the blocking offload
 * ({@link #closeLocal}, {@link #closeOnOffload}); a {@link SlowFile}'s by the last of its system
 * calls, detached when nobody waits ({@link #closeSlow}, {@link #closeSlowUnwaited}). The
 * file's state (when it closes, who waits) stays with {@link AuraFile}; where the open runs is
 * {@link OpenedDescriptor}'s.
 */
final class DescriptorClose {
    private DescriptorClose() {}

    /**
     * Cancels the requests of the engine's own forms (callback, future, chain) on {@code fd} in
     * every ring, so that none outlives the number: the first step of every close.
     */
    static void cancelRequests(IoEngine core, int fd) {
        for (int i = 0; i < core.ringCount(); i++) {
            core.ring(i).cancelFd(fd);
        }
    }

    /**
     * Closes the descriptor of a file that is not on a slow file system ({@link SlowFile}).
     *
     * <p>The last close of a regular file whose last name is gone frees its pages and blocks: 30 ms
     * per GiB of cached pages, 200-350 ms per GiB of written blocks on ext4 with {@code discard}
     * (measured here, 2026-12-05). The kernel does that on the thread that closes, as it returns to
     * user space; for a ring's {@code CLOSE}, whoever entered the ring to submit it, the poller,
     * whose ring then served nothing meanwhile (a reader on it waited 170-324 ms,
     * {@code bench/CloseStall.java}). Such a close is made on the blocking offload's pool, the
     * caller polling or parking, neither a carrier nor a ring held; so are the closes of other
     * files that may take time (open for writing: a release may start writeback; devices), which
     * went through a ring's {@code CLOSE} until 2026-12-06 (a poller's wake-up, then its task
     * work: a file created, written and closed by one virtual thread took 94 µs, 21 µs now).
     *
     * <p>A regular file open only for reading on a local page-cache file system, that still has a
     * name, is closed with {@code close(2)} on the caller: nothing to flush, nothing to free, and
     * the ring round trip it saves was a fifth of the cost of reading a small file (issue 17,
     * {@code auraio hash -r}).
     *
     * {@return the close's result: 0, or a negated errno}
     */
    static int closeLocal(int fd, Path path, boolean readOnlyOnPageCache) {
        if (readOnlyOnPageCache && Libc.linkCount(fd) > 0) {
            return Libc.close(fd);
        }
        // The last close of a file without a name frees it; a close of a file open for writing may
        // start writeback (ext4 after O_TRUNC); a device's may wait for it: never on the caller,
        // nor on a poller (whose ring would serve nothing meanwhile), but on the offload's pool,
        // for which the caller polls (a ring CLOSE waited for a poller's wake-up first).
        return closeOnOffload(path, fd);
    }

    /**
     * Closes {@code fd} on the blocking offload under {@code path}'s mount share, the caller
     * polling or parked: for closes that may wait (a last close frees the file's pages and blocks,
     * a written file's may start writeback, a FUSE file's waits for the daemon's FLUSH). Never
     * through a ring: a {@code CLOSE} there holds the poller, or, handed to an io-wq worker that
     * nobody can cancel, {@link Engine#close()} for as long as the daemon holds the flush (for
     * ever on a hung mount). {@return the close's result: 0, or a negated errno}
     */
    static int closeOnOffload(Path path, int fd) {
        return BlockingOffload.shared().call(path, () -> Libc.close(fd));
    }

    /**
     * Closes the descriptor {@code fd} of a {@link SlowFile}, or, while its system calls still use
     * it (callers that left them on interrupt or close), leaves that to the last of them.
     * {@return the close's result: 0, or a negated errno; 0 when left to another thread}
     *
     * @param name    the file, for the log of a close nobody waits for
     * @param mayWait whether this thread may wait for the {@code close(2)} (as
     *                {@code FileChannel.close()} waits); else it is handed to the pool
     */
    static int closeSlow(SlowFile slow, int fd, String name, boolean mayWait) {
        String mount = slow.mountKey();
        Thread closing = Thread.currentThread();
        int[] result = {0};
        boolean now = slow.closeWhenUnused(() -> {
            if (mayWait && Thread.currentThread() == closing) {
                // close() waits for it, as FileChannel.close() does: on the shared offload pool
                // under the mount's share, never through a ring (closeOnOffload says why).
                result[0] = closeOnOffload(Path.of(mount), fd);
            } else {
                // The thread whose system call returned last, or one that must not block: nobody
                // waits for this close.
                closeSlowUnwaited(mount, fd, name);
            }
        });
        return now ? result[0] : 0;
    }

    /**
     * Closes the descriptor of a slow file that nobody waits for (a caller leaving, the Cleaner, the
     * pool thread of an abandoned call that used it last): handed to a pool thread without waiting
     * (a hung daemon's FLUSH must hold none of those), under the mount's share of the pool, so
     * that the closes of one hung mount's files hold at most that share's threads. A failure is
     * logged: nobody else to tell.
     */
    static void closeSlowUnwaited(String mount, int fd, String name) {
        BlockingOffload.transfers().runDetached(mount, () -> {
            int r = Libc.close(fd);
            if (r < 0) {
                // AuraFile's logger: a file's close failed, and logging configurations name the API class.
                System.getLogger(AuraFile.class.getName()).log(System.Logger.Level.WARNING,
                        "closing " + name, Failures.io("close", -r));
            }
        });
    }
}
