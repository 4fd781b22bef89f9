#!/usr/bin/env python3
"""The peer measured in the same run: HF transformers on the same checkpoint, same prompts shape, batch and
token counts as benchmarks/bench_decode.cpp. Reports both `generate` and a bare loop of forward calls with
its KV cache (transformers' generate adds per-token overhead of its own).

    python3 benchmarks/peer_transformers.py MODEL_DIR OUT.json [--batches 1,8,32] [--new-tokens 128]
"""
import argparse
import json
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, DynamicCache


def sync():
    torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--seed-workload", action="store_true", help="also 100 prompts x 512 new tokens (bare loop)")
    a = ap.parse_args()
    res = {"transformers": transformers.__version__, "torch": torch.__version__, "gpu": torch.cuda.get_device_name(),
           "model": a.model, "prompt_len": a.prompt_len, "new_tokens": a.new_tokens, "runs": []}
    t = time.time()
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16, device_map="cuda",
                                                 attn_implementation="sdpa").eval()
    sync()
    res["load_s"] = time.time() - t
    vocab = model.config.vocab_size

    def prompts(b):
        g = torch.Generator().manual_seed(b)
        return torch.randint(3, vocab, (b, a.prompt_len), generator=g).cuda()

    @torch.no_grad()
    def bare_loop(ids, n):
        cache = DynamicCache()
        out = model(ids, past_key_values=cache, use_cache=True)
        nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        sync()
        t0 = time.time()
        for _ in range(n - 1):
            out = model(nxt, past_key_values=out.past_key_values, use_cache=True)
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        sync()
        return time.time() - t0

    for b in [int(x) for x in a.batches.split(",")]:
        ids = prompts(b)
        mask = torch.ones_like(ids)
        with torch.no_grad():
            model.generate(ids, attention_mask=mask, max_new_tokens=4, min_new_tokens=4, do_sample=False)  # warm-up
            torch.cuda.reset_peak_memory_stats()
            sync()
            t0 = time.time()
            model.generate(ids, attention_mask=mask, max_new_tokens=a.new_tokens, min_new_tokens=a.new_tokens,
                           do_sample=False)
            sync()
            gen_s = time.time() - t0
        loop_s = bare_loop(ids, a.new_tokens)
        res["runs"].append({"batch": b, "generate_new_tok_per_s": b * a.new_tokens / gen_s,
                            "bare_loop_decode_tok_per_s": b * (a.new_tokens - 1) / loop_s,
                            "peak_gpu_GB": torch.cuda.max_memory_allocated() / 1e9})
        print(json.dumps(res["runs"][-1]), flush=True)
    if a.seed_workload:
        ids = torch.randint(3, vocab, (100, a.prompt_len)).cuda()
        loop_s = bare_loop(ids, 512)
        res["seed_workload_bare_loop_decode_tok_per_s"] = 100 * 511 / loop_s
        print("seed workload", res["seed_workload_bare_loop_decode_tok_per_s"], flush=True)
    json.dump(res, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
