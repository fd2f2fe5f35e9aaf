package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.FallbackProbe;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.ForkedJUnit;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.PrintAvailability;
import io.auraio.testing.SeccompRefusal;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.UringFailShim;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Each real reason io_uring cannot be used, made to happen in a forked JVM: a seccomp filter that
 * refuses the io_uring system calls with EPERM (a container runtime's default profile) or ENOSYS,
 * installed by that JVM itself ({@link SeccompRefusal}), through either binding; ring setup refused
 * by the liburing shim (EPERM, ENOMEM as under a low memlock limit, ENOSYS as on a kernel without
 * io_uring); and, where {@code -Dauraio.binding=liburing} insists on it, liburing that cannot be
 * loaded. In each, {@link FallbackProbe} writes, reads and copies a file through {@link AuraFile}
 * and {@link AuraFiles}: the backend must be {@link Backend#JDK}, the data right, exactly one
 * warning logged that names the cause, and {@link Engine#create()} must fail naming it too. By
 * default a liburing that cannot be loaded is no reason: the syscall binding serves instead.
 *
 * <p>The shim replaces liburing, so its tests run the liburing binding explicitly.
 */
class FallbackTest {
    /** The shim stands in for liburing.so.2: only the liburing binding goes through it. */
    private static final Map<String, String> LIBURING_BINDING = Map.of(AuraIO.BINDING_PROPERTY, "liburing");

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private ForkedJvm.Result probe(Map<String, String> env, Map<String, String> properties, String... jvmArgs)
            throws Exception {
        ForkedJvm jvm = ForkedJvm.of(FallbackProbe.class).jvmArgs(jvmArgs).env(env).args(dir.path().toString());
        properties.forEach(jvm::property);
        return jvm.run();
    }

    private static Properties stdout(ForkedJvm.Result r) {
        Properties p = new Properties();
        p.putAll(r.values());
        return p;
    }

    private static List<String> warnings(ForkedJvm.Result r) {
        // java.util.logging's default console format puts "WARNING: <message>" on a line of its own.
        return r.stderr().lines().filter(l -> l.startsWith("WARNING:")).toList();
    }

    /** The checks every real cause must pass; {@code cause} is a piece of text naming it. */
    private static void assertFellBackNaming(ForkedJvm.Result r, String cause) throws IOException {
        assertThat(r.exitCode()).as("%s", r).isZero();
        Properties out = stdout(r);
        assertThat(out.getProperty("backend")).as("%s", r).isEqualTo("JDK");
        assertThat(out.getProperty("fileBackend")).isEqualTo("JDK");
        assertThat(out.getProperty("data")).as("%s", r).isEqualTo("ok");
        assertThat(out.getProperty("fallbackCause")).contains(cause);
        assertThat(warnings(r)).as("%s", r).singleElement().asString()
                .contains(cause).contains("fall back to the JDK's FileChannel");
        assertThat(out.getProperty("engineCreate")).as("%s", r).contains(cause);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "EPERM,  1, Operation not permitted, io_uring_disabled",
        "ENOMEM, 12, Cannot allocate memory, ulimit -l",
        "ENOSYS, 38, Function not implemented, kernel has no io_uring",
    })
    void ringSetupRefusedFallsBackToTheJdk(String errno, int number, String message, String hint) throws Exception {
        FixtureAvailability.assumeUringFailShim();
        ForkedJvm.Result r = probe(UringFailShim.environment(errno), LIBURING_BINDING);

        assertFellBackNaming(r, message);
        assertThat(stdout(r).getProperty("binding")).isEqualTo("liburing");
        Properties out = stdout(r);
        assertThat(out.getProperty("engineCreate")).contains(hint);
        assertThat(out.getProperty("engineCreateErrno")).isEqualTo(Integer.toString(number));
    }

    @Test
    void memlockRunningOutAfterTheFirstRingFallsBackToo() throws Exception {
        // The first ring of the default engine is set up, the second is refused: what a memlock
        // limit that fits one ring does. The engine must give its first ring back and fail whole.
        FixtureAvailability.assumeUringFailShim();
        // Two CPUs seen, so two rings (one per CPU): on a one-CPU machine the default engine had one
        // ring, the shim refused nothing, and the probe ran on io_uring.
        ForkedJvm.Result r = probe(UringFailShim.environment("ENOMEM", 1, UringFailShim.Mechanism.LIBRARY_PATH),
                LIBURING_BINDING, "-XX:ActiveProcessorCount=2");

        assertFellBackNaming(r, "Cannot allocate memory");
    }

    /** {@return a directory holding a {@code liburing.so.2} that is not a shared library, for LD_LIBRARY_PATH} */
    private Map<String, String> brokenLiburing() throws IOException {
        // dlopen("liburing.so.2") takes the first file of that name on LD_LIBRARY_PATH; one that is
        // not a shared library fails the load, as a missing liburing does (the JDK reports both as
        // "Cannot open library"). .ci/run also hides the real file from one process (unshare -m).
        Path libs = Files.createDirectories(dir.resolve("libs"));
        Files.writeString(libs.resolve("liburing.so.2"), "not a shared library\n");
        String inherited = System.getenv("LD_LIBRARY_PATH");
        return Map.of("LD_LIBRARY_PATH", inherited == null || inherited.isBlank() ? libs.toString()
                : libs + ":" + inherited);
    }

    /** The checks of a JVM that uses io_uring through the syscall binding, with no warning. */
    private static void assertIoUringThroughSyscalls(ForkedJvm.Result r) throws IOException {
        assertThat(r.exitCode()).as("%s", r).isZero();
        Properties out = stdout(r);
        assertThat(out.getProperty("backend")).as("%s", r).isEqualTo("IO_URING");
        assertThat(out.getProperty("fileBackend")).as("%s", r).isEqualTo("IO_URING");
        assertThat(out.getProperty("binding")).as("%s", r).isEqualTo("syscall");
        assertThat(out.getProperty("data")).as("%s", r).isEqualTo("ok");
        assertThat(out.getProperty("fallbackCause")).isEmpty();
        assertThat(out.getProperty("engineCreate")).as("%s", r).startsWith("created with");
        assertThat(warnings(r)).as("%s", r).isEmpty();
    }

    @Test
    @ExtendWith(IoUringAvailable.class)
    void liburingThatCannotBeLoadedSelectsTheSyscallBinding() throws Exception {
        // What a machine without liburing2 gets: io_uring all the same, no warning.
        ForkedJvm.Result r = probe(brokenLiburing(), Map.of(AuraIO.BINDING_PROPERTY, "auto"));

        assertIoUringThroughSyscalls(r);
    }

    @Test
    @ExtendWith(IoUringAvailable.class)
    void liburingWithoutTheIoUringCallsSelectsTheSyscallBinding() throws Exception {
        ForkedJvm.Result r = probe(stubLiburing(), Map.of(AuraIO.BINDING_PROPERTY, "auto"));

        assertIoUringThroughSyscalls(r);
    }

    @Test
    void liburingThatCannotBeLoadedFallsBackWhereTheLiburingBindingIsRequired() throws Exception {
        ForkedJvm.Result r = probe(brokenLiburing(), LIBURING_BINDING);

        assertFellBackNaming(r, "Cannot open library: liburing.so.2");
        assertThat(stdout(r).getProperty("engineCreate")).contains("install liburing2")
                .contains("-Dauraio.binding=liburing");
    }

    @Test
    void unavailabilityCauseNamesWhyLiburingCannotBeLoaded() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(PrintAvailability.class).env(brokenLiburing())
                .property(AuraIO.BINDING_PROPERTY, "liburing").run();

        assertThat(r.exitCode()).as("%s", r).isZero();
        assertThat(stdout(r).getProperty("available")).isEqualTo("false");
        // Not just "java.lang.ExceptionInInitializerError", which says nothing.
        assertThat(stdout(r).getProperty("cause")).contains("Cannot open library: liburing.so.2");
    }

    /** {@return LD_LIBRARY_PATH naming the fixtures' link-time stub: a liburing.so.2 without any io_uring symbol} */
    private Map<String, String> stubLiburing() throws IOException {
        FixtureAvailability.assumeUringFailShim();
        Path stub = FixtureAvailability.buildDirectory().resolve("stub").resolve("liburing-real.so.2");
        assumeTrue(Files.isRegularFile(stub), "the fixtures' stub library is missing: " + stub);
        Path libs = Files.createDirectories(dir.resolve("stub-libs"));
        Files.createSymbolicLink(libs.resolve("liburing.so.2"), stub);
        return Map.of("LD_LIBRARY_PATH", libs.toString());
    }

    @Test
    void liburingWithoutTheIoUringCallsFallsBackWhereTheLiburingBindingIsRequired() throws Exception {
        // An old or broken liburing.so.2.
        ForkedJvm.Result r = probe(stubLiburing(), LIBURING_BINDING);

        assertFellBackNaming(r, "native symbol not found: io_uring_setup");
    }

    @ParameterizedTest(name = "{0} through the {1} binding")
    @CsvSource({
        "EPERM,  liburing, 1,  Operation not permitted,  a seccomp profile",
        "EPERM,  syscall,  1,  Operation not permitted,  a seccomp profile",
        "ENOSYS, liburing, 38, Function not implemented, kernel has no io_uring",
        "ENOSYS, syscall,  38, Function not implemented, kernel has no io_uring",
    })
    void ioUringRefusedBySeccompFallsBackToTheJdk(String errno, String binding, int number, String message,
                                                  String hint) throws Exception {
        if (binding.equals("liburing")) {
            FixtureAvailability.assumeLiburing();
        }
        ForkedJvm.Result r = SeccompRefusal.jvm(errno).property(AuraIO.BINDING_PROPERTY, binding)
                .args(FallbackProbe.class.getName(), dir.path().toString()).run();

        assertFellBackNaming(r, message);
        Properties out = stdout(r);
        assertThat(out.getProperty("binding")).isEqualTo(binding);
        assertThat(out.getProperty("engineCreate")).contains(hint);
        assertThat(out.getProperty("engineCreateErrno")).isEqualTo(Integer.toString(number));
    }

    @Test
    void thePropertyChoosesTheJdkWithoutAWarning() throws Exception {
        ForkedJvm.Result r = probe(Map.of(), Map.of(AuraIO.BACKEND_PROPERTY, "jdk"));

        assertThat(r.exitCode()).as("%s", r).isZero();
        Properties out = stdout(r);
        assertThat(out.getProperty("backend")).isEqualTo("JDK");
        assertThat(out.getProperty("fileBackend")).isEqualTo("JDK");
        assertThat(out.getProperty("data")).isEqualTo("ok");
        assertThat(out.getProperty("fallbackCause")).isEqualTo("-Dauraio.backend=jdk");
        assertThat(warnings(r)).as("%s", r).isEmpty();
        if (AuraIO.isAvailable()) {
            assertThat(out.getProperty("engineCreate")).as("explicit engines still use io_uring")
                    .startsWith("created with");
        }
    }

    @Test
    void ioUringRequestedByThePropertyNeverFallsBack() throws Exception {
        FixtureAvailability.assumeUringFailShim();
        ForkedJvm.Result r = probe(UringFailShim.environment("EPERM"), Map.of(AuraIO.BACKEND_PROPERTY, "io_uring",
                AuraIO.BINDING_PROPERTY, "liburing"));

        assertThat(r.exitCode()).as("%s", r).isNotZero();
        assertThat(stdout(r).getProperty("backend")).isEqualTo("IO_URING");
        assertThat(r.stderr()).contains("AuraIOException").contains("Operation not permitted");
        assertThat(warnings(r)).isEmpty();
    }

    private static ForkedJvm.Result runContractSuites(ForkedJvm jvm) throws Exception {
        jvm.property(FixtureAvailability.DIR_PROPERTY, FixtureAvailability.buildDirectory().toString());
        if (FixtureAvailability.required()) {
            jvm.property(FixtureAvailability.REQUIRED_PROPERTY, "true");
        }
        return jvm.property("basedir", FixtureAvailability.projectDirectory().toString())
                .args(FallbackContractTest.class.getName(), AuraFilesTest.class.getName(),
                        AuraFileChannelContractTest.class.getName())
                .run();
    }

    private static void assertAllPassed(ForkedJvm.Result r) throws IOException {
        assertThat(r.exitCode()).as("%s", r).isZero();
        Properties out = stdout(r);
        assertThat(Integer.parseInt(out.getProperty("tests.found"))).as("%s", r).isGreaterThan(20);
        assertThat(out.getProperty("tests.failed")).as("%s", r).isEqualTo("0");
        // Only tests that need a fixture this machine lacks (faultfs) may be aborted, i.e. skipped with
        // the reason; where fixtures are required they fail instead.
        int aborted = Integer.parseInt(out.getProperty("tests.aborted"));
        if (FixtureAvailability.required()) {
            assertThat(aborted).as("%s", r).isZero();
        }
        assertThat(Integer.parseInt(out.getProperty("tests.succeeded")))
                .isEqualTo(Integer.parseInt(out.getProperty("tests.found")) - aborted);
    }

    @Test
    void theAuraFileAuraFilesAndAuraFileChannelContractsHoldInJdkMode() throws Exception {
        ForkedJvm.Result r = runContractSuites(ForkedJvm.of(ForkedJUnit.class)
                .property(AuraIO.BACKEND_PROPERTY, "jdk"));

        assertAllPassed(r);
    }

    @Test
    void theContractsHoldWhenIoUringIsRefused() throws Exception {
        FixtureAvailability.assumeUringFailShim();
        ForkedJvm.Result r = runContractSuites(ForkedJvm.of(ForkedJUnit.class).env(UringFailShim.environment("EPERM"))
                .property(AuraIO.BINDING_PROPERTY, "liburing"));

        assertAllPassed(r);
        assertThat(warnings(r)).singleElement().asString().contains("Operation not permitted");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"EPERM, Operation not permitted", "ENOSYS, Function not implemented"})
    void theContractsHoldUnderASeccompFilterThatRefusesIoUring(String errno, String message) throws Exception {
        // The binding of this run (-Dauraio.binding, passed on by ForkedJvm).
        ForkedJvm.Result r = runContractSuites(SeccompRefusal.jvm(errno).args(ForkedJUnit.class.getName()));

        assertAllPassed(r);
        assertThat(warnings(r)).as("%s", r).singleElement().asString().contains(message)
                .contains("fall back to the JDK's FileChannel");
    }

    /**
     * A first use while the process is out of file descriptors must not decide anything for good:
     * the failure is reported as what it is (EMFILE, an AuraIOException), and once descriptors are
     * freed io_uring is used, as if the shortage had never been.
     */
    @Test
    void runningOutOfFileDescriptorsIsATransientFailureNotAFallbackForGood() throws Exception {
        assumeTrue(AuraIO.isAvailable(), "io_uring is not usable here: " + AuraIO.unavailabilityCause().orElse(""));
        ForkedJvm.Result r = ForkedJvm.of(io.auraio.testing.DescriptorExhaustionProbe.class)
                .args(dir.path().toString()).run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        Properties out = stdout(r);
        assertThat(out.getProperty("first.available")).as("%s", r).isEqualTo("false");
        assertThat(out.getProperty("first.create")).as("%s", r).startsWith("AuraIOException errno=24")
                .contains("Too many open files");
        assertThat(out.getProperty("later.available")).as("%s", r).isEqualTo("true");
        assertThat(out.getProperty("later.backend")).as("%s", r).isEqualTo("IO_URING");
        assertThat(out.getProperty("later.create")).as("%s", r).startsWith("ok");
        assertThat(out.getProperty("later.open")).as("%s", r).isEqualTo("IO_URING");
        assertThat(warnings(r)).as("no fallback was announced: %s", r).isEmpty();
        // The JDK's lock needs no descriptor; AuraFileChannel's must not fail where it works.
        assertThat(out.getProperty("exhausted.jdkLock")).as("%s", r).isEqualTo("ok true");
        assertThat(out.getProperty("exhausted.auraLock")).as("%s", r).isEqualTo("ok true");
        assertThat(out.getProperty("exhausted.jdkDirectoryLock")).as("%s", r).isEqualTo("ok true true");
        assertThat(out.getProperty("exhausted.auraDirectoryLock")).as("%s", r).isEqualTo("ok true true");
    }
}
