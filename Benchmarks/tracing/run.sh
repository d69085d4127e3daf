#!/bin/sh
# /key/32 throughput with tracing off against the build before tracing, and with tracing on at ratio
# 1.0 and 0.01 against tracing off, side by side with ../shared/perf/abwrk.py (A B A B ..., server on
# CPU 0, wrk on CPU 1). Prints abwrk's rounds and its median ratio A/B for each pair.
#
#   Benchmarks/tracing/run.sh BASE_BINARY TRACING_BINARY [ROUNDS] [SECONDS]
#
# CPU time per request: ABCPU=1 Benchmarks/tracing/run.sh ... (see abcpu.py).
# Both binaries release builds (swift build -c release). Needs wrk (Debian) and python3.
set -eu
# keyport's admin listener on a free port: two servers side by side must not both want 9123.
export KEYPORT_ADMIN_PORT=${KEYPORT_ADMIN_PORT:-0}
base=$1
traced=$2
rounds=${3:-5}
seconds=${4:-6}
here=$(cd "$(dirname "$0")" && pwd)
# ABCPU=1: abcpu.py (also CPU time per request, alternating order) instead of abwrk.py.
abwrk=${ABWRK:-$here/../../../shared/perf/abwrk.py}
[ "${ABCPU:-0}" = 1 ] && abwrk=$here/abcpu.py
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sink_port=$(free_port)
python3 "$here/otlp_sink.py" "$sink_port" &
sink=$!
trap 'kill $sink; wait $sink' EXIT
port_a=$(free_port)
port_b=$(free_port)
serve() { echo "$1 --host 127.0.0.1 --srv-port $2 --log-level error $3"; }
pair() {
    echo "== $1"
    python3 "$abwrk" --rounds "$rounds" --dur "$seconds" \
        --a "$(serve "$2" "$port_a" "$3")" --url-a "http://127.0.0.1:$port_a/key/32" \
        --b "$(serve "$4" "$port_b" "$5")" --url-b "http://127.0.0.1:$port_b/key/32"
}
on="--otlp-endpoint http://127.0.0.1:$sink_port"
pair "A = tracing off, B = before tracing" "$traced" "" "$base" ""
pair "A = tracing on at ratio 1.0, B = tracing off" "$traced" "$on --trace-sample-ratio 1.0" "$traced" ""
pair "A = tracing on at ratio 0.01, B = tracing off" "$traced" "$on --trace-sample-ratio 0.01" "$traced" ""
