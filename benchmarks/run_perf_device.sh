#!/bin/sh
# The performance work's device run (docs/performance.md), in two parts that each fit one 10-minute call:
#   sh benchmarks/run_perf_device.sh OUT_DIR a   build, CUDA tests (graphs, dequant, parity), bf16 suite, matmul suite
#   sh benchmarks/run_perf_device.sh OUT_DIR b   build, int4 + NF4 suites (QuantizeOnLoad), curebench load --gpu-budget 16GiB
set -u
OUT=${1:?out dir}; PART=${2:-a}
mkdir -p "$OUT"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
TARGETS="curebench_bench"
[ "$PART" = a ] && TARGETS="curebench_bench test_cuda"
[ "$PART" = b ] && TARGETS="curebench_bench curebench_cli"
CUREBENCH_TARGETS="$TARGETS" CUREBENCH_NO_TESTS=1 sh tests/cuda/build_on_device.sh > "$OUT/build_$PART.log" 2>&1 || { tail -40 "$OUT/build_$PART.log"; exit 1; }
stamp built
export LD_LIBRARY_PATH="$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
CKPT=/tmp/curebench-bench/llama3-8b
( [ -f "$CKPT/config.json" ] || python3 benchmarks/make_random_checkpoint.py llama3-8b "$CKPT" > "$OUT/ckpt.log" 2>&1 ) &
CK=$!
B=./build-cuda/bin
if [ "$PART" = a ]; then
  timeout 150 $B/test_cuda --gtest_filter='*CudaGraph*:*CudaDequant*:*CudaParity*:*CudaStories*' > "$OUT/test_cuda.log" 2>&1
  echo "test_cuda rc=$?"; grep -E "^\[  (PASSED|FAILED) |FAILED  \]|Failure" "$OUT/test_cuda.log" | head -20
  stamp tested
  timeout 120 $B/curebench_bench --benchmark_filter='BM_Matmul|BM_DequantCheck' --benchmark_out="$OUT/matmul.json" --benchmark_out_format=json > "$OUT/matmul.txt" 2>&1
  echo "matmul rc=$?"; stamp matmul
  wait $CK; stamp ckpt
  CUREBENCH_BENCH_MODEL=$CKPT timeout 240 $B/curebench_bench --benchmark_filter='BM_CopyBandwidth|BM_Load|BM_Decode|BM_SeedWorkload' \
    --benchmark_out="$OUT/curebench_bf16.json" --benchmark_out_format=json > "$OUT/bf16.txt" 2>&1
  echo "bf16 rc=$?"; stamp bf16
  grep -E "BM_|rel_err" "$OUT/bf16.txt" "$OUT/matmul.txt" | cut -c1-220 | tail -40
else
  wait $CK; stamp ckpt
  for Q in int4 nf4; do
    CUREBENCH_BENCH_QUANT=$Q CUREBENCH_BENCH_MODEL=$CKPT timeout 200 $B/curebench_bench \
      --benchmark_filter='BM_CopyBandwidth|BM_Load|BM_Decode/|BM_SeedWorkload' \
      --benchmark_out="$OUT/curebench_$Q.json" --benchmark_out_format=json > "$OUT/$Q.txt" 2>&1
    echo "$Q rc=$?"; stamp $Q
  done
  timeout 120 $B/curebench load --model "$CKPT" --device cuda --gpu-budget 16GiB --json > "$OUT/load_16gib.json" 2> "$OUT/load_16gib.err"
  echo "load rc=$?"; stamp load
  grep -E "BM_" "$OUT/int4.txt" "$OUT/nf4.txt" | cut -c1-220
  head -c 3000 "$OUT/load_16gib.json"; tail -5 "$OUT/load_16gib.err"
fi
