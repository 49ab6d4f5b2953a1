#!/bin/sh
# Installs the Debian packages skiff needs to build, test and benchmark.
# Idempotent: only missing packages are installed. Run as root (or via sudo).
set -eu

PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev \
libmicrohttpd-dev libjansson-dev libjemalloc-dev libyaml-dev libsqlite3-dev libgnutls28-dev \
libcurl4-gnutls-dev libwslay-dev zlib1g-dev \
sqlite3 curl ca-certificates etcd-server etcd-client procps psmisc iproute2 \
libarchive-dev libseccomp-dev libnftables-dev nftables crun containernetworking-plugins \
docker-registry busybox-static bash-static wrk jq openssl bsdutils libldns-dev strace"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "deps: missing packages:$missing (run as root to install)" >&2; exit 1
    fi
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
