package io.auraio.internal.jfr;

import jdk.jfr.FlightRecorder;
import jdk.jfr.FlightRecorderListener;
import jdk.jfr.Recording;
import jdk.jfr.RecordingState;

/**
 * Whether Flight Recorder has initialized in this JVM. Until it has, nothing can record AuraIO's
 * events, and the event classes are not even loaded: loading the first {@code jdk.jfr.Event}
 * subclass bootstraps JFR's own machinery, measured at about 200 ms of CPU, which a JVM that
 * never records must not pay. When JFR initializes (a recording is created, at startup or
 * later), {@link #initialized} turns true and the periodic hooks are added.
 */
final class JfrState {
    /** Turns true once, when Flight Recorder initializes; read on every file operation. */
    static volatile boolean initialized;

    static {
        // A JVM built without Flight Recorder (isAvailable false) never initializes it.
        if (FlightRecorder.isAvailable()) {
            FlightRecorder.addListener(new FlightRecorderListener() {
                @Override
                public void recorderInitialized(FlightRecorder recorder) {
                    RingEvents.addPeriodicHooks();
                    initialized = true;
                }

                @Override
                public void recordingStateChanged(Recording recording) {
                    if (recording.getState() == RecordingState.RUNNING) {
                        RingEvents.recordingStarted(recording);
                    }
                }
            });
        }
    }

    private JfrState() {}
}
