#!/usr/bin/env bash
# compose-smoke: builds keyport's image from the Dockerfile and runs the real compose.yaml under
# podman-compose, then checks the stack from outside (scripts/compose-smoke-checks.py):
#   - keyport answers through its published port (health, ready, keys, ports, metrics);
#   - Prometheus scrapes the keyport target (up) with the shared rules file loaded, and reaches
#     Alertmanager; Alertmanager runs the repo's config;
#   - the keyport container runs as its numeric non-root user on a read-only root filesystem;
#   - `podman-compose stop` (SIGTERM) ends keyport with exit code 0.
# No registry is reachable here: the base images are local stand-ins built from Debian packages
# (dev/standin-images.sh, cached under $KEYPORT_SMOKE_CACHE), and compose's image
# variables point at them. Published ports are free ports picked at start, not 1123/9090/9093.
#
#   scripts/compose-smoke.sh          (make compose-smoke)
#   KEYPORT_SMOKE_KEEP=1 scripts/compose-smoke.sh    # leave the stack running afterwards
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${KEYPORT_SMOKE_CACHE:-/var/cache/keyport-smoke}
project=${KEYPORT_SMOKE_PROJECT:-keyport-smoke}
python=${PYTHON:-$repo/.venv/bin/python}
[[ -x $python ]] || python=python3
podman_compose=${PODMAN_COMPOSE:-}
if [[ -z $podman_compose ]]; then
    if [[ -x $(dirname "$python")/podman-compose ]]; then
        podman_compose=$(dirname "$python")/podman-compose
    else
        podman_compose=podman-compose
    fi
fi
command -v podman >/dev/null || { echo "compose-smoke: podman is not installed (apt-get install podman runc)" >&2; exit 2; }
command -v "$podman_compose" >/dev/null || { echo "compose-smoke: podman-compose not found (make venv, or pip install podman-compose)" >&2; exit 2; }

mkdir -p "$cache"
# shellcheck source=dev/containers-conf.sh
source "$repo/dev/containers-conf.sh"
use_local_containers_conf "$cache"
# Services reach each other by name only through netavark's aardvark-dns; on CNI every check that
# crosses containers would time out instead of saying why.
backend=$(podman info --format '{{.Host.NetworkBackend}}')
if [[ $backend != netavark ]]; then
    echo "compose-smoke: podman's network backend is '$backend', not netavark (CONTAINERS_CONF=$CONTAINERS_CONF):" \
        "compose services could not resolve each other; set network_backend = \"netavark\" under [network]" >&2
    exit 2
fi

started=$SECONDS
phase_started=$SECONDS
phase() {
    printf '==> %s (previous step %ss)\n' "$1" $((SECONDS - phase_started))
    phase_started=$SECONDS
}

phase "stand-in base images"
# Run it on its own (not in a process substitution) so its failure stops the smoke here, once.
standins=$("$repo/dev/standin-images.sh" all) || {
    echo "compose-smoke: step 'stand-in base images' failed (its error is above)" >&2
    exit 1
}
while IFS='=' read -r name value; do
    [[ $name =~ ^[A-Z_]+$ ]] && export "$name=$value"
done <<<"$standins"
echo "SWIFT_IMAGE=$SWIFT_IMAGE RUNTIME_IMAGE=$RUNTIME_IMAGE PROMETHEUS_IMAGE=$PROMETHEUS_IMAGE ALERTMANAGER_IMAGE=$ALERTMANAGER_IMAGE"

export KEYPORT_IMAGE=${KEYPORT_IMAGE:-localhost/keyport:smoke}
# The version keyport reports (BuildInfo.releaseVersion) and the commit, as `make image` labels them.
export KEYPORT_VERSION=${KEYPORT_VERSION:-$(sed -n 's/.*releaseVersion = "\(.*\)"/\1/p' "$repo/Sources/KeyportCore/BuildInfo.swift")}
export KEYPORT_REVISION=${KEYPORT_REVISION:-$(git -C "$repo" rev-parse --verify -q HEAD || echo unknown)}
read -r KEYPORT_PORT KEYPORT_ADMIN_PORT PROMETHEUS_PORT ALERTMANAGER_PORT < <("$python" - <<'EOF'
import socket
sockets = [socket.socket() for _ in range(4)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))
EOF
)
export KEYPORT_PORT KEYPORT_ADMIN_PORT PROMETHEUS_PORT ALERTMANAGER_PORT SMOKE_PROJECT=$project
echo "ports: keyport $KEYPORT_PORT (admin $KEYPORT_ADMIN_PORT), prometheus $PROMETHEUS_PORT, alertmanager $ALERTMANAGER_PORT"

compose() {
    # podman-compose can hang when a container fails to start.
    timeout "${COMPOSE_TIMEOUT:-900}" "$podman_compose" -p "$project" -f "$repo/compose.yaml" "$@"
}
down() {
    compose down -v -t 20 >"$cache/compose-down.log" 2>&1 || cat "$cache/compose-down.log" >&2
}
on_exit() {
    local rc=$?
    if ((rc != 0)); then
        echo "compose-smoke: failed; container logs follow" >&2
        for service in keyport prometheus alertmanager; do
            echo "--- $service" >&2
            podman logs --tail 30 "${project}_${service}_1" >&2 2>&1 || true
        done
    fi
    if [[ ${KEYPORT_SMOKE_KEEP:-0} == 1 ]]; then
        echo "compose-smoke: stack left running (project $project); stop it with: $podman_compose -p $project down -v"
    else
        down
    fi
    echo "compose-smoke: total ${SECONDS}s"
    exit "$rc"
}
down
trap on_exit EXIT

phase "build keyport from the Dockerfile (podman-compose build)"
# Docker image format keeps the Dockerfile's HEALTHCHECK (the OCI format has no such field).
BUILDAH_FORMAT=docker compose build keyport 2>&1 | tee "$cache/compose-build.log" | grep -vE '^(STEP|-->|COMMIT|Getting|Copying|Writing|Storing)' | tail -n 40
podman image exists "$KEYPORT_IMAGE" || { echo "compose-smoke: the build produced no $KEYPORT_IMAGE" >&2; exit 1; }

phase "podman-compose up -d"
compose up -d --no-build 2>&1 | tee "$cache/compose-up.log" | grep -vE '^[0-9a-f]{64}$' | tail -n 20

phase "checks"
"$python" "$repo/scripts/compose-smoke-checks.py"

phase "podman-compose stop keyport (SIGTERM)"
compose stop keyport >/dev/null 2>&1
exit_code=$(podman inspect -f '{{.State.ExitCode}}' "${project}_keyport_1")
if [[ $exit_code != 0 ]]; then
    echo "FAILED: keyport exited $exit_code after SIGTERM" >&2
    exit 1
fi
echo "ok: keyport exited 0 after SIGTERM"
logs=$(podman logs "${project}_keyport_1" 2>&1 | tail -n 3)
echo "$logs" | head -c 600
echo
phase "done in $((SECONDS - started))s"
