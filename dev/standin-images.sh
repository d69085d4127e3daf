#!/usr/bin/env bash
# This workplace's machine set-up, not part of keyport: builds local stand-ins for the registry images that Dockerfile, Dockerfile.dev and compose.yaml
# start from, on a machine that reaches Debian's archive but no container registry.
#
#   dev/standin-images.sh          # build or load whatever is missing (make container-standins)
#   KEYPORT_STANDIN_REBUILD=1 dev/standin-images.sh   # rebuild everything
#
# Every stand-in is made from Debian bookworm packages:
#   - the runtime base (Dockerfile's RUNTIME_IMAGE default, e.g. debian:12.15-slim): a
#     `debootstrap --variant=minbase` root filesystem without docs, imported with `podman import`;
#   - the Swift image (Dockerfile's SWIFT_IMAGE default, e.g. swift:6.3.1-bookworm): that root
#     filesystem plus the official image's apt packages and this machine's toolchain (/opt/swift,
#     the same 6.3.1 release). Because no github.com is reachable, it also carries this machine's
#     SwiftPM mirror (/opt/swift-packages) and the system gitconfig `insteadOf` that points at it,
#     so `swift package resolve` inside a build works unchanged, and this machine's extra CA
#     certificates (/usr/local/share/ca-certificates), so pip reaches PyPI through its proxy;
#   - Prometheus and Alertmanager: Debian's packages (2.42 / 0.25) laid out like the official
#     images (/bin/prometheus, /bin/alertmanager, user nobody, busybox wget for health checks).
#     Their versions differ from compose.yaml's pins, so they get localhost/ names and the smoke
#     run points PROMETHEUS_IMAGE / ALERTMANAGER_IMAGE at them.
# The images live in podman's store; each is also saved under $KEYPORT_SMOKE_CACHE/images so a
# wiped store is refilled with `podman load` instead of a rebuild.
#
# Prints, as its last lines, `NAME=image` for the four images (the smoke script reads them).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${KEYPORT_SMOKE_CACHE:-/var/cache/keyport-smoke}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
toolchain=${SWIFT_TOOLCHAIN_DIR:-/opt/swift}
swift_packages=${SWIFT_PACKAGES_MIRROR:-/opt/swift-packages}
rebuild=${KEYPORT_STANDIN_REBUILD:-0}

log() { printf 'standin: %s\n' "$*" >&2; }
die() { printf 'standin: error: %s\n' "$*" >&2; exit 1; }

# The default of `ARG NAME=value` in the Dockerfile: the stand-in must carry exactly that name.
dockerfile_default() {
    local value
    value=$(sed -n "s/^ARG $1=//p" "$repo/Dockerfile" | head -n 1)
    [[ -n $value ]] || die "no 'ARG $1=...' default in $repo/Dockerfile"
    printf '%s\n' "$value"
}

runtime_image=$(dockerfile_default RUNTIME_IMAGE)
swift_image=$(dockerfile_default SWIFT_IMAGE)
debian_image=localhost/keyport-standin/debian:bookworm-minbase
prometheus_image=localhost/keyport-standin/prometheus:2.42.0
alertmanager_image=localhost/keyport-standin/alertmanager:0.25.0

command -v podman >/dev/null || die "podman is not installed (apt-get install podman runc)"
# shellcheck source=dev/containers-conf.sh
source "$repo/dev/containers-conf.sh"
use_local_containers_conf "$cache"
mkdir -p "$cache/images"

archive_of() { printf '%s/images/%s.tar\n' "$cache" "$(tr '/:' '__' <<<"$1")"; }

# True when the image is in podman's store, loading it from the cache archive if needed.
have_image() {
    [[ $rebuild == 1 ]] && return 1
    podman image exists "$1" && return 0
    local archive
    archive=$(archive_of "$1")
    if [[ -s $archive ]]; then
        log "loading $1 from $archive"
        podman load -q -i "$archive" >/dev/null && podman image exists "$1" && return 0
    fi
    return 1
}

save_image() {
    local archive
    archive=$(archive_of "$1")
    log "saving $1 to $archive"
    podman save -q -o "$archive.tmp" "$1" && mv "$archive.tmp" "$archive"
}

build_debian() {
    have_image "$debian_image" && return 0
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
    local rootfs=$cache/rootfs-minbase
    log "debootstrap --variant=minbase bookworm from $mirror"
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
        die "debootstrap failed, see $cache/debootstrap.log"
    # What the official slim image also leaves out or sets up.
    rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
        "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    : >"$rootfs/etc/hostname"
    tar --numeric-owner -C "$rootfs" -c . |
        podman import -q --change 'CMD ["bash"]' - "$debian_image" >/dev/null
    rm -rf "$rootfs"
    save_image "$debian_image"
}

build_runtime() {
    have_image "$runtime_image" && return 0
    log "tagging the minbase root filesystem as $runtime_image"
    podman tag "$debian_image" "$runtime_image"
    save_image "$runtime_image"
}

