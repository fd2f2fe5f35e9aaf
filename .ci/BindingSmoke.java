import io.auraio.AuraFiles;
import io.auraio.AuraIO;
import io.auraio.Backend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * .ci/run's smoke test of the library in a process that cannot load liburing.so.2: run as
 * {@code java --enable-native-access=ALL-UNNAMED -cp target/classes .ci/BindingSmoke.java}. Prints
 * {@code smoke: ok binding=<binding> backend=<backend>} when a multi-chunk file round-trips through
 * AuraFiles and no fallback happened; exits 1 otherwise.
 */
public class BindingSmoke {
    public static void main(String[] args) throws Exception {
        String binding = AuraIO.binding();
        Backend backend = AuraIO.backend();
        byte[] data = new byte[3 * 1024 * 1024 + 7];
        new Random(1).nextBytes(data);
        Path dir = Files.createTempDirectory("auraio-smoke");
        try {
            Path file = dir.resolve("f");
            AuraFiles.write(file, data);
            boolean same = Arrays.equals(AuraFiles.readAllBytes(file), data)
                    && Arrays.equals(Files.readAllBytes(file), data);
            Files.delete(file);
            if (!same || backend != Backend.IO_URING) {
                System.out.println("smoke: FAILED binding=" + binding + " backend=" + backend + " data "
                        + (same ? "ok" : "differs") + " cause=" + AuraIO.fallbackCause().orElse(""));
                System.exit(1);
            }
            System.out.println("smoke: ok binding=" + binding + " backend=" + backend);
        } finally {
            Files.delete(dir);
        }
    }
}
