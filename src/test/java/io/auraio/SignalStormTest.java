package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Signals without pause on every ring poller and carrier of the JVM (as a CPU profiler at a short
 * interval sends them: async-profiler at 50 µs made a {@code statx} fail with ECANCELED before
 * {@code KernelCancelTest}'s fix), while virtual threads write, read back, stat, sync, open and
 * close through a fresh engine: every result is exact and nothing fails. The signal is
 * {@code SIGPIPE}, which the JVM catches and ignores; each one interrupts whatever system call its
 * thread waits in ({@code io_uring_enter}, {@code futex}), which must be entered again.
 */
@ExtendWith(IoUringAvailable.class)
class SignalStormTest {
    private static final int THREADS = 8;
    private static final int BLOCK = 4096;
    private static final int BLOCKS_PER_THREAD = 64;
    private static final Duration STORM = Duration.ofSeconds(2);

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void everyOperationIsExactWhileItsThreadsGetSignalsWithoutPause() throws Exception {
        Path data = dir.path().resolve("data");
        Files.write(data, new byte[THREADS * BLOCKS_PER_THREAD * BLOCK]);
        Path small = Files.writeString(dir.path().resolve("small"), "small file");
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        AtomicLong operations = new AtomicLong();
        AtomicLong signals = new AtomicLong();
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build());
             AuraFile file = AuraFile.open(engine, data, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            AtomicBoolean stop = new AtomicBoolean();
            Thread storm = Thread.ofPlatform().daemon().name("signal-storm").start(() -> {
                try {
                    while (!stop.get()) {
                        for (int tid : pollerAndCarrierThreads()) {
                            if (Posix.signalThread(tid, Posix.SIGPIPE)) {
                                signals.incrementAndGet();
                            }
                        }
                    }
                } catch (IOException e) {
                    wrong.add("signals: " + e);
                }
            });
            List<Thread> workers = new ArrayList<>();
            long until = System.nanoTime() + STORM.toNanos();
            for (int t = 0; t < THREADS; t++) {
                int self = t;
                workers.add(Thread.ofVirtual().start(() -> work(engine, file, small, self, until, wrong, operations)));
            }
            for (Thread w : workers) {
                assertThat(w.join(Duration.ofSeconds(60))).as("a worker returned").isTrue();
            }
            stop.set(true);
            storm.join();
        }
        assertThat(wrong).as("what went wrong in %d operations under %d signals", operations.get(), signals.get())
                .isEmpty();
        assertThat(signals.get()).as("signals sent").isPositive();
        assertThat(operations.get()).as("operations made").isPositive();
    }

    /** Writes, reads back and compares this thread's blocks, with a stat, a sync and a small file's open and read. */
    private static void work(Engine engine, AuraFile file, Path small, int self, long until,
                             ConcurrentLinkedQueue<String> wrong, AtomicLong operations) {
        Random random = new Random(self);
        byte[] expected = new byte[BLOCK];
        ByteBuffer in = ByteBuffer.allocateDirect(BLOCK);
        try {
            for (int round = 0; System.nanoTime() - until < 0; round++) {
                long position = ((long) self * BLOCKS_PER_THREAD + random.nextInt(BLOCKS_PER_THREAD)) * BLOCK;
                random.nextBytes(expected);
                ByteBuffer out = ByteBuffer.wrap(expected);
                while (out.hasRemaining()) {
                    file.write(out, position + out.position());
                }
                in.clear();
                while (in.hasRemaining() && file.read(in, position + in.position()) >= 0) {
                    // to the block's end
                }
                in.flip();
                byte[] got = new byte[BLOCK];
                in.get(got);
                if (!java.util.Arrays.equals(got, expected)) {
                    wrong.add("thread " + self + " read back other bytes at " + position);
                }
                FileStat stat = engine.statxAsync(small).get(30, TimeUnit.SECONDS);
                if (stat.size() != 10) {
                    wrong.add("thread " + self + ": statx size " + stat.size());
                }
                try (AuraFile f = AuraFile.open(engine, small, StandardOpenOption.READ)) {
                    ByteBuffer b = ByteBuffer.allocate(32);
                    if (f.read(b, 0) != 10) {
                        wrong.add("thread " + self + ": small file read " + b.position());
                    }
                }
                if (round % 16 == 0) {
                    file.force(false);
                }
                operations.addAndGet(5);
            }
        } catch (Exception | Error e) {
            wrong.add("thread " + self + ": " + e);
        }
    }

    /** {@return the kernel ids of this JVM's ring pollers and virtual-thread carriers} */
    private static List<Integer> pollerAndCarrierThreads() throws IOException {
        List<Integer> tids = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                String name;
                try {
                    name = Files.readString(task.resolve("comm")).trim();
                } catch (IOException exited) {
                    continue;
                }
                if (name.startsWith("auraio-ring") || name.startsWith("ForkJoinPool")) {
                    tids.add(Integer.valueOf(task.getFileName().toString()));
                }
            }
        }
        return tids;
    }
}
