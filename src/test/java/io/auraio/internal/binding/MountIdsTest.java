package io.auraio.internal.binding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code listmount}/{@code statmount} as {@link MountIds} makes them; checked against mountinfo in {@code MountTableTest}. */
class MountIdsTest {
    /**
     * More mounts than one listmount call is asked for are listed by going on after the last ID a
     * call gave (as a machine with more than 256 mounts is), the same as in one call; and a list
     * given the one before takes the mountinfo IDs of the mounts still listed from it (marked here
     * with one ID the kernel would not give), leaving out those no longer listed. Other processes
     * mount beside this test: compared where two lists in a row agree.
     */
    @Test
    void listsInSmallBatchesAndFromAnEarlierListAreTheListInOneCall() {
        assumeTrue(MountIds.unique(), "no unique mount IDs here (Linux before 6.8, or listmount refused)");
        Map<Long, Long> whole = Map.of();
        Map<Long, Long> batched = null;
        Map<Long, Long> again = null;
        Map<Long, Long> after = null;
        long marked = 0;
        for (int attempt = 0; attempt < 20 && !(whole.equals(batched) && whole.equals(after)); attempt++) {
            whole = MountIds.list();
            batched = MountIds.list(Map.of(), Integer.MAX_VALUE, 2);
            Map<Long, Long> known = new HashMap<>(whole);
            marked = whole.keySet().iterator().next();
            known.put(marked, -5L); // no mountinfo ID: seen only if taken from here
            known.put(Long.MAX_VALUE, 1L); // an ID no mount has: not listed
            again = MountIds.list(known);
            after = MountIds.list();
        }
        assumeTrue(whole.equals(batched) && whole.equals(after), "the mounts kept changing while listed (20 tries)");
        Map<Long, Long> expected = new HashMap<>(whole);
        expected.put(marked, -5L);
        assertThat(again).isEqualTo(expected);
        assertThat(whole.size()).as("mounts listed").isGreaterThan(2);
        assertThat(MountIds.statxMask()).isEqualTo(Statx.STATX_MNT_ID_UNIQUE);
    }
}
