#!/bin/sh
# Builds and tests curebench against the CUDA libtorch of PyTorch 2.x on the GPU machine, e.g.
#   sh tests/cuda/build_on_device.sh [ctest args...]
# Libraries that machine lacks (range-v3, PCRE2 dev files, libzip, Eigen's CMake config) come from Debian
# packages unpacked into .devdeps/root (see docs/cuda.md for the two commands that make it).
# Dashboards need Boost's compiled libraries, absent there: CUREBENCH_WITH_REPORTS=OFF.
set -eu
DEPS="$PWD/.devdeps/root"
for pc in "$DEPS"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc "$DEPS"/usr/share/pkgconfig/*.pc; do
  sed -i "s|^prefix=/usr\$|prefix=$DEPS/usr|" "$pc"
done
export PKG_CONFIG_PATH="$DEPS/usr/lib/x86_64-linux-gnu/pkgconfig:$DEPS/usr/share/pkgconfig"
export LD_LIBRARY_PATH="$DEPS/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
TORCH_PREFIX=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$TORCH_PREFIX;$DEPS/usr" \
  -DCUREBENCH_WITH_REPORTS=OFF -DCMAKE_CUDA_ARCHITECTURES=90
# CUREBENCH_TARGETS="a b": build only these; CUREBENCH_NO_TESTS=1: build without running ctest.
cmake --build build-cuda -j16 ${CUREBENCH_TARGETS:+--target $CUREBENCH_TARGETS}
[ "${CUREBENCH_NO_TESTS:-0}" = 1 ] || ctest --test-dir build-cuda --output-on-failure "$@"
