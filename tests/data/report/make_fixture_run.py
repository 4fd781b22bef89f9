#!/usr/bin/env python3
"""Writes tests/data/report/fixture_run/: a small, synthetic run folder that follows docs/results-schema.md.

Three models cover the cases the dashboards must get right:
  llama-3-8b-nf4   val and test both labelled; 4-bit with fidelity numbers; loaded on the second strategy
                   after Prequantized was skipped (no quantization_config in the checkpoint)
  gemma-2-9b-int8  test split unlabelled (accuracy null, gap null) -- must be drawn as "n/a", never 0 %
  mistral-7b-bf16  load failed over: QuantizeOnLoad<NF4> failed (out of memory), FullPrecision succeeded
Numbers are made up but self-consistent: accuracies, Wilson intervals, means and counts are computed from the
samples written here. Deterministic (fixed seed); rerun to regenerate:  python3 make_fixture_run.py
"""
import hashlib, json, math, os, random

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixture_run")
rng = random.Random(7)

TYPES = ["multi_choice", "open_ended_multi_choice", "open_ended"]
SPLITS = {"val": (20, True), "test": (16, True)}   # per model: size, whether labelled (overridden per model)


def wilson(k, n, z=1.959963984540054):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return [round(c - h, 4), round(c + h, 4)]


def questions(split, n):
    return [{"id": f"{split}-{i}", "type": TYPES[(i * 7 + len(split)) % 3 if i % 4 else 0]} for i in range(n)]


MODELS = [
    dict(name="llama-3-8b-nf4", arch="LlamaForCausalLM", params=8030261248, quant="nf4", dtype="bf16",
         p_correct=0.55, chars=900, in_tok=210, tps=1450.0, test_labelled=True,
         attempts=[("Prequantized", "skipped", "checkpoint has no quantization_config", None, 0.002, 0, 0),
                   ("QuantizeOnLoad<NF4<64>>", "ok", None, None, 21.4, 6_100_000_000, 5_820_000_000)],
         weight_bytes=5_400_000_000,
         quantization={"format": "nf4", "bits_per_weight": 4.5, "weight_bytes": 5_400_000_000,
                       "kl_mean": 0.021, "kl_max": 0.38, "top1_agreement": 0.962, "ppl_delta": 0.14}),
    dict(name="gemma-2-9b-int8", arch="Gemma2ForCausalLM", params=9241705984, quant="int8", dtype="bf16",
         p_correct=0.45, chars=1500, in_tok=232, tps=980.0, test_labelled=False,
         attempts=[("Prequantized", "ok", None, None, 14.8, 10_900_000_000, 10_400_000_000)],
         weight_bytes=10_300_000_000,
         quantization={"format": "int8", "bits_per_weight": 8.0, "weight_bytes": 10_300_000_000,
                       "kl_mean": 0.004, "kl_max": 0.09, "top1_agreement": 0.991, "ppl_delta": 0.02}),
    dict(name="mistral-7b-bf16", arch="MistralForCausalLM", params=7241732096, quant="none", dtype="bf16",
         p_correct=0.30, chars=2300, in_tok=293, tps=2100.0, test_labelled=True,
         attempts=[("QuantizeOnLoad<NF4<64>>", "failed", "CUDA out of memory while packing layer 31",
                    "out_of_memory", 9.7, 15_200_000_000, 15_900_000_000),
                   ("FullPrecision", "ok", None, None, 11.2, 14_600_000_000, 15_100_000_000)],
         weight_bytes=14_483_464_192, quantization=None),
]


def sample_lines(m):
    lines = []
    for split, (n, _) in SPLITS.items():
        labelled = split == "val" or m["test_labelled"]
        for q in questions(split, n):
            correct = (rng.random() < m["p_correct"]) if labelled else None
            chars = max(40, int(rng.gauss(m["chars"] * (0.85 if correct else 1.1), m["chars"] * 0.3)))
            out_tok = max(8, int(chars / 4.1))
            in_tok = m["in_tok"] + rng.randint(-40, 40)
            gold = "B" if labelled else None
            answer = ("B" if correct else "A") if labelled else rng.choice("ABCD")
            lines.append({
                "id": q["id"], "split": split, "question_type": q["type"],
                "prompt_sha256": hashlib.sha256(q["id"].encode()).hexdigest(),
                "output": f"(synthetic output of {chars} characters) Answer: {answer}",
                "answer": answer, "rule": "answer_prefix", "span": [0, 1], "gold": gold, "correct": correct,
                "input_tokens": in_tok, "output_tokens": out_tok, "output_chars": chars,
                "output_bytes": chars + 2, "latency_ms": round(out_tok / m["tps"] * 1000 + 35, 1),
                "stop_reason": "eos" if out_tok < 500 else "max_new_tokens", "messages": []})
    return lines


