package io.auraio;

import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Descriptors;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link AuraFile#close()}: from another thread while reads wait, repeatedly, concurrently. */
@ExtendWith(IoUringAvailable.class)
class AuraFileCloseTest {
    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(2).build());

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void closeFromAnotherThreadWakesBlockedReadersWithAsynchronousCloseException() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        AuraFile file = AuraFile.open(shared.engine(), fifo, READ, WRITE);
        int readers = 9;
        AtomicReferenceArray<Throwable> outcomes = new AtomicReferenceArray<>(readers);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < readers; i++) {
            int index = i;
            Runnable read = () -> {
                try (Arena arena = Arena.ofConfined()) {
                    int n = index % 2 == 0 ? file.read(ByteBuffer.allocate(8), 0) : file.read(arena.allocate(8), 0);
                    outcomes.set(index, new AssertionError("read of an empty FIFO returned " + n));
                } catch (Throwable t) {
                    outcomes.set(index, t);
                }
            };
            threads.add(i == 0 ? Thread.ofPlatform().start(read) : Thread.ofVirtual().start(read));
        }
        awaitCondition("every FIFO read is pending", () -> shared.engine().pendingCount() == readers);

        Thread closer = Thread.ofPlatform().start(() -> {
            try {
                file.close();
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
        joinAll(List.of(closer));
        joinAll(threads);

        for (int i = 0; i < readers; i++) {
            assertThat(outcomes.get(i)).as("reader %d", i).isExactlyInstanceOf(AsynchronousCloseException.class);
        }
        assertThat(file.isOpen()).isFalse();
        assertThatThrownBy(() -> file.read(ByteBuffer.allocate(8), 0)).isInstanceOf(ClosedChannelException.class);
        assertDescriptorClosed(file);
    }

    @Test
    void closeIsIdempotentAndConcurrentCallersAllReturn() throws Exception {
        Path path = dir.resolve("f");
        Files.write(path, new byte[4096]);
        AuraFile file = AuraFile.open(shared.engine(), path, READ);
        List<Throwable> failures = TestSupport.atOnce(8, () -> {
            file.close();
            if (file.isOpen()) {
                throw new AssertionError("open after close returned");
            }
        });
        for (int i = 0; i < 8; i++) {
            assertThat(failures.get(i)).as("closer %d", i).isNull();
        }
        file.close();
        assertThat(file.toString()).contains(path.toString()).contains("closed");
        assertDescriptorClosed(file);
    }

    @Test
    void theEngineServesOtherFilesAfterAFileIsClosedUnderItsReaders() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        AuraFile pipe = AuraFile.open(shared.engine(), fifo, READ, WRITE);
        AtomicReferenceArray<Throwable> outcome = new AtomicReferenceArray<>(1);
        Thread reader = Thread.ofVirtual().start(() -> {
            try {
                outcome.set(0, new AssertionError("read returned " + pipe.read(ByteBuffer.allocate(8), 0)));
            } catch (Throwable t) {
                outcome.set(0, t);
            }
        });
        awaitCondition("the FIFO read is pending", () -> shared.engine().pendingCount() == 1);
        pipe.close();
        joinAll(List.of(reader));
        assertThat(outcome.get(0)).isExactlyInstanceOf(AsynchronousCloseException.class);

        Path path = dir.resolve("f");
        Files.write(path, new byte[] {1, 2, 3});
        try (AuraFile file = AuraFile.open(shared.engine(), path, READ)) {
            ByteBuffer b = ByteBuffer.allocate(3);
            assertThat(file.read(b, 0)).isEqualTo(3);
            assertThat(b.array()).containsExactly(1, 2, 3);
        }
    }

    /** As the JDK's channels: a file dropped without close() gets its descriptor closed once unreachable. */
    @Test
    void filesDroppedWithoutCloseHaveTheirDescriptorsClosedOnceUnreachable() throws Exception {
        Path path = Files.write(dir.resolve("dropped"), new byte[] {1});
        int dropped = 200;
        List<Integer> fds = openAndDrop(path, dropped);
        awaitCondition("the dropped files' descriptors to be closed", () -> {
            System.gc();
            return openDescriptorsOf(path, fds) == 0;
        });
    }

    private static List<Integer> openAndDrop(Path path, int count) throws IOException {
        List<Integer> fds = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            fds.add(AuraFile.open(shared.engine(), path, READ).fd());
        }
        assertThat(openDescriptorsOf(path, fds)).isEqualTo(count);
        return fds;
    }

    /** How many of {@code fds} still name {@code path}. */
    private static long openDescriptorsOf(Path path, List<Integer> fds) {
        return fds.stream().filter(fd -> Descriptors.isOpenOn(fd, path)).count();
    }

    /** The descriptor number no longer names the file (it may have been reused for another). */
    private static void assertDescriptorClosed(AuraFile file) {
        Descriptors.assertClosed(file.fd(), file.path(), "the closed file");
    }
}
