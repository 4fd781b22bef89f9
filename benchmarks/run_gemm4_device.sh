#!/bin/sh
# The fused 4-bit GEMM (kernels/gemm4.cuh, 8 < M <= 256) in one device call:
#   sh benchmarks/run_gemm4_device.sh OUT_DIR [decode|nodecode]
# build (curebench_bench, test_cuda); the CUDA tests (TEST_FILTER, default the kernel tests CudaGemm4, CudaGemv4,
# CudaDequant, CudaQuant); BM_Gemm4 (Llama-3-8B shapes, M = 16..256: bf16 cuBLAS, the fused GEMM and
# dequantize + cuBLAS on NF4-DQ and int4 g128, one process; GEMM_FILTER=BM_Gemm4 adds NF4 and FP4 without double
# quant) and its table; then (decode, only if the tests passed) BM_Decode at
# DECODE_BATCHES (default 32 and 128) on the random Llama-3-8B checkpoint for each QUANT:PATH of DECODE_RUNS
# (PATH: CUREBENCH_GEMM_KERNEL, fused | dequant | auto). OUT_DIR/summary.txt + OUT_DIR/results.tgz.
set -u
OUT=${1:?out dir}
MODE=${2:-nodecode}
R="$OUT/results"; mkdir -p "$R"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
CKPT=/tmp/curebench-bench/llama3-8b
if [ "$MODE" = decode ]; then
  ( [ -f "$CKPT/config.json" ] || python3 benchmarks/make_random_checkpoint.py llama3-8b "$CKPT" > "$R/ckpt.log" 2>&1 ) &
  CK=$!
fi
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,memory.total --format=csv > "$R/gpu.txt" 2>&1
CUREBENCH_TARGETS="curebench_bench test_cuda" CUREBENCH_NO_TESTS=1 sh tests/cuda/build_on_device.sh > "$R/build.log" 2>&1 || { tail -60 "$R/build.log"; tar czf "$OUT/results.tgz" -C "$OUT" results; exit 1; }
stamp built
export LD_LIBRARY_PATH="$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
B=./build-cuda/bin
{
  timeout "${TEST_TIMEOUT:-200}" $B/test_cuda --gtest_filter="${TEST_FILTER:-CudaGemm4.*:CudaGemv4.*:CudaDequant.*:CudaQuant.*}" > "$R/test_cuda.log" 2>&1
  TRC=$?
  echo "test_cuda (${TEST_FILTER:-CudaGemm4.*:CudaGemv4.*:CudaDequant.*:CudaQuant.*}) rc=$TRC"
  grep -E "^\[  (PASSED|FAILED) |FAILED  \]|Failure|Expected|Which is|excess|exception|rel" "$R/test_cuda.log" | head -40
} > "$R/tests.txt" 2>&1
cat "$R/tests.txt"; stamp tested
grep -q " rc=0" "$R/tests.txt" || { [ "$MODE" = decode ] && echo "tests failed: no decode runs"; MODE=nodecode; }
timeout "${GEMM_TIMEOUT:-240}" $B/curebench_bench --benchmark_filter="${GEMM_FILTER:-BM_Gemm4/[0-9]+/[01458]/}" --benchmark_out="$R/gemm4.json" --benchmark_out_format=json > "$R/gemm4.txt" 2>&1
echo "BM_Gemm4 rc=$?"; stamp gemm
if [ "$MODE" = decode ]; then
  wait $CK; stamp ckpt
  for run in ${DECODE_RUNS:-none:auto nf4-dq:fused int4:fused nf4-dq:dequant int4:dequant}; do
    Q=${run%:*}; K=${run#*:}
    [ $(( $(date +%s) - T0 )) -gt ${DECODE_UNTIL:-480} ] && { echo "skipped decode $run (time)"; continue; }
    env CUREBENCH_GEMM_KERNEL=$K CUREBENCH_BENCH_QUANT=$Q CUREBENCH_BENCH_MODEL=$CKPT timeout 100 $B/curebench_bench \
      --benchmark_filter="BM_Decode/(${DECODE_BATCHES:-32|128})/" --benchmark_out="$R/decode_${Q}_$K.json" --benchmark_out_format=json > "$R/decode_${Q}_$K.txt" 2>&1
    echo "decode $run rc=$?"
  done
  stamp decode
fi
{
  stamp summary
  cat "$R/gpu.txt" "$R/tests.txt"
  python3 - "$R/gemm4.json" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("no gemm4.json:", e); sys.exit(0)
t = {}
for b in d["benchmarks"]:
    if not b["name"].startswith("BM_Gemm4/") or b.get("error_occurred"):
        if b.get("error_occurred"): print("error", b["name"], b.get("error_message"))
        continue
    s, p, m = (int(v) for v in b["name"].split("/")[1:4])
    t[(s, p, m)] = b["us"]
shapes = ["qkv 6144x4096", "o 4096x4096", "gate_up 28672x4096", "gate 14336x4096", "down 4096x14336"]
fmts = ["nf4_b64_dq", "nf4_b64", "fp4_b64", "int4_g128"]
print("| shape | M | bf16 cuBLAS us | " + " | ".join(f"{f} fused us (x bf16, x dequant)" for f in fmts) + " |")
print("|---|---:|---:|" + "---:|" * len(fmts))
for s in range(5):
    for m in (16, 32, 64, 128, 256):
        bf = t.get((s, 0, m))
        row = [shapes[s], str(m), f"{bf:.1f}" if bf else "-"]
        for i in range(4):
            fu, dq = t.get((s, 1 + i, m)), t.get((s, 5 + i, m))
            row.append(f"{fu:.1f} ({bf / fu:.2f}x, {dq / fu:.2f}x)" if fu and bf and dq else "-")
        print("| " + " | ".join(row) + " |")
PY
  for f in "$R"/decode_*.txt; do [ -f "$f" ] && { echo "$f"; grep -E "^BM_Decode" "$f" | sed 's/ \+/ /g' | cut -c1-300; }; done
} > "$OUT/summary.txt"
tar czf "$OUT/results.tgz" -C "$OUT" results && rm -rf "$R"
cat "$OUT/summary.txt"
