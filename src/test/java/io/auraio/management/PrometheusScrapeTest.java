package io.auraio.management;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.ObservedWorkload;
import io.auraio.testing.TestDirectory;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The shipped {@code docs/prometheus-jmx.yaml} with the Prometheus JMX exporter agent
 * (copied to {@code target/agents} by the build) in a forked JVM doing I/O: its {@code /metrics}
 * on a loopback port carries the AuraIO series.
 */
@ExtendWith(IoUringAvailable.class)
class PrometheusScrapeTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static final Path BASE = Path.of(System.getProperty("basedir", "."));
    private static final Path AGENT = BASE.resolve("target/agents/jmx_prometheus_javaagent.jar");
    private static final Path CONFIG = BASE.resolve("docs/prometheus-jmx.yaml");

    @Test
    void theExporterAgentScrapesTheEngineAndRingSeries() throws Exception {
        assumeTrue(Files.isRegularFile(AGENT), "the Prometheus JMX exporter agent was not fetched into " + AGENT
                + " (maven-dependency-plugin copy-prometheus-agent; io.prometheus.jmx:jmx_prometheus_javaagent)");
        int port = freeLoopbackPort();
        Process workload = new ProcessBuilder(ForkedJvm.of(ObservedWorkload.class)
                .jvmArgs("-javaagent:" + AGENT + "=127.0.0.1:" + port + ":" + CONFIG)
                .args("scrape", "2", dir.path().toString()).command())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(workload.getInputStream(),
                    StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("READY");
            String metrics = scrapeUntil(port, "auraio_ring_operations_total{engine=\"scrape\",ring=\"1\"}");
            assertThat(value(metrics, "auraio_operations_total{engine=\"scrape\"}")).isPositive();
            assertThat(value(metrics, "auraio_bytes_total{engine=\"scrape\"}")).isPositive();
            for (String ring : new String[] {"0", "1"}) {
                String labels = "{engine=\"scrape\",ring=\"" + ring + "\"}";
                assertThat(value(metrics, "auraio_ring_operations_total" + labels)).isNotNegative();
                assertThat(value(metrics, "auraio_ring_inflight_limit" + labels)).isPositive();
                assertThat(value(metrics, "auraio_ring_queue_depth" + labels)).isEqualTo(256);
                assertThat(value(metrics, "auraio_ring_phase" + labels)).isBetween(0.0, 5.0);
                assertThat(value(metrics, "auraio_ring_latency_p99_seconds" + labels)).isNotNegative();
            }
            assertThat(metrics).contains("# TYPE auraio_ring_bytes_total counter",
                    "# TYPE auraio_ring_inflight gauge", "auraio_ring_latency_seconds{engine=\"scrape\",quantile=\"0.99\"");
        } finally {
            workload.getOutputStream().close();
            if (!workload.waitFor(30, TimeUnit.SECONDS)) {
                workload.destroyForcibly();
            }
        }
    }

    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Scrapes until {@code series} appears (the agent's server starts with the JVM; the first scrape may race it). */
    private static String scrapeUntil(int port, String series) throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + port + "/metrics");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
                c.setConnectTimeout(5_000);
                c.setReadTimeout(10_000);
                try (var in = c.getInputStream()) {
                    last = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
                if (c.getResponseCode() == 200 && last.contains(series)) {
                    return last;
                }
            } catch (IOException notYet) {
                last = notYet.toString();
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no " + series + " in the scrape within 60 s; last answer:\n" + last);
    }

    private static double value(String metrics, String series) {
        Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(metrics);
        assertThat(m.find()).as("%s in\n%s", series, metrics).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
