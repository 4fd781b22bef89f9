#!/bin/sh
# Installs the Debian packages curebench needs, only those that are missing; runs apt-get update at most
# once and only when something must be installed. Safe to run again (idempotent).
# clang-14 + libclang-rt-14-dev (sanitizer and libFuzzer runtimes) + ninja-build: the `asan` preset that CI runs
# after the normal tests, and tests/fuzz/run_fuzzers.sh.
# libgloo-dev: gloo's headers, which libtorch-dev's ProcessGroupGloo.hpp includes (tensor parallelism on the CPU,
# dist/tensor_parallel.hpp); the library itself comes with libtorch-dev (libgloo0).
set -eu
PKGS="cmake g++ make git pkg-config libtorch-dev libeigen3-dev nlohmann-json3-dev librange-v3-dev libgtest-dev \
libbenchmark-dev libgnuplot-iostream-dev gnuplot-nox libboost-iostreams-dev libboost-filesystem-dev \
libboost-system-dev libpcre2-dev libzip-dev zip unzip libcli11-dev nodejs npm \
clang-14 libclang-rt-14-dev ninja-build libgloo-dev"
missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # nodejs/npm may come from outside Debian (a preinstalled node); accept a working binary.
    case "$p" in nodejs) command -v node >/dev/null 2>&1 && continue ;; npm) command -v npm >/dev/null 2>&1 && continue ;; esac
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  echo "bootstrap: all dependencies present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "bootstrap: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
