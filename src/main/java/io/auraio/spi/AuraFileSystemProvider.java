package io.auraio.spi;

import io.auraio.AuraFileChannel;
import io.auraio.AuraFiles;
import io.auraio.AuraIO;
import io.auraio.AuraIOException;
import io.auraio.Engine;
import io.auraio.internal.engine.IoEngine;
import io.auraio.internal.offload.BlockingOffload;
import io.auraio.internal.offload.MetadataRouting;
import io.auraio.internal.platform.PlatformProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.spi.FileSystemProvider;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;

/**
 * A {@code file:} file system provider that opens files as {@link AuraFileChannel}s and delegates
 * everything else to the platform's provider: installed as the JVM's default provider, it sends
 * {@code FileChannel.open}, {@code Files.newByteChannel}, {@code Files.readAllBytes},
 * {@code Files.write}, {@code Files.newInputStream}/{@code newOutputStream} and everything built
 * on them through io_uring with no change to the application.
 *
 * <pre>{@code
 * java -Djava.nio.file.spi.DefaultFileSystemProvider=io.auraio.spi.AuraFileSystemProvider \
 *      --enable-native-access=ALL-UNNAMED -cp app.jar:auraio.jar app.Main
 * }</pre>
 *
 * <p>The JDK instantiates the class named by that property with the platform provider as the
 * one argument (see {@link java.nio.file.FileSystems#getDefault()}), then asks it for the
 * {@code file:///} file system. That file system is the platform's wrapped so that its paths
 * report this provider: the JDK finds a path's provider through
 * {@code path.getFileSystem().provider()}, and the platform's own paths would lead back to the
 * platform provider.
 *
 * <p>The provider is created very early, possibly before {@code main}: its constructor touches
 * neither io_uring nor the default engine. The {@linkplain AuraIO#defaultEngine() default engine}
 * is created when the first channel is opened; files opened while it is being created, and all
 * files when {@link AuraIO#backend()} is {@link io.auraio.Backend#JDK} (io_uring cannot be used
 * here, with the one warning that says why, or {@code -Dauraio.backend=jdk} asked for it), are
 * opened by the platform provider, so the JVM keeps working without io_uring.
 *
 * <p>The calls io_uring is not asked to make (attributes and attribute views, access checks,
 * directory listing, creating directories, deleting, moving, copying and linking files, file
 * stores) are the platform provider's, with the
 * platform's answers and exceptions; made from a virtual thread, they run on a small pool of
 * platform threads while the caller parks, so that a slow or hung file system does not hold the
 * caller's carrier (and so every virtual thread of the JVM). As the JDK's, these calls ignore
 * interrupts: the caller waits for the call to finish and keeps its interrupt status. At most a
 * few dozen calls per mount are on that pool at once, so one hung mount stalls only the callers
 * that touch it.
 *
 * <p>Thread-safe. Paths of other providers given to any method are refused with
 * {@link java.nio.file.ProviderMismatchException}, as the platform provider refuses them. Watch
 * keys and watch events report this file system's paths; {@code resolve} and the other path
 * operations of this provider's paths accept the platform's too.
 */
public final class AuraFileSystemProvider extends FileSystemProvider {
    private static final System.Logger LOG = System.getLogger(AuraFileSystemProvider.class.getName());

    private final FileSystemProvider platform;
    /** Whether the platform provider is the JDK's own for Linux, whose {@code isHidden} looks at the name only. */
    private final boolean hiddenByNameOnly;
    private final AuraFileSystem fileSystem;
    private final Object engineLock = new Object();
    private volatile Engine engine;
    /** Set when io_uring cannot be used: every channel is then the platform's. */
    private volatile boolean platformOnly;
    private Thread creatingEngine; // guarded by engineLock

