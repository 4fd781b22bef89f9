#!/bin/sh
# Device check of the CUDA kernels (kernels/gemv4.cuh, kernels/layers.cuh) in one call:
#   sh benchmarks/run_kernels_device.sh OUT_DIR
# build; every CUDA test; matmul at M <= 16 for bf16 / int4 / NF4 (+DQ); decode at batch 1 and 8 for
# bf16, NF4-DQ and int4 on the random Llama-3-8B checkpoint (steady per-step counters included).
set -u
OUT=${1:?out dir}
mkdir -p "$OUT"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
CKPT=/tmp/curebench-bench/llama3-8b
( [ -f "$CKPT/config.json" ] || python3 benchmarks/make_random_checkpoint.py llama3-8b "$CKPT" > "$OUT/ckpt.log" 2>&1 ) &
CK=$!
CUREBENCH_TARGETS="curebench_bench test_cuda curebench_cli" CUREBENCH_NO_TESTS=1 sh tests/cuda/build_on_device.sh > "$OUT/build.log" 2>&1 || { tail -60 "$OUT/build.log"; exit 1; }
stamp built
export LD_LIBRARY_PATH="$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
B=./build-cuda/bin
timeout 200 $B/test_cuda > "$OUT/test_cuda.log" 2>&1
echo "test_cuda rc=$?"; grep -E "^\[  (PASSED|FAILED) |FAILED  \]|Failure|Expected|Which is|rel|actual" "$OUT/test_cuda.log" | head -40
stamp tested
timeout 100 $B/curebench_bench --benchmark_filter='BM_Matmul/[0-4]/[0-9]+/[0-9]+/(1|2|4|8|16)/' --benchmark_out="$OUT/matmul.json" --benchmark_out_format=json > "$OUT/matmul.txt" 2>&1
echo "matmul rc=$?"; stamp matmul
wait $CK; stamp ckpt
for Q in bf16 nf4-dq int4 bf16-aten nf4-dq-aten; do
  QV=${Q%-aten}; [ "$QV" = bf16 ] && QV=
  case $Q in *-aten) export CUREBENCH_BENCH_ATEN_LAYERS=1 ;; *) export CUREBENCH_BENCH_ATEN_LAYERS=0 ;; esac
  CUREBENCH_BENCH_QUANT=$QV CUREBENCH_BENCH_MODEL=$CKPT timeout 100 $B/curebench_bench --benchmark_filter='BM_CopyBandwidth|BM_Decode/(1|8)/' \
    --benchmark_out="$OUT/decode_$Q.json" --benchmark_out_format=json > "$OUT/decode_$Q.txt" 2>&1
  echo "$Q rc=$?"; stamp "$Q"
done
grep -E "^BM_Matmul" "$OUT/matmul.txt" | sed -e 's|/iterations:5/manual_time||' -e 's/ \+/ /g' | cut -d' ' -f1,2,6- | cut -c1-110
grep -hE "BM_" "$OUT"/decode_*.txt | cut -c1-400
