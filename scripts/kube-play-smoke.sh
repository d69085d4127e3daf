#!/usr/bin/env bash
# kube-play smoke: the chart's rendered keyport, Prometheus and Alertmanager Deployments (with their
# ConfigMaps and Secrets) started by `podman kube play` and checked from outside, each check named
# (scripts/kube-play-smoke.py says what is changed from the render: replicas 1 and the image names).
# Reuses the images compose-smoke builds: KEYPORT_IMAGE (default localhost/keyport:smoke) and the
# Prometheus/Alertmanager stand-ins (dev/standin-images.sh; no registry is reachable here).
#
#   scripts/kube-play-smoke.sh        (make kube-play-smoke, after make compose-smoke)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${KEYPORT_SMOKE_CACHE:-/var/cache/keyport-smoke}
python=${PYTHON:-$repo/.venv/bin/python}
command -v podman >/dev/null || { echo "kube-play-smoke: podman is not installed (scripts/install-test-deps.sh --containers)" >&2; exit 2; }
# podman kube play's pause image runs catatonit: "finding pause binary: exec: catatonit: executable file not found".
command -v catatonit >/dev/null || { echo "kube-play-smoke: catatonit is not installed (scripts/install-test-deps.sh --containers)" >&2; exit 2; }
command -v nsenter >/dev/null || { echo "kube-play-smoke: nsenter (util-linux) is not installed" >&2; exit 2; }

mkdir -p "$cache"
# shellcheck source=dev/containers-conf.sh
source "$repo/dev/containers-conf.sh"
use_local_containers_conf "$cache"

standins=$("$repo/dev/standin-images.sh" monitoring) || { echo "kube-play-smoke: stand-in images failed (above)" >&2; exit 1; }
while IFS='=' read -r name value; do
    [[ $name =~ ^(PROMETHEUS|ALERTMANAGER)_IMAGE$ ]] && export "$name=${!name:-$value}"
done <<<"$standins"
export KEYPORT_IMAGE=${KEYPORT_IMAGE:-localhost/keyport:smoke}
# Debian's Prometheus (the stand-in) is built without kubernetes_sd; the real image has it.
if [[ $PROMETHEUS_IMAGE == localhost/keyport-standin/* ]]; then
    export PROMETHEUS_WITHOUT_KUBERNETES_SD=1
fi
echo "images: keyport $KEYPORT_IMAGE, prometheus $PROMETHEUS_IMAGE, alertmanager $ALERTMANAGER_IMAGE"
started=$SECONDS
status=0
"$python" "$repo/scripts/kube-play-smoke.py" || status=$?
echo "kube-play-smoke: total $((SECONDS - started))s"
exit "$status"
