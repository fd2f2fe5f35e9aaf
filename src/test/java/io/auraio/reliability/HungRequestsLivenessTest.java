package io.auraio.reliability;

import static io.auraio.reliability.Quiescence.assertQuiescent;
import static io.auraio.reliability.Quiescence.joinAll;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraFile;
import io.auraio.BufferRef;
import io.auraio.Engine;
import io.auraio.Options;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.PeriodicTicker;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Carrier liveness when requests do not come back at all: {@code io.auraio.CarrierLivenessTest}
 * covers 64 virtual threads reading a slow (50 ms) file; here 64 blocking reads, 64 callback reads
 * and 64 future reads are held in the filesystem until released, and a 1 ms periodic virtual
 * thread must keep running meanwhile (the bound, 250 ms between runs, only catches a carrier held
 * by a blocked read, which holds it for the whole second: 100 ms was exceeded once on a loaded
 * 2-core CI machine by scheduling alone). Released, every read returns the right bytes.
 */
@ExtendWith(IoUringAvailable.class)
class HungRequestsLivenessTest {
    private static final int PER_FORM = 64;
    private static final int BLOCK = 4096;

    @Test
    void aPeriodicVirtualThreadKeepsRunningWhileReadsOfEveryFormHangInTheFilesystem() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("HungLiveness")) {
            byte[] content = TestSupport.randomBytes(3 * PER_FORM * BLOCK, 7);
            Files.write(fs.backing().resolve("held"), content);
            fs.hangReads(fs.path("held"));
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            try (Engine engine = Engine.create(Options.builder().ringCount(2).queueDepth(256).initialInFlight(256)
                    .disableAdaptive(true).build());
                 AuraFile file = AuraFile.open(engine, fs.path("held"), StandardOpenOption.READ);
                 Arena arena = Arena.ofShared();
                 EventLoopThread _ = new EventLoopThread(engine)) {
                List<Thread> readers = new ArrayList<>();
                for (int i = 0; i < 3 * PER_FORM; i++) {
                    int block = i;
                    MemorySegment segment = arena.allocate(BLOCK);
                    readers.add(Thread.ofVirtual().start(() -> {
                        try {
                            long position = (long) block * BLOCK;
                            long n = switch (block % 3) {
                                case 0 -> file.read(ByteBuffer.wrap(new byte[BLOCK]).clear(), position) >= 0
                                        ? readInto(file, segment, position) : -1;
                                case 1 -> Op.callback(done -> engine.read(file.fd(), BufferRef.of(segment), BLOCK,
                                        position, (r, res) -> done.complete(res)));
                                default -> Op.future(engine.readAsync(file.fd(), BufferRef.of(segment), BLOCK, position));
                            };
                            assertThat(n).as("read of block %d", block).isEqualTo(BLOCK);
                            assertThat(segment.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                                    .isEqualTo(java.util.Arrays.copyOfRange(content, block * BLOCK, (block + 1) * BLOCK));
                        } catch (Throwable t) {
                            failures.add(t);
                        }
                    }));
                }
                fs.awaitBlockedReads(3 * PER_FORM);

                PeriodicTicker ticker = PeriodicTicker.run(Duration.ofSeconds(1));
                assertThat(fs.blockedReads()).as("reads still held").isEqualTo(3 * PER_FORM);
                fs.release(); // the blocking reads then read again (into the segment), unheld
                joinAll(readers, "readers");
                assertThat(failures).isEmpty();
                assertThat(ticker.ticks()).as("periodic runs in 1 s").isGreaterThan(10);
                assertThat(ticker.worstGapNanos()).as("longest gap between periodic runs, ns")
                        .isLessThan(TimeUnit.MILLISECONDS.toNanos(250));
                assertQuiescent(engine);
            }
        }
    }

    /** The blocking form's second read, once released: into the shared segment, for the same check. */
    private static long readInto(AuraFile file, MemorySegment segment, long position) throws Exception {
        file.readFully(segment, position);
        return BLOCK;
    }
}
