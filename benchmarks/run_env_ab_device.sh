#!/bin/sh
# Kernel switches against each other on the GPU machine, repeated and interleaved (one process per run), after the
# decode sweep of run_decode_sweep_device.sh has built everything (run that first in the same call):
#   CONFIGS='A=1,B=2 A=0' QUANTS='int4 nf4-dq' BATCHES='1|8' REPS=2 sh benchmarks/run_env_ab_device.sh OUT_FILE
# Each config is a comma-separated list of environment assignments ('-' for none). OUT_FILE gets one line per
# (rep, quant, config, batch): steady tok/s, the step time and the peak GPU memory. UNTIL (seconds, default 560)
# stops starting runs once the call has run that long (T0, seconds since the epoch, defaults to now).
set -u
OUT=${1:?out file}
T0=${T0:-$(date +%s)}
export LD_LIBRARY_PATH="$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
for rep in $(seq 1 "${REPS:-2}"); do
  for q in ${QUANTS:-int4}; do
    for c in ${CONFIGS:--}; do
      [ $(( $(date +%s) - T0 )) -gt "${UNTIL:-560}" ] && { echo "stopped (time)" >> "$OUT"; exit 0; }
      envs=$(echo "$c" | tr ',' ' '); [ "$c" = - ] && envs=
      env $envs CUREBENCH_BENCH_QUANT="$q" CUREBENCH_BENCH_MODEL=/tmp/curebench-bench/llama3-8b timeout 90 \
        ./build-cuda/bin/curebench_bench --benchmark_filter="${FILTER:-BM_Decode/(${BATCHES:-1|8})/}" --benchmark_format=json 2>/dev/null |
        python3 -c "
import json, sys
d = json.load(sys.stdin)
for b in d['benchmarks']:
    keep = {k: round(v, 3) for k, v in b.items() if isinstance(v, float) and ('tok_per_s' in k or 'peak' in k or 'step_ms' in k)}
    print('rep$rep', '$q', '$c', b['name'].split('/iter')[0], json.dumps(keep, sort_keys=True))" >> "$OUT" 2>&1
    done
  done
done
