package io.auraio.spi;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Path;
import java.util.Iterator;

/** The platform's directory stream with its entries as paths of the {@link AuraFileSystem}. */
final class AuraDirectoryStream implements DirectoryStream<Path> {
    private final AuraFileSystem fileSystem;
    private final DirectoryStream<Path> delegate;

    AuraDirectoryStream(AuraFileSystem fileSystem, DirectoryStream<Path> delegate) {
        this.fileSystem = fileSystem;
        this.delegate = delegate;
    }

    @Override
    public Iterator<Path> iterator() {
        Iterator<Path> entries = delegate.iterator();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return entries.hasNext();
            }

            @Override
            public Path next() {
                return fileSystem.wrap(entries.next());
            }

            @Override
            public void remove() {
                entries.remove();
            }
        };
    }

    @Override
    public void close() throws IOException {
        delegate.close();
    }
}
