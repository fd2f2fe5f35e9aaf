package io.auraio.cli;

import io.auraio.Options;
import java.nio.file.Path;

/**
 * A validated bench configuration.
 *
 * @param rw          access pattern
 * @param bs          bytes per operation
 * @param size        bytes of the file the workload covers (from offset 0)
 * @param file        the file
 * @param tempFile    whether the file is a temp file the bench created
 * @param direct      O_DIRECT or buffered
 * @param directNote  why O_DIRECT is not used although the user did not ask for buffered I/O, or null
 * @param threads     virtual threads doing I/O
 * @param runtime     measured seconds per run
 * @param ramp        seconds each run runs before it starts measuring
 * @param rounds      rounds; each round runs every chosen engine once
 * @param fsync       fsync after this many writes per thread (0: never)
 * @param engine      which engines
 * @param options     the {@code Engine} options for AuraFile runs
 * @param liveness    whether to measure how late a periodic virtual thread runs
 * @param tickMillis  period of that virtual thread
 */
record BenchConfig(Workload rw, long bs, long size, Path file, boolean tempFile, boolean direct, String directNote,
                   int threads, double runtime, double ramp, int rounds, int fsync, EngineChoice engine,
                   Options options, boolean liveness, double tickMillis) {}
