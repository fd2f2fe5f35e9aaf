package io.auraio.cli;

import io.auraio.AuraFile;
import io.auraio.Engine;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * One open file under test, read and written the way an application would: through {@link AuraFile}
 * or through the JDK's {@link FileChannel}. Both are shared by all workers of a run (positional I/O).
 */
interface IoTarget extends AutoCloseable {
    /** Reads {@code buf} (whose byte-buffer view is {@code view}) at {@code position}; returns the byte count. */
    int read(MemorySegment buf, ByteBuffer view, long position) throws IOException;

    /** Writes {@code buf} (whose byte-buffer view is {@code view}) at {@code position}; returns the byte count. */
    int write(MemorySegment buf, ByteBuffer view, long position) throws IOException;

    /** fsync(2), as fio's {@code fsync=N} issues it. */
    void fsync() throws IOException;

    @Override
    void close() throws IOException;

    static List<OpenOption> openOptions(boolean direct, boolean write) {
        List<OpenOption> options = new ArrayList<>(List.of(StandardOpenOption.READ));
        if (write) {
            options.add(StandardOpenOption.WRITE);
        }
        if (direct) {
            options.add(DirectOption.DIRECT);
        }
        return options;
    }

    static IoTarget aura(Engine engine, Path file, boolean direct, boolean write) throws IOException {
        AuraFile f = AuraFile.open(engine, file, openOptions(direct, write).toArray(OpenOption[]::new));
        return new IoTarget() {
            @Override
            public int read(MemorySegment buf, ByteBuffer view, long position) throws IOException {
                return f.read(buf, position);
            }

            @Override
            public int write(MemorySegment buf, ByteBuffer view, long position) throws IOException {
                return f.write(buf, position);
            }

            @Override
            public void fsync() throws IOException {
                f.force(true);
            }

            @Override
            public void close() throws IOException {
                f.close();
            }
        };
    }

    static IoTarget fileChannel(Path file, boolean direct, boolean write) throws IOException {
        FileChannel ch = FileChannel.open(file, openOptions(direct, write).toArray(OpenOption[]::new));
        return new IoTarget() {
            @Override
            public int read(MemorySegment buf, ByteBuffer view, long position) throws IOException {
                return ch.read(view.clear(), position);
            }

            @Override
            public int write(MemorySegment buf, ByteBuffer view, long position) throws IOException {
                return ch.write(view.clear(), position);
            }

            @Override
            public void fsync() throws IOException {
                ch.force(true);
            }

            @Override
            public void close() throws IOException {
                ch.close();
            }
        };
    }
}
