#!/usr/bin/env bash
# Side-by-side: fio (io_uring engine) against AuraFile and FileChannel (./auraio bench), on one
# file, alternating rounds, 4 KiB random reads. Usage: bench/compare.sh [threads] [seconds] [rounds] [direct|buffered]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads=${1:-64}
seconds=${2:-5}
rounds=${3:-3}
mode=${4:-direct}
file=$(mktemp -p "${TMPDIR:-/tmp}" auraio-compare.XXXXXX)
trap 'rm -f "$file"' EXIT
dd if=/dev/urandom of="$file" bs=1M count=256 status=none
sync

direct=1; benchflag=""
if [[ $mode == buffered ]]; then direct=0; benchflag="--buffered"; cat "$file" >/dev/null; fi

echo "4 KiB randread, $mode, $threads in flight, ${seconds}s x $rounds rounds, file $file (256 MiB)"
for r in $(seq 1 "$rounds"); do
    fio --name=fio --filename="$file" --rw=randread --bs=4k --direct=$direct --ioengine=io_uring \
        --iodepth="$threads" --runtime="$seconds" --time_based --invalidate=0 --output-format=json \
        | python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]["read"]; print("  fio io_uring  %9.0f IOPS  p50 %7.1f us  p99 %7.1f us" % (j["iops"], j["clat_ns"]["percentile"]["50.000000"]/1e3, j["clat_ns"]["percentile"]["99.000000"]/1e3))'
    "$here/auraio" bench --file "$file" --threads "$threads" --seconds "$seconds" --rounds 1 $benchflag "${@:5}" \
        | grep -E "IOPS|ring [0-9]"
done
