#!/usr/bin/env bash
# Side-by-side matrix: fio (io_uring engine) against `auraio bench --engine both` (AuraFile and
# FileChannel on virtual threads), alternating on one file, for
#   {O_DIRECT, buffered} x {randread, randwrite} x {1, 16, 64, 256} threads,
# and one table of ratios at the end; then the carrier-liveness case (a 1 ms periodic virtual thread
# while 64 virtual threads read O_DIRECT through each engine).
#
# Usage: bench/compare.sh [--modes direct,buffered] [--rw randread,randwrite] [--threads 1,16,64,256]
#                         [--runtime SECONDS] [--rounds N] [--size SIZE] [--bs SIZE] [--dir DIR]
#                         [--no-liveness] [--liveness-only] [--out DIR] [-- extra auraio bench options]
# The same knobs as environment variables: MODES, RWS, THREADS, RUNTIME, ROUNDS, SIZE, BS, DIR,
# LIVENESS (0/1), OUT. Example, a quick subset: bench/compare.sh --modes direct --rw randread --threads 64 --runtime 2 --rounds 1
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

modes=${MODES:-direct,buffered}
rws=${RWS:-randread,randwrite}
threads_list=${THREADS:-1,16,64,256}
runtime=${RUNTIME:-5}
rounds=${ROUNDS:-2}
size=${SIZE:-256m}
bs=${BS:-4k}
dir=${DIR:-${TMPDIR:-/tmp}}
liveness=${LIVENESS:-1}
matrix=1
out=${OUT:-}
extra=()
while (($#)); do
    case $1 in
        --modes) modes=$2; shift 2 ;;
        --rw) rws=$2; shift 2 ;;
        --threads) threads_list=$2; shift 2 ;;
        --runtime) runtime=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --bs) bs=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --no-liveness) liveness=0; shift ;;
        --liveness-only) matrix=0; liveness=1; shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "compare.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
IFS=, read -ra check_modes <<<"$modes"
for mode in "${check_modes[@]}"; do
    [[ $mode == direct || $mode == buffered ]] || { echo "compare.sh: mode '$mode' is not direct or buffered" >&2; exit 2; }
