package io.auraio.reliability;

import static io.auraio.reliability.Quiescence.assertQuiescent;
import static io.auraio.reliability.Quiescence.joinAll;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraFile;
import io.auraio.AuraIOException;
import io.auraio.Engine;
import io.auraio.Options;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FaultFs.InjectedFault;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestSupport;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Injected I/O errors reach exactly the caller whose request hit them, in every request form
 * (blocking {@link AuraFile}, callback, future, vectored, fsync), as an {@link AuraIOException}
 * (or negated errno) carrying the errno; the requests in flight beside them complete with the
 * right bytes, and the engine keeps serving afterwards. Each caller's outcome is checked against a
 * rule fixed in advance (the offsets set to fail) or against the daemon's own list of the requests
 * it failed.
 */
@ExtendWith(IoUringAvailable.class)
class FaultIsolationTest {
    private static final int BLOCK = 4096;
    private static final int EIO = 5;
    private static final int ENOSPC = 28;
    private static final Op[] OPS = Op.values();

    private static byte[] original(int block) {
        return TestSupport.randomBytes(BLOCK, 1000 + block);
    }

    private static byte[] rewritten(int block, int round) {
        return TestSupport.randomBytes(BLOCK, 1_000_000L * (round + 1) + block);
    }

    private static Path writeBlocks(FaultFs fs, String name, int blocks) throws Exception {
        try (var out = Files.newOutputStream(fs.backing().resolve(name))) {
            for (int i = 0; i < blocks; i++) {
                out.write(original(i));
            }
        }
        return fs.path(name);
    }

    private static Engine newEngine() throws AuraIOException {
        return Engine.create(Options.builder().ringCount(2).queueDepth(512).build());
    }

    /** One caller's request and what it got: bytes, or a negated errno. */
    private record Outcome(Op op, int block, long result) {}

    @Test
    void eioAtFixedOffsetsFailsExactlyTheRequestsCoveringThemInEveryForm() throws Exception {
        int blocks = 256;
        // Every eighth block fails: 32 offsets (the daemon keeps up to 64), each inside its block.
        // Block 8k+5 gets form k % 10, so every form meets failing and healthy blocks alike.
        java.util.function.IntPredicate bad = block -> block % 8 == 5;
        java.util.function.IntFunction<Op> opOf = block -> OPS[(block / 8) % OPS.length];
        try (FaultFs fs = FixtureAvailability.mountFaultFs("FaultIsolation-offsets")) {
            Path data = writeBlocks(fs, "data", blocks);
            for (int b = 0; b < blocks; b++) {
                if (bad.test(b)) {
                    fs.eioAtOffset((long) b * BLOCK + 1000);
                }
            }
            fs.latency(java.time.Duration.ofMillis(2)).resetCounters();
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            Outcome[] outcomes = new Outcome[blocks];
            try (Engine engine = newEngine();
                 AuraFile file = AuraFile.open(engine, data, READ, WRITE);
                 EventLoopThread _ = new EventLoopThread(engine)) {
                CountDownLatch go = new CountDownLatch(1);
                List<Thread> threads = new ArrayList<>();
                for (int b = 0; b < blocks; b++) {
                    int block = b;
                    threads.add(Thread.ofVirtual().name("block-" + b).start(() -> {
                        try {
                            go.await();
                            Op op = opOf.apply(block);
                            byte[] bytes = op.isRead() ? original(block) : rewritten(block, 0);
                            outcomes[block] = new Outcome(op, block, op.perform(engine, file, (long) block * BLOCK, bytes));
                        } catch (Throwable t) {
                            failures.add(t);
                        }
                    }));
                }
                go.countDown();
                joinAll(threads, "eio_offset");
                assertThat(failures).isEmpty();

                for (int b = 0; b < blocks; b++) {
                    assertThat(outcomes[b].result()).as("%s of block %d", outcomes[b].op(), b)
                            .isEqualTo(bad.test(b) ? -EIO : BLOCK);
                }
                // The daemon's own account: one failure per failing caller, at that caller's request.
                List<InjectedFault> injected = fs.injectedFaults();
                assertThat(injected).extracting(f -> f.op() + "@" + f.offset() + "+" + f.size())
                        .containsExactlyInAnyOrderElementsOf(Arrays.stream(outcomes).filter(o -> bad.test(o.block()))
                                .map(o -> o.op().faultFsOp() + "@" + (long) o.block() * BLOCK + "+" + BLOCK).toList());

                // The engine keeps serving: every block reads back what the rule says is there.
                fs.noEioOffsets();
                List<Thread> readers = new ArrayList<>();
                for (int b = 0; b < blocks; b++) {
                    int block = b;
                    readers.add(Thread.ofVirtual().start(() -> {
                        try {
                            ByteBuffer dst = ByteBuffer.allocate(BLOCK);
                            file.readFully(dst, (long) block * BLOCK);
                            assertThat(dst.array()).as("block %d", block).isEqualTo(expectedAfter(outcomes[block]));
                        } catch (Throwable t) {
                            failures.add(t);
                        }
                    }));
                }
                joinAll(readers, "read back");
                assertThat(failures).isEmpty();
            }
            byte[] onDisk = Files.readAllBytes(fs.backing().resolve("data"));
            for (int b = 0; b < blocks; b++) {
                assertThat(Arrays.copyOfRange(onDisk, b * BLOCK, (b + 1) * BLOCK)).as("block %d on disk", b)
                        .isEqualTo(expectedAfter(outcomes[b]));
            }
        }
    }

