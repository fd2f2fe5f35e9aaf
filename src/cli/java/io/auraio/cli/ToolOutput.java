package io.auraio.cli;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Standard output or error of a real run ({@link Auraio#main}): a {@link PrintStream} that
 * remembers whether a write failed because the reader went away ({@code auraio hash -r / | head -1}).
 * A C tool dies of SIGPIPE at that write, silently, and the shell reports 141; the JVM ignores
 * SIGPIPE, and raising it against the JVM would skip the shutdown hooks (the bench's temp file
 * stays behind). So the commands stop and exit with 141 themselves, without a message, as git
 * does where its write fails with EPIPE ({@code write_or_die.c}: {@code check_pipe}).
 */
final class ToolOutput extends PrintStream {
    /** The exit status of a tool killed by SIGPIPE as the shell reports it: 128 + 13. */
    static final int BROKEN_PIPE = 141;

    private final Watch watch;

    private ToolOutput(Watch watch, int buffer, boolean autoFlush, Charset charset) {
        super(new BufferedOutputStream(watch, buffer), autoFlush, charset);
        this.watch = watch;
    }

    /**
     * {@return a stream onto {@code fd} (1 or 2) with a buffer of {@code buffer} bytes}
     *
     * @param autoFlush as {@link PrintStream}'s: flushed at each line
     */
    static ToolOutput of(int fd, int buffer, boolean autoFlush, Charset charset) {
        FileDescriptor descriptor = fd == 1 ? FileDescriptor.out : FileDescriptor.err;
        return new ToolOutput(new Watch(new FileOutputStream(descriptor), fd), buffer, autoFlush, charset);
    }

    /** {@return whether a write to this stream failed because its reader is gone} */
    boolean brokenPipe() {
        return watch.broken;
    }

    /** {@return whether {@code stream} is a {@link ToolOutput} whose reader is gone; false for any other stream} */
    static boolean brokenPipe(PrintStream stream) {
        return stream instanceof ToolOutput t && t.brokenPipe();
    }

    /** Notes a failed write that was a broken pipe. */
    private static final class Watch extends FilterOutputStream {
        private final int fd;
        private volatile boolean broken;

        Watch(OutputStream out, int fd) {
            super(out);
            this.fd = fd;
        }

        @Override
        public void write(int b) throws IOException {
            try {
                out.write(b);
            } catch (IOException e) {
                noteFailure(e);
                throw e;
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                out.write(b, off, len);
            } catch (IOException e) {
                noteFailure(e);
                throw e;
            }
        }

        @Override
        public void flush() throws IOException {
            try {
                out.flush();
            } catch (IOException e) {
                noteFailure(e);
                throw e;
            }
        }

        /**
         * A write to a pipe or a socket fails only when the reader is gone (EPIPE, ECONNRESET):
         * the descriptor's kind says so whatever the locale made of strerror's text. A full disk
         * or /dev/full stays a write error that the command reports.
         */
        private void noteFailure(IOException e) {
            if ("Broken pipe".equals(e.getMessage())) {
                broken = true;
                return;
            }
            try {
                String kind = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
                broken = kind.startsWith("pipe:") || kind.startsWith("socket:");
            } catch (IOException | UnsupportedOperationException notLinux) {
                // no /proc: only the message can tell, and it did not
            }
        }
    }
}
