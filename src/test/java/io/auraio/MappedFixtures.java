package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Set-up shared by the tests of mapped page-cache reads. */
final class MappedFixtures {
    private MappedFixtures() {}

    /**
     * Reads one block at {@code position} until {@code file} is mapped (64 page-cache hits map a
     * file; ten times that is the bound); skipped where mapped reads do not serve the file.
     */
    static void readUntilMapped(AuraFile file, long position) throws IOException {
        assumeTrue(file.mappedReads() != null, "no mapped reads for " + file + ": not a local page-cache file system");
        ByteBuffer block = ByteBuffer.allocate(4096);
        for (int i = 0; i < 10 * 64 && !file.mappedReads().isMapped(); i++) {
            block.clear();
            file.read(block, position);
        }
        assertThat(file.mappedReads().isMapped()).as("mapped after repeated page-cache hits").isTrue();
    }
}
