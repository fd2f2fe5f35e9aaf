package io.auraio.testing;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The io_uring setup failure shim ({@code native-test-fixtures/uring_fail.c}): environment for a
 * process (a {@link ForkedJvm}) whose {@code io_uring_setup} fails with a chosen errno, as on a
 * system with {@code io_uring_disabled} or seccomp (EPERM), a low memlock limit (ENOMEM) or a kernel
 * without io_uring (ENOSYS).
 *
 * <p>The shim is a library named {@code liburing.so.2} that defines the setup calls and leaves the
 * rest of liburing to the real library behind it. A plain {@code LD_PRELOAD} interposer would not
 * work: the JDK's {@code SymbolLookup.libraryLookup("liburing.so.2")} is {@code dlopen} plus
 * {@code dlsym(handle, ...)}, which searches only that library's own dependency tree. Either
 * mechanism below makes the {@code dlopen} return the shim.
 *
 * <p>Only the liburing binding goes through it: run the forked JVM with
 * {@code -Dauraio.binding=liburing} ({@code AuraIO.BINDING_PROPERTY}), or the syscall binding may
 * serve it without ever calling the shim.
 */
public final class UringFailShim {
    /** errno name or number the setup calls fail with; unset or empty: pass through. */
    public static final String FAIL_VARIABLE = "AURAIO_SHIM_FAIL";
    /** Number of setup calls let through before failing (default 0). */
    public static final String FAIL_AFTER_VARIABLE = "AURAIO_SHIM_FAIL_AFTER";
    /** Non-empty: the shim logs each intercepted call on stderr. */
    public static final String VERBOSE_VARIABLE = "AURAIO_SHIM_VERBOSE";

    /** How the shim gets in front of the real liburing. */
    public enum Mechanism {
        /**
         * {@code LD_PRELOAD=build/uring_fail.so}: loaded at start under the soname
         * {@code liburing.so.2}, so a later {@code dlopen("liburing.so.2")} returns it.
         */
        PRELOAD,
        /** {@code LD_LIBRARY_PATH=build/uring-shim}: {@code dlopen("liburing.so.2")} finds the shim first. */
        LIBRARY_PATH
    }

    private UringFailShim() {}

    /** {@return the shim library, {@code native-test-fixtures/build/uring_fail.so}} */
    public static Path library() {
        return FixtureAvailability.buildDirectory().resolve("uring_fail.so");
    }

    /** {@return the directory holding the shim as {@code liburing.so.2}, for {@link Mechanism#LIBRARY_PATH}} */
    public static Path libraryPathDirectory() {
        return FixtureAvailability.buildDirectory().resolve("uring-shim");
    }

    /** {@return the link to the real liburing the shim loads (made by the build)} */
    public static Path realLiburingLink() {
        return FixtureAvailability.buildDirectory().resolve("liburing-real.so.2");
    }

    /**
     * {@return environment variables that make every io_uring setup fail with {@code errno}}
     *
     * @param errno an errno name ({@code "EPERM"}, {@code "ENOMEM"}, {@code "ENOSYS"}, ...) or number
     */
    public static Map<String, String> environment(String errno) {
        return environment(errno, 0, Mechanism.PRELOAD);
    }

    /**
     * {@return environment variables that let {@code failAfter} setups succeed, then fail the rest with
     * {@code errno}} Existing {@code LD_PRELOAD} / {@code LD_LIBRARY_PATH} values of this process are
     * kept, after the shim.
     *
     * @param errno an errno name or number; {@code null} or empty: load the shim but fail nothing
     * @param failAfter setup calls to let through first (the availability probe is one)
     * @param mechanism how the shim is put in front of liburing
     */
    public static Map<String, String> environment(String errno, int failAfter, Mechanism mechanism) {
        Map<String, String> env = new LinkedHashMap<>();
        switch (mechanism) {
            case PRELOAD -> env.put("LD_PRELOAD", prepend(library().toString(), System.getenv("LD_PRELOAD"), ' '));
            case LIBRARY_PATH -> env.put("LD_LIBRARY_PATH",
                    prepend(libraryPathDirectory().toString(), System.getenv("LD_LIBRARY_PATH"), ':'));
        }
        env.put(FAIL_VARIABLE, errno == null ? "" : errno);
        env.put(FAIL_AFTER_VARIABLE, Integer.toString(failAfter));
        return env;
    }

    private static String prepend(String first, String existing, char separator) {
        return existing == null || existing.isBlank() ? first : first + separator + existing;
    }
}
