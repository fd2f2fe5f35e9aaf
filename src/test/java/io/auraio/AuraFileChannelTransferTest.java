package io.auraio;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.offload.BlockingOffload;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code transferTo} from one AuraFileChannel into another is copied by the kernel
 * ({@code copy_file_range}, off the carrier), as the JDK's own transfer between two files is,
 * with the JDK's counts, bytes and positions; where the kernel cannot copy (an {@code APPEND}
 * target) it reads and writes as before; an interrupt is the JDK's.
 */
@ExtendWith(IoUringAvailable.class)
class AuraFileChannelTransferTest {
    private static final int SIZE = 20 << 20; // more than one copy_file_range of at most 8 MiB

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void aTransferBetweenTwoFilesIsTheKernelsCopyWithTheJdksResults() throws Exception {
        byte[] data = TestSupport.randomBytes(SIZE, 3);
        Path source = Files.write(dir.resolve("source"), data);
        List<Object> results = new ArrayList<>();
        long poolCallsOfAura = 0;
        for (boolean aura : new boolean[] {false, true}) {
            Path target = Files.write(dir.resolve("target-" + aura), new byte[1000]);
            long poolCalls = BlockingOffload.shared().callsOnPool();
            results.add(TestSupport.onVirtualThread(() -> {
                try (FileChannel in = open(aura, source, READ); FileChannel out = open(aura, target, READ, WRITE)) {
                    in.position(77);
                    out.position(1000);
                    long n = in.transferTo(5, SIZE, out); // to the end of the source: SIZE - 5
                    long m = in.transferTo(SIZE + 10, 5, out); // past the end: nothing
                    return List.of(n, m, in.position(), out.position(), out.size());
                }
            }));
            if (aura) {
                poolCallsOfAura = BlockingOffload.shared().callsOnPool() - poolCalls;
            }
            byte[] copy = Files.readAllBytes(target);
            assertThat(Arrays.equals(copy, 1000, copy.length, data, 5, SIZE)).as("bytes copied by %s", aura).isTrue();
        }
        assertThat(results.get(1)).isEqualTo(results.get(0))
                .isEqualTo(List.of((long) SIZE - 5, 0L, 77L, 1000L + SIZE - 5, 1000L + SIZE - 5));
        assertThat(poolCallsOfAura).as("copy_file_range calls made off the carrier").isGreaterThanOrEqualTo(3);
    }

    /** transferFrom another file: the kernel's copy too, from the source's position, which advances. */
    @Test
    void aTransferFromAnotherFileIsTheKernelsCopyWithTheJdksResults() throws Exception {
        byte[] data = TestSupport.randomBytes(SIZE, 6);
        Path source = Files.write(dir.resolve("source"), data);
        List<Object> results = new ArrayList<>();
        for (boolean aura : new boolean[] {false, true}) {
            Path target = Files.write(dir.resolve("target-" + aura), new byte[10]);
            long poolCalls = BlockingOffload.shared().callsOnPool();
            results.add(TestSupport.onVirtualThread(() -> {
                try (FileChannel in = open(aura, source, READ); FileChannel out = open(aura, target, READ, WRITE)) {
                    in.position(1000);
                    out.position(3);
                    long n = out.transferFrom(in, 10, SIZE); // to the source's end: SIZE - 1000
                    return List.of(n, in.position(), out.position(), out.size());
                }
            }));
            if (aura) {
                assertThat(BlockingOffload.shared().callsOnPool() - poolCalls).as("copy_file_range calls").isPositive();
            }
            byte[] copy = Files.readAllBytes(target);
            assertThat(Arrays.equals(copy, 10, copy.length, data, 1000, SIZE)).as("bytes copied by %s", aura).isTrue();
        }
        assertThat(results.get(1)).isEqualTo(results.get(0))
                .isEqualTo(List.of((long) SIZE - 1000, (long) SIZE, 3L, 10L + SIZE - 1000));
    }