# Builds image $1 from the Containerfile on stdin, with the remaining arguments passed to podman build.
# The context holds extra-ca/: this machine's own trust anchors (a TLS-inspecting egress proxy).
build_from_stdin() {
    local image=$1 context
    shift
    context=$(mktemp -d)
    mkdir "$context/extra-ca"
    cp /usr/local/share/ca-certificates/*.crt "$context/extra-ca/" 2>/dev/null || true
    cat >"$context/Containerfile"
    podman build -q --pull=never --format docker -t "$image" "$@" "$context" >/dev/null
    rm -rf "$context"
}

build_swift() {
    have_image "$swift_image" && return 0
    local version
    version=$("$toolchain/usr/bin/swift" --version 2>/dev/null | sed -n 's/^Swift version \([0-9.]*\).*/\1/p')
    [[ -n $version ]] || die "no Swift toolchain at $toolchain"
    [[ $swift_image == *":$version-"* ]] ||
        die "the toolchain at $toolchain is Swift $version, but the Dockerfile wants $swift_image"
    [[ -d $swift_packages ]] || die "no SwiftPM mirror at $swift_packages"
    log "building $swift_image (Swift $version from $toolchain, ~3.5 GB)"
    build_from_stdin "$swift_image" \
        -v "$toolchain:/mnt/toolchain:ro" -v "$swift_packages:/mnt/swift-packages:ro" <<EOF
FROM $debian_image
# The apt packages of the official swift:*-bookworm image.
RUN export DEBIAN_FRONTEND=noninteractive && apt-get -q update \
 && apt-get -q install -y binutils libicu-dev libcurl4-openssl-dev libedit-dev libsqlite3-dev \
    libncurses-dev libpython3-dev libxml2-dev pkg-config uuid-dev tzdata git gcc libstdc++-12-dev \
 && rm -rf /var/lib/apt/lists/*
RUN mkdir -p /opt/swift/$version && cp -a /mnt/toolchain/usr /opt/swift/$version/ \
 && chmod -R o+r /opt/swift/$version/usr/lib/swift \
 && ln -sf /opt/swift/$version/usr/bin/* /usr/bin/
# Stand-in only: github.com is not reachable here, this machine's mirror answers for it.
RUN cp -a /mnt/swift-packages /opt/swift-packages \
 && git config --system url./opt/swift-packages/.insteadOf https://github.com/ \
 && git config --system --add url./opt/swift-packages/.insteadOf git@github.com: \
 && git config --system --add safe.directory '*'
# Stand-in only: HTTPS (pip in Dockerfile.dev) goes through this machine's egress proxy.
COPY extra-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
ENV PATH=/opt/swift/$version/usr/bin:\$PATH
ENV LD_LIBRARY_PATH=/opt/swift/$version/usr/lib/swift/linux
RUN swift --version
EOF
    save_image "$swift_image"
}

build_prometheus() {
    have_image "$prometheus_image" && return 0
    log "building $prometheus_image from Debian's prometheus package"
    build_from_stdin "$prometheus_image" <<EOF
FROM $debian_image
RUN export DEBIAN_FRONTEND=noninteractive && apt-get -q update \
 && apt-get -q install -y --no-install-recommends prometheus busybox \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /bin/busybox /usr/local/bin/wget \
 && mkdir -p /prometheus && chown nobody:nogroup /prometheus
USER 65534
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
EOF
    save_image "$prometheus_image"
}

build_alertmanager() {
    have_image "$alertmanager_image" && return 0
    log "building $alertmanager_image from Debian's prometheus-alertmanager package"
    build_from_stdin "$alertmanager_image" <<EOF
FROM $debian_image
RUN export DEBIAN_FRONTEND=noninteractive && apt-get -q update \
 && apt-get -q install -y --no-install-recommends prometheus-alertmanager busybox \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /bin/busybox /usr/local/bin/wget \
 && ln -s /usr/bin/prometheus-alertmanager /bin/alertmanager \
 && mkdir -p /alertmanager && chown nobody:nogroup /alertmanager
USER 65534
WORKDIR /alertmanager
EXPOSE 9093
ENTRYPOINT ["/bin/alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
EOF
    save_image "$alertmanager_image"
}

only=${1:-all}
build_debian
case $only in
    all) build_runtime; build_prometheus; build_alertmanager; build_swift ;;
    runtime) build_runtime ;;
    swift) build_swift ;;
    monitoring) build_prometheus; build_alertmanager ;;
    *) die "unknown set '$only' (accepted: all, runtime, swift, monitoring)" ;;
esac

printf 'RUNTIME_IMAGE=%s\nSWIFT_IMAGE=%s\nPROMETHEUS_IMAGE=%s\nALERTMANAGER_IMAGE=%s\n' \
    "$runtime_image" "$swift_image" "$prometheus_image" "$alertmanager_image"