    /**
     * Wraps {@code platform}, as the JDK does when this class is named by
     * {@code -Djava.nio.file.spi.DefaultFileSystemProvider}.
     *
     * @param platform the provider to delegate to: the platform's default provider (or the
     *                 previous one in the property's list)
     * @throws NullPointerException if {@code platform} is null
     * @throws IllegalArgumentException if {@code platform}'s scheme is not {@code file}
     */
    public AuraFileSystemProvider(FileSystemProvider platform) {
        this.platform = Objects.requireNonNull(platform, "platform");
        this.hiddenByNameOnly = platform.getClass().getName().equals("sun.nio.fs.LinuxFileSystemProvider");
        if (!"file".equalsIgnoreCase(platform.getScheme())) {
            throw new IllegalArgumentException("not a file: provider: " + platform.getScheme());
        }
        this.fileSystem = new AuraFileSystem(this, platform.getFileSystem(URI.create("file:///")));
        PlatformProvider.wraps(platform); // for the JDK channels the core opens on a directory
    }

    /**
     * {@return where calls with no io_uring opcode are made while a virtual caller parks} Not
     * touched by the constructor, which may run while the JVM starts.
     */
    private static BlockingOffload offload() {
        return BlockingOffload.shared();
    }

    /** {@return the engine for new channels, or null while it is created or when io_uring is unusable} */
    private Engine engine() {
        Engine e = engine;
        if (e != null || platformOnly) {
            return e;
        }
        synchronized (engineLock) {
            if (engine != null || platformOnly || creatingEngine == Thread.currentThread()) {
                // The last case: a file opened while this thread creates the engine goes to the platform.
                return engine;
            }
            creatingEngine = Thread.currentThread();
            try {
                // The JVM's one choice (BackendChoice): decided once, with the one warning a
                // fallback gets, and -Dauraio.backend=jdk followed as AuraFile follows it; not
                // decided while the process is out of descriptors (this file is then the
                // platform's, and the next tries again).
                if (AuraIO.backend() == io.auraio.Backend.IO_URING) {
                    engine = AuraIO.defaultEngine();
                } else if (AuraIO.fallbackCause().isPresent()) {
                    platformOnly = true;
                } else {
                    LOG.log(System.Logger.Level.DEBUG, "io_uring not set up for now, the platform opens this file: "
                            + AuraIO.unavailabilityCause().orElse(""));
                }
            } catch (AuraIOException failure) {
                if (IoEngine.isTransient(failure.errno(), failure.getCause())) {
                    LOG.log(System.Logger.Level.DEBUG, "io_uring not set up for now, the platform opens this file: "
                            + failure.getMessage());
                } else {
                    platformOnly = true;
                    LOG.log(System.Logger.Level.WARNING, "the default engine cannot be created, files are opened by"
                            + " the platform", failure);
                }
            } finally {
                creatingEngine = null;
            }
            return engine;
        }
    }

    // ---- channels: through io_uring --------------------------------------------------------

