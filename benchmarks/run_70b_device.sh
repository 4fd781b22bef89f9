#!/bin/sh
# A Llama-3-70B-shaped checkpoint in 4-bit on one GPU (issue 23 point 3; docs/performance.md), in one device call:
#   sh benchmarks/run_70b_device.sh OUT_DIR
# 1. benchmarks/make_random_4bit_checkpoint.py llama3-70b: random weights written directly in bitsandbytes' stored
#    NF4 + double-quant layout (39.5 GB; the bf16 shards, 141 GB, would not fit the machine's disk);
# 2. `curebench load`: the loader chain as a user runs it, with a 40 GB budget planned for batch 1 x 256 tokens and
#    a 40 GiB one (an A100 40GB) for batch 32 x 256;
# 3. BM_Load and BM_Decode/1 and /32 on it (CUREBENCH_BENCH_QUANT=stored: the Prequantized strategy, as stored),
#    with the copy bandwidth and the GPU peak of each.
# LAYERS=N writes only N layers (a quick check of the whole path). OUT_DIR/summary.txt: the figures.
set -u
OUT=${1:?out dir}
R="$OUT/results"; mkdir -p "$R"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$R/timeline.txt"; }
CKPT=/tmp/curebench-bench/llama3-70b-nf4
( if [ ! -f "$CKPT/config.json" ]; then
    cd benchmarks && python3 make_random_4bit_checkpoint.py llama3-70b "$CKPT" ${LAYERS:+--layers $LAYERS}; fi ) > "$R/ckpt.log" 2>&1 &
CK=$!
CUREBENCH_TARGETS="curebench_bench curebench_cli" CUREBENCH_NO_TESTS=1 sh tests/cuda/build_on_device.sh > "$R/build.log" 2>&1 ||
  { tail -80 "$R/build.log"; exit 1; }
stamp built
wait $CK; stamp "checkpoint written: $(du -sh "$CKPT" | cut -f1)"
tail -3 "$R/ckpt.log"
export LD_LIBRARY_PATH="$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
B=./build-cuda/bin
nvidia-smi --query-gpu=name,memory.total --format=csv > "$R/gpu.txt" 2>&1
for plan in "40GB 1" "40GiB 32"; do
  set -- $plan
  $B/curebench load --model "$CKPT" --device cuda --gpu-budget "$1" --batch "$2" --context 256 > "$R/load_cli_$1_b$2.txt" 2>&1
  echo "curebench load --gpu-budget $1 --batch $2 rc=$?" | tee -a "$R/timeline.txt"
  stamp "cli load $1 b$2"
done
CUREBENCH_BENCH_QUANT=stored CUREBENCH_BENCH_MODEL=$CKPT timeout "${BENCH_TIMEOUT:-300}" $B/curebench_bench \
  --benchmark_filter='BM_CopyBandwidth|BM_Load|BM_Decode/(1|32)/' --benchmark_out="$R/decode_70b.json" --benchmark_out_format=json \
  > "$R/decode_70b.txt" 2>&1
echo "bench rc=$?" | tee -a "$R/timeline.txt"
stamp benched
python3 - "$R" > "$OUT/summary.txt" <<'PY'
import json, os, sys
R = sys.argv[1]
try:
    d = json.load(open(os.path.join(R, "decode_70b.json")))
except Exception as e:
    print("decode_70b.json unreadable:", e); sys.exit(0)
for b in d["benchmarks"]:
    keep = {k: round(v, 3) if isinstance(v, float) else v for k, v in b.items()
            if k in ("real_time", "time_unit", "label", "error_message") or "tok_per_s" in k or "peak" in k or "GB" in k
            or "roofline" in k or "step_ms" in k}
    print(b["name"], json.dumps(keep, sort_keys=True))
PY
cat "$R/timeline.txt" "$OUT/summary.txt"; tail -n 25 "$R"/load_cli_*.txt
tar czf "$OUT/results.tgz" -C "$OUT" results
