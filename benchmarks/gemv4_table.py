#!/usr/bin/env python3
"""Markdown tables from run_gemv4_device.sh's JSON: per-shape GEMV (both kernels, against the copy bandwidth of
the same process) and decode tok/s.  python3 benchmarks/gemv4_table.py RESULTS_DIR"""
import glob
import json
import os
import sys

d = sys.argv[1]
gpath = os.path.join(d, "gemv4.json")
g = json.load(open(gpath))["benchmarks"] if os.path.exists(gpath) else []
copy = next((b["GBps"] for b in g if b["name"].startswith("BM_Gemv4Copy")), 0)
print(f"copy bandwidth (read + write) in the same process: {copy:.0f} GB/s\n")
rows = {}
for b in g:
    if not b["name"].startswith("BM_Gemv4/") or "error_occurred" in b:
        continue
    fmt, shape, m, var = b["name"].split("/")[1:5]
    fname, sname, kname = b["label"].split(" ")
    rows.setdefault((int(fmt), int(shape), int(m)), {})[int(var)] = (fname, sname, b["us"], b["GBps"], b["frac_copy"])
print("| format | shape | M | tensor-core us | GB/s | of copy | FFMA-table us | of copy | speedup |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for (f, s, m), v in sorted(rows.items()):
    if 0 not in v:
        continue
    fname, sname, us, gbps, frac = v[0]
    old = v.get(1)
    o = f"{old[2]:.1f} | {old[4] * 100:.0f} % | {old[2] / us:.2f}x" if old else "- | - | -"
    print(f"| {fname} | {sname} | {m} | {us:.1f} | {gbps:.0f} | {frac * 100:.0f} % | {o} |")
print()
print("| run | batch | tok/s (steady) | items/s | roofline tok/s | fraction | peak GPU GB |")
print("|---|---:|---:|---:|---:|---:|---:|")
for f in sorted(glob.glob(os.path.join(d, "decode_*.json"))):
    try:
        bs = json.load(open(f))["benchmarks"]
    except Exception as e:  # noqa: BLE001 - report and go on
        print(f"| {os.path.basename(f)} | unreadable: {e} |")
        continue
    for b in bs:
        if b["name"].startswith("BM_Decode/"):
            print(f"| {os.path.basename(f)[7:-5]} | {b['name'].split('/')[1]} | {b.get('steady_tok_per_s', 0):.1f} | "
                  f"{b.get('items_per_second', 0):.1f} | {b.get('roofline_tok_per_s', 0):.0f} | "
                  f"{b.get('roofline_fraction', 0) * 100:.0f} % | {b.get('peak_gpu_GB', 0):.2f} |")
