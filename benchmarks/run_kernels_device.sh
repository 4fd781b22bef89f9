#!/bin/sh
# Device check of the CUDA kernels (kernels/gemv4.cuh, kernels/layers.cuh) in one call:
#   sh benchmarks/run_kernels_device.sh OUT_DIR
# build; every CUDA test (the loader fault tests each in its own process); the GEMV tests under each work
# layout (CUREBENCH_GEMV_SPLITK); decode attention fused vs SDPA; 4-bit matmul at M <= 8 per layout; decode
# at batch 1 and 8 for bf16 and NF4-DQ on the random Llama-3-8B checkpoint. OUT_DIR/summary.txt + results.tgz.
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
    CUREBENCH_GEMV_SPLITK=$s timeout 60 $B/test_cuda --gtest_filter='CudaGemv4.*:CudaDequant.*' > "$R/gemv_split$s.log" 2>&1
    echo "gemv tests split_k=$s rc=$?"
  done
} > "$R/tests.txt" 2>&1
cat "$R/tests.txt"; stamp tested
timeout 60 $B/curebench_bench --benchmark_filter='BM_DecodeAttention' --benchmark_out="$R/attention.json" --benchmark_out_format=json > "$R/attention.txt" 2>&1
stamp attention
for s in 1 2 4; do
  CUREBENCH_GEMV_SPLITK=$s timeout 60 $B/curebench_bench --benchmark_filter='BM_Matmul/(1|4)/[0-9]+/[0-9]+/(1|2|4|8)/' --benchmark_out="$R/matmul_split$s.json" --benchmark_out_format=json > "$R/matmul_split$s.txt" 2>&1
done
stamp matmul
wait $CK; stamp ckpt
for Q in none nf4-dq; do
  for s in 1 4; do
    [ "$Q" = none ] && [ $s = 1 ] && continue
    CUREBENCH_GEMV_SPLITK=$s CUREBENCH_BENCH_QUANT=$Q CUREBENCH_BENCH_MODEL=$CKPT timeout 100 $B/curebench_bench --benchmark_filter='BM_CopyBandwidth|BM_Decode/(1|8)/' \
      --benchmark_out="$R/decode_${Q}_split$s.json" --benchmark_out_format=json > "$R/decode_${Q}_split$s.txt" 2>&1
  done
done
stamp decode
{
  cat "$R/tests.txt"
  grep -E "^BM_DecodeAttention" "$R/attention.txt" | sed -e 's|/iterations:5/manual_time||' -e 's/ \+/ /g' | cut -d' ' -f1,2,6-
  for s in 1 2 4; do echo "split_k=$s"; grep -E "^BM_Matmul" "$R/matmul_split$s.txt" | sed -e 's|/iterations:5/manual_time||' -e 's/ \+/ /g' | cut -d' ' -f1,2,7; done
  for f in "$R"/decode_*.txt; do echo "$f"; grep -E "^BM_Decode" "$f" | sed 's/ \+/ /g' | cut -c1-260; done
} > "$OUT/summary.txt"
tar czf "$OUT/results.tgz" -C "$OUT" results && rm -rf "$R"
cat "$OUT/summary.txt"
