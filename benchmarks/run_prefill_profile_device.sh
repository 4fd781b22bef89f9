#!/bin/sh
# FP8 prefill and the batch-1 decode step, taken apart, in one device call (docs/performance.md, eleventh session):
#   sh benchmarks/run_prefill_profile_device.sh OUT_DIR
# 1. while curebench builds: benchmarks/probe_fp8_gemm.py, PyTorch's own bf16 and FP8 (_scaled_mm) GEMMs on the
#    Llama-3-8B shapes at 1..16384 rows (the peer figure for FP8 prefill);
# 2. the CUDA tests of TEST_FILTER;
# 3. BM_Prefill (1, 8, 32 x 512 tokens) per format of PREFILL_QUANTS, and FP8 again with the ATen activation
#    quantizer (CUREBENCH_FP8_QUANT_KERNEL=0), each in its own process, on the random Llama-3-8B;
# 4. `ncu` (Nsight Compute, --clock-control none) over PROFILE_STEPS decode steps of BM_Decode/1 per format of
#    PROFILE_QUANTS (CUREBENCH_BENCH_PROFILE_STEPS: cudaProfilerStart/Stop around them), one CSV row per kernel with
#    its duration: what a step's time is made of, kernel by kernel, and the gaps (step time - sum of kernels).
# OUT_DIR/summary.txt: the figures; OUT_DIR/results.tgz: every raw file.
set -u
OUT=${1:?out dir}
R="$OUT/results"; mkdir -p "$R"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$R/timeline.txt"; }
CKPT=/tmp/curebench-bench/llama3-8b
( [ -f "$CKPT/config.json" ] || python3 benchmarks/make_random_checkpoint.py llama3-8b "$CKPT" > "$R/ckpt.log" 2>&1
  timeout 120 python3 benchmarks/probe_fp8_gemm.py "$R/probe_fp8_gemm.json" > "$R/probe_fp8_gemm.txt" 2>&1 ) &
BG=$!
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,memory.total --format=csv > "$R/gpu.txt" 2>&1
CUREBENCH_TARGETS="curebench_bench test_cuda" CUREBENCH_NO_TESTS=1 sh tests/cuda/build_on_device.sh > "$R/build.log" 2>&1 ||
  { tail -80 "$R/build.log"; exit 1; }
stamp built
export LD_LIBRARY_PATH="$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
B=./build-cuda/bin
wait $BG; stamp "checkpoint + probe"
if [ -n "${TEST_FILTER:-}" ]; then
  timeout "${TEST_TIMEOUT:-120}" $B/test_cuda --gtest_filter="$TEST_FILTER" > "$R/test_cuda.log" 2>&1
  echo "test_cuda ($TEST_FILTER) rc=$?" | tee -a "$R/timeline.txt"
  grep -E "^\[  (PASSED|FAILED) |FAILED  \]|Failure|Expected|Which is|exception" "$R/test_cuda.log" | head -30 | tee -a "$R/timeline.txt"
fi
bench() {  # label, env, quant, filter
  [ $(( $(date +%s) - T0 )) -gt "${UNTIL:-520}" ] && { echo "skipped $1 (time)" | tee -a "$R/timeline.txt"; return; }
  env $2 CUREBENCH_BENCH_QUANT=$3 CUREBENCH_BENCH_MODEL=$CKPT timeout 120 $B/curebench_bench --benchmark_filter="$4" \
    --benchmark_out="$R/$1.json" --benchmark_out_format=json > "$R/$1.txt" 2>&1
  echo "$1 rc=$?" | tee -a "$R/timeline.txt"
}
for q in ${PREFILL_QUANTS:-none fp8}; do bench "prefill_$q" "CUREBENCH_FP8_QUANT_KERNEL=1" "$q" "BM_Prefill"; done
bench prefill_fp8_atenquant "CUREBENCH_FP8_QUANT_KERNEL=0" fp8 "BM_Prefill/32/"
stamp prefilled
for q in ${PROFILE_QUANTS:-int4}; do
  [ $(( $(date +%s) - T0 )) -gt "${UNTIL:-520}" ] && { echo "skipped profile $q (time)" | tee -a "$R/timeline.txt"; continue; }
  CUREBENCH_BENCH_PROFILE_STEPS=${PROFILE_STEPS:-2} CUREBENCH_BENCH_QUANT=$q CUREBENCH_BENCH_MODEL=$CKPT timeout 150 \
    ncu --profile-from-start off --clock-control none --metrics gpu__time_duration.sum --csv \
    $B/curebench_bench --benchmark_filter='BM_CopyBandwidth|BM_Decode/1/' > "$R/ncu_$q.csv" 2> "$R/ncu_$q.err"
  echo "ncu $q rc=$?" | tee -a "$R/timeline.txt"
done
stamp profiled
python3 - "$R" > "$OUT/summary.txt" <<'PY'
import collections, csv, glob, io, json, os, sys
R = sys.argv[1]
for f in sorted(glob.glob(os.path.join(R, "prefill_*.json"))):
    try:
        d = json.load(open(f))
    except Exception as e:
        print(os.path.basename(f), "unreadable:", e); continue
    for b in d["benchmarks"]:
        if b["name"].startswith("BM_Prefill"):
            print(os.path.basename(f)[:-5], b["name"], "ms", round(b["real_time"], 2), "tok/s", round(b.get("items_per_second", 0)))
for f in sorted(glob.glob(os.path.join(R, "ncu_*.csv"))):
    text = open(f).read()
    start = text.find('"ID"')
    if start < 0:
        print(os.path.basename(f), "no ncu rows"); continue
    rows = [r for r in csv.DictReader(io.StringIO(text[start:])) if r.get("Metric Name") == "gpu__time_duration.sum"]
    unit = rows[0]["Metric Unit"] if rows else ""
    scale = {"nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3}.get(unit, 1.0)
    by = collections.OrderedDict()
    for r in rows:
        name = r["Kernel Name"][:90]
        t = float(r["Metric Value"].replace(",", "")) * scale
        c = by.setdefault(name, [0, 0.0])
        c[0] += 1; c[1] += t
    total = sum(v[1] for v in by.values())
    print(f"{os.path.basename(f)}: {len(rows)} kernels, {total:.1f} us in all (prefill + steps)")
    for name, (n, t) in sorted(by.items(), key=lambda kv: -kv[1][1])[:25]:
        print(f"  {t:10.1f} us {n:6d} x  {name}")
PY
cat "$R/timeline.txt" "$OUT/summary.txt"
tar czf "$OUT/results.tgz" -C "$OUT" results