    private static byte[] expectedAfter(Outcome o) {
        return !o.op().isRead() && o.result() == BLOCK ? rewritten(o.block(), 0) : original(o.block());
    }

    /**
     * Random failures ({@code eio_prob} with a seed) while 128 virtual threads each run a random
     * sequence of requests on their own block: the failures the callers saw, as (operation, offset)
     * pairs, are exactly the ones the daemon injected; every other request moved the right bytes.
     */
    @Test
    void randomEioReachesExactlyTheCallersWhoseRequestsItHit() throws Exception {
        long seed = Quiescence.seed("auraio.faults.seed");
        String context = "seed " + seed + " (-Dauraio.faults.seed=" + seed + " repeats the sequences)";
        int threadsCount = 128;
        int opsPerThread = 8;
        try (FaultFs fs = FixtureAvailability.mountFaultFs("FaultIsolation-prob")) {
            Path data = writeBlocks(fs, "data", threadsCount);
            fs.latency(java.time.Duration.ofMillis(1)).resetCounters();
            fs.eioProbability(0.25, seed);
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            Queue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
            byte[][] current = new byte[threadsCount][];
            try (Engine engine = newEngine();
                 AuraFile file = AuraFile.open(engine, data, READ, WRITE);
                 EventLoopThread _ = new EventLoopThread(engine)) {
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < threadsCount; t++) {
                    int block = t;
                    threads.add(Thread.ofVirtual().start(() -> {
                        Random random = new Random(seed + block);
                        byte[] content = original(block);
                        try {
                            for (int i = 0; i < opsPerThread; i++) {
                                Op op = OPS[random.nextInt(OPS.length)];
                                byte[] bytes = op.isRead() ? content : rewritten(block, i);
                                long r = op.perform(engine, file, (long) block * BLOCK, bytes);
                                outcomes.add(new Outcome(op, block, r));
                                if (r != BLOCK && r != -EIO) {
                                    throw new AssertionError(op + " of block " + block + " returned " + r);
                                }
                                if (!op.isRead() && r == BLOCK) {
                                    content = bytes; // faultfs fails a write before it touches the file
                                }
                            }
                            current[block] = content;
                        } catch (Throwable t2) {
                            failures.add(t2);
                        }
                    }));
                }
                joinAll(threads, context);
                assertThat(failures).as(context).isEmpty();

                Map<String, Long> seen = outcomes.stream().filter(o -> o.result() == -EIO)
                        .collect(Collectors.groupingBy(o -> o.op().faultFsOp() + "@" + (long) o.block() * BLOCK,
                                Collectors.counting()));
                Map<String, Long> injected = fs.injectedFaults().stream()
                        .peek(f -> assertThat(f.size()).as("%s: request size of %s", context, f).isEqualTo(BLOCK))
                        .collect(Collectors.groupingBy(f -> f.op() + "@" + f.offset(), Collectors.counting()));
                assertThat(seen).as(context).isEqualTo(injected);
                assertThat(seen.values().stream().mapToLong(Long::longValue).sum()).as(context)
                        .isEqualTo(fs.counters().eioInjected())
                        .isPositive();

                fs.eioProbability(0, seed);
                for (int b = 0; b < threadsCount; b++) {
                    ByteBuffer dst = ByteBuffer.allocate(BLOCK);
                    file.readFully(dst, (long) b * BLOCK);
                    assertThat(dst.array()).as("%s: block %d after the run", context, b).isEqualTo(current[b]);
                }
                assertQuiescent(engine);
            }
        }
    }

    /**
     * fsync and fdatasync in every form: those on the file set to fail get EIO, those on another
     * file at the same time succeed.
     */
    @Test
    void fsyncEioReachesOnlyTheCallersSyncingTheFailingFile() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("FaultIsolation-fsync")) {
            Path badPath = writeBlocks(fs, "bad", 4);
            Path goodPath = writeBlocks(fs, "good", 4);
            fs.eioFsync(badPath).resetCounters();
            int perForm = 16;
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            Map<String, Queue<Long>> results = new HashMap<>();
            try (Engine engine = newEngine();
                 AuraFile bad = AuraFile.open(engine, badPath, READ, WRITE);
                 AuraFile good = AuraFile.open(engine, goodPath, READ, WRITE);
                 EventLoopThread _ = new EventLoopThread(engine)) {
                Map<String, Function<AuraFile, Long>> forms = Map.of(
                        "force(true)", f -> fileSync(f, true),
                        "force(false)", f -> fileSync(f, false),
                        "fsync callback", f -> sync(() -> Op.callback(done -> engine.fsync(f.fd(),
                                (r, res) -> done.complete(res)))),
                        "fdatasync callback", f -> sync(() -> Op.callback(done -> engine.fdatasync(f.fd(),
                                (r, res) -> done.complete(res), "attachment"))),
                        "fsyncAsync", f -> sync(() -> Op.future(engine.fsyncAsync(f.fd()))),
                        "fdatasyncAsync", f -> sync(() -> Op.future(engine.fdatasyncAsync(f.fd()))));
                List<Thread> threads = new ArrayList<>();
                for (var form : forms.entrySet()) {
                    for (AuraFile f : List.of(bad, good)) {
                        Queue<Long> q = new ConcurrentLinkedQueue<>();
                        results.put(form.getKey() + (f == bad ? " bad" : " good"), q);
                        for (int i = 0; i < perForm; i++) {
                            threads.add(Thread.ofVirtual().start(() -> {
                                try {
                                    q.add(form.getValue().apply(f));
                                } catch (Throwable t) {
                                    failures.add(t);
                                }
                            }));
                        }
                    }
                }
                joinAll(threads, "fsync");
                assertThat(failures).isEmpty();
                results.forEach((what, q) -> assertThat(q).as(what).hasSize(perForm)
                        .containsOnly(what.endsWith("bad") ? -(long) EIO : 0L));
                FaultFs.Counters c = fs.counters();
                assertThat(c.fsyncEioInjected()).isEqualTo((long) forms.size() * perForm);
                assertThat(fs.injectedFaults()).hasSize(forms.size() * perForm)
                        .allSatisfy(f -> assertThat(f.op() + " " + f.path()).isEqualTo("fsync /bad"));

                fs.noEioFsync();
                bad.force(true);
                assertThat(Op.future(engine.fsyncAsync(bad.fd()))).isZero();
                assertQuiescent(engine);
            }
        }
    }

    @FunctionalInterface
    private interface Sync {
        long run() throws Exception;
    }

    private static long sync(Sync s) {
        try {
            return s.run();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static long fileSync(AuraFile f, boolean metaData) {
        try {
            f.force(metaData);
            return 0;
        } catch (AuraIOException e) {
            return -e.errno();
        } catch (java.io.IOException e) {
            throw new AssertionError("force failed with " + e, e);
        }
    }

    /**
     * ENOSPC: of 64 concurrent single-block writes (in every write form) against a budget of 40
     * blocks and 100 bytes, 40 write whole, one is cut to 100 bytes and the rest fail with ENOSPC;
     * 64 readers of another file meanwhile read the right bytes; the bytes of every successful
     * write are on disk.
     */
    @Test
    void enospcReachesTheWritersPastTheBudgetWhileReadersAreUnaffected() throws Exception {
        int writers = 64;
        int readers = 64;
        long budget = 40L * BLOCK + 100;
        Op[] writes = Arrays.stream(OPS).filter(o -> !o.isRead()).toArray(Op[]::new);
        Op[] reads = Arrays.stream(OPS).filter(Op::isRead).toArray(Op[]::new);
        try (FaultFs fs = FixtureAvailability.mountFaultFs("FaultIsolation-enospc")) {
            Path target = fs.path("target");
            Files.createFile(fs.backing().resolve("target"));
            Path source = writeBlocks(fs, "source", readers);
            fs.latency(java.time.Duration.ofMillis(1)).enospcAfter(budget).resetCounters();
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            Outcome[] written = new Outcome[writers];
            try (Engine engine = newEngine();
                 AuraFile out = AuraFile.open(engine, target, READ, WRITE);
                 AuraFile in = AuraFile.open(engine, source, READ);
                 EventLoopThread _ = new EventLoopThread(engine)) {
                List<Thread> threads = new ArrayList<>();
                for (int i = 0; i < Math.max(writers, readers); i++) {
                    int n = i;
                    threads.add(Thread.ofVirtual().start(() -> {
                        try {
                            Op op = writes[n % writes.length];
                            written[n] = new Outcome(op, n, op.perform(engine, out, (long) n * BLOCK, rewritten(n, 0)));
                        } catch (Throwable t) {
                            failures.add(t);
                        }
                    }));
                    threads.add(Thread.ofVirtual().start(() -> {
                        try {
                            Op op = reads[n % reads.length];
                            long r = op.perform(engine, in, (long) n * BLOCK, original(n));
                            assertThat(r).as("%s of block %d beside the failing writes", op, n).isEqualTo(BLOCK);
                        } catch (Throwable t) {
                            failures.add(t);
                        }
                    }));
                }
                joinAll(threads, "enospc");
                assertThat(failures).isEmpty();
                Map<Long, Long> byResult = Arrays.stream(written)
                        .collect(Collectors.groupingBy(Outcome::result, Collectors.counting()));
                // The write that crosses the budget is cut to 100 bytes by the daemon; FUSE's
                // asynchronous direct I/O reports a short write to io_uring as EIO (see
                // FaultFs.SYNC_DIRECT_IO), and the 100 bytes are on disk either way.
                long cut = byResult.containsKey(100L) ? 100L : -EIO;
                assertThat(byResult).as("write results").isEqualTo(Map.of((long) BLOCK, 40L, cut, 1L,
                        (long) -ENOSPC, (long) writers - 41));
                assertThat(fs.counters().enospcInjected()).isEqualTo(writers - 41);
                assertThat(failureOfFileWriteAfterTheBudget(out)).isEqualTo(ENOSPC);
                assertQuiescent(engine);
            }
            byte[] onDisk = Files.readAllBytes(fs.backing().resolve("target"));
            // (A cut write reported as EIO that extended the file is truncated away again by FUSE,
            // fuse_direct_IO, so only writes that reported bytes are looked for.)
            for (Outcome o : written) {
                int n = o.block();
                if (o.result() > 0) {
                    int length = (int) o.result();
                    assertThat(Arrays.copyOfRange(onDisk, n * BLOCK, n * BLOCK + length))
                            .as("block %d written by %s", n, o.op())
                            .isEqualTo(Arrays.copyOf(rewritten(n, 0), length));
                }
            }
        }
    }

    /** A blocking write past the budget throws AuraIOException with ENOSPC; {@return its errno} */
    private static int failureOfFileWriteAfterTheBudget(AuraFile out) throws Exception {
        try {
            out.write(ByteBuffer.allocate(10), 0);
            throw new AssertionError("write past the ENOSPC budget succeeded");
        } catch (AuraIOException e) {
            assertThat(e).hasMessage("No space left on device"); // FileChannel's message: strerror alone
            return e.errno();
        }
    }
}
