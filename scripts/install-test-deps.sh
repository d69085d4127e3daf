#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real (Prometheus, Alertmanager, promtool, amtool, ...).
# Idempotent: installs only what dpkg does not list as installed. Needs root (or sudo) for apt;
# otherwise prints what to install. Every package named here is absent from a brand-new machine of
# this project's kind (the env entry's packages/installed-swift.txt), so none may be assumed.
#   scripts/install-test-deps.sh               what `make test` needs
#   scripts/install-test-deps.sh --containers  also podman and its helpers, for `make compose-smoke`
set -euo pipefail
containers=false
[ "${1:-}" = "--containers" ] && containers=true

packages=(
  prometheus               # prometheus, promtool
  prometheus-alertmanager  # prometheus-alertmanager, amtool
  haproxy                  # the load balancer of the HA tests (ops-tests/test_ha.py)
  podman                   # podman-compose config (ops-tests/test_containers.py) calls `podman version`
  # podman's network stack, installed with podman itself. Without netavark in the same apt run, apt
  # satisfies podman's "container-network-stack" with containernetworking-plugins, podman's first
  # command then records CNI as this machine's backend for good, and CNI here has no DNS plugin:
  # compose services cannot resolve each other ("lookup alertmanager ...: no such host").
  # netavark finds aardvark-dns by path, and programs the firewall through iptables.
  netavark aardvark-dns iptables
  python3-venv             # python3 -m venv needs ensurepip, which Debian ships separately
)
if $containers; then
  # catatonit: the pause process of `podman kube play`'s pods (make kube-play-smoke).
  packages+=(runc debootstrap slirp4netns fuse-overlayfs uidmap catatonit)
fi

installed() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed; }
missing=()
for package in "${packages[@]}"; do
  installed "$package" || missing+=("$package")
done
# A pyenv or other non-Debian python3 brings its own ensurepip.
if [[ " ${missing[*]} " == *" python3-venv "* ]] && python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing=("${missing[@]/python3-venv}")
fi
read -r -a missing <<<"${missing[*]}"
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then apt=(apt-get); elif command -v sudo >/dev/null; then apt=(sudo apt-get); else
  echo "install-test-deps: please install these Debian packages: ${missing[*]}" >&2
  exit 1
fi
echo "install-test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" -o DPkg::Lock::Timeout=600 update -qq
"${apt[@]}" -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
