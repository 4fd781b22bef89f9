#!/bin/sh
# Device sweep of the 4-bit paths in one call (docs/performance.md, "Batched 4-bit"):
#   sh benchmarks/run_stage_sweep_device.sh OUT_DIR
# build; the dequant/GEMV CUDA tests; 4-bit matmul at M = 16/64/256 per slab size of quant/staged_matmul.hpp
# (CUREBENCH_DEQUANT_STAGE_MB, 0 = whole weight); NF4-DQ decode at batch 32/128 and the seed workload per slab
# size; Nsight Compute sections of the M = 1 GEMV at three shapes. OUT_DIR/summary.txt + results.tgz.
set -u
OUT=${1:?out dir}
R="$OUT/results"; mkdir -p "$R"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$R/timeline.txt"; }
CKPT=/tmp/curebench-bench/llama3-8b
( [ -f "$CKPT/config.json" ] || python3 benchmarks/make_random_checkpoint.py llama3-8b "$CKPT" > "$R/ckpt.log" 2>&1 ) &
CK=$!
CUREBENCH_TARGETS="curebench_bench test_cuda" CUREBENCH_NO_TESTS=1 sh tests/cuda/build_on_device.sh > "$R/build.log" 2>&1 || { tail -60 "$R/build.log"; exit 1; }
stamp built
export LD_LIBRARY_PATH="$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
B=./build-cuda/bin
timeout 120 $B/test_cuda --gtest_filter='CudaDequant.*:CudaGemv4.*' > "$R/test_cuda.log" 2>&1
echo "test_cuda dequant/gemv rc=$?" | tee -a "$R/timeline.txt"
for mb in 0 2 4 8 16 32; do
  CUREBENCH_DEQUANT_STAGE_MB=$mb timeout 120 $B/curebench_bench --benchmark_filter='BM_Matmul/(0|1|4)/[0-9]+/[0-9]+/(16|64|256)/' \
    --benchmark_out="$R/matmul_stage$mb.json" --benchmark_out_format=json > "$R/matmul_stage$mb.txt" 2>&1
done
stamp matmul
for shape in 4096/4096 14336/4096 4096/14336 128256/4096; do
  for f in 4 1; do
    timeout 120 ncu --clock-control none -k regex:gemv4 -c 1 --section SpeedOfLight --section WarpStateStats \
      --section Occupancy --section MemoryWorkloadAnalysis --section LaunchStats \
      $B/curebench_bench --benchmark_filter="BM_Matmul/$f/$shape/1/" > "$R/ncu_${f}_$(echo $shape | tr / x).txt" 2>&1
  done
done
stamp ncu
wait $CK; stamp ckpt
for mb in 0 8 16; do
  CUREBENCH_DEQUANT_STAGE_MB=$mb CUREBENCH_BENCH_QUANT=nf4-dq CUREBENCH_BENCH_MODEL=$CKPT timeout 150 $B/curebench_bench \
    --benchmark_filter='BM_CopyBandwidth|BM_Decode/(32|128)/|BM_SeedWorkload' \
    --benchmark_out="$R/decode_stage$mb.json" --benchmark_out_format=json > "$R/decode_stage$mb.txt" 2>&1
  stamp "decode stage $mb"
done
{
  cat "$R/timeline.txt"
  grep -E "^\[  (PASSED|FAILED) |FAILED  \]|Failure" "$R/test_cuda.log"
  for mb in 0 2 4 8 16 32; do echo "stage_mb=$mb"; grep -E "^BM_Matmul" "$R/matmul_stage$mb.txt" | sed -e 's|/iterations:5/manual_time||' -e 's/ \+/ /g' | cut -d' ' -f1,2,7; done
  for f in "$R"/ncu_*.txt; do echo "$f"; grep -E "Duration|Memory Throughput|DRAM Throughput|Achieved Occupancy|Theoretical Occupancy|Registers Per|Issue Slots Busy|Issued Ipc|No Eligible|Warp Cycles Per Issued|Block Limit|L1/TEX Hit|L2 Hit|Waves Per SM|stall|One or More|Compute \(SM\) Throughput" "$f" | head -30; done
  for mb in 0 8 16; do echo "decode stage_mb=$mb"; grep -E "^BM_" "$R/decode_stage$mb.txt" | sed 's/ \+/ /g' | cut -c1-330; done
} > "$OUT/summary.txt" 2>&1
tar czf "$OUT/results.tgz" -C "$OUT" results && rm -rf "$R"
cat "$OUT/summary.txt"
