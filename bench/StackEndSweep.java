// A caller that runs out of stack inside a read (docs/design.md, "Known costs and open ends"):
// one thread recurses to every depth from where its stack ends back up, reading (or writing) 4 KiB of
// a file at the bottom of each, O_DIRECT or through the page cache, and counts the StackOverflowErrors thrown from
// inside the read, by where they were thrown (the first frames of this library, or the JDK's for
// FileChannel). It stops after 300 reads in a row complete, then checks that another thread can
// still read the file and close it, and close the engine, within 10 s: "still serves", "closed",
// "engine closed", or what hung.
//   java --enable-native-access=ALL-UNNAMED [-Xint | -XX:TieredStopAtLevel=1] \
//        -cp target/auraio-0.1.0-SNAPSHOT.jar bench/StackEndSweep.java aura|filechannel platform|virtual \
//        [direct-read|direct-write|buffered-read|buffered-write]
import com.sun.nio.file.ExtendedOpenOption;
import io.auraio.AuraFile;
import io.auraio.Engine;
import io.auraio.Options;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;

public class StackEndSweep {
    interface Reader {
        int read(ByteBuffer dst, long position) throws Exception;
        int write(ByteBuffer src, long position) throws Exception;
        void close() throws Exception;
    }

    static Reader reader;
    static final ByteBuffer buffer = ByteBuffer.allocateDirect(8192).alignedSlice(4096).limit(4096);
    static boolean inRead;
    static boolean writes;
    static long reads;

    // One method for the search of the stack's end and for the sweep, so that both run the same
    // frames: a method still interpreted has frames twice the size of a compiled one.
    static int descend(int depth, boolean thenRead) throws Exception {
        return depth > 0 ? descend(depth - 1, thenRead) + 1 : thenRead ? read() : 0;
    }

    static int read() throws Exception {
        buffer.clear().limit(4096);
        inRead = true;
        int n = writes ? reader.write(buffer, (reads++ % 64) * 4096) : reader.read(buffer, (reads++ % 64) * 4096);
        inRead = false;
        return n;
    }

    public static void main(String[] args) throws Exception {
        boolean aura = args[0].equals("aura");
        boolean virtual = args[1].equals("virtual");
        String what = args.length > 2 ? args[2] : "direct-read";
        boolean direct = what.startsWith("direct");
        writes = what.endsWith("write");
        Path file = Files.createTempFile(Path.of("/var/tmp"), "stack-end", ".bin");
        Files.write(file, new byte[64 * 4096]);
        Engine engine = aura ? Engine.create(Options.builder().ringCount(1).build()) : null;
        if (aura) {
            AuraFile f = direct ? AuraFile.open(engine, file, READ, WRITE, ExtendedOpenOption.DIRECT)
                    : AuraFile.open(engine, file, READ, WRITE);
            reader = new Reader() {
                public int read(ByteBuffer dst, long position) throws Exception { return f.read(dst, position); }
                public int write(ByteBuffer src, long position) throws Exception { return f.write(src, position); }
                public void close() throws Exception { f.close(); }
            };
        } else {
            FileChannel ch = direct ? FileChannel.open(file, READ, WRITE, ExtendedOpenOption.DIRECT)
                    : FileChannel.open(file, READ, WRITE);
            reader = new Reader() {
                public int read(ByteBuffer dst, long position) throws Exception { return ch.read(dst, position); }
                public int write(ByteBuffer src, long position) throws Exception { return ch.write(src, position); }
                public void close() throws Exception { ch.close(); }
            };
        }
        read(); // the first request has HotSpot asked whether C2 compiles: sweep after the answer
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("auraio-compilers")) {
                t.join();
            }
        }
        Map<String, Integer> sites = new TreeMap<>();
        Runnable sweep = () -> {
            try {
                read();
                for (int i = 0; i < 20_000; i++) {
                    descend(50, false); // compiled before the search, as during the sweep
                }
                int top = 1000;
                while (true) {
                    try {
                        descend(top, false);
                        top *= 2;
                    } catch (StackOverflowError e) {
                        break;
                    }
                }
                // The deepest recursion that completes; the sweep starts just above it, where not
                // even a request's first frames fit (higher while one completes there: the end
                // moves a little with the carrier a virtual thread runs on).
                int low = top / 2;
                int high = top;
                while (low < high) {
                    int mid = (low + high + 1) / 2;
                    try {
                        descend(mid, false);
                        low = mid;
                    } catch (StackOverflowError e) {
                        high = mid - 1;
                    }
                }
                top = low + 64;
                while (true) {
                    try {
                        descend(top, true);
                        top += 256;
                    } catch (StackOverflowError e) {
                        break;
                    }
                }
                int inside = 0;
                int completed = 0;
                int inARow = 0;
                for (int depth = top; depth > 0 && inARow < 300; depth--) {
                    inRead = false;
                    try {
                        descend(depth, true);
                        completed++;
                        inARow++;
                    } catch (StackOverflowError e) {
                        if (inRead) {
                            inside++;
                            inARow = 0;
                            sites.merge(site(e, aura), 1, Integer::sum);
                        }
                    }
                }
                System.out.println("overflows inside the read " + inside + ", reads completed " + completed);
            } catch (Exception e) {
                e.printStackTrace();
            }
        };
        Thread t = virtual ? Thread.ofVirtual().start(sweep) : Thread.ofPlatform().stackSize(512 * 1024).start(sweep);
        if (!t.join(java.time.Duration.ofSeconds(120))) {
            System.out.println("HUNG: the sweeping thread did not finish in 120 s");
        }
        sites.forEach((k, v) -> System.out.println("  " + v + " at " + k));
        Thread after = Thread.ofPlatform().daemon().start(() -> {
            try {
                buffer.clear().limit(4096);
                reader.read(buffer, 0);
                System.out.println("still serves");
                reader.close();
                System.out.println("closed");
                if (engine != null) {
                    engine.close();
                    System.out.println("engine closed");
                }
            } catch (Exception e) {
                e.printStackTrace();
            }
        });
        after.join(TimeUnit.SECONDS.toMillis(10));
        if (after.isAlive()) {
            System.out.println("HUNG: a read and the closes from another thread did not finish in 10 s");
        }
        Files.deleteIfExists(file);
        System.exit(after.isAlive() ? 1 : 0);
    }

    static String site(StackOverflowError e, boolean aura) {
        StringBuilder where = new StringBuilder();
        int frames = 0;
        for (StackTraceElement f : e.getStackTrace()) {
            boolean ours = aura ? f.getClassName().startsWith("io.auraio") : !f.getClassName().equals("StackEndSweep");
            if (ours && frames++ < 3) {
                where.append(f.getClassName().replaceAll(".*\\.", "")).append('.').append(f.getMethodName())
                        .append(':').append(f.getLineNumber()).append(frames < 3 ? " < " : "");
            }
        }
        return where.toString();
    }
}
