#!/usr/bin/env python3
"""One decode step, kernel by kernel, from an Nsight Compute CSV of BM_Decode with CUREBENCH_BENCH_PROFILE_STEPS
(benchmarks/run_prefill_profile_device.sh writes it; plain or .gz):

    python3 benchmarks/ncu_step_table.py ncu_int4.csv[.gz]

The profiled range is a generate() call: its prefill, then one segment per decode step, each ending with the greedy
argmax. Prints each segment's kernel count and summed duration, then the last step grouped by kernel and launch shape.
Durations are ncu's (kernels serialized, caches flushed before each): a step's sum is an upper bound of its time.
"""
import collections
import csv
import gzip
import io
import re
import sys


def main():
    path = sys.argv[1]
    text = (gzip.open(path, "rt") if path.endswith(".gz") else open(path)).read()
    rows = [r for r in csv.DictReader(io.StringIO(text[text.find('"ID"'):])) if r.get("Metric Name") == "gpu__time_duration.sum"]
    scale = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3}
    ks = [(r["Kernel Name"], float(r["Metric Value"].replace(",", "")) * scale.get(r["Metric Unit"], 1.0), r["Grid Size"], r["Block Size"])
          for r in rows]
    segs, cur = [], []
    for k in ks:
        cur.append(k)
        if "ArgMaxOps" in k[0]:
            segs.append(cur)
            cur = []
    for i, s in enumerate(segs):
        print(f"segment {i} ({'prefill' if i == 0 else 'decode step'}): {len(s)} kernels, {sum(k[1] for k in s):.1f} us")
    if not segs:
        return
    agg = collections.OrderedDict()
    for name, t, grid, block in segs[-1]:
        a = agg.setdefault((re.sub(r"\(.*", "", name)[:80], grid, block), [0, 0.0])
        a[0] += 1
        a[1] += t
    print("last step, by kernel: total us, launches, us per launch, grid, block, name")
    for (name, grid, block), (count, total) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
        print(f"{total:9.1f} {count:4d} {total / count:8.2f}  {grid:>14} {block:>12}  {name}")


if __name__ == "__main__":
    main()
