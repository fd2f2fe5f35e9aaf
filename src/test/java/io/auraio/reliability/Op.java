package io.auraio.reliability;

import io.auraio.AuraFile;
import io.auraio.AuraIOException;
import io.auraio.BufferRef;
import io.auraio.Engine;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One block-sized transfer in each of the engine's request forms: blocking {@link AuraFile},
 * callback, future, and their vectored variants. {@link #perform} turns every form's outcome into
 * one number, the bytes transferred or a negated errno, so that a test can compare callers by a
 * single rule; anything else (a wrong exception type, wrong bytes) is thrown as an
 * {@link AssertionError}.
 */
enum Op {
    FILE_READ(true), FILE_WRITE(false),
    CALLBACK_READ(true), CALLBACK_WRITE(false),
    FUTURE_READ(true), FUTURE_WRITE(false),
    CALLBACK_READV(true), CALLBACK_WRITEV(false),
    FUTURE_READV(true), FUTURE_WRITEV(false);

    private final boolean read;

    Op(boolean read) {
        this.read = read;
    }

    boolean isRead() {
        return read;
    }

    /** {@return faultfs's name for this operation in its {@code eio_at} log} */
    String faultFsOp() {
        return read ? "read" : "write";
    }

    /**
     * Performs the operation on {@code data.length} bytes at {@code offset} of {@code file} and
     * waits for it.
     *
     * @param data what to write, or the bytes a read must return (checked when the read is whole)
     * @return bytes transferred, or the negated errno of the {@link AuraIOException} or failed
     *         callback
     */
    long perform(Engine engine, AuraFile file, long offset, byte[] data) throws Exception {
        int n = data.length;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment segment = arena.allocate(n, 4096);
            if (!read) {
                MemorySegment.copy(data, 0, segment, ValueLayout.JAVA_BYTE, 0, n);
            }
            MemorySegment[] iov = {segment.asSlice(0, n / 2), segment.asSlice(n / 2)};
            long result;
            try {
                result = switch (this) {
                    case FILE_READ -> file.read(segment, offset);
                    case FILE_WRITE -> file.write(ByteBuffer.wrap(data), offset);
                    case CALLBACK_READ -> callback(done -> engine.read(file.fd(), BufferRef.of(segment), n, offset,
                            (r, res) -> done.complete(res)));
                    case CALLBACK_WRITE -> callback(done -> engine.write(file.fd(), BufferRef.of(segment), n, offset,
                            (r, res) -> done.complete(res)));
                    case FUTURE_READ -> future(engine.readAsync(file.fd(), BufferRef.of(segment), n, offset));
                    case FUTURE_WRITE -> future(engine.writeAsync(file.fd(), BufferRef.of(segment), n, offset));
                    case CALLBACK_READV -> callback(done -> engine.readv(file.fd(), iov, offset,
                            (r, res) -> done.complete(res)));
                    case CALLBACK_WRITEV -> callback(done -> engine.writev(file.fd(), iov, offset,
                            (r, res) -> done.complete(res)));
                    case FUTURE_READV -> future(engine.readvAsync(file.fd(), iov, offset));
                    case FUTURE_WRITEV -> future(engine.writevAsync(file.fd(), iov, offset));
                };
            } catch (AuraIOException e) {
                result = -e.errno();
            }
            if (read && result == n) {
                byte[] got = segment.toArray(ValueLayout.JAVA_BYTE);
                if (!Arrays.equals(got, data)) {
                    throw new AssertionError(this + " at " + offset + " returned wrong bytes, first difference at "
                            + Arrays.mismatch(got, data));
                }
            }
            return result;
        }
    }

    @FunctionalInterface
    interface Submit {
        void submit(CompletableFuture<Long> done) throws AuraIOException;
    }

    static long callback(Submit submit) throws Exception {
        CompletableFuture<Long> done = new CompletableFuture<>();
        submit.submit(done);
        return await(done);
    }

    /** {@return the future's value, or the negated errno of the AuraIOException it failed with} */
    static long future(CompletableFuture<Long> future) throws Exception {
        try {
            return await(future);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AuraIOException a) {
                return -a.errno();
            }
            throw new AssertionError("a future failed with something other than an AuraIOException", e.getCause());
        }
    }

    private static long await(CompletableFuture<Long> f) throws Exception {
        try {
            return f.get(TestSupport.HANG.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("a request did not complete within " + TestSupport.HANG, e);
        }
    }
}
