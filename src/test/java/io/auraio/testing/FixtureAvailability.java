package io.auraio.testing;

import static org.junit.jupiter.api.Assumptions.abort;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Where the native test fixtures ({@code native-test-fixtures/}) are built and whether this machine
 * can use them. Tests call {@link #assumeFaultFs()}, {@link #mountFaultFs()} or
 * {@link #assumeUringFailShim()}: each skips the test with the precise reason (fixture not built
 * and how to build it, no {@code /dev/fuse}, mount refused) instead of failing it.
 *
 * <p>Where the fixtures must run (a CI machine that installs FUSE and a compiler), set
 * {@code -Dauraio.fixtures.required=true} or {@code AURAIO_FIXTURES_REQUIRED=1}: every such skip
 * becomes a failure.
 */
public final class FixtureAvailability {
    /** System property naming the fixtures' build directory (default {@code native-test-fixtures/build}). */
    public static final String DIR_PROPERTY = "auraio.fixtures.dir";
    /** System property that turns "fixture unavailable" skips into failures. */
    public static final String REQUIRED_PROPERTY = "auraio.fixtures.required";

    private static final String HOW_TO_BUILD = "build the fixtures with `make -C native-test-fixtures`"
            + " (needs gcc, make, pkg-config, libfuse3-dev, liburing2)";

    private FixtureAvailability() {}

    /** {@return the project directory: the {@code basedir} property Maven sets, else the working directory} */
    public static Path projectDirectory() {
        return Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize();
    }

    /** {@return the directory {@code make -C native-test-fixtures} builds into} */
    public static Path buildDirectory() {
        String dir = System.getProperty(DIR_PROPERTY);
        return dir != null ? Path.of(dir).toAbsolutePath().normalize()
                : projectDirectory().resolve("native-test-fixtures").resolve("build");
    }

    /** {@return whether unavailable fixtures fail tests instead of skipping them} */
    public static boolean required() {
        String env = System.getenv("AURAIO_FIXTURES_REQUIRED");
        return Boolean.getBoolean(REQUIRED_PROPERTY)
                || (env != null && !env.isEmpty() && !env.equals("0") && !env.equalsIgnoreCase("false"));
    }

    /** {@return why faultfs cannot be mounted here, or empty when it is worth trying} */
    public static Optional<String> faultFsUnavailable() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return Optional.of("faultfs needs Linux FUSE; this is " + System.getProperty("os.name"));
        }
        Path binary = FaultFs.binary();
        if (!Files.isRegularFile(binary)) {
            return Optional.of("faultfs is not built (" + binary + " is missing): " + HOW_TO_BUILD);
        }
        if (!Files.isExecutable(binary)) {
            return Optional.of(binary + " is not executable: rebuild with `make -C native-test-fixtures`");
        }
        Path fuse = Path.of("/dev/fuse");
        if (!Files.exists(fuse)) {
            return Optional.of("/dev/fuse is missing: the kernel has no FUSE or the container was started"
                    + " without it (docker: --device /dev/fuse --cap-add SYS_ADMIN)");
        }
        if (!Files.isReadable(fuse) || !Files.isWritable(fuse)) {
            return Optional.of("/dev/fuse is not readable and writable by this user");
        }
        return Optional.empty();
    }

    /** {@return why the io_uring failure shim cannot be used here, or empty when it can} */
    public static Optional<String> uringFailShimUnavailable() {
        Path shim = UringFailShim.library();
        if (!Files.isRegularFile(shim)) {
            return Optional.of("uring_fail.so is not built (" + shim + " is missing): " + HOW_TO_BUILD);
        }
        Path real = UringFailShim.realLiburingLink();
        if (!Files.exists(real)) { // follows the link: a dangling link is "missing"
            return Optional.of(real + " does not point at an existing liburing.so.2 (liburing upgraded or"
                    + " removed?): rebuild with `make -C native-test-fixtures clean all`");
        }
        return Optional.empty();
    }

    /**
     * {@return why liburing.so.2 cannot be loaded here, or empty when it can} Checked by the test's own
     * {@code dlopen}, not through the library.
     */
    public static Optional<String> liburingUnavailable() {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup("liburing.so.2", arena);
            return Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.of("liburing.so.2 cannot be loaded (" + e.getMessage() + "), so the liburing binding"
                    + " cannot be tested: install liburing2");
        }
    }

    /**
     * Skips the calling test (or fails it, if {@linkplain #required() required}) unless liburing.so.2
     * loads: only for tests of the liburing binding itself, which cannot run without it.
     */
    public static void assumeLiburing() {
        liburingUnavailable().ifPresent(FixtureAvailability::unavailable);
    }

    /** Skips the calling test (or fails it, if {@linkplain #required() required}) unless faultfs can be tried. */
    public static void assumeFaultFs() {
        faultFsUnavailable().ifPresent(FixtureAvailability::unavailable);
    }

    /** Skips the calling test (or fails it, if {@linkplain #required() required}) unless the shim is built. */
    public static void assumeUringFailShim() {
        uringFailShimUnavailable().ifPresent(FixtureAvailability::unavailable);
    }

    /**
     * Mounts a fresh faultfs ({@link FaultFs#mount(String)}); skips the calling test with the reason
     * when faultfs is unavailable or the mount is refused.
     *
     * @param name a short name for the mount's directories, e.g. the test class's name
     * @return the live mount; the caller closes it
     */
    public static FaultFs mountFaultFs(String name) throws IOException, InterruptedException {
        return mountFaultFs(name, new String[0]);
    }

    /**
     * As {@link #mountFaultFs(String)}, with options for the daemon: FUSE {@code -o} options such
     * as {@code "max_threads=8"}, or faultfs flags such as {@link FaultFs#SYNC_DIRECT_IO}.
     *
     * @param name        a short name for the mount's directories
     * @param fuseOptions as for {@link FaultFs#mount(String, String...)}
     * @return the live mount; the caller closes it
     */
    public static FaultFs mountFaultFs(String name, String... fuseOptions) throws IOException, InterruptedException {
        assumeFaultFs();
        try {
            return FaultFs.mount(name, fuseOptions);
        } catch (FaultFs.MountException e) {
            if (required()) {
                throw e;
            }
            return abort("faultfs could not be mounted: " + e.getMessage());
        }
    }

    private static void unavailable(String reason) {
        if (required()) {
            throw new AssertionError("native test fixture unavailable but " + REQUIRED_PROPERTY + " is set: " + reason);
        }
        abort(reason);
    }
}
