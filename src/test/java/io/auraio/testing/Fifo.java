package io.auraio.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Named pipes: files whose reads wait until someone writes, for requests that never complete. */
public final class Fifo {
    private Fifo() {}

    /** Creates a FIFO at {@code path} with {@code mkfifo(1)}; {@return the path} */
    public static Path create(Path path) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("mkfifo", path.toString()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0 || !Files.exists(path)) {
            throw new IOException("mkfifo " + path + " failed: " + output);
        }
        return path;
    }
}
