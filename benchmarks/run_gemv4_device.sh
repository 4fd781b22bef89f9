#!/bin/sh
# The 4-bit decode GEMV (kernels/gemv4.cuh) in one device call, both kernels side by side:
#   sh benchmarks/run_gemv4_device.sh OUT_DIR [decode|nodecode]
# build (curebench_bench, test_cuda); the CUDA tests but the loader fault tests (CudaParity, CudaGemv4, ...) with
# the kernel CUREBENCH_GEMV_KERNEL names (mma: the tensor-core GEMV), and (LUT_TESTS=1) the CudaGemv4 tests again with CUREBENCH_GEMV_KERNEL=lut; BM_Gemv4 (every
# Llama-3-8B shape, NF4-DQ / NF4 / FP4 / int4 g128, M = 1 and 8, both kernels, against the copy bandwidth of the
# same process); then BM_Decode at batch 1 and 8 on the random Llama-3-8B checkpoint for bf16, NF4-DQ and int4
# (tensor-core GEMV), and NF4-DQ / int4 with the FFMA kernel (DECODE_RUNS="QUANT:mma|lut|auto ..." picks others;
# GEMV_BENCH=0 skips BM_Gemv4). OUT_DIR/summary.txt + OUT_DIR/results.tgz.
set -u
OUT=${1:?out dir}
MODE=${2:-decode}
R="$OUT/results"; mkdir -p "$R"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
CKPT=/tmp/curebench-bench/llama3-8b
if [ "$MODE" = decode ]; then
  ( [ -f "$CKPT/config.json" ] || python3 benchmarks/make_random_checkpoint.py llama3-8b "$CKPT" > "$R/ckpt.log" 2>&1 ) &
  CK=$!
fi
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,memory.total --format=csv > "$R/gpu.txt" 2>&1
CUREBENCH_TARGETS="curebench_bench test_cuda" CUREBENCH_NO_TESTS=1 sh tests/cuda/build_on_device.sh > "$R/build.log" 2>&1 || { tail -60 "$R/build.log"; tar czf "$OUT/results.tgz" -C "$OUT" results; exit 1; }
stamp built
export LD_LIBRARY_PATH="$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
B=./build-cuda/bin
{
  timeout 240 $B/test_cuda --gtest_filter='-CudaLoaderFaults.*' > "$R/test_cuda.log" 2>&1
  rc=$?
  echo "test_cuda (all but CudaLoaderFaults; CUREBENCH_GEMV_KERNEL=${CUREBENCH_GEMV_KERNEL:-unset}) rc=$rc"
  grep -E "^\[  (PASSED|FAILED) |FAILED  \]|Failure|Expected|Which is|excess|rel" "$R/test_cuda.log" | head -40
  if [ "${LUT_TESTS:-0}" = 1 ]; then
    CUREBENCH_GEMV_KERNEL=lut timeout 120 $B/test_cuda --gtest_filter='CudaGemv4.*' > "$R/test_lut.log" 2>&1
    echo "CudaGemv4 tests with CUREBENCH_GEMV_KERNEL=lut rc=$?"
    grep -E "^\[  (PASSED|FAILED) |FAILED  \]" "$R/test_lut.log"
  fi
} > "$R/tests.txt" 2>&1
cat "$R/tests.txt"; stamp tested
if [ "${GEMV_BENCH:-1}" = 1 ]; then
  timeout 150 $B/curebench_bench --benchmark_filter='BM_Gemv4' --benchmark_out="$R/gemv4.json" --benchmark_out_format=json > "$R/gemv4.txt" 2>&1
  echo "BM_Gemv4 rc=$?"; stamp gemv
fi
if [ "$MODE" = decode ]; then
  wait $CK; stamp ckpt
  for run in ${DECODE_RUNS:-nf4-dq:mma int4:mma none:mma nf4-dq:lut int4:lut}; do
    Q=${run%:*}; K=${run#*:}
    [ $(( $(date +%s) - T0 )) -gt ${DECODE_UNTIL:-400} ] && { echo "skipped decode $run (time)"; continue; }
    env CUREBENCH_GEMV_KERNEL=$K CUREBENCH_BENCH_QUANT=$Q CUREBENCH_BENCH_MODEL=$CKPT timeout 90 $B/curebench_bench \
      --benchmark_filter='BM_CopyBandwidth|BM_Decode/(1|8)/' --benchmark_out="$R/decode_${Q}_$K.json" --benchmark_out_format=json > "$R/decode_${Q}_$K.txt" 2>&1
    echo "decode $run rc=$?"
  done
  stamp decode
fi
{
  stamp summary
  cat "$R/gpu.txt" "$R/tests.txt"
  python3 benchmarks/gemv4_table.py "$R" 2>&1
  grep -E "^BM_Gemv4Copy" "$R/gemv4.txt" 2>/dev/null
  for f in "$R"/decode_*.txt; do echo "$f"; grep -E "^BM_(Decode|CopyBandwidth)" "$f" | sed 's/ \+/ /g' | cut -c1-300; done
} > "$OUT/summary.txt"
tar czf "$OUT/results.tgz" -C "$OUT" results && rm -rf "$R"
cat "$OUT/summary.txt"
