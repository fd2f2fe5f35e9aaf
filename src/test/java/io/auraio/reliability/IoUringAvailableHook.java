package io.auraio.reliability;

import io.auraio.AuraIO;
import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;

/**
 * jqwik's counterpart of {@code io.auraio.testing.IoUringAvailable} (jqwik runs no Jupiter
 * extensions): skips a property container, with the cause, where io_uring cannot be used.
 */
public final class IoUringAvailableHook implements SkipExecutionHook {
    @Override
    public SkipResult shouldBeSkipped(LifecycleContext context) {
        return AuraIO.isAvailable() ? SkipResult.doNotSkip()
                : SkipResult.skip("io_uring unavailable: " + AuraIO.unavailabilityCause().orElse(""));
    }
}
