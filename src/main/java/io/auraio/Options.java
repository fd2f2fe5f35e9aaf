package io.auraio;

import java.util.Objects;

/**
 * Engine configuration: every field of the reference's {@code auraio_options_t}. Immutable; made
 * with {@link #builder()}, whose setters check each value and name the field in the
 * {@link IllegalArgumentException} they throw.
 *
 * <pre>{@code
 * Options options = Options.builder().queueDepth(512).ringCount(2).build();
 * try (Engine engine = Engine.create(options)) { ... }
 * }</pre>
 *
 * <p>The reference's {@code struct_size} (C ABI versioning) has no Java counterpart.
 */
public final class Options {
    /** Largest queue depth: the kernel's limit on SQ entries. */
    public static final int MAX_QUEUE_DEPTH = 32768;

    /** The {@linkplain AuraIO#defaultEngine() default engine}'s name, which no other engine may take. */
    static final String DEFAULT_ENGINE_NAME = "default";

    private final int queueDepth;
    private final int ringCount;
    private final int initialInFlight;
    private final int minInFlight;
    private final double maxP99LatencyMs;
    private final long bufferAlignment;
    private final boolean disableAdaptive;
    private final boolean enableSqpoll;
    private final int sqpollIdleMs;
    private final RingSelect ringSelect;
    private final String name;
    /**
     * What the builder was given for the two in-flight values (0 and false: left to their
     * defaults), so that {@link #toBuilder()} hands back defaults that still follow
     * {@code queueDepth} rather than the values they resolved to.
     */
    private final int initialInFlightSetting;
    private final boolean minInFlightSet;

    private Options(Builder b, int initialInFlight, int minInFlight) {
        this.queueDepth = b.queueDepth;
        this.ringCount = b.ringCount;
        this.initialInFlight = initialInFlight;
        this.minInFlight = minInFlight;
        this.initialInFlightSetting = b.initialInFlight;
        this.minInFlightSet = b.minInFlightSet;
        this.maxP99LatencyMs = b.maxP99LatencyMs;
        this.bufferAlignment = b.bufferAlignment;
        this.disableAdaptive = b.disableAdaptive;
        this.enableSqpoll = b.enableSqpoll;
        this.sqpollIdleMs = b.sqpollIdleMs;
        this.ringSelect = b.ringSelect;
        this.name = b.name;
    }

    /** {@return the reference's defaults} */
    public static Options defaults() {
        return builder().build();
    }

