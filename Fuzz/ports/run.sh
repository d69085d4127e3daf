#!/usr/bin/env bash
# Builds the libFuzzer harness for the ports parser and runs it.
#   Fuzz/ports/run.sh [SECONDS]        (default 60; env FUZZ_OUT for the build/corpus dir, default /tmp/keyport-fuzz)
# Needs a Swift toolchain with libFuzzer (the Linux toolchains ship it: swiftc -sanitize=fuzzer).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-60}
out=${FUZZ_OUT:-/tmp/keyport-fuzz}
mkdir -p "$out/corpus"
# SystemLibC (the platform's C library, re-exported) has no code of its own: its module interface is all the
# parser's sources need.
swiftc -emit-module -parse-as-library -module-name SystemLibC -emit-module-path "$out/SystemLibC.swiftmodule" \
    "$root/Sources/SystemLibC/SystemLibC.swift"
swiftc -sanitize=fuzzer,address -parse-as-library -package-name keyport -O \
    -I "$root/Sources/CZlib" -I "$out" -lz "$root"/Sources/KeyportPorts/*.swift "$here/FuzzPorts.swift" -o "$out/fuzz-ports"
cp "$here"/seeds/* "$out/corpus/"
cp "$root/Sources/KeyportCore/Resources/sample-ports.json" "$out/corpus/"
"$out/fuzz-ports" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus"
