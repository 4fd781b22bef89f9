#!/bin/sh
# The performance suite on the GPU machine in ONE call (docs/performance.md), curebench and the transformers
# peer side by side on the same random Llama-3-8B-shaped checkpoint:
#   sh benchmarks/run_perf_device.sh OUT_DIR
# build; every CUDA test; curebench bf16 / NF4-DQ / int4 / FP8 suites (copy bandwidth, load, decode at batch
# 1/8/32/128, the seed's 100 x 512 workload); transformers 5.x generate + bare loop at batch 1/8/32 and the
# seed workload; `curebench load --gpu-budget 16GiB`. Everything lands in OUT_DIR/results.tgz, and a
# summary in OUT_DIR/summary.txt (the flat metrics: python3 benchmarks/merge_suite.py, nightly_compare.py).
set -u
OUT=${1:?out dir}
R="$OUT/results"; mkdir -p "$R"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$R/timeline.txt"; }
CKPT=/tmp/curebench-bench/llama3-8b
( [ -f "$CKPT/config.json" ] || python3 benchmarks/make_random_checkpoint.py llama3-8b "$CKPT" > "$R/ckpt.log" 2>&1 ) &
CK=$!
CUREBENCH_TARGETS="curebench_bench test_cuda curebench_cli" CUREBENCH_NO_TESTS=1 sh tests/cuda/build_on_device.sh > "$R/build.log" 2>&1 || { tail -60 "$R/build.log"; exit 1; }
stamp built
export LD_LIBRARY_PATH="$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
B=./build-cuda/bin
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem,power.limit --format=csv > "$R/gpu.txt" 2>&1
timeout 200 $B/test_cuda --gtest_filter='-CudaLoaderFaults.*' > "$R/test_cuda.log" 2>&1
echo "test_cuda (all but CudaLoaderFaults) rc=$?" | tee -a "$R/timeline.txt"
# The loader fault tests each in a process of its own (a baseline of GPU memory per test, as a user runs one load).
for t in $($B/test_cuda --gtest_list_tests --gtest_filter='CudaLoaderFaults.*' | grep '^  ' | tr -d ' '); do
  timeout 60 $B/test_cuda --gtest_filter="CudaLoaderFaults.$t" > "$R/loader_$t.log" 2>&1
  echo "CudaLoaderFaults.$t rc=$?" | tee -a "$R/timeline.txt"
done
stamp tested
wait $CK; stamp ckpt
suite() {  # name quant filter
  CUREBENCH_BENCH_QUANT=$2 CUREBENCH_BENCH_MODEL=$CKPT timeout 150 $B/curebench_bench --benchmark_filter="$3" \
    --benchmark_out="$R/curebench_$1.json" --benchmark_out_format=json > "$R/curebench_$1.txt" 2>&1
  echo "suite $1 rc=$?" | tee -a "$R/timeline.txt"; stamp "$1"
}
suite bf16 none 'BM_CopyBandwidth|BM_Load|BM_Decode/|BM_DecodeEager/1/|BM_SeedWorkload'
# 4-bit with the classifier quantized too, as the baseline (benchmarks/baselines/h100.json, keys "+lm_head") was
# measured; the default (16-bit classifier, as bitsandbytes) is CUREBENCH_BENCH_QUANT_LM_HEAD=0.
CUREBENCH_BENCH_QUANT_LM_HEAD=1 suite nf4-dq nf4-dq 'BM_CopyBandwidth|BM_Load|BM_Decode/|BM_SeedWorkload'
CUREBENCH_BENCH_QUANT_LM_HEAD=1 suite int4 int4 'BM_CopyBandwidth|BM_Load|BM_Decode/(1|8)/|BM_SeedWorkload'
# FP8 W8A8 (16-bit classifier): its keys (curebench_fp8_*) have no baseline yet; nightly_compare.py lists them, and the
# first nightly's figures become the baseline (docs/performance.md, tenth session, has the H100 figures to expect).
suite fp8 fp8 'BM_CopyBandwidth|BM_Load|BM_Decode/|BM_SeedWorkload'
PYTHONUNBUFFERED=1 timeout 200 python3 benchmarks/peer_transformers.py "$CKPT" "$R/transformers.json" --batches 1,8,32 --seed-workload > "$R/transformers.txt" 2>&1
echo "peer rc=$?" | tee -a "$R/timeline.txt"; stamp peer
timeout 60 $B/curebench load --model "$CKPT" --device cuda --gpu-budget 16GiB --json > "$R/load_16gib.json" 2> "$R/load_16gib.err"
echo "load rc=$?" | tee -a "$R/timeline.txt"; stamp load
{
  cat "$R/gpu.txt"; cat "$R/timeline.txt"
  grep -E "^\[  (PASSED|FAILED) |FAILED  \]" "$R/test_cuda.log"; grep -hE "Failure|Which is|actual" "$R"/loader_*.log | head -20
  grep -hE "^BM_" "$R"/curebench_*.txt | sed 's/ \+/ /g' | cut -c1-330
  cat "$R/transformers.txt" | tail -6
  head -c 1500 "$R/load_16gib.json"; tail -3 "$R/load_16gib.err"
} > "$OUT/summary.txt" 2>&1
tar czf "$OUT/results.tgz" -C "$OUT" results && rm -rf "$R"
cat "$OUT/summary.txt"
