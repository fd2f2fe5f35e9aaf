package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.jfr.FileEvents;
import io.auraio.internal.jfr.FileEventsProbe;
import io.auraio.internal.jfr.RequestTrace;
import io.auraio.management.EngineMXBean;
import io.auraio.testing.Direct;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import javax.management.JMX;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;
import jdk.jfr.consumer.RecordingStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The {@code io.auraio.*} Flight Recorder events, recorded by a real recording and read back
 * with {@link RecordingFile} or {@link RecordingStream}, against the requests this test made.
 */
@ExtendWith(IoUringAvailable.class)
class FlightRecorderEventsTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static final int BLOCK = Direct.ALIGN;

    @Test
    void fileEventsCarryPathBytesRingAndHowTheRequestWasServed() throws Exception {
        Path path = dir.resolve("events.dat");
        String file = path.toString();
        List<RecordedEvent> events;
        try (Recording recording = new Recording()) {
            recording.enable("io.auraio.FileRead").withoutThreshold().withStackTrace();
            recording.enable("io.auraio.FileWrite").withoutThreshold();
            recording.enable("io.auraio.FileForce").withoutThreshold();
            recording.start();
            try (Engine engine = Engine.create(Options.builder().ringCount(1).name("jfr-file-events").build());
                 Arena arena = Arena.ofConfined()) {
                MemorySegment two = Direct.aligned(arena, 2L * BLOCK);
                two.fill((byte) 7);
                try (AuraFile direct = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE, Direct.DIRECT)) {
                    assertThat(direct.write(two, 0)).isEqualTo(2 * BLOCK);
                    direct.force(true);
                    assertThat(direct.read(two.asSlice(0, BLOCK), BLOCK)).isEqualTo(BLOCK);
                    assertThat(direct.read(two, 2L * BLOCK)).isEqualTo(-1);
                }
                try (AuraFile buffered = AuraFile.open(engine, path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                    MemorySegment small = arena.allocate(100);
                    buffered.read(small, 0); // brings the page into the page cache (through the ring)
                    assertThat(buffered.read(small, 0)).isEqualTo(100); // served by the page cache
                    assertThat(buffered.write(small, 4 * BLOCK)).isEqualTo(100);
                    buffered.force(false);
                }
            }
            recording.stop();
            Path out = dir.resolve("file-events.jfr");
            recording.dump(out);
            events = RecordingFile.readAllEvents(out).stream()
                    .filter(e -> e.getEventType().getName().startsWith("io.auraio.File") && file.equals(e.getString("path")))
                    .toList();
        }

        List<RecordedEvent> writes = named(events, "io.auraio.FileWrite");
        List<RecordedEvent> reads = named(events, "io.auraio.FileRead");
        List<RecordedEvent> forces = named(events, "io.auraio.FileForce");
        assertThat(writes).hasSize(2);
        assertThat(reads).hasSize(4);
        assertThat(forces).hasSize(2);

        RecordedEvent directWrite = writes.get(0);
        assertThat(directWrite.getLong("bytesWritten")).isEqualTo(2 * BLOCK);
        assertThat(directWrite.getInt("ring")).isZero();
        assertThat(directWrite.getBoolean("direct")).isTrue();
        assertThat(directWrite.getBoolean("pageCache")).isFalse();
        assertRingTiming(directWrite);

        RecordedEvent fsync = forces.get(0);
        assertThat(fsync.getBoolean("metaData")).isTrue();
        assertThat(fsync.getInt("ring")).isZero();
        assertRingTiming(fsync);
        assertThat(forces.get(1).getBoolean("metaData")).isFalse();

        RecordedEvent directRead = reads.get(0);
        assertThat(directRead.getLong("bytesRead")).isEqualTo(BLOCK);
        assertThat(directRead.getBoolean("endOfFile")).isFalse();
        assertThat(directRead.getInt("ring")).isZero();
        assertThat(directRead.getBoolean("direct")).isTrue();
        assertRingTiming(directRead);
        // The stack trace leads to the caller, as jdk.FileRead's does.
        assertThat(directRead.getStackTrace().getFrames()).extracting(RecordedFrame::getMethod)
                .anySatisfy(m -> assertThat(m.getName()).isEqualTo("fileEventsCarryPathBytesRingAndHowTheRequestWasServed"));

        RecordedEvent atEnd = reads.get(1);
        assertThat(atEnd.getLong("bytesRead")).isZero();
        assertThat(atEnd.getBoolean("endOfFile")).isTrue();

        RecordedEvent cached = reads.get(3);
        assertThat(cached.getLong("bytesRead")).isEqualTo(100);
        assertThat(cached.getBoolean("direct")).isFalse();
        assertThat(cached.getBoolean("pageCache")).isTrue();
        assertThat(cached.getInt("ring")).isEqualTo(-1);
        assertThat(cached.getDuration("kernelTime")).isZero();

        RecordedEvent bufferedWrite = writes.get(1);
        assertThat(bufferedWrite.getLong("bytesWritten")).isEqualTo(100);
        assertThat(bufferedWrite.getBoolean("direct")).isFalse();
    }

    @Test
    void aGatheringWriteAndAScatteringReadAreOneEventEach() throws Exception {
        Path path = dir.resolve("vectored.dat");
        String file = path.toString();
        List<RecordedEvent> events;
        try (Recording recording = new Recording()) {
            recording.enable("io.auraio.FileRead").withoutThreshold();
            recording.enable("io.auraio.FileWrite").withoutThreshold();
            recording.start();
            try (Engine engine = Engine.create(Options.builder().ringCount(1).name("jfr-vectored").build());
                 AuraFileChannel channel = AuraFileChannel.open(engine, path, StandardOpenOption.CREATE,
                         StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                java.nio.ByteBuffer[] two = {java.nio.ByteBuffer.allocateDirect(3000), java.nio.ByteBuffer.allocate(1000)};
                assertThat(channel.write(two)).isEqualTo(4000);
                two[0].clear();
                two[1].clear();
                assertThat(channel.read(two, 0, 2)).isEqualTo(-1); // at the end of the file
                channel.position(0);
                two[0].clear();
                two[1].clear();
                assertThat(channel.read(two)).isEqualTo(4000);
            }
            recording.stop();
            Path out = dir.resolve("vectored.jfr");
            recording.dump(out);
            events = RecordingFile.readAllEvents(out).stream()
                    .filter(e -> e.getEventType().getName().startsWith("io.auraio.File") && file.equals(e.getString("path")))
                    .toList();
        }
        List<RecordedEvent> writes = named(events, "io.auraio.FileWrite");
        List<RecordedEvent> reads = named(events, "io.auraio.FileRead");
        assertThat(writes).singleElement().satisfies(w -> {
            assertThat(w.getLong("bytesWritten")).isEqualTo(4000);
            // Made on the caller as a buffered write of a local file system (ring -1, into the
            // page cache), or by ring 0 where the file system refused the non-blocking write.
            assertThat(w.getInt("ring")).isBetween(-1, 0);
            assertThat(w.getBoolean("pageCache")).isEqualTo(w.getInt("ring") == -1);
        });
        assertThat(reads).hasSize(2);
        assertThat(reads.get(0).getBoolean("endOfFile")).isTrue();
        assertThat(reads.get(1).getLong("bytesRead")).isEqualTo(4000);
        assertThat(reads.get(1).getBoolean("endOfFile")).isFalse();
    }

    private static List<RecordedEvent> named(List<RecordedEvent> events, String name) {
        return events.stream().filter(e -> e.getEventType().getName().equals(name)).toList();
    }

    /** A ring request: time in the kernel measured, and queued + kernel within the event's duration. */
    private static void assertRingTiming(RecordedEvent e) {
        Duration queued = e.getDuration("queuedTime");
        Duration kernel = e.getDuration("kernelTime");
        assertThat(kernel).isPositive();
        assertThat(queued.isNegative()).isFalse();
        assertThat(queued.plus(kernel)).isLessThanOrEqualTo(e.getDuration());
    }

    @Test
    void withNoRecordingTheHotPathMakesNoTrace() throws Exception {
        // Other tests' recordings are closed; this JVM records nothing now.
        assertThat(FlightRecorder.isInitialized() ? FlightRecorder.getFlightRecorder().getRecordings() : List.of())
                .noneMatch(r -> r.getState() == jdk.jfr.RecordingState.RUNNING);
        assertThat(FileEvents.beginTransfer(true)).isNull();
        assertThat(FileEvents.beginTransfer(false)).isNull();
        assertThat(FileEvents.beginForce()).isNull();
        assertThat(RequestTrace.current()).isNull();
    }

    @Test
    void defaultThresholdIsTheJdksTwentyMilliseconds() {
        for (Class<?> c : List.of(FileEventsProbe.READ, FileEventsProbe.WRITE, FileEventsProbe.FORCE)) {
            assertThat(jdk.jfr.EventType.getEventType(c.asSubclass(jdk.jfr.Event.class)).getSettingDescriptors())
                    .filteredOn(s -> s.getName().equals("threshold"))
                    .singleElement()
                    .satisfies(s -> assertThat(s.getDefaultValue()).isEqualTo("20 ms"));
        }
    }

    @Test
    void ringStatisticsAndConfigurationArePeriodicAndAimdChangesAreReported() throws Exception {
        Path path = dir.resolve("periodic.dat");
        List<RecordedEvent> stats = new CopyOnWriteArrayList<>();
        List<RecordedEvent> configurations = new CopyOnWriteArrayList<>();
        List<RecordedEvent> changes = new CopyOnWriteArrayList<>();
        CountDownLatch all = new CountDownLatch(3);
        String name = "jfr-periodic";
        Predicate<RecordedEvent> ours = e -> name.equals(e.getString("engine"));
        try (RecordingStream rs = new RecordingStream();
             Engine engine = Engine.create(Options.builder().ringCount(2).queueDepth(64).initialInFlight(4)
                     .minInFlight(2).name(name).build());
             AuraFile f = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            rs.enable("io.auraio.RingStatistics").withPeriod(Duration.ofMillis(100));
            rs.enable("io.auraio.EngineConfiguration");
            rs.enable("io.auraio.AimdPhaseChange");
            rs.onEvent("io.auraio.RingStatistics", e -> {
                if (ours.test(e) && e.getLong("bytes") > 0 && stats.isEmpty()) {
                    stats.add(e);
                    all.countDown();
                }
            });
            rs.onEvent("io.auraio.EngineConfiguration", e -> {
                if (ours.test(e) && configurations.isEmpty()) {
                    configurations.add(e);
                    all.countDown();
                }
            });
            rs.onEvent("io.auraio.AimdPhaseChange", e -> {
                if (ours.test(e) && e.getInt("newLimit") == 32 && changes.isEmpty()) {
                    changes.add(e);
                    all.countDown();
                }
            });
            rs.startAsync();
            // A floor above the limit raises the limit at the ring's next tick: a change to report.
            EngineMonitoring.awaitRegistrations();
            JMX.newMXBeanProxy(ManagementFactory.getPlatformMBeanServer(), EngineMonitoring.engineObjectName(name),
                    EngineMXBean.class).setMinInFlight(32);
            MemorySegment block = Direct.aligned(arena, BLOCK);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            long i = 0;
            while (!all.await(0, TimeUnit.MILLISECONDS) && System.nanoTime() < deadline) {
                f.write(block, (i++ % 64) * BLOCK); // keeps the pollers ticking
            }
            assertThat(all.getCount()).as("events seen: stats %s, configuration %s, AIMD %s", stats, configurations,
                    changes).isZero();
        }
        RecordedEvent s = stats.get(0);
        assertThat(s.getInt("ring")).isBetween(0, 1);
        // Block writes, and the open's OPENAT and STATX, which move no bytes.
        assertThat(s.getLong("bytes") % BLOCK).isZero();
        assertThat(s.getLong("operations")).isGreaterThanOrEqualTo(s.getLong("bytes") / BLOCK);
        assertThat(s.getInt("queueDepth")).isEqualTo(64);
        assertThat(s.getString("phase")).isNotBlank();

        RecordedEvent c = configurations.get(0);
        assertThat(c.getInt("rings")).isEqualTo(2);
        assertThat(c.getInt("queueDepth")).isEqualTo(64);
        assertThat(c.getInt("initialInFlight")).isEqualTo(4);
        assertThat(c.getInt("minInFlight")).isEqualTo(2);
        assertThat(c.getBoolean("adaptive")).isTrue();
        assertThat(c.getString("ringSelect")).isEqualTo("ADAPTIVE");

        RecordedEvent a = changes.get(0);
        assertThat(a.getInt("oldLimit")).isLessThan(32);
        assertThat(a.getString("oldPhase")).isNotBlank();
        assertThat(a.getString("newPhase")).isNotBlank();
    }
}
