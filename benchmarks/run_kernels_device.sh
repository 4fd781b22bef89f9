#!/bin/sh
# Device check of the CUDA kernels (kernels/gemv4.cuh, kernels/layers.cuh) in one call:
#   sh benchmarks/run_kernels_device.sh OUT_DIR
# build; every CUDA test (the loader fault tests each in its own process); the GEMV tests under each work
# layout (CUREBENCH_GEMV_SPLITK); 4-bit matmul at M <= 8 per code table
# (CUREBENCH_GEMV_PAIR_LUT_ROWS: pair table from that many output rows; 0 everywhere, 1000000000 never);
# Nsight Compute sections of the M = 1 GEMV on the lm_head shape per table; decode at batch 1 and 8 for
# bf16, and for NF4-DQ and int4 per table threshold, on the random Llama-3-8B checkpoint.
# OUT_DIR/summary.txt + results.tgz.
set -u
OUT=${1:?out dir}
R="$OUT/results"; mkdir -p "$R"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
CKPT=/tmp/curebench-bench/llama3-8b
( [ -f "$CKPT/config.json" ] || python3 benchmarks/make_random_checkpoint.py llama3-8b "$CKPT" > "$R/ckpt.log" 2>&1 ) &
CK=$!
CUREBENCH_TARGETS="curebench_bench test_cuda" CUREBENCH_NO_TESTS=1 sh tests/cuda/build_on_device.sh > "$R/build.log" 2>&1 || { tail -60 "$R/build.log"; exit 1; }
stamp built
export LD_LIBRARY_PATH="$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
B=./build-cuda/bin
{
  timeout 200 $B/test_cuda --gtest_filter='-CudaLoaderFaults.*' > "$R/test_cuda.log" 2>&1
  echo "test_cuda (all but CudaLoaderFaults) rc=$?"
  grep -E "^\[  (PASSED|FAILED) |FAILED  \]" "$R/test_cuda.log"
  for t in $($B/test_cuda --gtest_list_tests --gtest_filter='CudaLoaderFaults.*' | grep '^  ' | tr -d ' '); do
    timeout 60 $B/test_cuda --gtest_filter="CudaLoaderFaults.$t" > "$R/loader_$t.log" 2>&1
    echo "CudaLoaderFaults.$t rc=$?"; grep -E "Failure|Which is|actual|\.cpp:[0-9]+" "$R/loader_$t.log" | head -6
  done
  for s in 1 2; do
    CUREBENCH_GEMV_SPLITK=$s timeout 60 $B/test_cuda --gtest_filter='*CudaGemv4*:CudaDequant.*' > "$R/gemv_split$s.log" 2>&1
    echo "gemv tests split_k=$s rc=$?"
  done
} > "$R/tests.txt" 2>&1
cat "$R/tests.txt"; stamp tested
NEVER=1000000000
for p in $NEVER 8192 0; do
  CUREBENCH_GEMV_PAIR_LUT_ROWS=$p timeout 60 $B/curebench_bench --benchmark_filter='BM_Matmul/(1|4)/[0-9]+/[0-9]+/(1|2|4|8)/' --benchmark_out="$R/matmul_pair$p.json" --benchmark_out_format=json > "$R/matmul_pair$p.txt" 2>&1
done
stamp matmul
for p in $NEVER 0; do
  CUREBENCH_GEMV_PAIR_LUT_ROWS=$p timeout 60 ncu --clock-control none -k regex:gemv4 -c 1 --section SpeedOfLight --section WarpStateStats \
    --section Occupancy --section MemoryWorkloadAnalysis --section LaunchStats \
    $B/curebench_bench --benchmark_filter="BM_Matmul/4/128256/4096/1/" > "$R/ncu_lmhead_pair$p.txt" 2>&1
done
stamp ncu
wait $CK; stamp ckpt
for Q in none nf4-dq int4; do
  for p in $NEVER 16384 8192 0; do
    [ "$Q" = none ] && [ $p != $NEVER ] && continue
    [ "$Q" = int4 ] && [ $p != $NEVER ] && [ $p != 8192 ] && continue
    CUREBENCH_GEMV_PAIR_LUT_ROWS=$p CUREBENCH_BENCH_QUANT=$Q CUREBENCH_BENCH_MODEL=$CKPT timeout 100 $B/curebench_bench --benchmark_filter='BM_CopyBandwidth|BM_Decode/(1|8)/' \
      --benchmark_out="$R/decode_${Q}_pair$p.json" --benchmark_out_format=json > "$R/decode_${Q}_pair$p.txt" 2>&1
  done
done
stamp decode
{
  cat "$R/tests.txt"
  for p in $NEVER 8192 0; do echo "pair_lut_rows=$p"; grep -E "^BM_Matmul" "$R/matmul_pair$p.txt" | sed -e 's|/iterations:5/manual_time||' -e 's/ \+/ /g' | cut -d' ' -f1,2,7; done
  for f in "$R"/ncu_*.txt; do echo "$f"; grep -E "Duration|DRAM Throughput|L1/TEX Cache Throughput|Compute \(SM\) Throughput|Achieved Occupancy|Registers Per|Warp Cycles Per Issued" "$f" | head -12; done
  for f in "$R"/decode_*.txt; do echo "$f"; grep -E "^BM_Decode" "$f" | sed 's/ \+/ /g' | cut -c1-260; done
} > "$OUT/summary.txt"
tar czf "$OUT/results.tgz" -C "$OUT" results && rm -rf "$R"
cat "$OUT/summary.txt"
