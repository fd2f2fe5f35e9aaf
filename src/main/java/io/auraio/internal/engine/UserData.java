package io.auraio.internal.engine;

/**
 * The 64-bit {@code user_data} of every SQE. Requests carry {@code generation << 32 | slot};
 * the ring's own operations (the eventfd wake-up read, cancels) use tags with the top bit set,
 * which no request can produce because generations stay below 2^31.
 */
final class UserData {
    static final long WAKE = 0x8000_0000_0000_0001L;
    static final long CANCEL = 0x8000_0000_0000_0002L;
    static final long CANCEL_WAKE = 0x8000_0000_0000_0003L;

    private UserData() {}

    static long encode(int slot, int generation) {
        return ((long) (generation & 0x7FFF_FFFF) << 32) | Integer.toUnsignedLong(slot);
    }

    static boolean isRequest(long userData) {
        return userData >= 0;
    }

    static int slot(long userData) {
        return (int) userData;
    }

    static int generation(long userData) {
        return (int) (userData >>> 32);
    }
}
