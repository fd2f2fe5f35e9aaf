package io.auraio;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileLock;

/**
 * A lock on a region of an {@link AuraFileChannel}'s file: the JDK's lock taken through the
 * channel's {@link JdkCompanionChannel}, presented as acquired by the {@code AuraFileChannel}
 * itself so that {@link #channel()} and {@link #acquiredBy()} return it, as {@code FileLock}
 * promises.
 */
final class AuraFileLock extends FileLock {
    private final FileLock jdkLock;

    AuraFileLock(AuraFileChannel channel, FileLock jdkLock) {
        super(channel, jdkLock.position(), jdkLock.size(), jdkLock.isShared());
        this.jdkLock = jdkLock;
    }

    @Override
    public boolean isValid() {
        return jdkLock.isValid();
    }

    @Override
    public synchronized void release() throws IOException {
        if (!acquiredBy().isOpen()) {
            throw new ClosedChannelException();
        }
        jdkLock.release();
    }
}