def split_stats(rows, tps):
    n = len(rows)
    lab = [r for r in rows if r["correct"] is not None]
    k = sum(1 for r in lab if r["correct"])
    types = {}
    for r in rows:
        t = types.setdefault(r["question_type"], {"n": 0, "n_labelled": 0, "k": 0})
        t["n"] += 1
        if r["correct"] is not None:
            t["n_labelled"] += 1
            t["k"] += r["correct"]
    by_type = {name: {"n": t["n"], "n_labelled": t["n_labelled"],
                      "accuracy": round(t["k"] / t["n_labelled"], 4) if t["n_labelled"] else None,
                      "ci95": wilson(t["k"], t["n_labelled"]) if t["n_labelled"] else None}
               for name, t in types.items()}
    mean = lambda key: round(sum(r[key] for r in rows) / n, 1)
    return {
        "n": n, "n_labelled": len(lab),
        "accuracy": round(k / len(lab), 4) if lab else None,
        "ci95": wilson(k, len(lab)) if lab else None,
        "correct": k if lab else None,
        "by_type": by_type,
        "extraction": {"failures": 1, "failure_rate": round(1 / n, 4), "rules": {"answer_prefix": n - 1, "none": 1}},
        "tokens": {"input_mean": mean("input_tokens"), "output_mean": mean("output_tokens"),
                   "input_total": sum(r["input_tokens"] for r in rows),
                   "output_total": sum(r["output_tokens"] for r in rows)},
        "output_chars_mean": mean("output_chars"), "output_bytes_mean": mean("output_bytes"),
        "latency_ms_mean": mean("latency_ms"), "tokens_per_second": tps,
        "length_correctness_correlation": (-0.21 if lab else None),
    }


def main():
    models = []
    for m in MODELS:
        lines = sample_lines(m)
        d = os.path.join(OUT, "models", m["name"])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "samples.jsonl"), "w") as f:
            for l in lines:
                f.write(json.dumps(l) + "\n")
        splits = {s: split_stats([l for l in lines if l["split"] == s], m["tps"]) for s in SPLITS}
        va, te = splits["val"]["accuracy"], splits["test"]["accuracy"]
        attempts = [{"strategy": s, "outcome": o, "reason": r, "error_code": e, "seconds": t,
                     "peak_rss_bytes": rss, "peak_gpu_bytes": gpu} for (s, o, r, e, t, rss, gpu) in m["attempts"]]
        ok = attempts[-1]
        verification = {"splits": {s: {"count": len(rows), "unique_ids": len(rows), "duplicate_ids": [],
                                        "labelled": sum(1 for r in rows if r["correct"] is not None),
                                        "question_types": {t: sum(1 for r in rows if r["question_type"] == t)
                                                           for t in TYPES}}
                                   for s in SPLITS for rows in [[l for l in lines if l["split"] == s]]},
                        "overlap": [{"a": "val", "b": "test", "count": 0, "examples": []}], "passed": True,
                        "warnings": [] if m["test_labelled"] else ["test split has no labels: accuracy not measurable"]}
        models.append({
            "name": m["name"], "path": f"/models/{m['name']}", "architecture": m["arch"], "parameters": m["params"],
            "quant": m["quant"], "dtype": m["dtype"], "device": "cuda",
            "load": {"strategy": ok["strategy"], "seconds": round(sum(a["seconds"] for a in attempts), 3),
                     "peak_rss_bytes": max(a["peak_rss_bytes"] for a in attempts),
                     "peak_gpu_bytes": max(a["peak_gpu_bytes"] for a in attempts),
                     "weight_bytes": m["weight_bytes"], "attempts": attempts},
            "splits": splits,
            "generalization_gap": round(va - te, 4) if (va is not None and te is not None) else None,
            "verification": verification,
            "throughput": {"prefill_tokens_per_second": m["tps"] * 9.5, "decode_tokens_per_second": m["tps"]},
            "memory": {"peak_gpu_bytes": ok["peak_gpu_bytes"] + 700_000_000, "peak_rss_bytes": ok["peak_rss_bytes"]},
            "quantization": m["quantization"],
        })
    results = {
        "schema_version": 1, "notice": "synthetic fixture for dashboard tests, not a measurement",
        "run": {"id": "fixture-run", "started_at": "2025-01-01T00:00:00Z", "finished_at": "2025-01-01T00:42:00Z",
                "config_hash": "0" * 64, "mode": "generate", "protocol": "curebench"},
        "provenance": {"curebench_version": "0.1.0", "git_commit": "fixture", "libtorch": "2.11.0", "cuda": "13.0",
                       "gpu": "NVIDIA H100 80GB HBM3", "host": "fixture",
                       "datasets": [{"split": "val", "path": "datasets/default/val.jsonl", "sha256": "0" * 64, "records": 20},
                                    {"split": "test", "path": "datasets/default/test.jsonl", "sha256": "0" * 64, "records": 16}],
                       "seeds": {"subsample": 0, "sampling": 0}},
        "models": models,
    }
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