done
command -v fio >/dev/null || { echo "compare.sh: fio not found (apt-get install fio)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "compare.sh: python3 not found" >&2; exit 2; }

# Reproducible virtual-thread scheduling: one carrier per CPU, stated explicitly.
# The default first: a parallelism given in AURAIO_JAVA_OPTS comes later and wins.
export AURAIO_JAVA_OPTS="-Djdk.virtualThreadScheduler.parallelism=$(nproc) ${AURAIO_JAVA_OPTS:-}"
work=$(mktemp -d -p "$dir" auraio-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
[[ -n $out ]] && mkdir -p "$out"
file="$work/data"
results="$work/results.tsv"
: >"$results"

# One file for every case, filled with random data once.
bytes=$(python3 -c "import sys; s=sys.argv[1].lower(); m={'k':10,'m':20,'g':30}; print(int(s[:-1])<<m[s[-1]] if s[-1] in m else int(s))" "$size")
dd if=/dev/urandom of="$file" bs=1M count=$((bytes >> 20)) status=none
sync
"$here/auraio" bench --help >/dev/null   # builds the CLI jar now rather than inside the first measurement

fio_run() { # mode rw threads -> "iops cpu_us_per_op p99_us"
    local direct=1
    [[ $1 == buffered ]] && direct=0
    fio --name=fio --filename="$file" --rw="$2" --bs="$bs" --direct=$direct --ioengine=io_uring \
        --iodepth="$3" --runtime="$runtime" --time_based --invalidate=0 --output-format=json \
        | python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
ios = j["read"]["total_ios"] + j["write"]["total_ios"]
secs = j["job_runtime"] / 1000.0
side = j["read"] if j["read"]["total_ios"] else j["write"]
cpu = (j["usr_cpu"] + j["sys_cpu"]) / 100.0 * secs
print("%.0f %.3f %.1f" % (ios / secs, cpu / ios * 1e6 if ios else 0, side["clat_ns"]["percentile"]["99.000000"] / 1e3))'
}

aura_run() { # mode rw threads json-out [extra options]
    local mode=$1 rw=$2 threads=$3 json=$4
    shift 4
    "$here/auraio" bench --file "$file" --"$mode" --rw "$rw" --bs "$bs" --threads "$threads" --runtime "$runtime" \
        --engine both --json "$json" "$@" "${extra[@]}" >"$json.txt" 2>&1 \
        || { echo "compare.sh: auraio bench failed:" >&2; cat "$json.txt" >&2; exit 1; }
}

if ((matrix)); then
    IFS=, read -ra mode_list <<<"$modes"
    IFS=, read -ra rw_list <<<"$rws"
    IFS=, read -ra thread_list <<<"$threads_list"
    echo "bs $bs, file $size in $dir, ${runtime}s per run, $rounds round(s), fio and auraio alternating" >&2
    for mode in "${mode_list[@]}"; do
        [[ $mode == buffered ]] && cat "$file" >/dev/null   # warm the page cache
        for rw in "${rw_list[@]}"; do
            for threads in "${thread_list[@]}"; do
                for round in $(seq 1 "$rounds"); do
                    echo "  $mode $rw $threads threads, round $round ..." >&2
                    read -r fio_iops fio_cpu fio_p99 < <(fio_run "$mode" "$rw" "$threads")
                    json="$work/$mode-$rw-$threads-$round.json"
                    aura_run "$mode" "$rw" "$threads" "$json" --rounds 1
                    [[ -n $out ]] && cp "$json" "$out/"
                    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$rw" "$threads" "$fio_iops" "$fio_cpu" "$fio_p99" "$json" >>"$results"
                done
            done
        done
    done
    python3 - "$results" <<'PY'
import json, sys
from collections import OrderedDict
rows = OrderedDict()
for line in open(sys.argv[1]):
    mode, rw, threads, fio_iops, fio_cpu, fio_p99, path = line.rstrip("\n").split("\t")
    doc = json.load(open(path))
    s = doc["summary"]
    # The fewest operations one worker thread made in any round: 0 says some were starved.
    fewest = {e: min(run["opsPerThread"]["min"] for run in doc["runs"] if run["engine"] == e)
              for e in ("aura", "filechannel")}
    r = rows.setdefault((mode, rw, int(threads)), [])
    r.append((float(fio_iops), float(fio_cpu), float(fio_p99), s["aura"], s["filechannel"], fewest))
mean = lambda xs: sum(xs) / len(xs)
head = ("mode", "rw", "thr", "fio IOPS", "Aura IOPS", "FC IOPS", "Aura/fio", "Aura/FC",
        "CPU/op Aura us", "CPU/op FC us", "CPU Aura/FC", "CPU Aura/fio", "p99 fio/Aura/FC us",
        "fewest ops/thread Aura/FC")
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for (mode, rw, threads), r in rows.items():
    fio = mean([x[0] for x in r]); aura = mean([x[3]["iops"] for x in r]); fc = mean([x[4]["iops"] for x in r])
    fcpu = mean([x[1] for x in r]); acpu = mean([x[3]["cpuUsPerOp"] for x in r]); ccpu = mean([x[4]["cpuUsPerOp"] for x in r])
    p99 = "%.0f/%.0f/%.0f" % (mean([x[2] for x in r]), mean([x[3]["p99Us"] for x in r]), mean([x[4]["p99Us"] for x in r]))
    fewest = "%d/%d" % (min(x[5]["aura"] for x in r), min(x[5]["filechannel"] for x in r))
    print("| %s | %s | %d | %.0f | %.0f | %.0f | %.2f | %.2f | %.1f | %.1f | %.2f | %.2f | %s | %s |" % (
        mode, rw, threads, fio, aura, fc, aura / fio, aura / fc, acpu, ccpu, acpu / ccpu, acpu / fcpu if fcpu else float("nan"), p99,
        fewest))
PY
fi

if ((liveness)); then
    echo "  liveness: 1 ms periodic virtual thread, 64 virtual threads reading O_DIRECT ..." >&2
    json="$work/liveness.json"
    aura_run direct randread 64 "$json" --liveness --tick 1 --rounds "$rounds"
    [[ -n $out ]] && cp "$json" "$out/"
    python3 - "$json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print()
print("| engine | round | reader IOPS | ticks run / due | tick late p50 us | p99 us | max us | OS threads peak (added) |")
print("|---|---|---|---|---|---|---|---|")
for r in j["runs"]:
    v = r["liveness"]
    print("| %s | %d | %.0f | %d / %d | %.0f | %.0f | %.0f | %d (+%d) |" % (r["engine"], r["round"], r["iops"], v["ticks"],
          v["expectedTicks"], v["latenessUs"]["p50"], v["latenessUs"]["p99"], v["latenessUs"]["max"], r["osThreadsPeak"],
          max(0, r["osThreadsPeak"] - r["osThreadsAtStart"])))
PY
fi
