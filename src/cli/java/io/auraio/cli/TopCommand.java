package io.auraio.cli;

import com.sun.tools.attach.AttachNotSupportedException;
import com.sun.tools.attach.VirtualMachine;
import java.io.IOException;
import java.io.PrintStream;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import javax.management.JMException;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code auraio top PID}: a live view of another JVM's AuraIO rings. Attaches through the JDK's
 * Attach API, starts (or finds) that JVM's local JMX agent, and reads the rings of every
 * {@code io.auraio:type=Engine} MXBean once per interval: one line per ring, busiest first, and
 * a total. On a terminal each frame replaces the last; otherwise frames are plain lines.
 * Reads only: nothing in the watched JVM changes but the JMX agent being started.
 */
@Command(name = "top", usageHelpAutoWidth = true,
        description = {"Live view of another JVM's AuraIO rings (Attach API + JMX): IOPS, MB/s, in flight / limit, "
                + "AIMD phase, P99 and queue depth per ring, refreshed every second."})
final class TopCommand implements Callable<Integer> {
    private static final String ENGINES = "io.auraio:type=Engine,*";
    private static final String HEADER = String.format(Locale.ROOT, "%-16s %4s %10s %9s %13s %-10s %8s %6s",
            "ENGINE", "RING", "IOPS", "MB/s", "INFLIGHT/LIM", "PHASE", "P99(ms)", "QUEUE");

    @Parameters(index = "0", paramLabel = "PID", description = "process id of a JVM running AuraIO")
    long pid;

    @Option(names = {"-n", "--iterations"}, paramLabel = "N",
            description = "frames to show, then exit (default: until interrupted)")
    int iterations;

    @Option(names = "--interval", paramLabel = "DURATION", converter = Durations.class,
            description = "time between frames, e.g. 1s, 500ms (default: 1s)")
    double interval = 1.0;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help")
    boolean help;

    private final PrintStream out;
    private final PrintStream err;
    private final boolean terminal;

    TopCommand(PrintStream out, PrintStream err, boolean terminal) {
        this.out = out;
        this.err = err;
        this.terminal = terminal;
    }

    /** One ring's counters at one moment. */
    private record Sample(String engine, int ring, long ops, long bytes, int inFlight, int limit, String phase,
                          double p99Millis, int queueDepth) {}

