package io.auraio;

import java.time.Duration;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One engine for all the tests of a class, checked for leaks after each test and closed after the
 * last. Register it on a static field:
 * {@code @RegisterExtension static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(1).build());}
 * and reach the engine with {@link #engine()}.
 *
 * <p>Order, as JUnit runs the callbacks of an extension on a static field: the engine is created
 * before the class's {@code @BeforeAll} methods (they may use it); {@link Leaks#assertNothingLeaked}
 * runs after each test's {@code @AfterEach} methods and after the {@code afterEach} of extensions on
 * instance fields (a {@code TestDirectory} is already deleted), so their cleanups are done before it
 * counts, and its failure fails that test; after the class's {@code @AfterAll} methods, a last check,
 * then the engine is closed, whether that check passed or not. A class behind
 * {@code @ExtendWith(IoUringAvailable.class)} is skipped before the engine is created.
 */
final class SharedEngine implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {
    private final Options options;
    private final Duration settle;
    private Engine engine;

    /** An engine made with {@code options}, created when the test class starts. */
    SharedEngine(Options options) {
        this(options, Leaks.SETTLE);
    }

    /**
     * As {@link #SharedEngine(Options)}, with each check waiting at most {@code settle} for
     * pending requests to settle: for the tests of the check itself, whose request never settles
     * and which need not wait {@link Leaks#SETTLE} to see it fail.
     */
    SharedEngine(Options options, Duration settle) {
        this.options = options;
        this.settle = settle;
    }

    /**
     * {@return the class's engine}
     *
     * @throws IllegalStateException outside the class's life (before its {@code @BeforeAll}, after
     *         its {@code @AfterAll}), or where this extension is not on a static field, so never started
     */
    Engine engine() {
        if (engine == null) {
            throw new IllegalStateException("no engine: register SharedEngine on a static field, and use it "
                    + "between the class's @BeforeAll and @AfterAll");
        }
        return engine;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws AuraIOException {
        engine = Engine.create(options);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Leaks.assertNothingLeaked(engine(), settle);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        Engine e = engine;
        if (e == null) {
            return; // never created: an extension before this one skipped the class, or Engine.create failed (reported)
        }
        engine = null;
        try {
            Leaks.assertNothingLeaked(e, settle);
        } finally {
            e.close();
        }
    }
}
