package io.auraio.testing;

import io.auraio.AuraFile;
import io.auraio.Engine;
import io.auraio.Options;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** An engine doing I/O in a JVM that never records; prints whether Flight Recorder initialized. */
public final class NoRecordingProbe {
    private NoRecordingProbe() {}

    public static void main(String[] args) throws Exception {
        Path path = Files.createTempFile(Path.of(args[0]), "no-recording-", ".dat");
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            file.write(ByteBuffer.allocate(100), 0);
            file.read(ByteBuffer.allocate(100), 0);
            file.force(true);
        } finally {
            Files.delete(path);
        }
        System.out.println("jfr.initialized=" + jdk.jfr.FlightRecorder.isInitialized());
    }
}
