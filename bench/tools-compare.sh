#!/usr/bin/env bash
# `auraio cp`, `auraio hash` and `auraio tree` side by side with cp, sha256sum/md5sum and tree on a
# real tree nobody here wrote (the JDK's lib/src.zip unpacked: ~15,000 files, ~210 MB) and on one
# large file, with a warm page cache and (as root) a cold one; optionally also from a slow file
# system (the faultfs FUSE fixture with a per-request latency). Each case first checks that both
# tools give identical results (diff of the outputs, `sha256sum -c` of ours, `diff -r` of the
# copies), then times REPS runs of each, alternating, and prints the medians and the ratio
# (auraio / system: below 1 means auraio is faster) as a Markdown table. Times are wall-clock and
# include the JVM's start, as a user sees them: auraio runs through ./auraio (its AOT cache and JIT
# choice), or AURAIO_JAR's jar with plain `java -jar`.
#
# Usage: bench/tools-compare.sh [--reps N] [--big SIZE] [--data DIR] [--no-cold] [--fuse] [--fuse-latency-us N]
# Environment: REPS (3), BIG (512M, any `head -c` size), DATA (/tmp/auraio-tools-bench), COLD (1),
#              FUSE (0), FUSE_LATENCY_US (2000), AURAIO_JAR (a CLI jar to time instead of this
#              checkout's: an older build for a before/after run).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

reps=${REPS:-3}
big=${BIG:-512M}
data=${DATA:-/tmp/auraio-tools-bench}
cold=${COLD:-1}
fuse=${FUSE:-0}
fuse_latency=${FUSE_LATENCY_US:-2000}
while (($#)); do
    case $1 in
        --reps) reps=$2; shift 2 ;;
        --big) big=$2; shift 2 ;;
        --data) data=$2; shift 2 ;;
        --no-cold) cold=0; shift ;;
        --fuse) fuse=1; shift ;;
        --fuse-latency-us) fuse_latency=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "tools-compare: unknown option $1" >&2; exit 2 ;;
    esac
done
if ((cold)) && [[ $(id -u) != 0 ]]; then
    echo "tools-compare: cold-cache runs need root (echo 3 > /proc/sys/vm/drop_caches); warm only" >&2
    cold=0
fi
for tool in cp sha256sum md5sum tree find xargs diff; do
    command -v "$tool" >/dev/null || { echo "tools-compare: $tool is not installed" >&2; exit 2; }
done

# The CLI jar (built by the launcher when missing or stale), run with the same JVM the launcher picks.
if [[ -n ${AURAIO_JAR:-} ]]; then
    jar=$AURAIO_JAR
else
    "$here/auraio" --help >/dev/null 2>&1 || true
    version=$(sed -n 's:^  <version>\(.*\)</version>$:\1:p' "$here/pom.xml" | head -n 1)
    jar="$here/target/auraio-$version-cli.jar"
fi
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
[[ -x $java ]] || java=$(ls -d /usr/lib/jvm/*25*/bin/java | head -n 1)
# As a user runs it: through the launcher (its AOT cache, C1 for cp and tree); another build's jar plainly.
if [[ -n ${AURAIO_JAR:-} ]]; then
    auraio() { "$java" -jar "$jar" "$@"; }
else
    auraio() { "$here/auraio" "$@"; }
fi

mkdir -p "$data"
if [[ ! -d $data/src ]]; then
    zip=$(dirname "$(dirname "$java")")/lib/src.zip
    echo "tools-compare: unpacking $zip into $data/src" >&2
    mkdir -p "$data/src.tmp"
    (cd "$data/src.tmp" && "$(dirname "$java")/jar" xf "$zip")
    mv "$data/src.tmp" "$data/src"
fi
if [[ ! -f $data/big || $(stat -c %s "$data/big") != $(numfmt --from=iec "$big") ]]; then
    echo "tools-compare: writing $big of random bytes to $data/big" >&2
    head -c "$big" /dev/urandom > "$data/big"
fi
files=$(find "$data/src" -type f | wc -l)
bytes=$(du -sb "$data/src" | cut -f1)

