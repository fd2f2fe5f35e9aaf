package io.auraio.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@link UserData}: slot and generation survive the round trip; the ring's own tags are not requests. */
class UserDataTest {
    @Test
    void slotAndGenerationRoundTrip() {
        for (int slot : new int[] {0, 1, 255, 32767}) {
            for (int generation : new int[] {0, 1, 12345, 0x7FFF_FFFF}) {
                long u = UserData.encode(slot, generation);
                assertThat(UserData.isRequest(u)).isTrue();
                assertThat(UserData.slot(u)).isEqualTo(slot);
                assertThat(UserData.generation(u)).isEqualTo(generation);
            }
        }
    }

    @Test
    void generationsWrapWithinThirtyOneBitsSoEveryRequestStaysARequest() {
        long u = UserData.encode(3, -1);
        assertThat(UserData.isRequest(u)).isTrue();
        assertThat(UserData.generation(u)).isEqualTo(0x7FFF_FFFF);
        assertThat(UserData.slot(u)).isEqualTo(3);
    }

    @Test
    void theRingsOwnTagsAreNotRequests() {
        assertThat(UserData.isRequest(UserData.WAKE)).isFalse();
        assertThat(UserData.isRequest(UserData.CANCEL)).isFalse();
        assertThat(UserData.isRequest(UserData.CANCEL_WAKE)).isFalse();
    }
}
