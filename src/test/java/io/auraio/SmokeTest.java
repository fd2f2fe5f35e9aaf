package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SmokeTest {
    @TempDir
    Path dir;

    @Test
    void writesAndReadsBack() throws Exception {
        System.out.println("available=" + AuraIO.isAvailable() + " " + AuraIO.unavailabilityCause());
        Path p = dir.resolve("f");
        try (Engine e = Engine.create(Options.builder().ringCount(2).build());
             AuraFile f = AuraFile.open(e, p, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            int w = f.write(ByteBuffer.wrap("hello world".getBytes()), 0);
            assertThat(w).isEqualTo(11);
            ByteBuffer b = ByteBuffer.allocate(32);
            assertThat(f.read(b, 0)).isEqualTo(11);
            assertThat(f.size()).isEqualTo(11);
            assertThat(f.read(ByteBuffer.allocate(4), 11)).isEqualTo(-1);
            f.force(true);
            Thread t = Thread.ofVirtual().start(() -> {
                try { f.read(ByteBuffer.allocateDirect(5), 6); } catch (Exception ex) { throw new RuntimeException(ex); }
            });
            t.join();
            assertThat(e.pendingCount()).isZero();
        }
        assertThat(Files.readString(p)).isEqualTo("hello world");
    }
}
