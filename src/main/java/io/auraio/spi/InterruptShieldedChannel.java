package io.auraio.spi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;

/**
 * The channel under a stream from {@code Files.newInputStream}/{@code newOutputStream}: the JDK
 * makes those streams uninterruptible (a thread with its interrupt status set reads and writes
 * them normally), so each operation runs with the status cleared and restores it afterwards.
 * An interrupt that arrives during an operation still closes the channel.
 */
final class InterruptShieldedChannel implements SeekableByteChannel {
    private final SeekableByteChannel channel;

    InterruptShieldedChannel(SeekableByteChannel channel) {
        this.channel = channel;
    }

    @FunctionalInterface
    private interface Operation<T> {
        T run() throws IOException;
    }

    private static <T> T shielded(Operation<T> operation) throws IOException {
        boolean interrupted = Thread.interrupted();
        try {
            return operation.run();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return shielded(() -> channel.read(dst));
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return shielded(() -> channel.write(src));
    }

    @Override
    public long position() throws IOException {
        return shielded(channel::position);
    }

    @Override
    public SeekableByteChannel position(long newPosition) throws IOException {
        shielded(() -> channel.position(newPosition));
        return this;
    }

    @Override
    public long size() throws IOException {
        return shielded(channel::size);
    }

    @Override
    public SeekableByteChannel truncate(long size) throws IOException {
        shielded(() -> channel.truncate(size));
        return this;
    }

    @Override
    public boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
