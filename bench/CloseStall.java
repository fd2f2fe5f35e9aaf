// Who waits while a deleted file is freed: a virtual thread reads another file with O_DIRECT in a
// loop on a one-ring engine, while files of 1 GiB (written, synced, opened, deleted) are closed.
// Prints how long each close took and the reader's longest read meanwhile (docs/design.md, "Known
// costs and open ends"):
//   java --enable-native-access=ALL-UNNAMED -cp target/auraio-0.1.0-SNAPSHOT.jar bench/CloseStall.java DIR
import com.sun.nio.file.ExtendedOpenOption;
import io.auraio.AuraFile;
import io.auraio.Engine;
import io.auraio.Options;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

public class CloseStall {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path small = Files.write(dir.resolve("close-stall-reader.bin"), new byte[1 << 20]);
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build())) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong longest = new AtomicLong();
            Thread reader = Thread.ofVirtual().start(() -> {
                try (AuraFile file = AuraFile.open(engine, small, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)) {
                    var page = Arena.global().allocate(4096, 4096);
                    while (!stop.get()) {
                        long start = System.nanoTime();
                        file.read(page, 0);
                        longest.accumulateAndGet(System.nanoTime() - start, Math::max);
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            for (int i = 0; i < 3; i++) {
                Path big = dir.resolve("close-stall-" + i + ".bin");
                try (FileChannel channel = FileChannel.open(big, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
                    ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
                    for (int k = 0; k < 1024; k++) {
                        channel.write(chunk.clear());
                    }
                    channel.force(true);
                }
                Thread.sleep(300);
                longest.set(0);
                long[] closeNanos = new long[1];
                Thread closer = Thread.ofVirtual().start(() -> {
                    try {
                        AuraFile file = AuraFile.open(engine, big, StandardOpenOption.READ);
                        Files.delete(big);
                        long start = System.nanoTime();
                        file.close();
                        closeNanos[0] = System.nanoTime() - start;
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                closer.join();
                Thread.sleep(500); // a free the close left to another thread shows here
                System.out.printf("close of a deleted 1 GiB file %.1f ms; the reader's longest read within 0.5 s: %.1f ms%n",
                        closeNanos[0] / 1e6, longest.get() / 1e6);
            }
            stop.set(true);
            reader.join();
        } finally {
            Files.deleteIfExists(small);
        }
    }
}
