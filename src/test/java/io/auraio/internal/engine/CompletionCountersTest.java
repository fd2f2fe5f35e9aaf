package io.auraio.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The ring's completion counters: a snapshot taken while the poller counts is always one pair. */
class CompletionCountersTest {
    private static final long BLOCK = 4096;

    @Test
    void everySnapshotTakenWhileTheWriterCountsIsOnePair() throws Exception {
        CompletionCounters counters = new CompletionCounters();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong added = new AtomicLong();
        Thread poller = Thread.ofPlatform().start(() -> {
            long n = 0;
            while (!stop.get()) {
                counters.add(BLOCK);
                n++;
            }
            added.set(n);
        });
        long snapshots = 0;
        long lastOps = 0;
        try {
            long deadline = System.nanoTime() + 300_000_000L;
            while (System.nanoTime() < deadline || lastOps == 0) {
                CompletionCounters.Snapshot s = counters.snapshot();
                assertThat(s.bytes()).as("bytes of %d operations", s.ops()).isEqualTo(s.ops() * BLOCK);
                assertThat(s.ops()).isGreaterThanOrEqualTo(lastOps);
                lastOps = s.ops();
                snapshots++;
            }
        } finally {
            stop.set(true);
            poller.join();
        }
        assertThat(snapshots).isPositive();
        CompletionCounters.Snapshot end = counters.snapshot();
        assertThat(end).isEqualTo(new CompletionCounters.Snapshot(added.get(), added.get() * BLOCK));
        assertThat(counters.ops()).isEqualTo(added.get());
        assertThat(counters.bytes()).isEqualTo(added.get() * BLOCK);
    }

    @Test
    void operationsThatMoveNoBytesAreCounted() {
        CompletionCounters counters = new CompletionCounters();
        counters.add(0);
        counters.add(10);
        counters.add(0);
        assertThat(counters.snapshot()).isEqualTo(new CompletionCounters.Snapshot(3, 10));
    }
}
