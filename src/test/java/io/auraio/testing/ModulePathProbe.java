package io.auraio.testing;

import io.auraio.AuraFile;
import io.auraio.Engine;
import io.auraio.Options;
import io.auraio.management.EngineMXBean;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import javax.management.JMX;
import javax.management.ObjectName;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordingFile;

/**
 * Run with {@code io.auraio} on the module path: records the {@code io.auraio.*} events of a
 * write, a force and a read, and reads the engine's MXBean, printing what it found as
 * {@code key=value} lines. Args: a directory for the file and the recording.
 */
public final class ModulePathProbe {
    private ModulePathProbe() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path data = dir.resolve("module-path.dat");
        Path jfr = dir.resolve("module-path.jfr");
        System.out.println("module=" + Engine.class.getModule().getName());
        System.out.println("micrometer=" + ModuleLayer.boot().findModule("micrometer.core").isPresent());
        // The engine first: Flight Recorder initializes only with the recording, after the
        // engine registered for the periodic events.
        try (Engine engine = Engine.create(Options.builder().ringCount(1).name("module-path").build());
             AuraFile file = AuraFile.open(engine, data, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE);
             Arena arena = Arena.ofConfined()) {
            System.out.println("jfr.initialized.before=" + jdk.jfr.FlightRecorder.isInitialized());
            try (Recording recording = new Recording()) {
                for (String event : new String[] {"io.auraio.FileRead", "io.auraio.FileWrite", "io.auraio.FileForce"}) {
                    recording.enable(event).withoutThreshold();
                }
                recording.enable("io.auraio.EngineConfiguration");
                recording.enable("io.auraio.RingStatistics").withPeriod(java.time.Duration.ofMillis(100));
                recording.start();
                MemorySegment block = arena.allocate(512);
                file.write(block, 0);
                file.force(true);
                file.read(block, 0);
                Thread.sleep(500); // a few periods
                ObjectName name = new ObjectName("io.auraio:type=Engine,name=module-path");
                while (!ManagementFactory.getPlatformMBeanServer().isRegistered(name)) {
                    Thread.sleep(10); // registered in the background
                }
                EngineMXBean bean = JMX.newMXBeanProxy(ManagementFactory.getPlatformMBeanServer(), name,
                        EngineMXBean.class);
                System.out.println("mxbean.rings=" + bean.getRingCount());
                System.out.println("mxbean.ops=" + bean.getStats().opsCompleted());
                recording.stop();
                recording.dump(jfr);
            }
        }
        for (var e : RecordingFile.readAllEvents(jfr)) {
            if (e.getEventType().getName().startsWith("io.auraio.")) {
                System.out.println("event=" + e.getEventType().getName());
            }
        }
        Files.deleteIfExists(data);
        Files.deleteIfExists(jfr);
    }
}