    @Override
    public Integer call() throws InterruptedException {
        if (pid <= 0) {
            err.println("auraio top: PID must be a positive process id (was " + pid + ")");
            return Auraio.USAGE;
        }
        if (iterations < 0 || !(interval > 0)) {
            err.println("auraio top: --iterations must be >= 0 and --interval > 0");
            return Auraio.USAGE;
        }
        String address;
        try {
            address = managementAgentAddress(pid);
        } catch (AttachNotSupportedException | IOException | RuntimeException e) {
            err.println("auraio top: cannot attach to JVM " + pid + ": " + e.getMessage()
                    + " (is it a running JVM of this user? a JVM started with -XX:+DisableAttachMechanism refuses)");
            return Auraio.FAILURE;
        }
        try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
            MBeanServerConnection server = connector.getMBeanServerConnection();
            Map<String, Sample> previous = read(server);
            if (previous.isEmpty()) {
                err.println("auraio top: JVM " + pid + " has no AuraIO engine (no " + ENGINES + " MXBean)");
                return Auraio.FAILURE;
            }
            long before = System.nanoTime();
            for (int frame = 0; iterations == 0 || frame < iterations; frame++) {
                Thread.sleep((long) (interval * 1000));
                Map<String, Sample> now = read(server);
                long at = System.nanoTime();
                show(previous, now, (at - before) / 1e9);
                previous = now;
                before = at;
            }
            return 0;
        } catch (IOException | JMException e) {
            err.println("auraio top: lost JVM " + pid + ": " + e);
            return Auraio.FAILURE;
        }
    }

    /** Starts the target's local JMX agent (or finds it running) and returns its loopback address. */
    private static String managementAgentAddress(long pid) throws AttachNotSupportedException, IOException {
        VirtualMachine vm = VirtualMachine.attach(Long.toString(pid));
        try {
            return vm.startLocalManagementAgent();
        } finally {
            vm.detach();
        }
    }

    /** Every ring of every engine, keyed by engine and ring. */
    private static Map<String, Sample> read(MBeanServerConnection server) throws IOException, JMException {
        Map<String, Sample> samples = new HashMap<>();
        Set<ObjectName> engines = server.queryNames(new ObjectName(ENGINES), null);
        for (ObjectName engine : engines) {
            String name = engine.getKeyProperty("name");
            CompositeData[] rings;
            try {
                rings = (CompositeData[]) server.getAttribute(engine, "RingStats");
            } catch (javax.management.InstanceNotFoundException closed) {
                continue; // closed between the query and the read
            }
            for (CompositeData r : rings) {
                int ring = (Integer) r.get("ring");
                samples.put(name + "#" + ring, new Sample(name, ring, (Long) r.get("opsCompleted"),
                        (Long) r.get("bytesTransferred"), (Integer) r.get("inFlight"), (Integer) r.get("inFlightLimit"),
                        (String) r.get("phase"), (Double) r.get("p99LatencyMillis"), (Integer) r.get("queueDepth")));
            }
        }
        return samples;
    }

    private record Row(Sample s, double iops, double mbps) {}

    private void show(Map<String, Sample> before, Map<String, Sample> now, double seconds) {
        List<Row> rows = new ArrayList<>();
        for (Map.Entry<String, Sample> e : now.entrySet()) {
            Sample s = e.getValue();
            Sample b = before.get(e.getKey());
            long ops = b == null ? 0 : Math.max(0, s.ops() - b.ops());
            long bytes = b == null ? 0 : Math.max(0, s.bytes() - b.bytes());
            rows.add(new Row(s, ops / seconds, bytes / seconds / 1e6));
        }
        rows.sort(Comparator.comparingDouble(Row::iops).reversed()
                .thenComparing(r -> r.s().engine()).thenComparingInt(r -> r.s().ring()));
        StringBuilder frame = new StringBuilder();
        if (terminal) {
            frame.append("\033[H\033[2J"); // home, clear: the frame replaces the last one
        }
        long engines = rows.stream().map(r -> r.s().engine()).distinct().count();
        frame.append(String.format(Locale.ROOT, "auraio top - pid %d - %d engine%s, %d ring%s - %s%n", pid, engines,
                engines == 1 ? "" : "s", rows.size(), rows.size() == 1 ? "" : "s",
                LocalTime.now().format(DateTimeFormatter.ofPattern("HH:mm:ss"))));
        frame.append(HEADER).append(System.lineSeparator());
        double iops = 0;
        double mbps = 0;
        int inFlight = 0;
        int limit = 0;
        double p99 = 0;
        for (Row r : rows) {
            Sample s = r.s();
            frame.append(String.format(Locale.ROOT, "%-16s %4d %10.0f %9.1f %13s %-10s %8.3f %6d%n", s.engine(),
                    s.ring(), r.iops(), r.mbps(), s.inFlight() + "/" + s.limit(), s.phase(), s.p99Millis(),
                    s.queueDepth()));
            iops += r.iops();
            mbps += r.mbps();
            inFlight += s.inFlight();
            limit += s.limit();
            p99 = Math.max(p99, s.p99Millis());
        }
        frame.append(String.format(Locale.ROOT, "%-16s %4s %10.0f %9.1f %13s %-10s %8.3f%n", "TOTAL", "", iops, mbps,
                inFlight + "/" + limit, "", p99));
        if (!terminal) {
            frame.append(System.lineSeparator());
        }
        out.print(frame);
        out.flush();
    }
}
