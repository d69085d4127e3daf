#!/usr/bin/env bash
# Installs the Debian tools the tests drive for real (Prometheus, Alertmanager, promtool, amtool, ...).
# Idempotent: installs only what is missing. Needs root (or sudo) for apt; otherwise prints what to install.
#   scripts/install-test-deps.sh               what `make test` needs
#   scripts/install-test-deps.sh --containers  also podman and debootstrap, for `make compose-smoke`
set -euo pipefail
containers=false
[ "${1:-}" = "--containers" ] && containers=true

# command → Debian package that provides it
declare -A wanted=(
  [prometheus]=prometheus
  [promtool]=prometheus
  [prometheus-alertmanager]=prometheus-alertmanager
  [amtool]=prometheus-alertmanager
)
if $containers; then
  wanted+=(
    [podman]=podman [runc]=runc [debootstrap]=debootstrap [slirp4netns]=slirp4netns
    [fuse-overlayfs]=fuse-overlayfs [newuidmap]=uidmap
  )
fi
missing=()
for command in "${!wanted[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${wanted[$command]}")
done
# podman's network stack on Debian bookworm: netavark finds its DNS helper by path, not on PATH.
if $containers; then
  [ -x /usr/lib/podman/netavark ] || missing+=(netavark)
  [ -x /usr/lib/podman/aardvark-dns ] || missing+=(aardvark-dns)
fi
# python3 -m venv needs ensurepip, which Debian ships separately.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" -eq 0 ]; then apt=(apt-get); elif command -v sudo >/dev/null; then apt=(sudo apt-get); else
  echo "install-test-deps: please install these Debian packages: $packages" >&2
  exit 1
fi
echo "install-test-deps: installing $packages"
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
"${apt[@]}" -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $packages >/dev/null
