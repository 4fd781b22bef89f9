#!/usr/bin/env python3
"""Nightly performance regression check (plain python3, no numpy).

  nightly_compare.py BASELINE.json CURRENT.json [--tolerance 0.10]
      exit 1 when any gated metric of BASELINE is more than `tolerance` worse in CURRENT (all are
      higher-is-better: curebench's tok/s and the curebench/peer ratios), or missing from it; the peer's own
      tok/s are printed for context and never fail the check.
  nightly_compare.py --summarize CUREBENCH.json [CUREBENCH2.json ...] [TRANSFORMERS.json] [--gpu NAME] -o OUT.json
      turns the suites' Google Benchmark JSON (benchmarks/run_perf_device.sh: one per weight format) and the
      transformers peer JSON (recognised by its "runs") into the flat metrics file that the comparison reads
      (the baselines in benchmarks/baselines/).
  nightly_compare.py --best SUMMARY.json SUMMARY2.json [...] -o OUT.json
      the best of several summarized runs of the same build: each tok/s metric's maximum, the curebench/peer
      ratios recomputed from those maxima. One run is noisy (the transformers peer moved by up to 40 % at
      batch 1 between two calls on the same machine while curebench moved by 3 %; docs/performance.md), so
      both the baseline and a nightly's current file should be best-of-2 or more.
  nightly_compare.py --self-test BASELINE.json
      proves the check works: BASELINE passes against itself and FAILS against a copy of itself made 20 %
      better by hand.
"""
import copy
import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def compare(baseline, current, tolerance=0.10, out=sys.stdout):
    """Returns the list of regressions (strings); prints one line per metric."""
    regressions = []
    cur = current.get("metrics", {})
    for name, base in sorted(baseline.get("metrics", {}).items()):
        if not isinstance(base, (int, float)) or base <= 0:
            continue
        if not gated(name):  # the peer's own speed: shown, never a curebench regression
            got = cur.get(name)
            if isinstance(got, (int, float)):
                print(f"{'peer':8} {name:40} baseline {base:12.4g}  current {got:12.4g}  {got / base - 1.0:+.1%}", file=out)
            continue
        got = cur.get(name)
        if not isinstance(got, (int, float)):
            regressions.append(f"{name}: missing in current results")
            print(f"MISSING  {name}", file=out)
            continue
        change = got / base - 1.0
        bad = change < -tolerance
        print(f"{'REGRESS' if bad else 'ok':8} {name:40} baseline {base:12.4g}  current {got:12.4g}  {change:+.1%}", file=out)
        if bad:
            regressions.append(f"{name}: {got:.4g} vs baseline {base:.4g} ({change:+.1%}, tolerance -{tolerance:.0%})")
    # Metrics the baseline does not have yet (a new format or benchmark): shown, never gating, until a baseline is merged.
    for name in sorted(set(cur) - set(baseline.get("metrics", {}))):
        if isinstance(cur[name], (int, float)):
            print(f"{'new':8} {name:40} {'':21}current {cur[name]:12.4g}  (no baseline yet)", file=out)
    return regressions


def gated(name):
    """curebench's own tok/s and the curebench/peer ratios gate; the peer's raw tok/s are context only."""
    return not name.startswith("transformers_")


def _bench_rows(gbench):
    rows = {}
    for b in gbench.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        rows[b["name"].split("/iterations")[0].split("/manual_time")[0]] = b
    return rows


def summarize(curebench_jsons, transformers_json=None, gpu=""):
    """Flat metrics (higher is better) from the suites' outputs."""
    m = {}
    if isinstance(curebench_jsons, str):
        curebench_jsons = [curebench_jsons]
    rows = {}
    for path in curebench_jsons:
        for name, b in _bench_rows(load(path)).items():
            rows[(name, b.get("label"))] = b
    for (name, _), b in rows.items():
        quant = b.get("label") or "bf16"
        quant = "bf16" if quant == "none" else quant
        if name.startswith("BM_Decode/") or name.startswith("BM_DecodeEager/"):
            batch = name.split("/")[1]
            kind = "decode" if name.startswith("BM_Decode/") else "decode_eager"
            m[f"curebench_{quant}_{kind}_b{batch}_tok_s"] = b["items_per_second"]
        elif name.startswith("BM_SeedWorkload"):
            m[f"curebench_{quant}_seed_100x512_tok_s"] = b["items_per_second"]
        elif name.startswith("BM_Pipeline/"):
            # a registered pipeline (curebench_add_pipeline): speed and accuracy of a whole evaluation, per model
            case = name.split("/")[1]
            m[f"pipeline_{case}_questions_s"] = b["items_per_second"]
            for key, v in b.items():
                if "." in key and isinstance(v, (int, float)) and (
                        key.endswith("_tok_per_s") or key.endswith(".questions_per_s") or ".accuracy_" in key):
                    m[f"pipeline_{case}_{key}"] = v
        elif name.startswith("BM_EvalWorkload"):
            # label "QUANT DATASET" (bench_decode.cpp); `curebench eval`'s own loop on shipped questions
            parts = (b.get("label") or "none unknown").split()
            q = "bf16" if parts[0] == "none" else parts[0]
            data = parts[1] if len(parts) > 1 else "unknown"
            m[f"curebench_{q}_eval_{data}_new_tok_s"] = b["new_tok_per_s_batches"]
            m[f"curebench_{q}_eval_{data}_prefill_tok_s"] = b["prefill_tok_per_s"]
    if transformers_json:
        peer = load(transformers_json)
        for r in peer.get("runs", []):
            b = r.get("batch")
            if r.get("generate_new_tok_per_s"):
                m[f"transformers_generate_b{b}_tok_s"] = r["generate_new_tok_per_s"]
            if r.get("bare_loop_decode_tok_per_s"):
                m[f"transformers_bare_loop_b{b}_tok_s"] = r["bare_loop_decode_tok_per_s"]
        if peer.get("seed_workload_bare_loop_decode_tok_per_s"):
            m["transformers_bare_loop_seed_100x512_tok_s"] = peer["seed_workload_bare_loop_decode_tok_per_s"]
    add_ratios(m)
    return {"gpu": gpu, "metrics": m}


