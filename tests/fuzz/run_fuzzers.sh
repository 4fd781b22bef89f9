#!/bin/sh
# Builds every libFuzzer target under tests/fuzz/ with clang++-14 (ASan + UBSan + libFuzzer) and runs each
# for SECONDS_PER_TARGET seconds (default 60), one after the other; 0 builds only.
#   tests/fuzz/run_fuzzers.sh [SECONDS_PER_TARGET] [TARGET...]     e.g.  tests/fuzz/run_fuzzers.sh 600 safetensors
# Environment: BUILD_DIR (default build-fuzz), JOBS (parallel libFuzzer workers per target, default 1),
#              RUNS (stop a target after this many executions in all, shared by its JOBS workers, e.g. 10000000),
#              NO_BUILD=1 (run the binaries already in $BUILD_DIR/bin: on a machine without clang, e.g. the GPU
#              machine's 16 cores, with binaries built here and carried there).
# Seeds come from tests/fuzz/corpus/<target>/ (read-only); new inputs go to $BUILD_DIR/corpus/<target>/.
# Crashes, hangs (> 1 s per input) and leaks are written to $BUILD_DIR/artifacts/<target>/ and make the
# script exit non-zero. A summary line per target (executions, seconds, result) is appended to $BUILD_DIR/summary.txt.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_PER_TARGET=${1:-60}
[ $# -gt 0 ] && shift
BUILD_DIR=${BUILD_DIR:-$ROOT/build-fuzz}
JOBS=${JOBS:-1}
RUNS=${RUNS:--1}
CXX=${CXX:-clang++-14}
FUZZ_DIR=$ROOT/tests/fuzz

if [ $# -gt 0 ]; then
  TARGETS="$*"
else
  TARGETS=$(cd "$FUZZ_DIR" && ls fuzz_*.cpp | sed 's/^fuzz_//; s/\.cpp$//')
fi
mkdir -p "$BUILD_DIR/bin"

# -O1 -g: the libFuzzer default trade-off between speed and useful stacks. -fno-sanitize-recover makes every
# UBSan report fatal, so it counts as a crash; _GLIBCXX_ASSERTIONS adds bounds checks to std containers.
CXXFLAGS="-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
-D_GLIBCXX_ASSERTIONS -I$ROOT/include -I$FUZZ_DIR"
for t in $TARGETS; do
  src=$FUZZ_DIR/fuzz_$t.cpp
  bin=$BUILD_DIR/bin/fuzz_$t
  [ -f "$src" ] || { echo "no such target: $src" >&2; exit 2; }
  if [ "${NO_BUILD:-0}" = 1 ]; then
    [ -x "$bin" ] || { echo "NO_BUILD=1 but $bin is missing" >&2; exit 2; }
    continue
  fi
  # Rebuild when the target or any header is newer than the binary.
  if [ ! -x "$bin" ] || [ -n "$(find "$src" "$FUZZ_DIR"/*.hpp "$ROOT/include" -newer "$bin" -print -quit)" ]; then
    echo "== build fuzz_$t"
    # shellcheck disable=SC2086
    $CXX $CXXFLAGS "$src" -o "$bin" $(cat "$FUZZ_DIR/fuzz_$t.libs" 2>/dev/null || true)
  fi
done

[ "$SECONDS_PER_TARGET" -eq 0 ] && [ "$RUNS" = "-1" ] && exit 0  # build only

status=0
summary_new=$BUILD_DIR/summary.txt.$$
: > "$summary_new"
for t in $TARGETS; do
  work=$BUILD_DIR/corpus/$t
  art=$BUILD_DIR/artifacts/$t
  mkdir -p "$work" "$art"
  # libFuzzer applies -runs to each job: split the total between them.
  runs_per_job=$RUNS
  [ "$RUNS" != -1 ] && runs_per_job=$(( (RUNS + JOBS - 1) / JOBS ))
  opts="-timeout=1 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_total_time=$SECONDS_PER_TARGET -runs=$runs_per_job \
-print_final_stats=1 -artifact_prefix=$art/"
  [ -f "$FUZZ_DIR/dict/$t.dict" ] && opts="$opts -dict=$FUZZ_DIR/dict/$t.dict"
  [ -f "$FUZZ_DIR/options/$t.options" ] && opts="$opts $(cat "$FUZZ_DIR/options/$t.options")"
  log=$BUILD_DIR/fuzz_$t.log
  echo "== run fuzz_$t for ${SECONDS_PER_TARGET}s ($JOBS job(s)); log: $log"
  start=$(date +%s)
  rc=0
  if [ "$JOBS" -gt 1 ]; then
    # shellcheck disable=SC2086
    (cd "$BUILD_DIR" && "$BUILD_DIR/bin/fuzz_$t" $opts -jobs="$JOBS" -workers="$JOBS" "$work" "$FUZZ_DIR/corpus/$t") > "$log" 2>&1 || rc=$?
    # The parent already copies each job's log into its own output when the job exits ("Job N exited ..."):
    # appending fuzz-N.log again counted every worker's executions twice in the summary line.
    rm -f "$BUILD_DIR"/fuzz-*.log
  else
    # shellcheck disable=SC2086
    "$BUILD_DIR/bin/fuzz_$t" $opts "$work" "$FUZZ_DIR/corpus/$t" > "$log" 2>&1 || rc=$?
  fi
  secs=$(( $(date +%s) - start ))
  execs=$(grep -h 'stat::number_of_executed_units' "$log" | awk '{s += $2} END {print s + 0}')
  if [ "$rc" -eq 0 ]; then result=ok; else result="FAILED rc=$rc (see $log, $art)"; status=1; fi
  line="fuzz_$t: $execs executions in ${secs}s, $result"
  echo "$line" | tee -a "$summary_new"
done
cat "$summary_new" >> "$BUILD_DIR/summary.txt" && rm -f "$summary_new"
exit $status
