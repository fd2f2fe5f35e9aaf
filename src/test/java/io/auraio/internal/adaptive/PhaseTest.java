package io.auraio.internal.adaptive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PhaseTest {
    @Test
    void codesAreTheReferenceNumbering() {
        assertThat(Phase.BASELINE.code()).isZero();
        assertThat(Phase.PROBING.code()).isEqualTo(1);
        assertThat(Phase.STEADY.code()).isEqualTo(2);
        assertThat(Phase.BACKOFF.code()).isEqualTo(3);
        assertThat(Phase.SETTLING.code()).isEqualTo(4);
        assertThat(Phase.CONVERGED.code()).isEqualTo(5);
        for (Phase p : Phase.values()) {
            assertThat(Phase.of(p.code())).isSameAs(p);
        }
    }

    @Test
    void phaseNameMatchesTheReferenceStrings() {
        assertThat(Phase.phaseName(0)).isEqualTo("BASELINE");
        assertThat(Phase.phaseName(1)).isEqualTo("PROBING");
        assertThat(Phase.phaseName(2)).isEqualTo("STEADY");
        assertThat(Phase.phaseName(3)).isEqualTo("BACKOFF");
        assertThat(Phase.phaseName(4)).isEqualTo("SETTLING");
        assertThat(Phase.phaseName(5)).isEqualTo("CONVERGED");
    }

    @Test
    void phaseNameOfAnOutOfRangeValueIsUnknown() {
        assertThat(Phase.phaseName(-1)).isEqualTo("UNKNOWN");
        assertThat(Phase.phaseName(6)).isEqualTo("UNKNOWN");
        assertThat(Phase.phaseName(Integer.MIN_VALUE)).isEqualTo("UNKNOWN");
        assertThat(Phase.phaseName(Integer.MAX_VALUE)).isEqualTo("UNKNOWN");
    }

    @Test
    void ofRejectsAnOutOfRangeValue() {
        assertThatThrownBy(() -> Phase.of(6)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("6");
        assertThatThrownBy(() -> Phase.of(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}