def add_ratios(m):
    """curebench bf16 / transformers at each batch both measured, for generate and the bare loop."""
    for key in list(m):
        if key.startswith("curebench_bf16_decode_b"):
            batch = key.split("_b")[-1].split("_")[0]
            for mode in ("generate", "bare_loop"):
                peer_tps = m.get(f"transformers_{mode}_b{batch}_tok_s")
                if peer_tps:
                    m[f"ratio_vs_transformers_{mode}_b{batch}"] = m[key] / peer_tps


def best_of(summaries):
    """Each tok/s metric's maximum over summarized runs; ratios recomputed from the maxima."""
    m = {}
    for s in summaries:
        for k, v in s.get("metrics", {}).items():
            if k.startswith("ratio_") or not isinstance(v, (int, float)):
                continue
            m[k] = max(v, m.get(k, v))
    add_ratios(m)
    return {"gpu": summaries[0].get("gpu", "") if summaries else "", "merged_runs": len(summaries), "metrics": m}


def self_test(baseline_path):
    base = load(baseline_path)
    if not base.get("metrics"):
        print("self-test: baseline has no metrics", file=sys.stderr)
        return 1
    quiet = open("/dev/null", "w")
    if compare(base, base, out=quiet):
        print("self-test FAILED: the baseline does not pass against itself", file=sys.stderr)
        return 1
    better = copy.deepcopy(base)
    better["metrics"] = {k: v * 1.2 if isinstance(v, (int, float)) else v for k, v in base["metrics"].items()}
    regressions = compare(better, base, out=quiet)
    if len(regressions) != sum(1 for k, v in base["metrics"].items() if isinstance(v, (int, float)) and v > 0 and gated(k)):
        print("self-test FAILED: a baseline made 20 % better by hand did not flag every metric", file=sys.stderr)
        return 1
    within = copy.deepcopy(base)
    within["metrics"] = {k: v * 1.05 if isinstance(v, (int, float)) else v for k, v in base["metrics"].items()}
    if compare(within, base, out=quiet):
        print("self-test FAILED: a 5 % difference (inside the tolerance) was flagged", file=sys.stderr)
        return 1
    noisy = copy.deepcopy(base)
    noisy["metrics"] = {k: v * 0.7 if isinstance(v, (int, float)) and k.startswith("transformers_") else v
                        for k, v in base["metrics"].items()}
    best = best_of([noisy, base])
    if compare(base, best, out=quiet) or any(best["metrics"][k] != v for k, v in base["metrics"].items() if not k.startswith("ratio_")):
        print("self-test FAILED: the best of a run and a copy with a 30 % slower peer is not the run itself", file=sys.stderr)
        return 1
    print(f"self-test passed: {len(regressions)} metrics flagged at +20 %, none at +5 % or on itself; best-of keeps maxima")
    return 0


def write_json(obj, out):
    """OUT.json, or stdout without -o."""
    text = json.dumps(obj, indent=2, sort_keys=True)
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


def main(argv):
    args = argv[1:]
    tolerance = 0.10
    if "--tolerance" in args:
        i = args.index("--tolerance")
        tolerance = float(args[i + 1])
        del args[i:i + 2]
    if args and args[0] == "--self-test":
        return self_test(args[1])
    if args and args[0] == "--summarize":
        gpu, out = "", None
        if "--gpu" in args:
            i = args.index("--gpu"); gpu = args[i + 1]; del args[i:i + 2]
        if "-o" in args:
            i = args.index("-o"); out = args[i + 1]; del args[i:i + 2]
        files = args[1:]
        peers = [f for f in files if "runs" in load(f)]
        s = summarize([f for f in files if f not in peers], peers[0] if peers else None, gpu)
        return write_json(s, out)
    if args and args[0] == "--best":
        out = None
        if "-o" in args:
            i = args.index("-o"); out = args[i + 1]; del args[i:i + 2]
        return write_json(best_of([load(f) for f in args[1:]]), out)
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    regressions = compare(load(args[0]), load(args[1]), tolerance)
    if regressions:
        print(f"\n{len(regressions)} regression(s):", file=sys.stderr)
        for r in regressions:
            print("  " + r, file=sys.stderr)
        return 1
    print("no regression")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
