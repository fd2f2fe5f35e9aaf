#!/usr/bin/env bash
# Adaptive in-flight limit against every fixed limit: 4 KiB random O_DIRECT reads from 256 virtual
# threads (by default), AuraFile only, on one file, in one run. Each fixed limit runs with the
# controller off (--no-adaptive --in-flight N, per ring); the adaptive run starts from the library's
# default. Rounds alternate the order so a drifting disk does not favour either end.
#
# Usage: bench/adaptive-sweep.sh [--threads N] [--runtime TIME] [--rounds N] [--limits "1 2 4 ..."]
#                                [--dir DIR] [-- extra ./auraio bench options]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads=256
runtime=5s
rounds=2
limits="1 2 4 8 16 32 64 128 256"
dir=${TMPDIR:-/tmp}
extra=()
while (($#)); do
    case $1 in
        --threads) threads=$2; shift 2 ;;
        --runtime) runtime=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --limits) limits=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        *) echo "adaptive-sweep: unknown option $1" >&2; exit 2 ;;
    esac
done

file=$(mktemp -p "$dir" auraio-sweep.XXXXXX)
out=$(mktemp -d)
trap 'rm -rf "$file" "$out"' EXIT
dd if=/dev/urandom of="$file" bs=1M count=1024 status=none
sync
export AURAIO_JAVA_OPTS="-Djdk.virtualThreadScheduler.parallelism=$(nproc) ${AURAIO_JAVA_OPTS:-}"

configs=(adaptive)
for n in $limits; do configs+=("fixed-$n"); done

run() { # config round
    local config=$1 opts=()
    if [[ $config == fixed-* ]]; then opts=(--no-adaptive --in-flight "${config#fixed-}"); fi
    "$here/auraio" bench --engine aura --direct --rw randread --bs 4k --threads "$threads" \
        --file "$file" --runtime "$runtime" --rounds 1 "${opts[@]}" "${extra[@]}" \
        --json "$out/$config-$2.json" >/dev/null
}

echo "4 KiB randread O_DIRECT, $threads virtual threads, $runtime x $rounds rounds per config, file $file (1 GiB)"
for r in $(seq 1 "$rounds"); do
    if ((r % 2)); then order=("${configs[@]}"); else order=(); for ((i=${#configs[@]}-1; i>=0; i--)); do order+=("${configs[i]}"); done; fi
    for c in "${order[@]}"; do
        echo "  round $r: $c" >&2
        run "$c" "$r"
    done
done

python3 - "$out" "${configs[@]}" <<'EOF'
import json, sys, glob, os
out, configs = sys.argv[1], sys.argv[2:]
rows = []
for c in configs:
    runs = [json.load(open(f))["runs"][0] for f in sorted(glob.glob(os.path.join(out, c + "-*.json")))]
    iops = sum(r["iops"] for r in runs) / len(runs)
    p99 = sum(r["latencyUs"]["p99"] for r in runs) / len(runs)
    limit = runs[-1]["timeline"][-1]["inFlightLimit"] if runs[-1]["timeline"] else None
    rows.append((c, iops, p99, limit, [round(r["iops"]) for r in runs]))
best = max((r for r in rows if r[0] != "adaptive"), key=lambda r: r[1])
print(f"{'config':<12} {'IOPS':>9} {'p99 us':>9} {'final limit':>12}  per round")
for c, iops, p99, limit, per in rows:
    mark = "  <- best fixed" if c == best[0] else ""
    print(f"{c:<12} {iops:9.0f} {p99:9.0f} {str(limit):>12}  {per}{mark}")
a = rows[0]
print(f"adaptive / best fixed ({best[0]}): IOPS {a[1] / best[1]:.2f}x, p99 {a[2] / best[2]:.2f}x")
EOF