    /** {@return a builder holding the defaults} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return a builder holding this object's values} */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.queueDepth = queueDepth;
        b.ringCount = ringCount;
        b.initialInFlight = initialInFlightSetting;
        b.minInFlight = minInFlightSet ? minInFlight : Builder.DEFAULT_MIN_IN_FLIGHT;
        b.minInFlightSet = minInFlightSet;
        b.maxP99LatencyMs = maxP99LatencyMs;
        b.bufferAlignment = bufferAlignment;
        b.disableAdaptive = disableAdaptive;
        b.enableSqpoll = enableSqpoll;
        b.sqpollIdleMs = sqpollIdleMs;
        b.ringSelect = ringSelect;
        b.name = name;
        return b;
    }

    /** {@return request slots per ring and the minimum kernel queue depth of each ring (default 256)} */
    public int queueDepth() {
        return queueDepth;
    }

    /** {@return the number of rings; 0 (the default) means one per available processor} */
    public int ringCount() {
        return ringCount;
    }

    /** {@return the in-flight limit each ring starts with (default {@code queueDepth / 4})} */
    public int initialInFlight() {
        return initialInFlight;
    }

    /** {@return the floor of the adaptive in-flight limit (default 4)} */
    public int minInFlight() {
        return minInFlight;
    }

    /** {@return the P99 latency target in milliseconds; 0 (the default) means detect it} */
    public double maxP99LatencyMs() {
        return maxP99LatencyMs;
    }

    /** {@return the alignment of buffers from the engine's pool (default 4096, the page size)} */
    public long bufferAlignment() {
        return bufferAlignment;
    }

    /** {@return whether adaptive tuning is off (default false)} */
    public boolean disableAdaptive() {
        return disableAdaptive;
    }

    /** {@return whether each ring asks for a kernel submission-polling thread (default false)} */
    public boolean enableSqpoll() {
        return enableSqpoll;
    }

    /** {@return how long an idle SQPOLL thread spins before it sleeps (default 1000 ms)} */
    public int sqpollIdleMs() {
        return sqpollIdleMs;
    }

    /** {@return how submissions pick a ring (default {@link RingSelect#ADAPTIVE})} */
    public RingSelect ringSelect() {
        return ringSelect;
    }

    /**
     * {@return the engine's name, or the empty string when the engine picks one} The name
     * identifies the engine to monitoring: its MXBean {@code io.auraio:type=Engine,name=<name>},
     * its Flight Recorder events and its Micrometer tag. Unnamed engines are called
     * {@code engine-1}, {@code engine-2}..., the {@linkplain AuraIO#defaultEngine() default engine}
     * {@code default}.
     */
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return "Options[queueDepth=" + queueDepth + ", ringCount=" + ringCount + ", initialInFlight="
                + initialInFlight + ", minInFlight=" + minInFlight + ", maxP99LatencyMs=" + maxP99LatencyMs
                + ", bufferAlignment=" + bufferAlignment + ", disableAdaptive=" + disableAdaptive
                + ", enableSqpoll=" + enableSqpoll + ", sqpollIdleMs=" + sqpollIdleMs + ", ringSelect="
                + ringSelect + (name.isEmpty() ? "" : ", name=" + name) + "]";
    }

    /**
     * Collects option values. Each setter rejects an out-of-range value at once; {@link #build()}
     * checks the values against each other. Not thread-safe.
     */
    public static final class Builder {
        private static final int DEFAULT_MIN_IN_FLIGHT = 4;

        private int queueDepth = 256;
        private int ringCount = 0;
        private int initialInFlight = 0;
        private int minInFlight = DEFAULT_MIN_IN_FLIGHT;
        private boolean minInFlightSet;
        private double maxP99LatencyMs = 0;
        private long bufferAlignment = 4096;
        private boolean disableAdaptive;
        private boolean enableSqpoll;
        private int sqpollIdleMs = 1000;
        private RingSelect ringSelect = RingSelect.ADAPTIVE;
        private String name = "";

        private Builder() {}

        private static IllegalArgumentException invalid(String field, String rule, Object value) {
            return new IllegalArgumentException(field + " must be " + rule + ", was " + value);
        }

        /**
         * Sets the queue depth per ring.
         *
         * @param depth request slots per ring, 1 to {@value Options#MAX_QUEUE_DEPTH}
         * @return this builder
         * @throws IllegalArgumentException if {@code depth} is out of range
         */
        public Builder queueDepth(int depth) {
            if (depth < 1 || depth > MAX_QUEUE_DEPTH) {
                throw invalid("queueDepth", "between 1 and " + MAX_QUEUE_DEPTH, depth);
            }
            this.queueDepth = depth;
            return this;
        }

        /**
         * Sets the number of rings.
         *
         * @param count rings, or 0 for one per available processor; at most 1024
         * @return this builder
         * @throws IllegalArgumentException if {@code count} is negative or above 1024
         */
        public Builder ringCount(int count) {
            if (count < 0 || count > 1024) {
                throw invalid("ringCount", "between 0 (one per core) and 1024", count);
            }
            this.ringCount = count;
            return this;
        }

        /**
         * Sets the in-flight limit each ring starts with.
         *
         * @param limit 1 to {@code queueDepth}, or 0 for {@code queueDepth / 4}
         * @return this builder
         * @throws IllegalArgumentException if {@code limit} is negative
         */
        public Builder initialInFlight(int limit) {
            if (limit < 0) {
                throw invalid("initialInFlight", "positive, or 0 for queueDepth / 4", limit);
            }
            this.initialInFlight = limit;
            return this;
        }

        /**
         * Sets the floor of the adaptive in-flight limit.
         *
         * @param limit at least 1
         * @return this builder
         * @throws IllegalArgumentException if {@code limit} is below 1
         */
        public Builder minInFlight(int limit) {
            if (limit < 1) {
                throw invalid("minInFlight", "at least 1", limit);
            }
            this.minInFlight = limit;
            this.minInFlightSet = true;
            return this;
        }

        /**
         * Sets the P99 latency target.
         *
         * @param ms target in milliseconds, or 0 to detect it from the device
         * @return this builder
         * @throws IllegalArgumentException if {@code ms} is negative, infinite or NaN
         */
        public Builder maxP99LatencyMs(double ms) {
            if (!(ms >= 0) || Double.isInfinite(ms)) {
                throw invalid("maxP99LatencyMs", "a finite number >= 0 (0 = auto)", ms);
            }
            this.maxP99LatencyMs = ms;
            return this;
        }

        /**
         * Sets the alignment of pool buffers.
         *
         * @param alignment a power of two from 8 to 1 MiB
         * @return this builder
         * @throws IllegalArgumentException if {@code alignment} is not such a power of two
         */
        public Builder bufferAlignment(long alignment) {
            if (alignment < 8 || alignment > (1 << 20) || Long.bitCount(alignment) != 1) {
                throw invalid("bufferAlignment", "a power of two from 8 to 1048576", alignment);
            }
            this.bufferAlignment = alignment;
            return this;
        }

        /**
         * Turns adaptive tuning off: the in-flight limit stays at {@code initialInFlight}.
         *
         * @param disable true to disable
         * @return this builder
         */
        public Builder disableAdaptive(boolean disable) {
            this.disableAdaptive = disable;
            return this;
        }

        /**
         * Asks for a kernel submission-polling thread per ring.
         *
         * @param enable true to enable
         * @return this builder
         */
        public Builder enableSqpoll(boolean enable) {
            this.enableSqpoll = enable;
            return this;
        }

        /**
         * Sets the SQPOLL idle time.
         *
         * @param ms milliseconds, 0 or more
         * @return this builder
         * @throws IllegalArgumentException if {@code ms} is negative
         */
        public Builder sqpollIdleMs(int ms) {
            if (ms < 0) {
                throw invalid("sqpollIdleMs", ">= 0", ms);
            }
            this.sqpollIdleMs = ms;
            return this;
        }

        /**
         * Sets how submissions pick a ring.
         *
         * @param mode the selection mode
         * @return this builder
         */
        public Builder ringSelect(RingSelect mode) {
            this.ringSelect = Objects.requireNonNull(mode, "ringSelect");
            return this;
        }

        /**
         * Names the engine, for monitoring (see {@link Options#name()}). Two open engines cannot
         * share a name: {@link Engine#create(Options)} refuses the second.
         *
         * @param name 1 to 64 characters, none of them a control character or one of
         *             {@code , = : " * ? \}, which a JMX object name would have to quote; not
         *             {@code default}, the {@linkplain AuraIO#defaultEngine() default engine}'s name
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is empty, too long, holds such a character
         *         or is {@code default}
         */
        public Builder name(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isEmpty() || name.length() > 64) {
                throw invalid("name", "1 to 64 characters", "\"" + name + "\"");
            }
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                if (Character.isISOControl(c) || ",=:\"*?\\".indexOf(c) >= 0) {
                    throw invalid("name", "free of control characters and of , = : \" * ? \\", "\"" + name + "\"");
                }
            }
            if (name.equals(DEFAULT_ENGINE_NAME)) {
                // Taken by an engine while open, it would make AuraIO.defaultEngine() (and every
                // AuraFile.open without an engine) fail with IllegalArgumentException.
                throw invalid("name", "other than \"" + DEFAULT_ENGINE_NAME + "\", the default engine's name",
                        "\"" + name + "\"");
            }
            this.name = name;
            return this;
        }

        /**
         * {@return the options}
         *
         * @throws IllegalArgumentException if {@code initialInFlight}, or a {@code minInFlight}
         *         that was set, is above {@code queueDepth}, or a {@code minInFlight} that was set
         *         is above {@code initialInFlight}
         */
        public Options build() {
            if (initialInFlight > queueDepth) {
                throw invalid("initialInFlight", "at most queueDepth (" + queueDepth + ")", initialInFlight);
            }
            int initial = initialInFlight == 0 ? Math.max(1, queueDepth / 4) : initialInFlight;
            // Only a floor that was set is checked: the default floor of 4 shrinks to fit a small
            // ring (queueDepth 1 to 3 included). Resolved into a local so that this builder
            // keeps its settings and builds the same way again after queueDepth changes.
            int floor = minInFlight;
            if (minInFlightSet) {
                if (minInFlight > queueDepth) {
                    throw invalid("minInFlight", "at most queueDepth (" + queueDepth + ")", minInFlight);
                }
                if (minInFlight > initial) {
                    throw invalid("minInFlight", "at most initialInFlight (" + initial + ")", minInFlight);
                }
            } else {
                floor = Math.min(minInFlight, initial);
            }
            return new Options(this, initial, floor);
        }
    }
}
