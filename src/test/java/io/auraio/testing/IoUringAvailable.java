package io.auraio.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.AuraIO;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Skips tests, with the cause as the reason, where io_uring cannot be used ({@code io_uring_disabled},
 * seccomp, liburing missing where {@code -Dauraio.binding=liburing} insists on it; a liburing that is
 * merely missing selects the syscall binding and skips nothing). {@code @ExtendWith(IoUringAvailable.class)}
 * on a class skips the whole class; on a method, that method.
 */
public final class IoUringAvailable implements BeforeAllCallback, BeforeEachCallback {
    @Override
    public void beforeAll(ExtensionContext context) {
        assumeAvailable();
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        assumeAvailable();
    }

    private static void assumeAvailable() {
        assumeTrue(AuraIO.isAvailable(), () -> "io_uring unavailable: " + AuraIO.unavailabilityCause().orElse(""));
    }
}