    /**
     * Opens {@code path} as an {@link AuraFileChannel} on the default engine (or the platform's
     * channel when io_uring cannot be used), with {@link FileChannel#open(Path, Set, FileAttribute...)}'s
     * rules.
     *
     * @param path    the file
     * @param options the open options
     * @param attrs   {@code posix:permissions} to set when the file is created
     * @return the open channel
     * @throws IOException as {@link AuraFileChannel#open(Engine, Path, Set, FileAttribute...)}
     * @throws java.nio.file.ProviderMismatchException if {@code path} is of another provider
     */
    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        Path file = fileSystem.unwrap(path);
        if (attrs.length == 0 && options.contains(StandardOpenOption.CREATE_NEW) && createdForTempFileHelper()) {
            attrs = new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))};
        }
        Engine e = engine();
        return e == null ? platform.newFileChannel(file, options, attrs) : AuraFileChannel.open(e, file, options, attrs);
    }

    /**
     * As {@link #newFileChannel(Path, Set, FileAttribute...)}.
     *
     * @param path    the file
     * @param options the open options
     * @param attrs   {@code posix:permissions} to set when the file is created
     * @return the open channel
     * @throws IOException as {@link #newFileChannel(Path, Set, FileAttribute...)}
     */
    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        FileChannel channel = newFileChannel(path, options, attrs);
        // Files.readAllBytes opens with no options and no attributes: only such an open can be its.
        if (channel instanceof AuraFileChannel aura && options.isEmpty() && attrs.length == 0
                && openedForFilesReadAllBytes()) {
            aura.setUninterruptible();
        }
        return channel;
    }

    /**
     * {@return whether the caller is {@code Files.readAllBytes} (or {@code readString}, which calls
     * it)} That method makes its channel ignore interrupts, but only when the channel is the JDK's
     * own class; it asks the provider for a plain {@code newByteChannel}, so the only public way to
     * tell is the calling frames. A few frames are looked at, and only here: those of {@code Files}
     * right above the provider's are {@code newByteChannel(Path, OpenOption...)}, then
     * {@code newByteChannel(Path, Set, FileAttribute...)}, then, for {@code readAllBytes}, that
     * method. Classes only ({@code DROP_METHOD_INFO}): resolving each frame's method was most of
     * the walk's cost, itself 40% of a {@code readAllBytes} of a small file (CPU profile).
     */
    private static boolean openedForFilesReadAllBytes() {
        return CALLERS.walk(frames -> frames
                .dropWhile(f -> f.getDeclaringClass() == AuraFileSystemProvider.class)
                .takeWhile(f -> f.getDeclaringClass() == Files.class)
                .count()) >= 3;
    }

    /** Frames are fetched in batches sized by the estimate: this method, the provider's, Files' three, one more. */
    private static final StackWalker CALLERS = StackWalker.getInstance(
            java.util.Set.of(StackWalker.Option.RETAIN_CLASS_REFERENCE, StackWalker.Option.DROP_METHOD_INFO), 6);

    /**
     * Opens an input stream on an {@link AuraFileChannel}, as
     * {@link FileSystemProvider#newInputStream} does on a JDK channel: the stream ignores interrupts,
     * set before or during a read, as the JDK's ({@link AuraFileChannel#setUninterruptible()}).
     *
     * @param path    the file
     * @param options open options; not {@code APPEND} or {@code WRITE}
     * @return the stream
     * @throws UnsupportedOperationException if {@code APPEND} or {@code WRITE} is given
     * @throws IOException as {@link #newFileChannel(Path, Set, FileAttribute...)}
     */
    @Override
    public InputStream newInputStream(Path path, OpenOption... options) throws IOException {
        if (engine() == null) {
            return platform.newInputStream(fileSystem.unwrap(path), options);
        }
        for (OpenOption option : options) {
            if (option == StandardOpenOption.APPEND || option == StandardOpenOption.WRITE) {
                throw new UnsupportedOperationException("'" + option + "' not allowed");
            }
        }
        // newFileChannel, not newByteChannel: no need to ask the stack whether Files.readAllBytes opens it.
        SeekableByteChannel channel = shielded(newFileChannel(path, new HashSet<>(Arrays.asList(options))));
        if (channel instanceof AuraFileChannel aura && aura.isOther()) {
            // A FIFO, socket or device: the JDK's stream reads its own channel to such a file as a
            // plain stream (ChannelInputStream's isOther), where for any other SeekableByteChannel
            // readAllBytes, readNBytes and skip ask size() and position(), which a FIFO refuses
            // ("Illegal seek": Files.newInputStream(Path.of("/dev/stdin")).readAllBytes() of a
            // pipe failed) and /dev/zero answers 0 (skip(10) skipped nothing). Hidden behind a
            // channel that is only readable, the stream reads as the JDK's.
            return new OtherFileStream(Channels.newInputStream(new StreamOnly(aura)), aura);
        }
        return Channels.newInputStream(channel);
    }

    /** {@code channel} as a plain {@link ReadableByteChannel}, not seekable: see {@link #newInputStream}. */
    private record StreamOnly(AuraFileChannel channel) implements ReadableByteChannel {
        @Override
        public int read(ByteBuffer dst) throws IOException {
            return channel.read(dst);
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

    /**
     * The stream on a FIFO, socket or device: the JDK's stream on {@link StreamOnly}, but for
     * {@code available()}, which that stream answers 0 for a channel that is not seekable. The
     * JDK's stream on its own channel to such a file throws {@code ClosedChannelException} once
     * closed, as every other call on the closed stream does, and answers what is left of a block
     * device (its size from {@code lseek}); FIFOs, sockets and character devices, whose size is 0,
     * 0 (JDK 25 loses its {@code FIONREAD} answer).
     */
    private static final class OtherFileStream extends InputStream {
        private final InputStream in;
        private final AuraFileChannel channel;

        OtherFileStream(InputStream in, AuraFileChannel channel) {
            this.in = in;
            this.channel = channel;
        }

        @Override
        public int available() throws IOException {
            if (!channel.isOpen()) {
                throw new ClosedChannelException();
            }
            long size = channel.size();
            if (size == 0) {
                return in.available(); // and no position() asked: a FIFO's is "Illegal seek"
            }
            return (int) Math.min(Math.max(0, size - channel.position()), Integer.MAX_VALUE);
        }

        @Override
        public int read() throws IOException {
            return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return in.read(b, off, len);
        }

        @Override
        public byte[] readAllBytes() throws IOException {
            return in.readAllBytes();
        }

        @Override
        public byte[] readNBytes(int len) throws IOException {
            return in.readNBytes(len);
        }

        @Override
        public int readNBytes(byte[] b, int off, int len) throws IOException {
            return in.readNBytes(b, off, len);
        }

        @Override
        public long skip(long n) throws IOException {
            return in.skip(n);
        }

        @Override
        public void skipNBytes(long n) throws IOException {
            in.skipNBytes(n);
        }

        @Override
        public long transferTo(OutputStream out) throws IOException {
            return in.transferTo(out);
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /**
     * Opens an output stream on an {@link AuraFileChannel}, as
     * {@link FileSystemProvider#newOutputStream} does on a JDK channel (by default
     * {@code CREATE}, {@code TRUNCATE_EXISTING}, {@code WRITE}); like the JDK's, the stream ignores
     * interrupts, set before or during a write ({@link AuraFileChannel#setUninterruptible()}).
     *
     * @param path    the file
     * @param options open options; not {@code READ}
     * @return the stream
     * @throws IllegalArgumentException if {@code READ} is given
     * @throws IOException as {@link #newFileChannel(Path, Set, FileAttribute...)}
     */
    @Override
    public OutputStream newOutputStream(Path path, OpenOption... options) throws IOException {
        if (engine() == null) {
            return platform.newOutputStream(fileSystem.unwrap(path), options);
        }
        Set<OpenOption> set = new HashSet<>();
        if (options.length == 0) {
            set.addAll(List.of(StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE));
        } else {
            for (OpenOption option : options) {
                if (option == StandardOpenOption.READ) {
                    throw new IllegalArgumentException("READ not allowed");
                }
                set.add(option); // a null one: the open's NullPointerException, after READ is looked for
            }
            set.add(StandardOpenOption.WRITE);
        }
        return Channels.newOutputStream(shielded(newByteChannel(path, set)));
    }

    /**
     * Makes a stream's channel ignore interrupts, as the JDK's streams do. Channels are
     * AuraFileChannels but for a file opened while the engine starts, which stays the platform's.
     */
    private static SeekableByteChannel shielded(SeekableByteChannel channel) {
        if (channel instanceof AuraFileChannel aura) {
            aura.setUninterruptible();
        }
        return channel;
    }

    // ---- the file system and its paths -------------------------------------------------------

    /** {@return {@code "file"}} */
    @Override
    public String getScheme() {
        return platform.getScheme();
    }

    /**
     * As the platform provider: the {@code file:} file system always exists.
     *
     * @param uri the URI
     * @param env ignored
     * @return never
     * @throws java.nio.file.FileSystemAlreadyExistsException always, for a valid {@code file:///} URI
     * @throws IOException as the platform provider
     */
    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) throws IOException {
        return platform.newFileSystem(uri, env);
    }

    /**
     * {@return this provider's file system: the platform's with paths that report this provider}
     *
     * @param uri {@code file:///}
     * @throws IllegalArgumentException if the platform provider refuses {@code uri}
     */
    @Override
    public FileSystem getFileSystem(URI uri) {
        platform.getFileSystem(uri);
        return fileSystem;
    }

    /**
     * {@return the path of this provider's file system for a {@code file:} URI}
     *
     * @param uri the URI
     * @throws IllegalArgumentException if the platform provider refuses {@code uri}
     */
    @Override
    public Path getPath(URI uri) {
        return fileSystem.wrap(platform.getPath(uri));
    }

    // ---- everything else: the platform provider on the platform's paths, off the carrier -------

    @Override
    public AsynchronousFileChannel newAsynchronousFileChannel(Path path, Set<? extends OpenOption> options,
            ExecutorService executor, FileAttribute<?>... attrs) throws IOException {
        return platform.newAsynchronousFileChannel(fileSystem.unwrap(path), options, executor, attrs);
    }

    /**
     * Opens the platform's directory stream, its entries as this file system's paths. Where the
     * platform's is a {@link java.nio.file.SecureDirectoryStream} (Linux), so is this one (which
     * libraries such as Guava's {@code MoreFiles.deleteRecursively} require): its operations are
     * the platform stream's, relative to the open directory; the channels of its
     * {@code newByteChannel} are the platform's, opened relative to that directory.
     *
     * <p>On a virtual thread, opening the directory, reading its entries (in batches, so the
     * iterator may read ahead of the entries returned, as {@link DirectoryStream} allows) and the
     * secure stream's operations are made on the offload's threads. {@code filter} runs on the
     * caller's thread; an {@code IOException} it throws reaches the caller as a
     * {@link java.nio.file.DirectoryIteratorException}, as from the platform's stream.
     *
     * @param dir    the directory
     * @param filter which entries to return; it sees this file system's paths
     * @return the stream
     * @throws IOException as the platform provider
     */
    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        Objects.requireNonNull(filter); // as the platform's: no message
        Path platformDir = fileSystem.unwrap(dir);
        DirectoryStream<Path> stream = offload().call(platformDir,
                () -> platform.newDirectoryStream(platformDir, entry -> true));
        return AuraDirectoryStream.of(fileSystem, offload(), platformDir, stream, filter);
    }

    /**
     * {@return whether a call may go through the ring ({@link AuraFiles}' metadata methods): from a
     * virtual thread (a platform thread has no carrier to hold: the offload makes its call inline),
     * with io_uring usable, never while this thread creates the engine (which may touch files);
     * only with {@code -Dauraio.metadata=ring} ({@link MetadataRouting} says why)}
     */
    private boolean ringReady() {
        return MetadataRouting.ring && Thread.currentThread().isVirtual() && engine() != null;
    }

    /**
     * {@return whether a stat-like call goes to {@link AuraFiles}, which answers it on the caller
     * where the path's names are cached and its file system local (no wait: a small fraction of
     * the offload's hand-off), else through the ring ({@link #ringReady()}) or the offload} From a
     * virtual thread; not while this thread creates the engine where the ring would be asked.
     */
    private boolean statOnCaller() {
        return Thread.currentThread().isVirtual() && (!MetadataRouting.ring || engine() != null);
    }

    /**
     * As the platform provider; on a virtual thread, a name the dentry cache shows to exist is
     * refused on the caller ({@link AuraFiles#createDirectory}), else with
     * {@code -Dauraio.metadata=ring} a {@code mkdirat} through the ring, else on the offload's threads.
     */
    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        Path p = fileSystem.unwrap(dir);
        if (attrs.length == 0 && createdForTempFileHelper()) {
            attrs = new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))};
        }
        FileAttribute<?>[] attributes = attrs;
        if (statOnCaller()) { // a name that exists is refused on the caller when the cache can tell
            AuraFiles.createDirectory(p, attributes);
            return;
        }
        offload().call(p, () -> {
            platform.createDirectory(p, attributes);
            return null;
        });
    }

    /** Frames looked at for {@link #createdForTempFileHelper()}: Files' two, the helper's three, and some room. */
    private static final StackWalker TEMP_FILE_CALLERS = StackWalker.getInstance(
            java.util.Set.of(StackWalker.Option.RETAIN_CLASS_REFERENCE, StackWalker.Option.DROP_METHOD_INFO), 12);

    /**
     * {@return whether {@code Files.createTempFile} or {@code createTempDirectory} makes this file,
     * on a file system of this provider that is not the default} The JDK's helper gives a temporary
     * file owner-only permissions (0600, 0700) only on the default file system; on any other it
     * asks for none, and the file would get the umask's (0644, 0755: readable by every user). So
     * the provider asks for what the helper gives on the default one. Only for a creation with no
     * attributes, when this is not the default file system; a few frames, classes only.
     */
    private boolean createdForTempFileHelper() {
        if (java.nio.file.FileSystems.getDefault() == fileSystem) {
            return false; // the helper asked for the private permissions itself, or for others
        }
        return TEMP_FILE_CALLERS.walk(frames -> frames.limit(12)
                .anyMatch(f -> f.getDeclaringClass().getName().equals("java.nio.file.TempFileHelper")));
    }

    /**
     * As the platform provider; on a virtual thread, with {@code -Dauraio.metadata=ring} a {@code symlinkat}
     * through the ring, else on the offload's threads.
     */
    @Override
    public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs) throws IOException {
        Path l = fileSystem.unwrap(link);
        Path t = fileSystem.unwrap(target);
        if (ringReady()) {
            AuraFiles.createSymbolicLink(l, t, attrs);
            return;
        }
        offload().call(l, () -> {
            platform.createSymbolicLink(l, t, attrs);
            return null;
        });
    }

    /**
     * As the platform provider; on a virtual thread, with {@code -Dauraio.metadata=ring} a {@code linkat}
     * through the ring, else on the offload's threads.
     */
    @Override
    public void createLink(Path link, Path existing) throws IOException {
        Path l = fileSystem.unwrap(link);
        Path e = fileSystem.unwrap(existing);
        if (ringReady()) {
            AuraFiles.createLink(l, e);
            return;
        }
        offload().call(l, e, () -> {
            platform.createLink(l, e);
            return null;
        });
    }

    /**
     * As the platform provider; on a virtual thread, with {@code -Dauraio.metadata=ring} an {@code unlinkat}
     * through the ring, else on the offload's threads.
     */
    @Override
    public void delete(Path path) throws IOException {
        Path p = fileSystem.unwrap(path);
        if (ringReady()) {
            AuraFiles.delete(p);
            return;
        }
        offload().call(p, () -> {
            platform.delete(p);
            return null;
        });
    }

    /**
     * As the platform provider; on a virtual thread, with {@code -Dauraio.metadata=ring} an {@code unlinkat}
     * through the ring, else on the offload's threads.
     */
    @Override
    public boolean deleteIfExists(Path path) throws IOException {
        Path p = fileSystem.unwrap(path);
        if (ringReady()) {
            return AuraFiles.deleteIfExists(p);
        }
        return offload().call(p, () -> platform.deleteIfExists(p));
    }

    /** As the platform provider; on a virtual thread, made on the offload's threads. */
    @Override
    public Path readSymbolicLink(Path link) throws IOException {
        Path l = fileSystem.unwrap(link);
        return fileSystem.wrap(offload().call(l, () -> platform.readSymbolicLink(l)));
    }

    /** As the platform provider; on a virtual thread, made on the offload's threads. */
    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
        Path s = fileSystem.unwrap(source);
        Path t = fileSystem.unwrap(target);
        offload().call(s, t, () -> {
            platform.copy(s, t, options);
            return null;
        });
    }

    /**
     * As the platform provider; on a virtual thread, with {@code -Dauraio.metadata=ring} a {@code renameat}
     * through the ring where it does the move, else on the offload's threads.
     */
    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        Path s = fileSystem.unwrap(source);
        Path t = fileSystem.unwrap(target);
        if (ringReady()) {
            AuraFiles.move(s, t, options);
            return;
        }
        offload().call(s, t, () -> {
            platform.move(s, t, options);
            return null;
        });
    }

    /**
     * As the platform provider; on a virtual thread, {@link AuraFiles#isSameFile}: equal paths
     * without a look, two cached names on a local file system compared by device and inode on the
     * caller, the rest on the offload's threads.
     */
    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
        Path p = fileSystem.unwrap(path);
        Path p2 = fileSystem.unwrapIfOurs(path2);
        if (statOnCaller()) {
            return AuraFiles.isSameFile(p, p2);
        }
        return offload().call(p, p2, () -> platform.isSameFile(p, p2));
    }

    /**
     * As the platform provider. The JDK's Linux provider tells from the name alone (a leading dot),
     * with no system call, so it is asked on the caller; another platform's on the offload's threads.
     */
    @Override
    public boolean isHidden(Path path) throws IOException {
        Path p = fileSystem.unwrap(path);
        if (hiddenByNameOnly) {
            return platform.isHidden(p);
        }
        return offload().call(p, () -> platform.isHidden(p));
    }


    /**
     * As the platform provider; on a virtual thread, made on the offload's threads, as are the
     * store's methods that make system calls ({@code getTotalSpace}, {@code getAttribute}, ...).
     */
    @Override
    public FileStore getFileStore(Path path) throws IOException {
        Path p = fileSystem.unwrap(path);
        return new AuraFileStore(offload().call(p, () -> platform.getFileStore(p)), p);
    }

    /**
     * As the platform provider; on a virtual thread, answered on the caller where every name of the
     * path is in the dentry cache and its file system is local ({@link AuraFiles#checkAccess}),
     * else made on the offload's threads.
     */
    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        Path p = fileSystem.unwrap(path);
        if (Thread.currentThread().isVirtual()) {
            AuraFiles.checkAccess(p, modes); // cached names on a local file system: on the caller
            return;
        }
        offload().call(p, () -> {
            platform.checkAccess(p, modes);
            return null;
        });
    }

    /**
     * The platform's view, whose methods ({@code readAttributes}, {@code setTimes},
     * {@code setPermissions}, ...) are made, from a virtual thread, on the offload's threads.
     */
    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        Path p = fileSystem.unwrap(path);
        return OffloadedView.of(type, platform.getFileAttributeView(p, type, options), p);
    }

    /**
     * As the platform provider; on a virtual thread, {@code BasicFileAttributes} of a path whose
     * names are all in the dentry cache, on a local file system, are read on the caller
     * ({@link AuraFiles#readAttributes}); the rest on the offload's threads (with
     * {@code -Dauraio.metadata=ring}, {@code BasicFileAttributes} with a {@code statx} through the ring).
     */
    @Override
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        Path p = fileSystem.unwrap(path);
        if (statOnCaller()) {
            return AuraFiles.readAttributes(p, type, options);
        }
        return offload().call(p, () -> platform.readAttributes(p, type, options));
    }

    /** As the platform provider; on a virtual thread, made on the offload's threads. */
    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options)
            throws IOException {
        Path p = fileSystem.unwrap(path);
        return offload().call(p, () -> platform.readAttributes(p, attributes, options));
    }

    /** As the platform provider; on a virtual thread, made on the offload's threads. */
    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        Path p = fileSystem.unwrap(path);
        offload().call(p, () -> {
            platform.setAttribute(p, attribute, value, options);
            return null;
        });
    }

    /**
     * As the platform provider; on a virtual thread, answered on the caller where the path's names
     * are in the dentry cache on a local file system ({@link AuraFiles#exists}), else with
     * {@code -Dauraio.metadata=ring} a {@code statx} through the ring, else on the offload's threads.
     */
    @Override
    public boolean exists(Path path, LinkOption... options) {
        Path p = fileSystem.unwrap(path);
        if (statOnCaller()) {
            return AuraFiles.exists(p, options);
        }
        return offload().call(p, () -> platform.exists(p, options));
    }

    /**
     * As the platform provider; on a virtual thread, on the offload's threads (with
     * {@code -Dauraio.metadata=ring}, {@code BasicFileAttributes} with a {@code statx} through the ring).
     */
    @Override
    public <A extends BasicFileAttributes> A readAttributesIfExists(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        Path p = fileSystem.unwrap(path);
        if (statOnCaller() && type == BasicFileAttributes.class) {
            try {
                return AuraFiles.readAttributes(p, type, options);
            } catch (java.nio.file.NoSuchFileException e) {
                // readAttributes says so for ENOTDIR too, where the platform's readAttributesIfExists
                // throws "Not a directory": it decides, below.
            }
        }
        return offload().call(p, () -> platform.readAttributesIfExists(p, type, options));
    }

    @Override
    public String toString() {
        return "AuraFileSystemProvider[" + platform + "]";
    }
}
