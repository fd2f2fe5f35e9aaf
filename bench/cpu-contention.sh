#!/usr/bin/env bash
# AuraFile against FileChannel while other processes keep the CPUs busy (issue 14: the adaptive
# controller must not cut the in-flight limit below what the device sustains because the CPU, not
# the device, is slow). Starts N busy-loop processes at nice 0, runs `auraio bench --engine both`
# (alternating engines) per thread count, stops the loops, and prints one table: IOPS of each engine,
# the ratio, and the final in-flight limit of the AuraFile runs (sum over rings).
#
# Usage: bench/cpu-contention.sh [--hogs N] [--threads 64,256] [--runtime SECONDS] [--rounds N]
#                                [--mode direct|buffered] [--out DIR] [-- extra auraio bench options]
# --hogs 0 runs the same cases with nothing beside them (the control).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

hogs=2
threads_list=64,256
runtime=5
rounds=2
mode=direct
out=
extra=()
while (($#)); do
    case $1 in
        --hogs) hogs=$2; shift 2 ;;
        --threads) threads_list=$2; shift 2 ;;
        --runtime) runtime=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --mode) mode=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "cpu-contention.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[[ $mode == direct || $mode == buffered ]] || { echo "cpu-contention.sh: mode '$mode' is not direct or buffered" >&2; exit 2; }
command -v python3 >/dev/null || { echo "cpu-contention.sh: python3 not found" >&2; exit 2; }

# The default first: a parallelism given in AURAIO_JAVA_OPTS comes later and wins.
export AURAIO_JAVA_OPTS="-Djdk.virtualThreadScheduler.parallelism=$(nproc) ${AURAIO_JAVA_OPTS:-}"
work=$(mktemp -d auraio-contention.XXXXXX -p "${TMPDIR:-/tmp}")
hog_pids=()
stop_hogs() {
    if ((${#hog_pids[@]})); then
        kill "${hog_pids[@]}" 2>/dev/null || true
        wait "${hog_pids[@]}" 2>/dev/null || true
    fi
    hog_pids=()
}
trap 'stop_hogs; rm -rf "$work"' EXIT
[[ -n $out ]] && mkdir -p "$out"
"$here/auraio" bench --help >/dev/null   # builds the CLI jar now, not beside the busy loops

IFS=, read -ra thread_list <<<"$threads_list"
for threads in "${thread_list[@]}"; do
    echo "  $mode randread, $threads threads, $hogs busy process(es), $rounds round(s) of ${runtime}s ..." >&2
    for ((i = 0; i < hogs; i++)); do
        nice -n 0 bash -c 'while :; do :; done' &
        hog_pids+=($!)
    done
    json="$work/t$threads.json"
    "$here/auraio" bench --"$mode" --rw randread --threads "$threads" --runtime "$runtime" --rounds "$rounds" \
        --engine both --json "$json" "${extra[@]}" >"$json.txt" 2>&1 \
        || { stop_hogs; echo "cpu-contention.sh: auraio bench failed:" >&2; cat "$json.txt" >&2; exit 1; }
    stop_hogs
    [[ -n $out ]] && cp "$json" "$out/"
done

python3 - "$hogs" "$work" "${thread_list[@]}" <<'PY'
import json, os, sys
hogs, work, threads = sys.argv[1], sys.argv[2], sys.argv[3:]
print("| busy processes | threads | Aura IOPS per round | FC IOPS per round | Aura/FC | Aura final limit per round |")
print("|---|---|---|---|---|---|")
for t in threads:
    j = json.load(open(os.path.join(work, "t%s.json" % t)))
    aura = [r for r in j["runs"] if r["engine"] == "aura"]
    fc = [r for r in j["runs"] if r["engine"] == "filechannel"]
    limits = [str(r["timeline"][-1]["inFlightLimit"]) if r["timeline"] else "-" for r in aura]
    ratio = j["summary"]["ratioAuraToFilechannel"]["iops"]
    print("| %s | %s | %s | %s | %.2f | %s |" % (hogs, t, " / ".join("%.0f" % r["iops"] for r in aura),
          " / ".join("%.0f" % r["iops"] for r in fc), ratio, " / ".join(limits)))
PY
