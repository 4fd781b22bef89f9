#!/bin/sh
# One fuzz target on the GPU machine's spare cores, beside whatever else a device call runs (docs/robustness.md):
#   sh tests/fuzz/fuzz_on_device.sh TARGET JOBS SECONDS OUT_DIR [DELAY_SECONDS]
# Runs the stripped binary carried in build-fuzzdev/bin (built here by run_fuzzers.sh, see docs/robustness.md) from
# a private copy of that folder (so several targets can run at once: libFuzzer's -jobs writes fuzz-N.log into its
# working directory), after DELAY_SECONDS (e.g. while the call builds). RUNS as in run_fuzzers.sh (default 10 M).
# OUT_DIR/fuzz_TARGET.txt: the summary line, every sanitizer / libFuzzer error block of the log, and the
# artifacts' names; OUT_DIR/fuzz_TARGET_artifacts.tgz: the crashing inputs themselves.
set -u
T=${1:?target}; JOBS=${2:?jobs}; SECS=${3:?seconds}; OUT=${4:?out dir}; DELAY=${5:-0}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# The target names a folder this script replaces (build-fuzzdev-TARGET): letters, digits and _ only, and a carried binary.
case "$T" in *[!a-z0-9_]*|'') echo "bad target name: $T" >&2; exit 2 ;; esac
[ -x "$ROOT/build-fuzzdev/bin/fuzz_$T" ] || { echo "no carried binary build-fuzzdev/bin/fuzz_$T" >&2; exit 2; }
mkdir -p "$OUT"
sleep "$DELAY"
DIR=$ROOT/build-fuzzdev-$T
rm -rf "$DIR" && mkdir -p "$DIR/bin" && cp "$ROOT/build-fuzzdev/bin/fuzz_$T" "$DIR/bin/"
export LD_LIBRARY_PATH="$ROOT/.devdeps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
RUNS=${RUNS:-10000000} NO_BUILD=1 BUILD_DIR=$DIR JOBS=$JOBS sh "$ROOT/tests/fuzz/run_fuzzers.sh" "$SECS" "$T" > "$OUT/fuzz_$T.run" 2>&1
{
  cat "$DIR/summary.txt"
  echo "--- errors in the log"
  grep -n -A30 -E "^==[0-9]+==ERROR|runtime error:|^==[0-9]+== ERROR: libFuzzer|terminate called|Assertion" "$DIR/fuzz_$T.log" | head -150
  echo "--- artifacts"
  ls -la "$DIR/artifacts/$T"
} > "$OUT/fuzz_$T.txt" 2>&1
tar czf "$OUT/fuzz_${T}_artifacts.tgz" -C "$DIR/artifacts" "$T"
