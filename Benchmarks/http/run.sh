#!/usr/bin/env bash
# `make bench`: keyport's release build against the Go reference (../shared/perf/goref) side by side,
# then allocations and in-process time per request through the connection pipeline (Benchmarks/allocations).
#   Benchmarks/http/run.sh [ROUNDS] [SECONDS]
# Env: PERF_DIR (default ../shared/perf, the Go reference and its build script), PORTS_FILE (default
# ../shared/data/ports.json, the real file), GOREF (a built goref binary, else it is built).
set -euo pipefail
# keyport's admin listener on a free port: two servers side by side must not both want 9123.
export KEYPORT_ADMIN_PORT=${KEYPORT_ADMIN_PORT:-0}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=${1:-3}
seconds=${2:-5}
perf=${PERF_DIR:-$root/../shared/perf}
ports=${PORTS_FILE:-$root/../shared/data/ports.json}

if ! command -v wrk >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends wrk >/dev/null
fi
goref=${GOREF:-$("$perf/build-goref.sh")}
(cd "$root" && swift build -c release --product keyport)
keyport=$(cd "$root" && swift build -c release --show-bin-path)/keyport
(cd "$here/../allocations" && swift build -c release)
allocations=$(cd "$here/../allocations" && swift build -c release --show-bin-path)

echo "uptime: $(uptime)"
python3 "$here/sidebyside.py" --keyport "$keyport" --goref "$goref" --ports-file "$ports" --rounds "$rounds" --dur "$seconds"
echo
echo "Foundation libraries linked (ldd): $(ldd "$keyport" | grep -io 'lib_\{0,1\}Foundation[A-Za-z]*' | sort -u | tr '\n' ' ')"
KEYPORT_TIMING=1 LD_PRELOAD="$allocations/libMallocInterposerSwift.so" "$allocations/KeyportAllocations" "$ports"
echo "uptime: $(uptime)"
