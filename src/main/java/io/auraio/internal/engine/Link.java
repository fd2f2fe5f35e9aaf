package io.auraio.internal.engine;

import java.lang.foreign.MemorySegment;

/**
 * One request of a linked chain ({@link RingPoller#submitChain}): the SQE's fields and what to
 * tell when it completes. {@code ownedMemory} (may be null) goes back to the pool when the
 * request's slot is released, after its completion.
 */
public record Link(int opcode, int sqeFlags, int fd, long offset, long address, int length, int opFlags,
                   int bufIndex, AsyncCompletion completion, MemorySegment ownedMemory, boolean usesFixedBuffer,
                   boolean usesFixedFile) {}
