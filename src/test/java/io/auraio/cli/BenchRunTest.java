package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.auraio.AuraIO;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.w3c.dom.Document;

/** Short real runs of {@code auraio bench}: real files, real io_uring, real virtual threads. */
@ExtendWith(IoUringAvailable.class)
class BenchRunTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** Runs of {@code seconds} (plus a short ramp) over an 8 MiB temp file with 4 threads; one round unless given. */
    private String[] shortRun(String seconds, String... extra) {
        Stream<String> rounds = List.of(extra).contains("--rounds") ? Stream.of() : Stream.of("--rounds", "1");
        return Stream.of(Stream.of("bench", "--directory", dir.path().toString(), "--size", "8m", "--threads", "4",
                "--runtime", seconds, "--ramp", "0.2"), rounds, Stream.of(extra)).flatMap(x -> x).toArray(String[]::new);
    }

    private static Map<String, Object> obj(Map<String, Object> m, String key) {
        assertThat(m).containsKey(key);
        return MiniJson.object(m.get(key));
    }

    private static double num(Map<String, Object> m, String key) {
        assertThat(m).containsKey(key);
        return (Double) m.get(key);
    }

    @Test
    void bothEnginesAlternateAndWriteJsonWithRatioAndAWellFormedSvg() throws Exception {
        Path json = dir.resolve("out.json");
        Path svg = dir.resolve("out.svg");

        Cli.Result r = Cli.run(shortRun("0.6", "--engine", "both", "--rounds", "2", "--bs", "4k", "--json", json.toString(),
                "--plot", svg.toString()));

        assertThat(r.exitCode()).as("stderr: %s", r.err()).isZero();
        Map<String, Object> root = MiniJson.object(MiniJson.parse(Files.readString(json)));
        assertThat(root.get("schema")).isEqualTo("auraio-bench/1");
        Map<String, Object> config = obj(root, "config");
        assertThat(config.get("rw")).isEqualTo("randread");
        assertThat(num(config, "bs")).isEqualTo(4096);
        assertThat(num(config, "size")).isEqualTo(8 << 20);
        assertThat(config.get("engine")).isEqualTo("both");
        assertThat(config.get("tempFile")).isEqualTo(true);
        assertThat(obj(config, "aura")).containsKeys("rings", "queueDepth", "adaptive", "initialInFlight",
                "targetP99Ms", "ringSelect");

        List<Object> runs = MiniJson.array(root.get("runs"));
        assertThat(runs.stream().map(o -> MiniJson.object(o).get("engine") + "/" + MiniJson.object(o).get("round")))
                .as("A-B then B-A").containsExactly("aura/1.0", "filechannel/1.0", "filechannel/2.0", "aura/2.0");
        for (Object o : runs) {
            Map<String, Object> run = MiniJson.object(o);
            assertThat(num(run, "ops")).isPositive();
            assertThat(num(run, "reads")).isEqualTo(num(run, "ops"));
            assertThat(num(run, "bytes")).isEqualTo(num(run, "ops") * 4096);
            assertThat(num(run, "iops")).isCloseTo(num(run, "ops") / num(run, "seconds"), within(1.0));
            Map<String, Object> lat = obj(run, "latencyUs");
            assertThat(num(lat, "p50")).isPositive().isLessThanOrEqualTo(num(lat, "p90"));
            assertThat(num(lat, "p90")).isLessThanOrEqualTo(num(lat, "p99"));
            assertThat(num(lat, "p99")).isLessThanOrEqualTo(num(lat, "p99_9"));
            assertThat(num(lat, "p99_9")).isLessThanOrEqualTo(num(lat, "max"));
            assertThat(num(run, "cpuUsPerOp")).isPositive();
            assertThat(num(run, "osThreadsAtStart")).isPositive();
            assertThat(num(run, "osThreadsPeak")).isGreaterThanOrEqualTo(num(run, "osThreadsAtStart"));
            assertThat(run.get("allocBytesPerOp")).as("heap bytes per op").isInstanceOf(Double.class);
            Map<String, Object> shares = obj(run, "opsPerThread");
            double threads = num(config, "threads");
            assertThat(num(shares, "min")).isLessThanOrEqualTo(num(shares, "median"));
            assertThat(num(shares, "median")).isLessThanOrEqualTo(num(shares, "max"));
            assertThat(num(shares, "min") * threads).isLessThanOrEqualTo(num(run, "ops"));
            assertThat(num(shares, "max") * threads).isGreaterThanOrEqualTo(num(run, "ops"));
            assertThat(num(shares, "max")).as("some thread did operations").isPositive();
            assertThat(MiniJson.array(run.get("histogramNs"))).isNotEmpty();
            double histogramCount = MiniJson.array(run.get("histogramNs")).stream()
                    .mapToDouble(b -> (Double) MiniJson.array(b).get(1)).sum();
            assertThat(histogramCount).isEqualTo(num(run, "ops"));
            assertThat(MiniJson.array(run.get("timeline"))).isNotEmpty();
        }
        Map<String, Object> aura = MiniJson.object(runs.get(0));
        assertThat(aura.get("engine")).isEqualTo("aura");
        assertThat(MiniJson.array(aura.get("aimd"))).as("AIMD trajectory starts with a phase per ring").isNotEmpty();
        assertThat(MiniJson.object(MiniJson.array(aura.get("timeline")).getFirst()).get("inFlightLimit"))
                .isInstanceOf(Double.class);
        Map<String, Object> channel = MiniJson.object(runs.get(1));
        assertThat(MiniJson.array(channel.get("aimd"))).isEmpty();
        assertThat(MiniJson.object(MiniJson.array(channel.get("timeline")).getFirst()).get("inFlightLimit")).isNull();

        Map<String, Object> summary = obj(root, "summary");
        assertThat(num(obj(summary, "aura"), "runs")).isEqualTo(2);
        assertThat(num(obj(summary, "filechannel"), "osThreadsAdded")).isNotNegative();
        assertThat(num(obj(summary, "aura"), "iops")).isCloseTo(
                (num(aura, "iops") + num(MiniJson.object(runs.get(3)), "iops")) / 2, within(1.0));
        double ratio = num(obj(summary, "ratioAuraToFilechannel"), "iops");
        assertThat(ratio).isCloseTo(num(obj(summary, "aura"), "iops") / num(obj(summary, "filechannel"), "iops"),
                within(1e-3));

        Document doc = DocumentBuilderFactory.newDefaultInstance().newDocumentBuilder().parse(svg.toFile());
        assertThat(doc.getDocumentElement().getTagName()).isEqualTo("svg");
        // throughput and p99 for all four runs, in-flight limit for the two AuraFile runs only
        assertThat(doc.getElementsByTagName("polyline").getLength()).isEqualTo(10);

        assertThat(r.out()).contains("ratio aura/filechannel: IOPS");
        assertThat(r.out()).as("the header names the io_uring binding")
                .contains("aura: io_uring binding " + AuraIO.binding() + " (");
        assertThat(dir.path()).as("the temp file is deleted").isDirectoryNotContaining("glob:**/auraio-bench-*");
    }

    @Test
    void outputThatIsNotATerminalGetsPlainPeriodicLinesAndAReport() {
        Cli.Result r = Cli.run(shortRun("2.2", "--engine", "aura", "--buffered"));

        assertThat(r.exitCode()).as("stderr: %s", r.err()).isZero();
        assertThat(r.out()).doesNotContain("\r");
        List<String> status = r.out().lines().filter(l -> l.matches("aura +r1 +\\d+\\.\\d/2\\.2s .* IOPS .*")).toList();
        assertThat(status).as("one status line per second").hasSizeBetween(2, 3);
        assertThat(status).allSatisfy(l -> assertThat(l).contains("MB/s", "p50", "p99", "ring0 lim"));
        assertThat(r.out()).contains("randread bs=4k size=8m buffered threads=4", "aura round 1:", "latency: p50",
                "p99.9", "CPU/op", "OS threads peak", "at start", "B/op", "AIMD", "latency histogram (us):", "summary");
    }

    @Test
    void randomWritesWithFsyncCountWritesAndFsyncs() {
        Cli.Result r = Cli.run(shortRun("1", "--engine", "aura", "--rw", "randwrite", "--fsync", "4", "--json", "-"));

        assertThat(r.exitCode()).as("stderr: %s", r.err()).isZero();
        Map<String, Object> run = MiniJson.object(MiniJson.array(MiniJson.object(MiniJson.parse(r.out())).get("runs")).getFirst());
        assertThat(num(run, "writes")).isPositive();
        assertThat(num(run, "reads")).isZero();
        assertThat(num(run, "fsyncs")).isPositive();
        assertThat(r.err()).as("text report goes to stderr with --json -").contains("aura round 1:");
    }

    @Test
    void livenessRunsATickerBesideTheReaders() {
        Cli.Result r = Cli.run(shortRun("1", "--engine", "filechannel", "--rw", "read", "--liveness", "--json", "-"));

        assertThat(r.exitCode()).as("stderr: %s", r.err()).isZero();
        Map<String, Object> run = MiniJson.object(MiniJson.array(MiniJson.object(MiniJson.parse(r.out())).get("runs")).getFirst());
        Map<String, Object> liveness = obj(run, "liveness");
        assertThat(num(liveness, "periodMs")).isEqualTo(1.0);
        assertThat(num(liveness, "ticks")).isPositive();
        assertThat(num(liveness, "expectedTicks")).isPositive();
        assertThat(obj(liveness, "latenessUs")).containsKeys("p50", "p99", "max");
    }
}
