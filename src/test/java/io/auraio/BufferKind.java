package io.auraio;

import io.auraio.testing.Direct;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/** The four kinds of memory an {@link AuraFile} reads into and writes from. */
enum BufferKind {
    HEAP_BUFFER,
    /** A direct buffer over a page-aligned native segment, usable with O_DIRECT. */
    DIRECT_BUFFER,
    /** A page-aligned native segment, usable with O_DIRECT. */
    NATIVE_SEGMENT,
    HEAP_SEGMENT;

    /** {@return every (kind, position, length) combination of the {position, length} {@code cases}, for a parameterized test} */
    static Stream<Arguments> withEachKind(long[][] cases) {
        List<Arguments> all = new ArrayList<>();
        for (BufferKind kind : values()) {
            for (long[] c : cases) {
                all.add(Arguments.of(kind, c[0], (int) c[1]));
            }
        }
        return all.stream();
    }

    boolean isSegment() {
        return this == NATIVE_SEGMENT || this == HEAP_SEGMENT;
    }

    ByteBuffer newBuffer(Arena arena, int capacity) {
        return switch (this) {
            case HEAP_BUFFER -> ByteBuffer.allocate(capacity);
            case DIRECT_BUFFER -> Direct.aligned(arena, capacity).asByteBuffer();
            default -> throw new IllegalStateException(this + " is not a ByteBuffer kind");
        };
    }

    MemorySegment newSegment(Arena arena, int size) {
        return switch (this) {
            case NATIVE_SEGMENT -> Direct.aligned(arena, size);
            case HEAP_SEGMENT -> MemorySegment.ofArray(new byte[size]);
            default -> throw new IllegalStateException(this + " is not a segment kind");
        };
    }
}
