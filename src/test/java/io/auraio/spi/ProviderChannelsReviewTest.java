package io.auraio.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.Descriptors;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.LoopDevice;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.Channels;
import java.nio.channels.CompletionHandler;
import java.nio.channels.FileLock;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A hostile review of {@link AuraFileSystemProvider}'s input and output streams, byte channels
 * and asynchronous channels, and of what {@code Files} builds on them, each call run through the
 * platform's provider and through the library's on identical files, on virtual threads: the
 * results, exception types and messages must be the same. Every test ends with no descriptor
 * left open.
 */
@ExtendWith(IoUringAvailable.class)
class ProviderChannelsReviewTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private FileSystem fs;
    private Map<Integer, String> descriptorsBefore;

    @BeforeEach
    void createProvider() throws IOException {
        fs = new AuraFileSystemProvider(FileSystems.getDefault().provider()).getFileSystem(URI.create("file:///"));
        descriptorsBefore = Descriptors.open(this::underTest);
    }

    @AfterEach
    void nothingLeftOpen() throws IOException {
        // The default engine's ring and threads are created once and stay: only files are counted.
        Descriptors.awaitNoneNew(descriptorsBefore, this::underTest, "the test");
        // The default engine the provider's channels use: no request left pending, no buffer out.
        io.auraio.Engine engine = io.auraio.AuraIO.defaultEngine();
        TestSupport.settle(() -> engine.stats().currentInFlight() == 0 && engine.bufferStats().totalBuffers() == 0,
                java.time.Duration.ofSeconds(10));
        assertThat(engine.stats().currentInFlight()).as("requests in flight").isZero();
        assertThat(engine.bufferStats().totalBuffers()).as("pool buffers not returned").isZero();
    }

    /**
     * {@return whether {@code target} is a file or FIFO under test} Not devices: the JVM itself
     * opens /dev/null at times (a child process's input).
     */
    private boolean underTest(String target) {
        return target.startsWith(dir.path().toAbsolutePath().toString());
    }

    @FunctionalInterface
    interface Scenario {
        Object run(Path base) throws Exception;
    }

    /** A scenario's steps, each with its outcome, so that one difference shows which step it was. */
    private static final class Steps {
        private final List<String> out = new ArrayList<>();

        @FunctionalInterface
        interface Step {
            Object run() throws Exception;
        }

        Steps step(String name, Step step) {
            String text;
            try {
                Object result = step.run();
                text = result instanceof byte[] bytes ? Arrays.toString(bytes) : String.valueOf(result);
            } catch (NullPointerException e) {
                text = "NullPointerException"; // the JDK's helpful message names its own variables
            } catch (Throwable e) {
                // AuraIOException is the library's IOException (with the errno): same message, a subclass.
                Class<?> type = e instanceof io.auraio.AuraIOException ? IOException.class : e.getClass();
                text = type.getSimpleName() + ": " + e.getMessage();
            }
            out.add(name + "=" + text.replaceAll("@[0-9a-f]+", "@")); // identity hashes differ
            return this;
        }

        @Override
        public String toString() {
            return String.join(", ", out);
        }
    }

    /** Ten bytes 0..9 in {@code f}. */
    private static void populate(Path base) throws IOException {
        Files.createDirectories(base);
        Files.write(base.resolve("f"), new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    }

    /** The sizes and contents of the files under {@code base}. */
    private static String tree(Path base) throws IOException {
        Map<String, String> all = new LinkedHashMap<>();
        try (Stream<Path> s = Files.walk(base).sorted()) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p)) {
                    byte[] b = Files.readAllBytes(p);
                    all.put(base.relativize(p).toString(), b.length <= 64 ? Arrays.toString(b) : b.length + " bytes");
                }
            }
        }
        return all.toString();
    }

    /**
     * Runs {@code scenario} on fresh files through the platform and through the provider, each on
     * a virtual thread: {@return "" if the outcomes and files left are alike, else both}
     */
    private String differs(String name, Scenario scenario) throws Exception {
        Path jdk = dir.path().toAbsolutePath().resolve("jdk").resolve(name);
        Path aura = dir.path().toAbsolutePath().resolve("aura").resolve(name);
        populate(jdk);
        populate(aura);
        String a = TestSupport.outcomeOnVirtualThread(() -> scenario.run(jdk), jdk) + " " + tree(jdk);
        Path auraBase = fs.getPath(aura.toString());
        String b = TestSupport.outcomeOnVirtualThread(() -> scenario.run(auraBase), aura) + " " + tree(aura);
        return a.equals(b) ? "" : name + "\n   platform: " + a + "\n   provider: " + b;
    }

    private void assertAlike(Map<String, Scenario> scenarios) throws Exception {
        List<String> differences = new ArrayList<>();
        for (Map.Entry<String, Scenario> e : scenarios.entrySet()) {
            String d = differs(e.getKey(), e.getValue());
            if (!d.isEmpty()) {
                differences.add(d);
            }
        }
        assertThat(differences).as("outcomes that differ from the platform's").isEmpty();
    }

    /** An output stream that fails every write, as a full disk or a closed socket would. */
    private static final class FailingStream extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            throw new IOException("refused");
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            throw new IOException("refused");
        }
    }

    @Test
    void inputStreamEdgeCasesAnswerAsThePlatformsStream() throws Exception {
        Map<String, Scenario> s = new LinkedHashMap<>();
        s.put("skip", base -> {
            try (InputStream in = Files.newInputStream(base.resolve("f"))) {
                return new Steps().step("skip-1", () -> in.skip(-1)).step("skip3", () -> in.skip(3))
                        .step("read", in::read).step("skip-2", () -> in.skip(-2)).step("read", in::read)
                        .step("skip100", () -> in.skip(100)).step("read", in::read)
                        .step("skipMax", () -> in.skip(Long.MAX_VALUE)).step("skip-100", () -> in.skip(-100))
                        .step("read", in::read).step("skipNBytes", () -> {
                            in.skipNBytes(20);
                            return "done";
                        });
            }
        });
        s.put("available", base -> {
            try (InputStream in = Files.newInputStream(base.resolve("f"))) {
                Steps steps = new Steps().step("start", in::available).step("readNBytes", () -> in.readNBytes(4))
                        .step("after4", in::available).step("rest", in::readAllBytes).step("eof", in::available)
                        .step("read", in::read).step("readArray", () -> in.read(new byte[4]))
                        .step("readEmptyAtEof", () -> in.read(new byte[4], 1, 0));
                Files.write(base.resolve("f"), new byte[3]); // shrunk under the stream: it is past the end
                // available() here is left out: the JDK answers -7 (size - position), against
                // InputStream's contract; the provider's stream answers 0 (pastEndOfFileAvailableIsZero).
                return steps.step("readPastEof", in::read)
                        .step("skipPastEof", () -> in.skip(1)).step("skipBackPastEof", () -> in.skip(-1));
            }
        });
        s.put("bounds", base -> {
            try (InputStream in = Files.newInputStream(base.resolve("f"))) {
                byte[] b = new byte[4];
                return new Steps().step("negOff", () -> in.read(b, -1, 1)).step("negLen", () -> in.read(b, 0, -1))
                        .step("tooLong", () -> in.read(b, 2, 3)).step("null", () -> in.read(null, 0, 1))
                        .step("zero", () -> in.read(b, 4, 0)).step("ok", () -> in.read(b, 1, 3) + Arrays.toString(b))
                        .step("readNBytesNeg", () -> in.readNBytes(-1)).step("readNBytes0", () -> in.readNBytes(0))
                        .step("readNBytesArr", () -> in.readNBytes(b, 0, 4) + Arrays.toString(b))
                        .step("readNBytesBad", () -> in.readNBytes(b, 3, 2))
                        .step("readNBytesMore", () -> in.readNBytes(Integer.MAX_VALUE));
            }
        });
        s.put("beyondIntegerMax", base -> {
            Path big = base.resolve("sparse");
            try (SeekableByteChannel ch = Files.newByteChannel(big, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                ch.position(3L << 30).write(ByteBuffer.wrap(new byte[] {1})); // a hole of 3 GiB, then one byte
            }
            Steps steps = new Steps().step("readAllBytes", () -> Files.readAllBytes(big))
                    .step("readString", () -> Files.readString(big));
            try (InputStream in = Files.newInputStream(big)) {
                steps.step("available", in::available).step("streamReadAllBytes", in::readAllBytes)
                        .step("skipMax", () -> in.skip(Long.MAX_VALUE)).step("read", in::read)
                        .step("availableAtEnd", in::available);
            }
            Files.delete(big);
            return steps;
        });
        s.put("markReset", base -> {
            try (InputStream in = Files.newInputStream(base.resolve("f"))) {
                return new Steps().step("supported", in::markSupported).step("mark", () -> {
                    in.mark(4);
                    return "done";
                }).step("read", in::read).step("reset", () -> {
                    in.reset();
                    return "done";
                }).step("read", in::read);
            }
        });
        s.put("afterClose", base -> {
            InputStream in = Files.newInputStream(base.resolve("f"));
            in.close();
            return new Steps().step("read", in::read).step("readArray", () -> in.read(new byte[2]))
                    .step("readEmpty", () -> in.read(new byte[2], 0, 0)).step("skip", () -> in.skip(1))
                    .step("skip0", () -> in.skip(0)).step("available", in::available)
                    .step("readAllBytes", in::readAllBytes).step("readNBytes", () -> in.readNBytes(3))
                    .step("transferTo", () -> in.transferTo(new ByteArrayOutputStream())).step("close", () -> {
                        in.close();
                        return "done";
                    });
        });
        s.put("transferTo", base -> {
            Steps steps = new Steps();
            try (InputStream in = Files.newInputStream(base.resolve("f"))) {
                in.skip(2);
                steps.step("failing", () -> in.transferTo(new FailingStream())).step("null", () -> in.transferTo(null));
            }
            try (InputStream in = Files.newInputStream(base.resolve("f"))) {
                OutputStream closed = Files.newOutputStream(base.resolve("closed"));
                closed.close();
                steps.step("intoClosedChannelStream", () -> in.transferTo(closed));
            }
            try (InputStream in = Files.newInputStream(base.resolve("f"));
                    OutputStream out = Files.newOutputStream(base.resolve("copy"), StandardOpenOption.CREATE,
                            StandardOpenOption.APPEND)) {
                in.skip(3);
                out.write(new byte[] {42});
                steps.step("intoChannelStream", () -> in.transferTo(out)).step("thenRead", in::read);
            }
            try (InputStream in = Files.newInputStream(base.resolve("f"))) {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                steps.step("intoBytes", () -> in.transferTo(bytes) + " " + Arrays.toString(bytes.toByteArray()));
            }
            return steps;
        });
        s.put("transferToPipeAndSocket", base -> {
            Steps steps = new Steps();
            java.nio.channels.Pipe pipe = java.nio.channels.Pipe.open();
            try (InputStream in = Files.newInputStream(base.resolve("f"));
                    java.nio.channels.Pipe.SinkChannel sink = pipe.sink();
                    java.nio.channels.Pipe.SourceChannel source = pipe.source()) {
                in.skip(1);
                steps.step("pipe", () -> in.transferTo(Channels.newOutputStream(sink)));
                ByteBuffer got = ByteBuffer.allocate(20);
                source.read(got);
                steps.step("pipeGot", () -> Arrays.toString(Arrays.copyOf(got.array(), got.position())));
                sink.configureBlocking(false);
                steps.step("nonBlockingPipe", () -> in.transferTo(Channels.newOutputStream(sink)));
            }
            try (java.nio.channels.ServerSocketChannel server = java.nio.channels.ServerSocketChannel.open()
                    .bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0));
                    java.net.Socket client = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(),
                            ((java.net.InetSocketAddress) server.getLocalAddress()).getPort());
                    java.nio.channels.SocketChannel accepted = server.accept();
                    InputStream in = Files.newInputStream(base.resolve("f"))) {
                in.skip(4);
                steps.step("socket", () -> in.transferTo(client.getOutputStream()));
                client.shutdownOutput();
                steps.step("socketGot", () -> Arrays.toString(Channels.newInputStream(accepted).readAllBytes()));
            }
            return steps;
        });
        s.put("interruptSetBeforeRead", base -> {
            try (InputStream in = Files.newInputStream(base.resolve("f"))) {
                Thread.currentThread().interrupt();
                Steps steps = new Steps().step("read", in::read).step("readAll", in::readAllBytes)
                        .step("stillInterrupted", () -> Thread.currentThread().isInterrupted());
                Thread.interrupted();
                return steps;
            }
        });
        s.put("inputOptions", base -> new Steps()
                .step("write", () -> Files.newInputStream(base.resolve("f"), StandardOpenOption.WRITE))
                .step("append", () -> Files.newInputStream(base.resolve("f"), StandardOpenOption.APPEND))
                .step("missing", () -> Files.newInputStream(base.resolve("nope")))
                .step("directory", () -> {
                    try (InputStream in = Files.newInputStream(base)) {
                        return in.read();
                    }
                })
                .step("nullOption", () -> Files.newInputStream(base.resolve("f"), (OpenOption) null))
                .step("truncateIgnored", () -> {
                    try (InputStream in = Files.newInputStream(base.resolve("f"), StandardOpenOption.TRUNCATE_EXISTING,
                            StandardOpenOption.DELETE_ON_CLOSE)) {
                        return in.read();
                    }
                })
                .step("existsAfterDeleteOnClose", () -> Files.exists(base.resolve("f")))
                .step("createIgnoredForReading", () -> Files.newInputStream(base.resolve("new"),
                        StandardOpenOption.CREATE))
                .step("noFollowOnLink", () -> {
                    Files.write(base.resolve("target"), new byte[] {4});
                    Files.createSymbolicLink(base.resolve("link"), base.resolve("target").getFileName());
                    return Files.newInputStream(base.resolve("link"), java.nio.file.LinkOption.NOFOLLOW_LINKS);
                })
                .step("dangling", () -> {
                    Files.createSymbolicLink(base.resolve("dangling"), base.resolve("none").getFileName());
                    return Files.newInputStream(base.resolve("dangling"));
                })
                .step("outputNoFollowOnLink", () -> Files.newOutputStream(base.resolve("link"),
                        java.nio.file.LinkOption.NOFOLLOW_LINKS))
                .step("outputThroughDangling", () -> {
                    try (OutputStream out = Files.newOutputStream(base.resolve("dangling"))) {
                        out.write(5);
                    }
                    return Files.readAllBytes(base.resolve("none"));
                }));
        s.put("copySameFile", base -> {
            Path f = base.resolve("f");
            Steps steps = new Steps();
            try (InputStream in = Files.newInputStream(f)) {
                steps.step("streamOntoItsFile", () -> Files.copy(in, f, StandardCopyOption.REPLACE_EXISTING));
            }
            try (OutputStream out = Files.newOutputStream(f)) {
                steps.step("fileIntoItsTruncatingStream", () -> Files.copy(f, out));
            }
            return steps;
        });
        assertAlike(s);
    }

    /**
     * Past the end of a file that shrank under it, the JDK's stream answers {@code available()}
     * with size minus position, a negative number, which {@link InputStream#available()} does not
     * allow ({@code new byte[in.available()]} would throw); the provider's answers 0, as the
     * contract says.
     */
    @Test
    void pastEndOfFileAvailableIsZero() throws Exception {
        Path file = fs.getPath(dir.path().toAbsolutePath().resolve("shrinks").toString());
        Files.write(file, new byte[10]);
        try (InputStream in = Files.newInputStream(file)) {
            assertThat(in.skip(8)).isEqualTo(8);
            Files.write(file, new byte[3]);
            assertThat(in.available()).isZero();
            assertThat(in.read()).isEqualTo(-1);
        }
    }

    @Test
    void outputStreamEdgeCasesAnswerAsThePlatformsStream() throws Exception {
        Map<String, Scenario> s = new LinkedHashMap<>();
        s.put("afterClose", base -> {
            OutputStream out = Files.newOutputStream(base.resolve("o"));
            out.write(1);
            out.close();
            return new Steps().step("write", () -> {
                out.write(2);
                return "done";
            }).step("writeArray", () -> {
                out.write(new byte[] {3});
                return "done";
            }).step("writeEmpty", () -> {
                out.write(new byte[0]);
                return "done";
            }).step("flush", () -> {
                out.flush();
                return "done";
            }).step("close", () -> {
                out.close();
                return "done";
            });
        });
        s.put("bounds", base -> {
            try (OutputStream out = Files.newOutputStream(base.resolve("o"))) {
                byte[] b = {1, 2, 3};
                return new Steps().step("negOff", () -> {
                    out.write(b, -1, 1);
                    return "done";
                }).step("tooLong", () -> {
                    out.write(b, 2, 2);
                    return "done";
                }).step("null", () -> {
                    out.write(null, 0, 1);
                    return "done";
                }).step("ok", () -> {
                    out.write(b, 1, 2);
                    out.flush();
                    return "done";
                });
            }
        });
        s.put("options", base -> new Steps()
                .step("read", () -> Files.newOutputStream(base.resolve("o"), StandardOpenOption.READ))
                .step("appendTruncate", () -> Files.newOutputStream(base.resolve("f"), StandardOpenOption.APPEND,
                        StandardOpenOption.TRUNCATE_EXISTING))
                .step("createNewExisting", () -> Files.newOutputStream(base.resolve("f"), StandardOpenOption.CREATE_NEW))
                .step("missingNoCreate", () -> Files.newOutputStream(base.resolve("m"), StandardOpenOption.WRITE))
                .step("nullOption", () -> Files.newOutputStream(base.resolve("f"), (OpenOption) null))
                .step("append", () -> {
                    try (OutputStream out = Files.newOutputStream(base.resolve("f"), StandardOpenOption.APPEND)) {
                        out.write(new byte[] {10, 11});
                    }
                    return Files.size(base.resolve("f"));
                })
                .step("defaultTruncates", () -> {
                    try (OutputStream out = Files.newOutputStream(base.resolve("f"))) {
                        out.write(12);
                    }
                    return Files.size(base.resolve("f"));
                })
                .step("directory", () -> Files.newOutputStream(base)));
        s.put("interruptSetBeforeWrite", base -> {
            try (OutputStream out = Files.newOutputStream(base.resolve("o"))) {
                Thread.currentThread().interrupt();
                Steps steps = new Steps().step("write", () -> {
                    out.write(new byte[] {5, 6});
                    return "done";
                }).step("stillInterrupted", () -> Thread.currentThread().isInterrupted());
                Thread.interrupted();
                return steps;
            }
        });
        assertAlike(s);
    }

    @Test
    void devicesAnswerAsThePlatformsStreams() throws Exception {
        Map<String, Scenario> s = new LinkedHashMap<>();
        s.put("devNull", base -> {
            Path devNull = base.getFileSystem().getPath("/dev/null");
            Path devZero = base.getFileSystem().getPath("/dev/zero");
            Steps steps = new Steps();
            try (InputStream in = Files.newInputStream(devNull)) {
                steps.step("read", in::read).step("available", in::available).step("skip", () -> in.skip(10))
                        .step("readAll", in::readAllBytes).step("readN", () -> in.readNBytes(5));
            }
            try (OutputStream out = Files.newOutputStream(devNull)) {
                steps.step("write", () -> {
                    out.write(new byte[1000]);
                    return "done";
                });
            }
            try (SeekableByteChannel ch = Files.newByteChannel(devNull, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                steps.step("channelWrite", () -> ch.write(ByteBuffer.allocate(5)))
                        .step("channelPosition", ch::position).step("channelSize", ch::size)
                        .step("channelSetPosition", () -> ch.position(7).position())
                        .step("channelTruncate", () -> ch.truncate(0).position())
                        .step("channelRead", () -> ch.read(ByteBuffer.allocate(1)));
            }
            try (InputStream in = Files.newInputStream(devZero)) {
                steps.step("zeroSkip", () -> in.skip(10)).step("zeroReadN", () -> in.readNBytes(3))
                        .step("zeroAvailable", () -> in.available() >= 0);
            }
            return steps;
        });
        assertAlike(s);
    }

    /**
     * A block device: a loop device on a file of 1 MiB made here ({@link LoopDevice}: skipped
     * where none can be set up). Its size is the device's (the JDK asks {@code BLKGETSIZE64}), not the inode's 0.
     */
    @Test
    void blockDeviceStreamsAndChannelsAnswerAsThePlatforms() throws Exception {
        Path image = dir.path().toAbsolutePath().resolve("image");
        Files.write(image, TestSupport.randomBytes(1 << 20, 5));
        try (LoopDevice loop = LoopDevice.over(image)) {
            String device = loop.path().toString();
            Map<String, Scenario> s = new LinkedHashMap<>();
            s.put("blockDevice", base -> {
                Path dev = base.getFileSystem().getPath(device);
                Steps steps = new Steps();
                try (InputStream in = Files.newInputStream(dev)) {
                    steps.step("available", in::available).step("read", () -> in.read() >= 0)
                            .step("availableAfterRead", in::available).step("skip", () -> in.skip(511))
                            .step("skipBack", () -> in.skip(-1)).step("availableAfterSkip", in::available)
                            .step("readN", () -> in.readNBytes(7).length)
                            .step("transferTo", () -> in.transferTo(new ByteArrayOutputStream()))
                            .step("availableAtEnd", in::available);
                }
                try (SeekableByteChannel ch = Files.newByteChannel(dev)) {
                    steps.step("size", ch::size).step("position", () -> ch.position(4096).position())
                            .step("read", () -> ch.read(ByteBuffer.allocate(16)))
                            .step("positionAfterRead", ch::position)
                            .step("readAtEnd", () -> ch.position(ch.size()).read(ByteBuffer.allocate(16)));
                }
                try (SeekableByteChannel ch = Files.newByteChannel(dev, StandardOpenOption.WRITE)) {
                    // The kernel refuses to truncate a block device: nothing is written here.
                    steps.step("truncate", () -> ch.truncate(0) == ch).step("sizeAfter", ch::size)
                            .step("truncateLarger", () -> ch.truncate(Long.MAX_VALUE) == ch);
                }
                return steps;
            });
            assertAlike(s);
        }
    }

    @Test
    void fifoStreamsAnswerAsThePlatformsStreams() throws Exception {
        Map<String, Scenario> s = new LinkedHashMap<>();
        s.put("fifo", base -> {
            Path fifo = Fifo.create(Path.of(base.toString()).resolve("p"));
            // A descriptor open for both reading and writing: neither open below waits for the other end.
            int holder = Posix.open(fifo, Posix.O_RDWR | Posix.O_CLOEXEC);
            InputStream in = Files.newInputStream(base.resolve("p"));
            try (OutputStream out = Files.newOutputStream(base.resolve("p"))) {
                out.write(new byte[] {1, 2, 3, 4, 5});
                out.flush();
                Steps steps = new Steps().step("available", in::available).step("read", in::read)
                        .step("skip", () -> in.skip(2)).step("availableAfterSkip", in::available)
                        .step("readN", () -> in.readNBytes(2));
                in.close();
                return steps.step("availableClosed", in::available).step("skipClosed", () -> in.skip(1));
            } finally {
                in.close();
                Posix.close(holder);
                Files.delete(fifo);
            }
        });
        s.put("fifoTransfers", base -> {
            Path fifo = Fifo.create(Path.of(base.toString()).resolve("q"));
            int holder = Posix.open(fifo, Posix.O_RDWR | Posix.O_CLOEXEC);
            Steps steps = new Steps();
            try (InputStream in = Files.newInputStream(base.resolve("q"))) {
                try (OutputStream out = Files.newOutputStream(base.resolve("q"));
                        InputStream file = Files.newInputStream(base.resolve("f"))) {
                    // A file's stream into the FIFO's stream (the file channel's transferTo).
                    steps.step("fileIntoFifo", () -> file.transferTo(out));
                }
                Posix.close(holder); // now the stream above was the last writer: the FIFO ends
                holder = -1;
                try (OutputStream copy = Files.newOutputStream(base.resolve("copy"))) {
                    // The FIFO's stream into a file's stream (the file channel's transferFrom).
                    steps.step("fifoIntoFile", () -> in.transferTo(copy));
                }
            } finally {
                if (holder >= 0) {
                    Posix.close(holder);
                }
                Files.delete(fifo);
            }
            return steps;
        });
        s.put("fifoChannel", base -> {
            Path fifo = Fifo.create(Path.of(base.toString()).resolve("r"));
            int holder = Posix.open(fifo, Posix.O_RDWR | Posix.O_CLOEXEC);
            try (SeekableByteChannel ch = Files.newByteChannel(base.resolve("r"), StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                return new Steps().step("write", () -> ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3})))
                        .step("position", ch::position).step("size", ch::size)
                        .step("setPosition", () -> ch.position(5) == ch)
                        .step("read", () -> ch.read(ByteBuffer.allocate(2)))
                        .step("truncate", () -> ch.truncate(0) == ch);
            } finally {
                Posix.close(holder);
                Files.delete(fifo);
            }
        });
        s.put("brokenPipe", base -> {
            Path fifo = Fifo.create(Path.of(base.toString()).resolve("b"));
            int holder = Posix.open(fifo, Posix.O_RDWR | Posix.O_CLOEXEC);
            try (OutputStream out = Files.newOutputStream(base.resolve("b"))) {
                Posix.close(holder); // no reader left
                holder = -1;
                return new Steps().step("write", () -> {
                    out.write(new byte[] {1});
                    return "done";
                }).step("writeAgain", () -> {
                    out.write(new byte[] {1});
                    return "done";
                });
            } finally {
                if (holder >= 0) {
                    Posix.close(holder);
                }
                Files.delete(fifo);
            }
        });
        s.put("devFull", base -> {
            Path devFull = base.getFileSystem().getPath("/dev/full");
            if (!Files.exists(devFull)) {
                return "no /dev/full";
            }
            try (OutputStream out = Files.newOutputStream(devFull)) {
                return new Steps().step("write", () -> {
                    out.write(new byte[10]);
                    return "done";
                }).step("flush", () -> {
                    out.flush();
                    return "done";
                });
            }
        });
        assertAlike(s);
    }

    /**
     * A stream on a FIFO that another thread closes while a virtual thread waits in a read (no
     * data) or a write (the pipe full): the call ends with the close. Not compared with the
     * platform: its stream's read on a virtual thread went on waiting after the close (JDK 25,
     * more than a minute), until the FIFO's last writer went.
     */
    @Test
    void closingAFifoStreamEndsTheCallWaitingOnIt() throws Exception {
        Path base = fs.getPath(dir.path().toAbsolutePath().toString());
        assertThat(closedWhileWaiting(base, "c", true)).isEqualTo("closed");
        assertThat(closedWhileWaiting(base, "w", false)).isEqualTo("closed");
    }

    /**
     * {@return how the call waiting on {@code name}, a new FIFO under {@code base}, ended when its
     * stream was closed: a close exception, whether the close came before or during the wait, as
     * "closed"}
     */
    private static String closedWhileWaiting(Path base, String name, boolean reading) throws Exception {
        Path fifo = Fifo.create(Path.of(base.toString()).resolve(name));
        int holder = Posix.open(fifo, Posix.O_RDWR | Posix.O_CLOEXEC);
        try {
            java.io.Closeable stream = reading ? Files.newInputStream(base.resolve(name))
                    : Files.newOutputStream(base.resolve(name));
            java.util.concurrent.atomic.AtomicReference<String> outcome = new java.util.concurrent.atomic.AtomicReference<>();
            Thread waiter = Thread.ofVirtual().start(() -> {
                try {
                    if (stream instanceof InputStream in) {
                        outcome.set("read " + in.read());
                    } else {
                        ((OutputStream) stream).write(new byte[1 << 20]);
                        outcome.set("wrote");
                    }
                } catch (java.nio.channels.ClosedChannelException e) {
                    outcome.set("closed"); // AsynchronousCloseException too, where the close came during the wait
                } catch (Throwable e) {
                    outcome.set(e.toString());
                }
            });
            Thread.sleep(200); // usually long enough for the call to wait; "closed" either way
            stream.close();
            waiter.join(TestSupport.HANG);
            return waiter.isAlive() ? "still waiting after the close" : outcome.get();
        } finally {
            Posix.close(holder);
            Files.delete(fifo);
        }
    }

    /**
     * A stream closed by another thread while a virtual thread reads it whole: the read returns
     * the whole file or ends with a close exception, never a short or altered result, and no
     * request or buffer is left behind (checked after each test).
     */
    @Test
    void closingAStreamWhileAnotherThreadReadsItEndsTheReadCleanly() throws Exception {
        Path file = fs.getPath(dir.path().toAbsolutePath().resolve("raced").toString());
        byte[] data = TestSupport.randomBytes(1 << 20, 11);
        Files.write(file, data);
        Map<String, Integer> outcomes = new java.util.TreeMap<>();
        for (int round = 0; round < 100; round++) {
            InputStream in = Files.newInputStream(file);
            java.util.concurrent.atomic.AtomicReference<String> outcome = new java.util.concurrent.atomic.AtomicReference<>();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    byte[] got = in.readAllBytes();
                    outcome.set(Arrays.equals(got, data) ? "whole file" : "wrong bytes: " + got.length);
                } catch (java.nio.channels.ClosedChannelException e) {
                    outcome.set("closed"); // AsynchronousCloseException too
                } catch (Throwable e) {
                    outcome.set(e.toString());
                }
            });
            for (int spin = 0; spin < round * 10; spin++) {
                Thread.onSpinWait();
            }
            in.close();
            TestSupport.joinAll(List.of(reader));
            outcomes.merge(outcome.get(), 1, Integer::sum);
        }
        assertThat(outcomes.keySet()).as("outcomes %s", outcomes).isSubsetOf("whole file", "closed");
    }

    @Test
    void twoThreadsWritingOneAppendingStreamLoseNoByte() throws Exception {
        Path file = fs.getPath(dir.path().toAbsolutePath().resolve("appended").toString());
        try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                byte value = (byte) (i + 1);
                threads.add(Thread.ofVirtual().start(() -> {
                    byte[] chunk = new byte[1000];
                    Arrays.fill(chunk, value);
                    try {
                        for (int n = 0; n < 200; n++) {
                            out.write(chunk);
                        }
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }));
            }
            TestSupport.joinAll(threads);
        }
        byte[] all = Files.readAllBytes(file);
        assertThat(all).hasSize(400_000);
        // Each write is whole: every 1000-byte block holds one writer's bytes.
        for (int block = 0; block < 400; block++) {
            byte first = all[block * 1000];
            for (int i = 1; i < 1000; i++) {
                assertThat(all[block * 1000 + i]).as("block %d", block).isEqualTo(first);
            }
        }
    }

    @Test
    void byteChannelEdgeCasesAnswerAsThePlatformsChannel() throws Exception {
        Map<String, Scenario> s = new LinkedHashMap<>();
        s.put("appendRead", base -> new Steps()
                .step("open", () -> Files.newByteChannel(base.resolve("f"), StandardOpenOption.APPEND,
                        StandardOpenOption.READ))
                .step("appendTruncate", () -> Files.newByteChannel(base.resolve("f"), StandardOpenOption.APPEND,
                        StandardOpenOption.TRUNCATE_EXISTING)));
        s.put("append", base -> {
            try (SeekableByteChannel ch = Files.newByteChannel(base.resolve("f"), StandardOpenOption.APPEND)) {
                return new Steps().step("position", ch::position).step("positionSet", () -> ch.position(2) == ch)
                        .step("positionAfterSet", ch::position)
                        .step("write", () -> ch.write(ByteBuffer.wrap(new byte[] {10, 11})))
                        .step("positionAfterWrite", ch::position).step("size", ch::size)
                        .step("read", () -> ch.read(ByteBuffer.allocate(1)))
                        .step("truncate", () -> ch.truncate(4).size()).step("positionAfterTruncate", ch::position)
                        .step("writeAfterTruncate", () -> ch.write(ByteBuffer.wrap(new byte[] {12})))
                        .step("positionEnd", ch::position);
            }
        });
        s.put("readWrite", base -> {
            try (SeekableByteChannel ch = Files.newByteChannel(base.resolve("f"), StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                return new Steps().step("negPosition", () -> ch.position(-1))
                        .step("negTruncate", () -> ch.truncate(-1)).step("maxPosition", () -> ch.position(Long.MAX_VALUE)
                                .position())
                        .step("readAtMax", () -> ch.read(ByteBuffer.allocate(4)))
                        .step("writeAtMax", () -> ch.write(ByteBuffer.wrap(new byte[] {1})))
                        .step("positionAfter", ch::position).step("size", ch::size)
                        .step("truncateLarger", () -> ch.truncate(100).size()).step("positionKept", ch::position)
                        .step("hole", () -> ch.position(14).write(ByteBuffer.wrap(new byte[] {7})))
                        .step("sizeWithHole", ch::size).step("truncateSmaller", () -> ch.truncate(12).position())
                        .step("readEmptyBuffer", () -> ch.read(ByteBuffer.allocate(0)))
                        .step("readReadOnly", () -> ch.position(0).read(ByteBuffer.allocate(2).asReadOnlyBuffer()))
                        .step("readNull", () -> ch.read(null));
            }
        });
        s.put("readOnlyChannel", base -> {
            try (SeekableByteChannel ch = Files.newByteChannel(base.resolve("f"))) {
                return new Steps().step("write", () -> ch.write(ByteBuffer.wrap(new byte[] {1})))
                        .step("truncate", () -> ch.truncate(1)).step("truncateSame", () -> ch.truncate(10))
                        .step("positionPastEnd", () -> ch.position(20).read(ByteBuffer.allocate(1)));
            }
        });
        s.put("writeOnlyChannel", base -> {
            try (SeekableByteChannel ch = Files.newByteChannel(base.resolve("f"), StandardOpenOption.WRITE)) {
                return new Steps().step("read", () -> ch.read(ByteBuffer.allocate(1)))
                        .step("writeFromStart", () -> ch.write(ByteBuffer.wrap(new byte[] {9, 9})))
                        .step("position", ch::position);
            }
        });
        s.put("farPosition", base -> {
            try (SeekableByteChannel ch = Files.newByteChannel(base.resolve("f"), StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                return new Steps().step("position", () -> ch.position(1L << 50).position())
                        .step("read", () -> ch.read(ByteBuffer.allocate(4)))
                        .step("write", () -> ch.write(ByteBuffer.wrap(new byte[] {1})))
                        .step("positionAfter", ch::position).step("size", ch::size);
            }
        });
        s.put("deleteOnClose", base -> {
            try (SeekableByteChannel ch = Files.newByteChannel(base.resolve("n"), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE, StandardOpenOption.SPARSE,
                    StandardOpenOption.DSYNC)) {
                ch.write(ByteBuffer.wrap(new byte[] {1, 2}));
            }
            return Files.exists(base.resolve("n"));
        });
        s.put("directory", base -> {
            try (SeekableByteChannel ch = Files.newByteChannel(base)) {
                return new Steps().step("read", () -> ch.read(ByteBuffer.allocate(1))).step("size", () -> ch.size() >= 0);
            }
        });
        s.put("closed", base -> {
            SeekableByteChannel ch = Files.newByteChannel(base.resolve("f"), StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            ch.close();
            return new Steps().step("isOpen", ch::isOpen).step("read", () -> ch.read(ByteBuffer.allocate(1)))
                    .step("write", () -> ch.write(ByteBuffer.allocate(1))).step("position", ch::position)
                    .step("setPosition", () -> ch.position(1)).step("size", ch::size)
                    .step("truncate", () -> ch.truncate(1)).step("close", () -> {
                        ch.close();
                        return "done";
                    });
        });
        assertAlike(s);
    }

    @Test
    void filesHelpersOnStreamsAnswerAsThePlatforms() throws Exception {
        Map<String, Scenario> s = new LinkedHashMap<>();
        s.put("text", base -> {
            Path t = base.resolve("t");
            Steps steps = new Steps();
            steps.step("writer", () -> {
                try (BufferedWriter w = Files.newBufferedWriter(t)) {
                    w.write("one\ntwo\r\nthree");
                }
                return Files.size(t);
            });
            steps.step("reader", () -> {
                try (BufferedReader r = Files.newBufferedReader(t)) {
                    return r.readLine() + "|" + r.readLine() + "|" + r.readLine() + "|" + r.readLine();
                }
            });
            steps.step("lines", () -> {
                try (Stream<String> lines = Files.lines(t)) {
                    return lines.toList();
                }
            });
            steps.step("linesParallel", () -> {
                try (Stream<String> lines = Files.lines(t).parallel()) {
                    return lines.sorted().toList();
                }
            });
            steps.step("readStringMalformed", () -> {
                Files.write(t, new byte[] {'a', (byte) 0xff});
                return Files.readString(t);
            });
            steps.step("writeStringUnmappable", () -> Files.writeString(t, "caf\u00e9 \u263a", StandardCharsets.US_ASCII));
            steps.step("afterUnmappable", () -> Files.readString(t, StandardCharsets.ISO_8859_1));
            steps.step("writerCreateNew", () -> Files.newBufferedWriter(t, StandardOpenOption.CREATE_NEW));
            steps.step("malformed", () -> {
                Files.write(t, new byte[] {'a', (byte) 0xff, '\n'});
                try (Stream<String> lines = Files.lines(t)) {
                    return lines.toList();
                }
            });
            return steps;
        });
        s.put("copy", base -> new Steps()
                .step("fromStream", () -> Files.copy(new ByteArrayInputStream(new byte[] {1, 2}), base.resolve("c")))
                .step("fromStreamExisting", () -> Files.copy(new ByteArrayInputStream(new byte[] {3}), base.resolve("c")))
                .step("fromStreamReplace", () -> Files.copy(new ByteArrayInputStream(new byte[] {3}), base.resolve("c"),
                        StandardCopyOption.REPLACE_EXISTING))
                .step("toStream", () -> {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    return Files.copy(base.resolve("f"), out) + Arrays.toString(out.toByteArray());
                })
                .step("toFailingStream", () -> Files.copy(base.resolve("f"), new FailingStream()))
                .step("toStreamMissing", () -> Files.copy(base.resolve("nope"), new ByteArrayOutputStream()))
                .step("fromFailingStream", () -> Files.copy(new InputStream() {
                    @Override
                    public int read() throws IOException {
                        throw new IOException("broken");
                    }
                }, base.resolve("d")))
                .step("leftAfterFailure", () -> Files.exists(base.resolve("d")))
                .step("overNonEmptyDirectory", () -> {
                    Files.createDirectories(base.resolve("dir/sub"));
                    return Files.copy(new ByteArrayInputStream(new byte[] {1}), base.resolve("dir"),
                            StandardCopyOption.REPLACE_EXISTING);
                })
                .step("overEmptyDirectory", () -> Files.copy(new ByteArrayInputStream(new byte[] {1}),
                        base.resolve("dir/sub"), StandardCopyOption.REPLACE_EXISTING)));
        s.put("asyncExecutors", base -> {
            Steps steps = new Steps();
            ExecutorService shutDown = Executors.newSingleThreadExecutor();
            shutDown.shutdown();
            steps.step("shutDownExecutor", () -> {
                try (AsynchronousFileChannel ch = AsynchronousFileChannel.open(base.resolve("f"),
                        Set.of(StandardOpenOption.READ), shutDown)) {
                    return ch.read(ByteBuffer.allocate(2), 0).get(10, TimeUnit.SECONDS);
                }
            });
            ExecutorService noThreads = Executors.newFixedThreadPool(1, r -> {
                throw new IllegalStateException("no threads today");
            });
            steps.step("throwingThreadFactory", () -> {
                try (AsynchronousFileChannel ch = AsynchronousFileChannel.open(base.resolve("f"),
                        Set.of(StandardOpenOption.READ), noThreads)) {
                    return ch.read(ByteBuffer.allocate(2), 0).get(10, TimeUnit.SECONDS);
                }
            });
            noThreads.shutdown();
            steps.step("unsupportedOption", () -> AsynchronousFileChannel.open(base.resolve("f"),
                    StandardOpenOption.APPEND));
            steps.step("missing", () -> AsynchronousFileChannel.open(base.resolve("nope"), StandardOpenOption.READ));
            return steps;
        });
        s.put("mismatch", base -> {
            Files.write(base.resolve("g"), new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
            Files.write(base.resolve("h"), new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 0});
            Files.write(base.resolve("e"), new byte[0]);
            return new Steps().step("same", () -> Files.mismatch(base.resolve("f"), base.resolve("f")))
                    .step("prefix", () -> Files.mismatch(base.resolve("f"), base.resolve("g")))
                    .step("last", () -> Files.mismatch(base.resolve("f"), base.resolve("h")))
                    .step("empty", () -> Files.mismatch(base.resolve("e"), base.resolve("f")))
                    .step("missing", () -> Files.mismatch(base.resolve("f"), base.resolve("nope")))
                    .step("directory", () -> Files.mismatch(base.resolve("f"), base));
        });
        assertAlike(s);
    }

    @Test
    void twoThreadsReadingOneStreamGetEveryByteOnce() throws Exception {
        Path file = fs.getPath(dir.path().toAbsolutePath().resolve("big").toString());
        byte[] data = TestSupport.randomBytes(1 << 20, 7);
        Files.write(file, data);
        AtomicInteger total = new AtomicInteger();
        ConcurrentHashMap<Thread, ByteArrayOutputStream> parts = new ConcurrentHashMap<>();
        try (InputStream in = Files.newInputStream(file)) {
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                threads.add(Thread.ofVirtual().start(() -> {
                    byte[] b = new byte[1000];
                    ByteArrayOutputStream mine = new ByteArrayOutputStream();
                    try {
                        for (int n; (n = in.read(b)) > 0; ) {
                            total.addAndGet(n);
                            mine.write(b, 0, n);
                        }
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    parts.put(Thread.currentThread(), mine);
                }));
            }
            TestSupport.joinAll(threads);
        }
        assertThat(total.get()).isEqualTo(data.length);
        assertThat(parts).hasSize(2);
    }

    @Test
    void asynchronousChannelIsThePlatformsAndKeepsItsContract() throws Exception {
        Path file = fs.getPath(dir.path().toAbsolutePath().resolve("a").toString());
        Files.write(file, new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
        ExecutorService executor = Executors.newFixedThreadPool(2);
        try (AsynchronousFileChannel ch = AsynchronousFileChannel.open(file,
                Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE), executor)) {
            ByteBuffer b = ByteBuffer.allocate(4);
            assertThat(ch.read(b, 2).get(10, TimeUnit.SECONDS)).isEqualTo(4);
            assertThat(b.array()).containsExactly(2, 3, 4, 5);
            assertThat(ch.write(ByteBuffer.wrap(new byte[] {7}), 12).get(10, TimeUnit.SECONDS)).isEqualTo(1);
            assertThat(ch.size()).isEqualTo(13);
            assertThat(ch.truncate(11).size()).isEqualTo(11);
            ch.force(true);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(1).asReadOnlyBuffer(), 0))
                    .isInstanceOf(IllegalArgumentException.class);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(1), -1))
                    .isInstanceOf(IllegalArgumentException.class);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> ch.write(ByteBuffer.allocate(1), -1))
                    .isInstanceOf(IllegalArgumentException.class);
            // An interrupted caller does not close it (unlike a FileChannel).
            Thread.currentThread().interrupt();
            Future<Integer> f = ch.read(ByteBuffer.allocate(1), 0);
            Thread.interrupted();
            assertThat(f.get(10, TimeUnit.SECONDS)).isEqualTo(1);
            assertThat(ch.isOpen()).isTrue();
            try (FileLock lock = ch.lock().get(10, TimeUnit.SECONDS)) {
                assertThat(lock.isValid()).isTrue();
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> ch.tryLock())
                        .isInstanceOf(java.nio.channels.OverlappingFileLockException.class);
            }
            // A handler that throws does not stop the channel; each handler is called once.
            CountDownLatch called = new CountDownLatch(1);
            ch.read(ByteBuffer.allocate(1), 0, null, new CompletionHandler<Integer, Void>() {
                @Override
                public void completed(Integer result, Void attachment) {
                    called.countDown();
                    throw new IllegalStateException("handler fails");
                }

                @Override
                public void failed(Throwable exc, Void attachment) {
                    called.countDown();
                }
            });
            assertThat(called.await(10, TimeUnit.SECONDS)).isTrue();
            // A handler that starts another read and waits for it, on the channel's own threads.
            java.util.concurrent.CompletableFuture<Integer> nested = new java.util.concurrent.CompletableFuture<>();
            ch.read(ByteBuffer.allocate(2), 0, null, new CompletionHandler<Integer, Void>() {
                @Override
                public void completed(Integer result, Void attachment) {
                    try {
                        nested.complete(result + ch.read(ByteBuffer.allocate(3), 5).get(10, TimeUnit.SECONDS));
                    } catch (Exception e) {
                        nested.completeExceptionally(e);
                    }
                }

                @Override
                public void failed(Throwable exc, Void attachment) {
                    nested.completeExceptionally(exc);
                }
            });
            assertThat(nested.get(20, TimeUnit.SECONDS)).isEqualTo(5);
            assertThat(ch.read(ByteBuffer.allocate(1), 1).get(10, TimeUnit.SECONDS)).isEqualTo(1);
        } finally {
            executor.shutdown();
            assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void asynchronousChannelClosedWithReadsPendingOnAFifoFailsEachHandlerOnce() throws Exception {
        Path fifo = Fifo.create(dir.path().toAbsolutePath().resolve("ap"));
        int holder = Posix.open(fifo, Posix.O_RDWR | Posix.O_CLOEXEC);
        try {
            Path p = fs.getPath(fifo.toString());
            Map<Integer, String> outcomes = new ConcurrentHashMap<>();
            AtomicInteger calls = new AtomicInteger();
            CountDownLatch done = new CountDownLatch(3);
            AsynchronousFileChannel ch = AsynchronousFileChannel.open(p, StandardOpenOption.READ);
            for (int i = 0; i < 3; i++) {
                ch.read(ByteBuffer.allocate(1), 0, i, new CompletionHandler<Integer, Integer>() {
                    @Override
                    public void completed(Integer result, Integer attachment) {
                        calls.incrementAndGet();
                        outcomes.put(attachment, "completed " + result);
                        done.countDown();
                    }

                    @Override
                    public void failed(Throwable exc, Integer attachment) {
                        calls.incrementAndGet();
                        outcomes.put(attachment, exc.getClass().getSimpleName());
                        done.countDown();
                    }
                });
            }
            ch.close();
            assertThat(done.await(30, TimeUnit.SECONDS)).as("every handler called").isTrue();
            // The platform's channel reads a FIFO with pread: one read may fail at once ("Illegal seek").
            assertThat(outcomes.values()).allMatch(o -> o.equals(AsynchronousCloseException.class.getSimpleName())
                    || o.equals("IOException"));
            assertThat(calls.get()).isEqualTo(3);
        } finally {
            Posix.close(holder);
        }
    }
}
