#!/bin/sh
# Decode at every batch size, per weight format, in one device call (issue 17's table; docs/performance.md):
#   sh benchmarks/run_decode_sweep_device.sh OUT_DIR
# build (curebench_bench, test_cuda); the CUDA tests of TEST_FILTER (run whatever they say: the timings are still
# taken, and the summary shows the test result beside them); BM_Decode at DECODE_BATCHES for each format of QUANTS
# (one process each, so no process holds two models) on the random Llama-3-8B checkpoint; then, for each format of
# A_B_QUANTS, BM_Decode at A_B_BATCHES with the switch A_B_ENV (default CUREBENCH_ROPE_CACHE=0: the decode step's
# RoPE + cache write as four launches, the composition before the fused kernel; CUREBENCH_FP8_GEMV=0: FP8 decode
# rows through at::_scaled_mm), for a before/after from the same build.
# OUT_DIR/summary.txt: steady tok/s and peak GPU memory per run; OUT_DIR/results/*.json the raw Google Benchmark files.
set -u
OUT=${1:?out dir}
R="$OUT/results"; mkdir -p "$R"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$R/timeline.txt"; }
CKPT=/tmp/curebench-bench/llama3-8b
( [ -f "$CKPT/config.json" ] || python3 benchmarks/make_random_checkpoint.py llama3-8b "$CKPT" > "$R/ckpt.log" 2>&1 ) &
CK=$!
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,memory.total --format=csv > "$R/gpu.txt" 2>&1
CUREBENCH_TARGETS="curebench_bench test_cuda" CUREBENCH_NO_TESTS=1 sh tests/cuda/build_on_device.sh > "$R/build.log" 2>&1 ||
  { tail -80 "$R/build.log"; exit 1; }
stamp built
export LD_LIBRARY_PATH="$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
B=./build-cuda/bin
timeout "${TEST_TIMEOUT:-200}" $B/test_cuda --gtest_filter="${TEST_FILTER:-CudaFp8.*:CudaLayers.*}" > "$R/test_cuda.log" 2>&1
echo "test_cuda (${TEST_FILTER:-CudaFp8.*:CudaLayers.*}) rc=$?" | tee -a "$R/timeline.txt"
# gtest runs nothing, and exits 0, when a filter matches no test (value-parameterized suites are Families/Suite.*).
grep -q "Running 0 tests" "$R/test_cuda.log" && echo "WARNING: TEST_FILTER matched no test" | tee -a "$R/timeline.txt"
grep -E "^\[  (PASSED|FAILED) |FAILED  \]|Failure|Expected|Which is|exception|differ" "$R/test_cuda.log" | head -40 | tee -a "$R/timeline.txt"
stamp tested
wait $CK; stamp ckpt
run() {  # label, extra env, quant, batches
  [ $(( $(date +%s) - T0 )) -gt "${UNTIL:-540}" ] && { echo "skipped $1 (time)" | tee -a "$R/timeline.txt"; return; }
  env $2 CUREBENCH_BENCH_QUANT=$3 CUREBENCH_BENCH_MODEL=$CKPT timeout 120 $B/curebench_bench \
    --benchmark_filter="BM_CopyBandwidth|BM_Decode/($4)/" --benchmark_out="$R/decode_$1.json" --benchmark_out_format=json > "$R/decode_$1.txt" 2>&1
  echo "decode $1 rc=$?" | tee -a "$R/timeline.txt"
}
for q in ${QUANTS:-fp8 none nf4-dq int4}; do run "$q" "CUREBENCH_ROPE_CACHE=1" "$q" "${DECODE_BATCHES:-1|8|32|64|128}"; done
AB=${A_B_ENV:-CUREBENCH_ROPE_CACHE=0}
for q in ${A_B_QUANTS:-}; do run "${q}_$(echo "$AB" | tr 'A-Z=' 'a-z_')" "$AB" "$q" "${A_B_BATCHES:-1}"; done
stamp decoded
python3 - "$R" > "$OUT/summary.txt" <<'PY'
import glob, json, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], "decode_*.json"))):
    try:
        d = json.load(open(f))
    except Exception as e:
        print(os.path.basename(f), "unreadable:", e); continue
    for b in d["benchmarks"]:
        if b.get("error_occurred"):
            print(os.path.basename(f), b["name"], "error", b.get("error_message")); continue
        if not b["name"].startswith("BM_Decode"): continue
        keep = {k: round(b[k], 3) if isinstance(b[k], float) else b[k] for k in b
                if "tok_per_s" in k or "peak" in k or "roofline" in k or "step_ms" in k or k == "label"}
        print(os.path.basename(f)[7:-5], b["name"], json.dumps(keep, sort_keys=True))
PY
cat "$R/timeline.txt" "$OUT/summary.txt"
tar czf "$OUT/results.tgz" -C "$OUT" results
