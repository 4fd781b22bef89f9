#!/bin/sh
# The fused 4-bit GEMM (kernels/gemm4.cuh) checked and timed without libtorch, in one short device call (no
# CMake build: one nvcc translation unit, ~1 min):
#   sh benchmarks/run_gemm4_standalone_device.sh OUT_DIR
# tests/cuda/gemm4_standalone.cu: every format against float64 and against dequantize + cuBLAS, grouped/gated
# against separate launches (OUT_DIR/check.txt), then the Llama-3-8B shapes at M = 16..256, bf16 cuBLAS vs the
# fused GEMM vs dequantize + cuBLAS on NF4-DQ and int4 g128 (OUT_DIR/bench.txt, a markdown table).
# The full path through libtorch (CudaGemm4 tests, BM_Gemm4, BM_Decode): benchmarks/run_gemm4_device.sh.
set -u
OUT=${1:?out dir}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader > "$OUT/gpu.txt" 2>&1
nvcc -std=c++17 -O2 -arch=sm_90 -Iinclude -Xcompiler -static-libstdc++,-static-libgcc tests/cuda/gemm4_standalone.cu \
  -lcublas -o /tmp/gemm4_standalone > "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
L=$(find /usr/local/cuda/ /usr/local/cuda*/ -name 'libcublas.so.13' 2>/dev/null | head -1)
[ -n "$L" ] && export LD_LIBRARY_PATH="$(dirname "$L"):${LD_LIBRARY_PATH:-}"
timeout "${CHECK_TIMEOUT:-120}" /tmp/gemm4_standalone check > "$OUT/check.txt" 2>&1
echo "check rc=$?"
timeout "${BENCH_TIMEOUT:-150}" /tmp/gemm4_standalone bench > "$OUT/bench.txt" 2>&1
echo "bench rc=$?"
cat "$OUT/gpu.txt"; grep -v "^FAIL" "$OUT/check.txt" | tail -5; grep "^FAIL" "$OUT/check.txt" | head -30; cat "$OUT/bench.txt"
