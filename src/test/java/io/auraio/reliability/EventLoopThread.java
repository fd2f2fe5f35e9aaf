package io.auraio.reliability;

import io.auraio.Engine;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A platform thread running {@link Engine#run()}, so that callback requests complete while the
 * test's threads wait on their own futures. {@link #close()} stops it and rethrows what it threw.
 */
final class EventLoopThread implements AutoCloseable {
    private final Engine engine;
    private final Thread thread;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    EventLoopThread(Engine engine) {
        this.engine = engine;
        this.thread = Thread.ofPlatform().name("event-loop").daemon().start(this::loop);
    }

    private void loop() {
        try {
            while (!engine.isClosed() && !Thread.currentThread().isInterrupted()) {
                engine.run();
            }
        } catch (InterruptedException e) {
            // stopped by close()
        } catch (Throwable t) {
            failure.set(t);
        }
    }

    @Override
    public void close() {
        thread.interrupt();
        if (!engine.isClosed()) {
            engine.stop();
        }
        boolean stopped;
        try {
            stopped = thread.join(Duration.ofSeconds(60));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while stopping the event loop", e);
        }
        if (!stopped) {
            throw new AssertionError("event loop thread did not stop");
        }
        if (failure.get() != null) {
            throw new AssertionError("event loop failed", failure.get());
        }
    }
}
