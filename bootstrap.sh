#!/usr/bin/env bash
# bootstrap.sh - the Quick start: set up a fresh Debian machine, build Haywire
# in this tree, then either run it or test it.
#
#   ./bootstrap.sh run     install what is missing, build, serve etc/routes.json
#   ./bootstrap.sh check   install what is missing, build, run the whole test suite
#
# Packages come from Debian via apt-get (as root, or through sudo).  Nothing
# else needs installing by hand.
set -euo pipefail
cd "$(dirname "$0")"

mode=${1:-run}
case "$mode" in
  run|check|build) ;;
  *) echo "usage: $0 run|check|build" >&2; exit 2 ;;
esac

# What building and testing need.  The test suite talks to the server with
# curl and Python's standard library; cargo (which pulls Debian's rustc)
# lets `make check` build and test the Rust SDK and its example module
# (`make` alone never needs it); prometheus ships promtool, with which
# tests/integration/metrics.py checks status.so's output (`promtool check
# metrics`; the test skips that check without it).  Debian has no package of
# promtool alone, and installing prometheus starts its server (port 9090)
# where systemd runs: when this script is what installed it, it stops and
# disables that service again, since only promtool was wanted.
# media-types provides /etc/mime.types, the table static.so reads its
# Content-Types from (without it the module falls back on a short built-in
# list of the common types).  libssl-dev is OpenSSL 3, which TLS is built
# on (configure requires it); the openssl command makes the tests'
# throwaway certificates and is one of the real clients they use (s_client).
# testssl.sh (the program is /usr/bin/testssl) is what `make check-tls`
# scans the server's TLS listener with.  libnghttp2-dev is what HTTP/2 is
# built on; nghttp2-client has the real HTTP/2 clients the tests use (nghttp,
# h2load).  libsystemd-dev gives the server sd_notify, so that a Type=notify
# unit knows when it is ready, reloading or stopping (configure uses it
# when present; tests/integration/notify.py plays the service manager).
# haproxy is the balancer of the scale-out recipe (etc/haproxy/), which
# `make check-haproxy` runs in front of two instances and bench/haproxy
# measures; like prometheus, the package starts its own service where
# systemd runs (Debian's config binds no port, but an edited one would, on
# 80 as often as not), which this script stops and disables again when it
# is what installed it: the check starts its own haproxy on free ports.
# debhelper, devscripts, dpkg-dev, fakeroot and lintian build and check the
# Debian packages (debian/), and logrotate runs their logrotate file, in
# `make check-package`.
# The mingw-w64 compilers, wine64 and cmake build the Windows server and
# its dependencies and run its tests (`make check-windows`; the
# dependencies themselves come from Debian's source packages, built by
# tests/windows/build-deps into a cache).
packages=(build-essential autoconf automake libtool pkg-config
          libuv1-dev libhttp-parser-dev libjansson-dev libssl-dev openssl
          libnghttp2-dev nghttp2-client libsystemd-dev
          python3 curl wrk cargo prometheus media-types testssl.sh haproxy
          debhelper devscripts dpkg-dev fakeroot lintian logrotate
          gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 mingw-w64-tools wine64
          cmake)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
  if [[ " ${missing[*]} " == *" haproxy "* ]] && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now haproxy.service >/dev/null 2>&1 || true
  fi
fi

jobs=$(nproc 2>/dev/null || echo 2)
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
  autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt config.status ]; then
  ./configure ${HW_CONFIGURE_FLAGS:-}
fi
make -j"$jobs"

case "$mode" in
  build) ;;
  run)
    echo "bootstrap: serving etc/routes.json (try: curl http://127.0.0.1:8080/hello)" >&2
    exec ./server/haywire -c etc/routes.json ;;
  check)
    make -j"$jobs" check AM_COLOR_TESTS=no ;;
esac
