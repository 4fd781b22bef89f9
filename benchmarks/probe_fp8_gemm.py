#!/usr/bin/env python3
"""What FP8 W8A8's matmuls cost in PyTorch itself, beside bf16, on the Llama-3-8B linear shapes (the peer
measurement behind docs/performance.md's FP8 prefill figures; needs a CUDA GPU of sm_89+ and torch >= 2.5):

    python3 benchmarks/probe_fp8_gemm.py OUT.json [--rows 1,16,128,1024,4096,16384]

Per shape and row count, microseconds (CUDA events, median of 20 after 5 warm-ups):
  bf16          torch.mm, the weight as bf16 (what `--quant none` runs)
  fp8_rowwise   torch._scaled_mm, per-row activation and per-channel weight scales, exact accumulation
                (what quant/fp8.hpp runs above 8 rows)
  fp8_rowwise_fast   the same with use_fast_accum=True
  fp8_tensorwise     one scale per tensor (the cuBLASLt path)
Weights and activations are random; the timings do not depend on the values.
"""
import argparse
import json

import torch

SHAPES = {"qkv": (6144, 4096), "o": (4096, 4096), "gate_up": (28672, 4096), "down": (4096, 14336)}


def time_us(fn, reps=20):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        out.append(a.elapsed_time(b) * 1e3)
    out.sort()
    return out[len(out) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rows", default="1,16,128,1024,4096,16384")
    a = ap.parse_args()
    dev = torch.device("cuda")
    rows = [int(r) for r in a.rows.split(",")]
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "rows": rows, "shapes": {}}
    f8 = torch.float8_e4m3fn
    for name, (n, k) in SHAPES.items():
        w = torch.randn(n, k, device=dev, dtype=torch.bfloat16) * 0.02
        wq = (w.float() / (w.abs().amax(1, keepdim=True) / 448)).to(f8)
        ws = (w.abs().amax(1) / 448).float().view(1, n)
        one = torch.ones((), device=dev)
        per = {}
        for m in rows:
            x = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
            xs = (x.abs().amax(1, keepdim=True).float() / 448)
            xq = (x.float() / xs).to(f8)
            r = {"bf16": time_us(lambda: torch.mm(x, w.t()))}
            r["fp8_rowwise"] = time_us(lambda: torch._scaled_mm(xq, wq.t(), scale_a=xs, scale_b=ws, out_dtype=torch.bfloat16))
            r["fp8_rowwise_fast"] = time_us(
                lambda: torch._scaled_mm(xq, wq.t(), scale_a=xs, scale_b=ws, out_dtype=torch.bfloat16, use_fast_accum=True))
            r["fp8_tensorwise"] = time_us(lambda: torch._scaled_mm(xq, wq.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16))
            r["tflops_bf16"] = 2 * m * n * k / r["bf16"] / 1e6
            r["tflops_fp8_rowwise"] = 2 * m * n * k / r["fp8_rowwise"] / 1e6
            per[m] = r
            print(name, m, json.dumps({key: round(v, 1) for key, v in r.items()}), flush=True)
        res["shapes"][name] = {"n": n, "k": k, "by_rows": per}
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
