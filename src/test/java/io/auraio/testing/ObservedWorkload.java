package io.auraio.testing;

import io.auraio.AuraFile;
import io.auraio.Engine;
import io.auraio.Options;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A JVM for monitoring tests to watch: an engine named {@code args[0]} with {@code args[1]} rings
 * whose virtual threads read random 4 KiB blocks of an O_DIRECT file (so every read is a ring
 * request) in {@code args[2]}, until standard input closes. Prints {@code READY} once the engine
 * has served I/O, then lives until the test closes its standard input (or kills it).
 */
public final class ObservedWorkload {
    private static final int BLOCK = Direct.ALIGN;
    private static final int BLOCKS = 256;
    private static final int READERS = 4;

    private static volatile boolean stop;

    private ObservedWorkload() {}

    public static void main(String[] args) throws Exception {
        String name = args[0];
        int rings = Integer.parseInt(args[1]);
        Path dir = Path.of(args[2]);
        Path path = Files.createTempFile(dir, "observed-", ".dat");
        Files.write(path, new byte[BLOCK * BLOCKS]);
        try (Engine engine = Engine.create(Options.builder().name(name).ringCount(rings).build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.READ, Direct.DIRECT)) {
            List<Thread> readers = new ArrayList<>();
            for (int i = 0; i < READERS; i++) {
                readers.add(Thread.ofVirtual().start(() -> readUntilStopped(file)));
            }
            // Served I/O, and its MXBeans (registered in the background, a second after the
            // engine starts, the engine's first and its last ring's last) are there.
            javax.management.ObjectName bean = new javax.management.ObjectName(
                    "io.auraio:type=Ring,engine=" + name + ",ring=" + (rings - 1));
            while (engine.stats().opsCompleted() == 0
                    || !java.lang.management.ManagementFactory.getPlatformMBeanServer().isRegistered(bean)) {
                Thread.sleep(10);
            }
            System.out.println("READY");
            System.out.flush();
            while (System.in.read() >= 0) {
                // until the test closes our standard input
            }
            stop = true;
            for (Thread t : readers) {
                t.join();
            }
        } finally {
            Files.deleteIfExists(path);
        }
    }

    private static void readUntilStopped(AuraFile file) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment block = Direct.aligned(arena, BLOCK);
            while (!stop) {
                file.read(block, (long) ThreadLocalRandom.current().nextInt(BLOCKS) * BLOCK);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
