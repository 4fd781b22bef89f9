#!/bin/sh
# The performance suite on the GPU machine, curebench and transformers side by side in one run:
#   sh benchmarks/run_device_suite.sh OUT_DIR [SHAPE]       (SHAPE: llama3-8b | mistral-7b | qwen2-7b | gemma2-9b)
# Writes OUT_DIR/curebench_<shape>.json (Google Benchmark JSON) and OUT_DIR/transformers_<shape>.json.
set -eu
OUT=${1:?out dir}; SHAPE=${2:-llama3-8b}
mkdir -p "$OUT"
CUREBENCH_TARGETS=curebench_bench CUREBENCH_NO_TESTS=1 sh tests/cuda/build_on_device.sh > "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
export LD_LIBRARY_PATH="$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
CKPT=/tmp/curebench-bench/$SHAPE
[ -f "$CKPT/config.json" ] || python3 benchmarks/make_random_checkpoint.py "$SHAPE" "$CKPT"
CUREBENCH_BENCH_MODEL=$CKPT ./build-cuda/bin/curebench_bench --benchmark_out="$OUT/curebench_$SHAPE.json" \
  --benchmark_out_format=json ${CUREBENCH_BENCH_FILTER:+--benchmark_filter=$CUREBENCH_BENCH_FILTER}
PYTHONUNBUFFERED=1 python3 benchmarks/peer_transformers.py "$CKPT" "$OUT/transformers_$SHAPE.json" \
  --batches "${PEER_BATCHES:-1,8,32}" ${PEER_SEED_WORKLOAD:+--seed-workload}