    /** A /proc file says it is empty but is not: its bytes are transferred all the same, as the JDK's. */
    @Test
    void aFileThatSaysItIsEmptyIsTransferredWhole() throws Exception {
        Path proc = Path.of("/proc/self/mountinfo");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(proc), "no /proc here");
        for (boolean aura : new boolean[] {false, true}) {
            Path target = dir.resolve("target-" + aura);
            Object n = TestSupport.onVirtualThread(() -> {
                try (FileChannel in = open(aura, proc, READ); FileChannel again = open(aura, proc, READ);
                     FileChannel out = open(aura, target, CREATE, READ, WRITE)) {
                    long to = in.transferTo(0, 1 << 20, out);
                    long from = out.transferFrom(again, to, 1 << 20);
                    return List.of(to > 0, from > 0, out.size() == to + from);
                }
            });
            assertThat(n).as("%s", aura ? "AuraFileChannel" : "FileChannel").isEqualTo(List.of(true, true, true));
        }
    }

    /** An APPEND target cannot take copy_file_range (EBADF): read and written, appended as the JDK appends. */
    @Test
    void intoAnAppendingTargetTheBytesAreAppended() throws Exception {
        byte[] data = TestSupport.randomBytes(100_000, 4);
        Path source = Files.write(dir.resolve("source"), data);
        for (boolean aura : new boolean[] {false, true}) {
            Path target = Files.write(dir.resolve("target-" + aura), new byte[10]);
            Object n = TestSupport.onVirtualThread(() -> {
                try (FileChannel in = open(aura, source, READ); FileChannel out = open(aura, target, WRITE, APPEND)) {
                    return in.transferTo(0, data.length, out);
                }
            });
            assertThat(n).isEqualTo((long) data.length);
            byte[] copy = Files.readAllBytes(target);
            assertThat(copy).hasSize(10 + data.length);
            assertThat(Arrays.copyOfRange(copy, 10, copy.length)).isEqualTo(data);
        }
    }

    /** An interrupted thread's transfer closes both channels and throws ClosedByInterruptException, as the JDK's. */
    @Test
    void anInterruptedThreadsTransferClosesBothChannelsAsTheJdks() throws Exception {
        Path source = Files.write(dir.resolve("source"), TestSupport.randomBytes(100_000, 5));
        for (boolean aura : new boolean[] {false, true}) {
            Path target = dir.resolve("target-" + aura);
            Object outcome = TestSupport.onVirtualThread(() -> {
                FileChannel in = open(aura, source, READ);
                FileChannel out = open(aura, target, CREATE, WRITE);
                Thread.currentThread().interrupt();
                try {
                    in.transferTo(0, 100_000, out);
                    return "transferred";
                } catch (ClosedByInterruptException e) {
                    return "closed by interrupt, open: " + in.isOpen() + " " + out.isOpen() + ", interrupted: "
                            + Thread.interrupted();
                } finally {
                    in.close();
                    out.close();
                }
            });
            assertThat(outcome).as("%s", aura ? "AuraFileChannel" : "FileChannel")
                    .isEqualTo("closed by interrupt, open: false false, interrupted: true");
        }
    }

    /**
     * An interrupt that comes while the kernel copies (the caller parked on the offload, which
     * does not stop for it) closes both channels with ClosedByInterruptException once the copy
     * returns, as the JDK's {@code end()} does whatever was copied: it used to be seen only before
     * a next range, so a transfer of one range returned its count with both channels open. For
     * {@code transferTo} and {@code transferFrom}, 8 MiB (one {@code copy_file_range}).
     */
    @Test
    void anInterruptDuringTheKernelsLastCopyClosesBothChannels() throws Exception {
        int size = 8 << 20;
        Path source = Files.write(dir.resolve("big"), TestSupport.randomBytes(size, 2));
        for (boolean from : new boolean[] {false, true}) {
            String outcome = null;
            for (int attempt = 0; attempt < 20 && outcome == null; attempt++) {
                Path target = Files.write(dir.resolve("copy-" + from + "-" + attempt), new byte[0]);
                try (FileChannel in = AuraFileChannel.open(source, READ);
                     FileChannel out = AuraFileChannel.open(target, READ, WRITE)) {
                    String[] got = new String[1];
                    Thread t = Thread.ofVirtual().start(() -> {
                        try {
                            got[0] = "returned " + (from ? out.transferFrom(in, 0, size) : in.transferTo(0, size, out));
                        } catch (Throwable e) {
                            got[0] = "threw " + e.getClass().getSimpleName();
                        }
                        got[0] += ", open: " + in.isOpen() + " " + out.isOpen();
                    });
                    long deadline = System.nanoTime() + 2_000_000_000L;
                    while (t.getState() != Thread.State.WAITING && t.isAlive() && System.nanoTime() < deadline) {
                        Thread.onSpinWait();
                    }
                    boolean parked = t.getState() == Thread.State.WAITING;
                    if (parked) {
                        t.interrupt();
                    }
                    t.join();
                    if (parked) {
                        outcome = got[0];
                    }
                }
            }
            org.junit.jupiter.api.Assumptions.assumeTrue(outcome != null,
                    "the copy never parked its caller in 20 tries (done before the test could interrupt it)");
            assertThat(outcome).as(from ? "transferFrom" : "transferTo")
                    .isEqualTo("threw ClosedByInterruptException, open: false false");
        }
    }

    private static FileChannel open(boolean aura, Path path, OpenOption... options) throws Exception {
        return aura ? AuraFileChannel.open(path, options) : FileChannel.open(path, options);
    }
}
