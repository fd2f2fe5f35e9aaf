#!/usr/bin/env bash
# Slow FUSE file system (issue 15 item 1): mounts the faultfs fixture (native-test-fixtures/) with a
# latency per read, then runs `auraio bench --engine both` (AuraFile and FileChannel on virtual
# threads, alternating, each with a 1 ms ticker virtual thread) at each thread count, and prints
# one table of reads, the ratio to FileChannel and the ticker's lateness. With --ring it also runs
# AuraFile with the offload of slow file systems turned off (-Dauraio.offload.fileSystems=), i.e.
# through io_uring, for comparison.
#
# Usage: bench/fuse-slow.sh [--latency MS] [--threads 64,256] [--runtime SECONDS] [--rounds N]
#                           [--size SIZE] [--bs SIZE] [--max-background N] [--ring] [--out DIR]
#                           [-- extra auraio bench options]
# Defaults: 50 ms, 64,256 threads, 5 s, 3 rounds, a 64 MiB file, 4 KiB random reads, and the
# connection's max_background at the kernel's default (12, --max-background 0), as a FUSE file
# system that does not raise it runs. Needs /dev/fuse, fusermount3 and the fixture built
# (make -C native-test-fixtures; this script builds it when missing).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

latency=${LATENCY:-50}
threads_list=${THREADS:-64,256}
runtime=${RUNTIME:-5}
rounds=${ROUNDS:-3}
size=${SIZE:-64m}
bs=${BS:-4k}
max_background=${MAX_BACKGROUND:-0}
ring=0
out=${OUT:-}
extra=()
while (($#)); do
    case $1 in
        --latency) latency=$2; shift 2 ;;
        --threads) threads_list=$2; shift 2 ;;
        --runtime) runtime=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --bs) bs=$2; shift 2 ;;
        --max-background) max_background=$2; shift 2 ;;
        --ring) ring=1; shift ;;
        --out) out=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fuse-slow.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[[ -e /dev/fuse ]] || { echo "fuse-slow.sh: /dev/fuse is missing" >&2; exit 2; }
command -v fusermount3 >/dev/null || { echo "fuse-slow.sh: fusermount3 not found (apt-get install fuse3)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "fuse-slow.sh: python3 not found" >&2; exit 2; }
faultfs="$here/native-test-fixtures/build/faultfs"
[[ -x $faultfs ]] || make -C "$here/native-test-fixtures" STRICT=1 >&2

# The default first: a parallelism given in AURAIO_JAVA_OPTS comes later and wins.
export AURAIO_JAVA_OPTS="-Djdk.virtualThreadScheduler.parallelism=$(nproc) ${AURAIO_JAVA_OPTS:-}"
work=$(mktemp -d -p "${TMPDIR:-/tmp}" auraio-fuse-slow.XXXXXX)
mnt="$work/mnt"
backing="$work/backing"
mkdir -p "$mnt" "$backing"
daemon=
cleanup() {
    [[ -e $mnt/.faultfs-control ]] && echo release >"$mnt/.faultfs-control" 2>/dev/null || true
    fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null || true
    [[ -n $daemon ]] && wait "$daemon" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
[[ -n $out ]] && mkdir -p "$out"

# The file, written in the backing directory (not through the slow mount).
head -c "$(numfmt --from=iec "${size^^}")" /dev/urandom >"$backing/data"
"$faultfs" "$backing" "$mnt" -f "--max-background=$max_background" >"$work/faultfs.log" 2>&1 </dev/null &
daemon=$!
for _ in $(seq 1 200); do [[ -e $mnt/.faultfs-control ]] && break; sleep 0.05; done
[[ -e $mnt/.faultfs-control ]] || { echo "fuse-slow.sh: faultfs did not mount:" >&2; cat "$work/faultfs.log" >&2; exit 1; }
echo "latency_us=$((latency * 1000))" >"$mnt/.faultfs-control"
"$here/auraio" bench --help >/dev/null   # builds the CLI jar now rather than inside the first measurement

results="$work/results.tsv"
: >"$results"
run() { # label threads json [extra JVM options]
    local label=$1 threads=$2 json=$3 opts=${4:-}
    AURAIO_JAVA_OPTS="$AURAIO_JAVA_OPTS $opts" "$here/auraio" bench --file "$mnt/data" --buffered --rw randread \
        --bs "$bs" --threads "$threads" --runtime "$runtime" --ramp 1s --rounds 1 --liveness --tick 1 \
        --engine "$([[ $label == ring ]] && echo aura || echo both)" --json "$json" "${extra[@]}" >"$json.txt" 2>&1 \
        || { echo "fuse-slow.sh: auraio bench failed:" >&2; cat "$json.txt" >&2; exit 1; }
    [[ -n $out ]] && cp "$json" "$out/"
    printf '%s\t%s\t%s\n' "$label" "$threads" "$json" >>"$results"
}
IFS=, read -ra thread_list <<<"$threads_list"
echo "faultfs, ${latency} ms per read, max_background $max_background (0: kernel default), bs $bs, file $size," \
     "${runtime}s per run, $rounds round(s), AuraFile and FileChannel alternating" >&2
for threads in "${thread_list[@]}"; do
    for round in $(seq 1 "$rounds"); do
        echo "  $threads threads, round $round ..." >&2
        run offload "$threads" "$work/offload-$threads-$round.json"
        ((ring)) && run ring "$threads" "$work/ring-$threads-$round.json" -Dauraio.offload.fileSystems=
    done
done
python3 - "$results" <<'PY'
import json, sys
from collections import OrderedDict
rows = OrderedDict()
for line in open(sys.argv[1]):
    label, threads, path = line.rstrip("\n").split("\t")
    j = json.load(open(path))
    for r in j["runs"]:
        engine = "AuraFile (io_uring, no offload)" if label == "ring" else \
            ("AuraFile" if r["engine"] == "aura" else "FileChannel")
        rows.setdefault((int(threads), engine), []).append(r)
print("| threads | reader | reads/s per round | mean | x FileChannel | ticks run / due | ticker late p99 us (per round) | OS threads peak |")
print("|---|---|---|---|---|---|---|---|")
fc = {}
for (threads, engine), rs in rows.items():
    if engine == "FileChannel":
        fc[threads] = sum(r["iops"] for r in rs) / len(rs)
for (threads, engine), rs in sorted(rows.items()):
    mean = sum(r["iops"] for r in rs) / len(rs)
    ratio = "%.1f" % (mean / fc[threads]) if fc.get(threads) else "-"
    ticks = "%d / %d" % (sum(r["liveness"]["ticks"] for r in rs), sum(r["liveness"]["expectedTicks"] for r in rs))
    print("| %d | %s | %s | %.0f | %s | %s | %s | %d |" % (threads, engine, " / ".join("%.0f" % r["iops"] for r in rs), mean,
          ratio, ticks, " / ".join("%.0f" % r["liveness"]["latenessUs"]["p99"] for r in rs),
          max(r["osThreadsPeak"] for r in rs)))
PY