now() { date +%s%N; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
warm() { find "$1" -type f -print0 | xargs -0 cat > /dev/null; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# time_case NAME CACHE SETUP SYSTEM_CMD AURAIO_CMD: REPS alternating runs; SETUP runs before each (untimed).
rows=()
time_case() {
    local name=$1 cache=$2 setup=$3 sys=$4 ours=$5 t0 t1 s_times=() a_times=()
    for ((i = 0; i < reps; i++)); do
        for who in sys ours; do
            eval "$setup"
            if [[ $cache == cold ]]; then drop_caches; fi
            local cmd=$sys; [[ $who == ours ]] && cmd=$ours
            t0=$(now); eval "$cmd" > /dev/null 2>&1 || echo "tools-compare: '$cmd' failed" >&2; t1=$(now)
            if [[ $who == sys ]]; then s_times+=($(((t1 - t0) / 1000000))); else a_times+=($(((t1 - t0) / 1000000))); fi
        done
    done
    local s a
    s=$(printf '%s\n' "${s_times[@]}" | median)
    a=$(printf '%s\n' "${a_times[@]}" | median)
    rows+=("$(printf '| %s | %s | %.3f | %.3f | %.2f |' "$name" "$cache" "$(echo "$s / 1000" | bc -l)" \
        "$(echo "$a / 1000" | bc -l)" "$(echo "$a / $s" | bc -l)")")
    echo "${rows[-1]}" >&2
}

# ---- identical results first ----------------------------------------------------------------
checks=()
check() { if eval "$2" > /dev/null 2>&1; then checks+=("| $1 | identical |"); else checks+=("| $1 | **DIFFERENT** |"); fi; echo "${checks[-1]}" >&2; }
out=$data/out; rm -rf "$out"; mkdir -p "$out"
check "tree: \`diff\` of outputs" "diff <(tree '$data/src') <(auraio tree '$data/src')"
check "tree --du: \`diff\` of outputs" "diff <(tree --du '$data/src') <(auraio tree --du '$data/src')"
check "hash -r: \`sha256sum -c\` of ours" "auraio hash -r '$data/src' > '$out/sums' && sha256sum -c --quiet '$out/sums'"
check "hash -r: same lines as find + sha256sum" "diff <(sort '$out/sums') <(find '$data/src' -type f -print0 | xargs -0 sha256sum | sort)"
check "hash -a md5: same line as md5sum" "diff <(auraio hash -a md5 '$data/big') <(md5sum '$data/big')"
check "cp -r: \`diff -r\` of the copies" "auraio cp -r '$data/src' '$out/a' && cp -r '$data/src' '$out/b' && diff -r '$out/a' '$out/b' && diff -r '$data/src' '$out/a'"
check "cp big: \`cmp\`" "auraio cp '$data/big' '$out/big' && cmp '$data/big' '$out/big'"
rm -rf "$out"; mkdir -p "$out"

# ---- timings ------------------------------------------------------------------------------------
# What every auraio run pays before its work: the JVM's start and the engine's rings and threads.
mkdir -p "$out/empty"
time_case "start-up only: tree of an empty directory" warm "" "tree '$out/empty'" "auraio tree '$out/empty'"
caches=(warm); ((cold)) && caches+=(cold)
for cache in "${caches[@]}"; do
    w=""; [[ $cache == warm ]] && w="warm '$data/src'; cat '$data/big' > /dev/null;"
    # sync after removing the last copy: otherwise each run pays for the writeback of the one before.
    time_case "cp $big file" "$cache" "$w rm -f '$out/big'; sync" "cp '$data/big' '$out/big'" "auraio cp '$data/big' '$out/big'"
    time_case "cp -r tree ($files files)" "$cache" "$w rm -rf '$out/tree'; sync" "cp -r '$data/src' '$out/tree'" \
        "auraio cp -r '$data/src' '$out/tree'"
    time_case "sha256 $big file" "$cache" "$w" "sha256sum '$data/big'" "auraio hash '$data/big'"
    time_case "md5 $big file" "$cache" "$w" "md5sum '$data/big'" "auraio hash -a md5 '$data/big'"
    time_case "sha256 tree" "$cache" "$w" "find '$data/src' -type f -print0 | xargs -0 sha256sum" \
        "auraio hash -r '$data/src'"
    time_case "tree" "$cache" "$w" "tree '$data/src'" "auraio tree '$data/src'"
    time_case "tree --du" "$cache" "$w" "tree --du '$data/src'" "auraio tree --du '$data/src'"
done
rm -rf "$out"

# ---- a slow file system: faultfs with a latency on every read and write ----------------------------
if ((fuse)); then
    faultfs="$here/native-test-fixtures/build/faultfs"
    [[ -x $faultfs ]] || { echo "tools-compare: $faultfs missing: make -C native-test-fixtures" >&2; exit 2; }
    f=$data/fuse; mkdir -p "$f/backing" "$f/mnt" "$f/out"
    # A smaller tree on the slow file system: every read waits the latency.
    if [[ ! -d $f/backing/util ]]; then
        cp -r "$data/src/java.base/java/util" "$f/backing/util"
    fi
    if [[ ! -f $f/backing/big ]]; then
        head -c 256M "$data/big" > "$f/backing/big"
    fi
    "$faultfs" "$f/backing" "$f/mnt" -f > "$f/faultfs.log" 2>&1 &
    daemon=$!
    trap 'fusermount3 -uz "$f/mnt" 2>/dev/null || true; wait $daemon 2>/dev/null || true' EXIT
    for ((i = 0; i < 200; i++)); do [[ -e $f/mnt/.faultfs-control ]] && break; sleep 0.05; done
    echo "latency_us=$fuse_latency" > "$f/mnt/.faultfs-control"
    ffiles=$(find "$f/mnt/util" -type f | wc -l)
    time_case "cp -r from FUSE, ${fuse_latency} µs/request ($ffiles files)" fuse "rm -rf '$f/out/tree'; sync" \
        "cp -r '$f/mnt/util' '$f/out/tree'" "auraio cp -r '$f/mnt/util' '$f/out/tree'"
    time_case "cp 256M file from FUSE, ${fuse_latency} µs/request" fuse "rm -f '$f/out/big'; sync" \
        "cp '$f/mnt/big' '$f/out/big'" "auraio cp '$f/mnt/big' '$f/out/big'"
    time_case "sha256 tree on FUSE, ${fuse_latency} µs/request" fuse "" \
        "find '$f/mnt/util' -type f -print0 | xargs -0 sha256sum" "auraio hash -r '$f/mnt/util'"
    time_case "sha256 256M file on FUSE, ${fuse_latency} µs/request" fuse "" \
        "sha256sum '$f/mnt/big'" "auraio hash '$f/mnt/big'"
fi

echo
echo "Data: $files files, $bytes bytes (JDK src.zip) and one $big file in $data ($(df -T "$data" | awk 'NR==2 {print $2}')); $reps runs each, medians; $(nproc) CPUs; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| check | result |"
echo "|---|---|"
printf '%s\n' "${checks[@]}"
echo
echo "| case | cache | system tool (s) | auraio (s) | auraio / system |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
