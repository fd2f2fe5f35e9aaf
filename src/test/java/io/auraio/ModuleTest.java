package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Pins the module's surface: exactly {@code io.auraio}, {@code io.auraio.spi}, {@code io.auraio.management} and
 * {@code io.auraio.micrometer} are exported, so an internal package that leaks into {@code module-info.java} fails
 * here. Reads the compiled descriptor, not the source.
 */
class ModuleTest {
    private static final Path CLASSES = Path.of(System.getProperty("basedir", "."), "target", "classes");

    private static ModuleDescriptor descriptor() {
        return ModuleFinder.of(CLASSES).find("io.auraio")
                .orElseThrow(() -> new AssertionError("no module io.auraio in " + CLASSES.toAbsolutePath()))
                .descriptor();
    }

    @Test
    void exportsExactlyThePublicApiAndProviderPackages() {
        ModuleDescriptor module = descriptor();
        assertThat(module.exports()).allSatisfy(e -> assertThat(e.isQualified()).as("qualified export %s", e).isFalse());
        assertThat(module.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()))
                .containsExactlyInAnyOrder("io.auraio", "io.auraio.spi", "io.auraio.management", "io.auraio.micrometer");
    }

    @Test
    void opensNothingAndIsNotOpen() {
        ModuleDescriptor module = descriptor();
        assertThat(module.isOpen()).isFalse();
        assertThat(module.opens()).isEmpty();
    }

    @Test
    void internalPackagesExistButStayHidden() {
        assertThat(descriptor().packages()).contains("io.auraio", "io.auraio.internal.binding",
                "io.auraio.internal.engine", "io.auraio.internal.pool", "io.auraio.internal.jfr");
    }

    /**
     * The JDK's own modules only, besides Micrometer for the optional io.auraio.micrometer: {@code static}, so
     * no application needs it at run time.
     */
    @Test
    void needsOnlyJdkModulesAndMicrometerOnlyStatically() {
        ModuleDescriptor module = descriptor();
        assertThat(module.requires().stream().map(ModuleDescriptor.Requires::name).collect(Collectors.toSet()))
                .containsExactlyInAnyOrder("java.base", "jdk.jfr", "java.management", "jdk.management", "micrometer.core");
        assertThat(module.requires()).filteredOn(r -> r.name().equals("micrometer.core")).singleElement()
                .satisfies(r -> assertThat(r.modifiers()).contains(ModuleDescriptor.Requires.Modifier.STATIC));
        assertThat(module.requires()).filteredOn(r -> !r.name().equals("micrometer.core"))
                .allSatisfy(r -> assertThat(r.modifiers()).doesNotContain(ModuleDescriptor.Requires.Modifier.STATIC));
    }
}
