package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.module.ModuleFinder;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The bench command lives beside the library, not in it: the core classes (what the core jar packs)
 * hold no CLI or bench package, and nothing the CLI needs reaches the library's consumers.
 */
class CoreArtifactTest {
    private static final Path BASE = Path.of(System.getProperty("basedir", "."));

    @Test
    void coreClassesHoldNoCliOrBenchPackage() {
        var packages = ModuleFinder.of(BASE.resolve("target/classes")).find("io.auraio").orElseThrow()
                .descriptor().packages();

        assertThat(packages).isNotEmpty().noneMatch(p -> p.startsWith("io.auraio.cli") || p.contains("bench")
                || p.contains("jmh"));
        assertThat(BASE.resolve("target/cli-classes/io/auraio/cli/Auraio.class")).exists();
    }

    @Test
    void everyDependencyOutsideTestsIsOptionalSoNoneIsTransitive() throws Exception {
        var pom = DocumentBuilderFactory.newDefaultInstance().newDocumentBuilder().parse(BASE.resolve("pom.xml").toFile());
        // project/dependencies only: dependencyManagement and profiles (jmh) do not reach consumers.
        NodeList projectChildren = pom.getDocumentElement().getChildNodes();
        int checked = 0;
        for (int i = 0; i < projectChildren.getLength(); i++) {
            if (projectChildren.item(i) instanceof Element e && e.getTagName().equals("dependencies")) {
                NodeList deps = e.getElementsByTagName("dependency");
                for (int d = 0; d < deps.getLength(); d++) {
                    Element dep = (Element) deps.item(d);
                    String artifact = text(dep, "groupId") + ":" + text(dep, "artifactId");
                    String scope = text(dep, "scope");
                    if (!"test".equals(scope)) {
                        assertThat(text(dep, "optional")).as("%s must be optional (or test-scoped)", artifact)
                                .isEqualTo("true");
                        checked++;
                    }
                }
            }
        }
        assertThat(checked).as("picocli, at least").isPositive();
        assertThat(Files.readString(BASE.resolve("pom.xml"))).contains("<artifactId>picocli</artifactId>");
    }

    /**
     * Micrometer is declared (io.auraio.micrometer compiles against it) but optional; the
     * Prometheus exporter agent is no dependency at all, only a file the build copies for a test.
     */
    @Test
    void micrometerIsOptionalAndThePrometheusAgentIsNoDependency() throws Exception {
        var pom = DocumentBuilderFactory.newDefaultInstance().newDocumentBuilder().parse(BASE.resolve("pom.xml").toFile());
        NodeList projectChildren = pom.getDocumentElement().getChildNodes();
        boolean micrometer = false;
        for (int i = 0; i < projectChildren.getLength(); i++) {
            if (projectChildren.item(i) instanceof Element e && e.getTagName().equals("dependencies")) {
                NodeList deps = e.getElementsByTagName("dependency");
                for (int d = 0; d < deps.getLength(); d++) {
                    Element dep = (Element) deps.item(d);
                    assertThat(text(dep, "artifactId")).isNotEqualTo("jmx_prometheus_javaagent");
                    if ("micrometer-core".equals(text(dep, "artifactId"))) {
                        micrometer = true;
                        assertThat(text(dep, "optional")).isEqualTo("true");
                        assertThat(text(dep, "scope")).isNull();
                    }
                }
            }
        }
        assertThat(micrometer).as("io.micrometer:micrometer-core declared").isTrue();
    }

    private static String text(Element parent, String tag) {
        NodeList nodes = parent.getElementsByTagName(tag);
        return nodes.getLength() == 0 ? null : nodes.item(0).getTextContent().strip();
    }
}
