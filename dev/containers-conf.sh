# Sourced by dev/standin-images.sh and scripts/compose-smoke.sh: this machine's podman starts
# containers only with runc and modest ulimits, and compose services find each other only through
# netavark's DNS (aardvark-dns). Unless CONTAINERS_CONF is already set, write a containers.conf
# saying so into the directory $1 and export CONTAINERS_CONF pointing at it. The backend is named,
# not left to podman: podman otherwise keeps whichever backend its first command found
# (/var/lib/containers/storage/defaultNetworkBackend), and a machine that first ran podman with
# only CNI's plugins installed stays on CNI, which has no DNS here.
use_local_containers_conf() {
    [[ -n ${CONTAINERS_CONF:-} ]] && return 0
    mkdir -p "$1"
    printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n[network]\nnetwork_backend = "netavark"\n' \
        >"$1/containers.conf"
    export CONTAINERS_CONF=$1/containers.conf
}
