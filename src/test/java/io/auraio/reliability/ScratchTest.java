package io.auraio.reliability;

import io.auraio.*;
import io.auraio.testing.*;
import java.nio.ByteBuffer;
import java.nio.file.*;
import java.lang.foreign.*;
import org.junit.jupiter.api.Test;

class ScratchTest {
    @Test
    void probe() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("scratch", FaultFs.SYNC_DIRECT_IO)) {
            Files.write(fs.backing().resolve("d"), new byte[65536]);
            fs.shortWrites(1500).shortReads(1000);
            try (Engine e = Engine.create(Options.builder().ringCount(1).build());
                 AuraFile f = AuraFile.open(e, fs.path("d"), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                try { System.out.println("SCRATCH write heap -> " + f.write(ByteBuffer.allocate(4096), 0)); } catch (Exception x) { System.out.println("SCRATCH write -> " + x); }
                try { System.out.println("SCRATCH read -> " + f.read(ByteBuffer.allocate(4096), 0)); } catch (Exception x) { System.out.println("SCRATCH read -> " + x); }
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment s = a.allocate(4096, 4096);
                    System.out.println("SCRATCH future write -> " + Op.future(e.writeAsync(f.fd(), BufferRef.of(s), 4096, 0)));
                    System.out.println("SCRATCH future read -> " + Op.future(e.readAsync(f.fd(), BufferRef.of(s), 4096, 0)));
                }
                System.out.println("SCRATCH " + fs.counters());
            }
            try (AuraFile f = AuraFile.open(Engine.create(Options.builder().ringCount(1).build()), fs.path("d"), StandardOpenOption.READ, StandardOpenOption.WRITE, Direct.DIRECT)) {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment s = a.allocate(4096, 4096);
                    try { System.out.println("SCRATCH direct write -> " + f.write(s, 0)); } catch (Exception x) { System.out.println("SCRATCH dwrite -> " + x); }
                    try { System.out.println("SCRATCH direct read -> " + f.read(s, 0)); } catch (Exception x) { System.out.println("SCRATCH dread -> " + x); }
                }
            }
        }
    }
}
