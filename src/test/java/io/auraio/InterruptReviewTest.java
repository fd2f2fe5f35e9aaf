package io.auraio;

import static io.auraio.testing.InterruptRounds.withReader;
import static io.auraio.testing.InterruptRounds.withWriter;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.Descriptors;
import io.auraio.testing.Fifo;
import io.auraio.testing.InterruptRounds;
import io.auraio.testing.InterruptRounds.Kind;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A review of {@link AuraFiles} under interrupts: each call, on small and large files and on
 * FIFOs (where it waits), from a virtual thread interrupted at moments drawn from fixed seeds.
 * As {@code Files}' methods, these ignore interrupts: every round must return the call's result
 * with the interrupt status kept, and afterwards no descriptor, request or pool buffer may be left.
 */
@ExtendWith(IoUringAvailable.class)
class InterruptReviewTest {
    private static final int ROUNDS = 12;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** Runs the rounds of each call, then checks that nothing leaked. */
    private static void check(List<Round> calls, Duration maxSpin) throws Exception {
        Engine engine = AuraIO.defaultEngine();
        Map<Integer, String> descriptors = Descriptors.open();
        StringBuilder wrong = new StringBuilder();
        long seed = 1;
        for (Round c : calls) {
            wrong.append(InterruptRounds.run(c.name(), seed++, ROUNDS, maxSpin, Kind.IGNORES, c.call(), c.expected()));
        }
        assertThat(wrong.toString()).isEmpty();
        // A close the offload makes for an interrupted caller ends a little later.
        Descriptors.awaitNoneNew(descriptors, "the interrupted rounds");
        Leaks.assertNothingLeaked(engine);
    }

    /** A call of the review and the result it must return. */
    private record Round(String name, InterruptRounds.Call call, Callable<Object> expected) {}

    private static Round call(String name, InterruptRounds.Call call, Callable<Object> expected) {
        return new Round(name, call, expected);
    }

    @Test
    void wholeFileCallsIgnoreInterrupts() throws Exception {
        byte[] big = TestSupport.randomBytes(3 << 20, 7);
        byte[] small = "a small file\n".repeat(8).getBytes();
        Path bigFile = Files.write(dir.resolve("big"), big);
        Path smallFile = Files.write(dir.resolve("small"), small);
        for (int i = 0; i < 40; i++) {
            Files.write(dir.resolve("entry" + i), small);
        }
        AuraFiles.readAllBytes(smallFile); // the default engine exists before descriptors are counted
        check(List.of(
                call("readAllBytes small", () -> AuraFiles.readAllBytes(smallFile), () -> small),
                call("readAllBytes large", () -> AuraFiles.readAllBytes(bigFile), () -> big),
                call("readString", () -> AuraFiles.readString(smallFile), () -> new String(small)),
                call("write small", () -> Files.readAllBytes(AuraFiles.write(dir.resolve("ws"), small)), () -> small),
                call("write large", () -> Files.readAllBytes(AuraFiles.write(dir.resolve("wb"), big)), () -> big),
                call("writeString", () -> Files.readString(AuraFiles.writeString(dir.resolve("wt"), "text")),
                        () -> "text"),
                call("copy large", () -> Files.readAllBytes(AuraFiles.copy(bigFile, dir.resolve("copy"),
                        StandardCopyOption.REPLACE_EXISTING)), () -> big),
                call("list", () -> {
                    try (Stream<Path> s = AuraFiles.list(dir.path())) {
                        return s.filter(p -> p.getFileName().toString().startsWith("entry")).count();
                    }
                }, () -> 40L),
                call("walk", () -> {
                    try (Stream<Path> s = AuraFiles.walk(dir.path())) {
                        return s.filter(p -> p.getFileName().toString().startsWith("entry")).count();
                    }
                }, () -> 40L),
                call("size", () -> AuraFiles.size(bigFile), () -> (long) big.length)),
                Duration.ofMillis(4));
        // The engine still serves.
        assertThat(AuraFiles.readAllBytes(bigFile)).isEqualTo(big);
    }

