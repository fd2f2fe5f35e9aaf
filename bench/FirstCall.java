import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a script's first call costs: a fresh JVM's first {@code AuraFiles.readAllBytes} of a small
 * file against {@code Files.readAllBytes}, each in a JVM of its own, alternated.
 *
 * <pre>
 * java -cp target/auraio-0.1.0-SNAPSHOT.jar bench/FirstCall.java [FILE] [ROUNDS]
 * </pre>
 * (from the repository's root).
 *
 * FILE defaults to /etc/services, ROUNDS to 5. Each round starts two JVMs (this script again, in a
 * mode that times one call, with {@code --enable-native-access=ALL-UNNAMED}); the time is the call
 * alone, measured inside the JVM, so the source launcher's compile is not in it. Prints each
 * round and the medians.
 */
public class FirstCall {
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--one")) {
            one(args[1], Path.of(args[2]));
            return;
        }
        Path file = Path.of(args.length > 0 ? args[0] : "/etc/services");
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        String java = ProcessHandle.current().info().command().orElse("java");
        String classPath = System.getProperty("java.class.path");
        String source = "bench/FirstCall.java"; // run from the repository's root, as the usage says
        List<Long> aura = new ArrayList<>();
        List<Long> jdk = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            for (String mode : round % 2 == 1 ? new String[] {"aura", "jdk"} : new String[] {"jdk", "aura"}) {
                Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", classPath, source,
                        "--one", mode, file.toString()).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes()).trim();
                if (p.waitFor() != 0 || !out.startsWith("us=")) {
                    throw new IOException(mode + " run failed: " + out);
                }
                long micros = Long.parseLong(out.substring(3));
                (mode.equals("aura") ? aura : jdk).add(micros);
                System.out.printf("round %d %-4s first readAllBytes %,8d us%n", round, mode, micros);
            }
        }
        System.out.printf("median: AuraFiles %,d us, Files %,d us%n", median(aura), median(jdk));
    }

    private static void one(String mode, Path file) throws IOException {
        long start = System.nanoTime();
        byte[] bytes = mode.equals("aura") ? io.auraio.AuraFiles.readAllBytes(file) : Files.readAllBytes(file);
        long micros = (System.nanoTime() - start) / 1000;
        if (bytes.length != Files.size(file)) {
            throw new IOException("read " + bytes.length + " bytes of " + Files.size(file));
        }
        System.out.println("us=" + micros);
    }

    private static long median(List<Long> values) {
        List<Long> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }
}
