package io.auraio.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Named pipes: files whose reads wait until someone writes, for requests that never complete. */
public final class Fifo {
    private Fifo() {}

    /**
     * Creates a FIFO at {@code path} with {@code mkfifo(1)}; {@return the path} The pipes to
     * {@code mkfifo} are closed by then ({@link Commands}): a test may count descriptors at once.
     */
    public static Path create(Path path) throws IOException, InterruptedException {
        Commands.Ran ran = Commands.run("mkfifo", path.toString());
        if (!ran.succeeded() || !Files.exists(path)) {
            throw new IOException("mkfifo " + path + " failed: " + ran);
        }
        return path;
    }
}