    /**
     * A copy across file systems (here to tmpfs: copy_file_range says EXDEV) goes through chunked
     * reads and writes with native buffers of its own, and is interrupted in them.
     */
    @Test
    void aCopyAcrossFileSystemsIgnoresInterrupts() throws Exception {
        Path shm = Path.of("/dev/shm");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no /dev/shm");
        byte[] big = TestSupport.randomBytes(2 << 20, 11);
        Path source = Files.write(dir.resolve("big"), big);
        Path other = Files.createTempDirectory(shm, "interrupt-review");
        try {
            AuraFiles.readAllBytes(source);
            check(List.of(
                    call("copy to tmpfs", () -> Files.readAllBytes(AuraFiles.copy(source, other.resolve("copy"),
                            StandardCopyOption.REPLACE_EXISTING)), () -> big),
                    call("copy from tmpfs", () -> {
                        Path back = dir.resolve("back");
                        AuraFiles.copy(other.resolve("copy"), back, StandardCopyOption.REPLACE_EXISTING);
                        return Files.readAllBytes(back);
                    }, () -> big)),
                    Duration.ofMillis(4));
        } finally {
            Files.deleteIfExists(other.resolve("copy"));
            Files.delete(other);
        }
    }

    /**
     * On a FIFO the calls wait (for the other end to open, then for bytes or room): an interrupt
     * neither ends the wait nor loses a byte, as with {@code Files}.
     */
    @Test
    void callsWaitingOnAFifoIgnoreInterrupts() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        byte[] bytes = TestSupport.randomBytes(100_000, 3); // more than a pipe holds: the writer waits too
        AuraFiles.readAllBytes(Files.write(dir.resolve("warm"), bytes));
        check(List.of(
                call("readAllBytes of a FIFO", () -> withWriter(fifo, bytes, () -> AuraFiles.readAllBytes(fifo)),
                        () -> bytes),
                call("write to a FIFO", () -> withReader(fifo, () -> AuraFiles.write(fifo, bytes)), () -> bytes)),
                Duration.ofMillis(4));
    }

    /**
     * {@link AuraFiles#copyRange} between files of an explicit engine closed meanwhile: every call
     * ends (a copy the kernel is making on the offload when the engine closes finishes; one asked
     * for after fails with ESHUTDOWN, as a read does), and once the files are closed no descriptor
     * is left.
     */
    @Test
    void copyRangeWhileTheFilesEngineCloses() throws Exception {
        byte[] bytes = TestSupport.randomBytes(32 << 20, 5);
        Path source = Files.write(dir.resolve("source"), bytes);
        Map<Integer, String> descriptors = Descriptors.open();
        Random random = new Random(17);
        for (int round = 0; round < 6; round++) {
            Engine engine = Engine.create(Options.builder().ringCount(1).build());
            AuraFile in = AuraFile.open(engine, source, StandardOpenOption.READ);
            Path target = dir.resolve("target" + round);
            AuraFile out = AuraFile.open(engine, target, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread copier = Thread.ofVirtual().start(() -> {
                try {
                    long position = 0;
                    long n;
                    while ((n = AuraFiles.copyRange(in, position, out, position, Long.MAX_VALUE)) > 0) {
                        position += n;
                    }
                    outcome.set(position);
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            Thread.sleep(random.nextInt(10));
            engine.close();
            TestSupport.joinAll(List.of(copier));
            in.close();
            out.close();
            if (outcome.get() instanceof Long copied) {
                assertThat(copied).isEqualTo(bytes.length);
                assertThat(Arrays.equals(Files.readAllBytes(target), bytes)).isTrue();
            } else {
                assertThat(outcome.get()).isInstanceOf(java.io.IOException.class);
            }
            Files.delete(target);
        }
        // A close the offload makes for an interrupted caller ends a little later.
        Descriptors.awaitNoneNew(descriptors, "the interrupted rounds");
    }
}
