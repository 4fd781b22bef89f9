#!/usr/bin/env python3
"""Writes a random-weight checkpoint directly in bitsandbytes' stored NF4 layout with double quant (what
`save_pretrained` writes for load_in_4bit + bnb_4bit_use_double_quant; include/curebench/quant/bnb_checkpoint.hpp
reads it), for speed and memory measurements of models whose bf16 shards would not fit a disk (Llama-3-70B: 141 GB
in bf16, 39.5 GB here). Needs torch + safetensors. The outputs are meaningless; the sizes and layouts are real.

    python3 benchmarks/make_random_4bit_checkpoint.py llama3-70b OUT_DIR [--layers N] [--device cuda]

Per linear <p>: <p>.weight U8 [n*k/2, 1] (random nibbles), <p>.weight.absmax U8 [blocks of 64] (codes into the
nested map), <p>.weight.nested_absmax F32 [blocks / 256], <p>.weight.nested_quant_map F32 [256] (bnb's signed
dynamic map, quant/codebooks.hpp), <p>.weight.quant_map F32 [16] (NF4), <p>.weight.quant_state.bitsandbytes__nf4
(JSON). Each block's absmax is about 1.9 / sqrt(in), so a weight's spread is that of make_random_checkpoint.py's
N(0, 1/in). Embeddings, lm_head and norms are bf16, as bitsandbytes keeps them.
"""
import argparse
import json
import math
import os

import torch
from safetensors.torch import save_file

from make_random_checkpoint import SHAPES as BF16_SHAPES, tensors, write_index_and_config

SHAPES = dict(BF16_SHAPES)
SHAPES["llama3-70b"] = dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=8192, intermediate_size=28672,
                            num_hidden_layers=80, num_attention_heads=64, num_key_value_heads=8, vocab_size=128256,
                            rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=128000,
                            eos_token_id=128009, max_position_embeddings=8192)

NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
       -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
       0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0]
BLOCK, NESTED_BLOCK = 64, 256


def dynamic_map_signed():
    out = [0.0, 1.0]
    for i in range(7):
        items = (1 << i) + 1
        for b in range(items - 1):
            lo, hi = 0.1 + 0.9 * b / (items - 1), 0.1 + 0.9 * (b + 1) / (items - 1)
            out += [10.0 ** (i - 6) * (lo + hi) / 2, -(10.0 ** (i - 6)) * (lo + hi) / 2]
    return sorted(out)


def nf4_linear(prefix, n, k, g, device):
    numel = n * k
    blocks = (numel + BLOCK - 1) // BLOCK
    nested = (blocks + NESTED_BLOCK - 1) // NESTED_BLOCK
    # NF4 codes have an rms of ~0.52 of the block's absmax: absmax ~ 1.9 / sqrt(k) gives a spread of 1/sqrt(k).
    target = 1.0 / (0.52 * math.sqrt(k))
    t = {
        prefix + ".weight": torch.randint(0, 256, (numel // 2, 1), generator=g, device=device, dtype=torch.uint8).cpu(),
        prefix + ".weight.absmax": torch.randint(0, 256, (blocks,), generator=g, device=device, dtype=torch.uint8).cpu(),
        prefix + ".weight.nested_absmax": torch.full((nested,), 0.1 * target, dtype=torch.float32),
        prefix + ".weight.nested_quant_map": torch.tensor(dynamic_map_signed(), dtype=torch.float32),
        prefix + ".weight.quant_map": torch.tensor(NF4, dtype=torch.float32),
    }
    state = {"quant_type": "nf4", "blocksize": BLOCK, "dtype": "bfloat16", "shape": [n, k], "nested_blocksize": NESTED_BLOCK,
             "nested_dtype": "float32", "nested_offset": target}
    t[prefix + ".weight.quant_state.bitsandbytes__nf4"] = torch.tensor(list(json.dumps(state).encode()), dtype=torch.uint8)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=0, help="fewer layers than the model has (a quick check)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    c = dict(SHAPES[a.shape], torch_dtype="bfloat16")
    if a.layers:
        c["num_hidden_layers"] = a.layers
    c["quantization_config"] = {"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4",
                                "bnb_4bit_use_double_quant": True, "bnb_4bit_compute_dtype": "bfloat16",
                                "bnb_4bit_quant_storage": "uint8"}
    os.makedirs(a.out, exist_ok=True)
    g = torch.Generator(device=a.device).manual_seed(0)
    h, v = c["hidden_size"], c["vocab_size"]

    def dense(shape):
        if len(shape) == 1:
            return (1.0 + 0.01 * torch.randn(shape, generator=g, device=a.device)).to(torch.bfloat16).cpu()
        return (torch.randn(shape, generator=g, device=a.device) * (1.0 / shape[-1] ** 0.5)).to(torch.bfloat16).cpu()

    layers = c["num_hidden_layers"]
    per_shard = 4
    names = ["model-head"] + [f"layers-{l}" for l in range(0, layers, per_shard)]
    weight_map, total = {}, 0
    for n, part in enumerate(names):
        fname = f"model-{n + 1:05d}-of-{len(names):05d}.safetensors"
        data = {}
        if n == 0:
            data["model.embed_tokens.weight"] = dense((v, h))
            data["model.norm.weight"] = dense((h,))
            if not c["tie_word_embeddings"]:
                data["lm_head.weight"] = dense((v, h))
        else:
            for l in range((n - 1) * per_shard, min(layers, n * per_shard)):
                for name, shape in tensors(c, l).items():
                    if len(shape) == 1:
                        data[name] = dense(shape)
                    else:
                        data.update(nf4_linear(name[:-len(".weight")], shape[0], shape[1], g, a.device))
        total += sum(t.numel() * t.element_size() for t in data.values())
        save_file(data, os.path.join(a.out, fname), metadata={"format": "pt"})
        weight_map.update({k: fname for k in data})
        print(f"{fname}: {total / 1e9:.2f} GB so far", flush=True)
    write_index_and_config(a.out, weight_map, total, c)
    print(a.shape, "NF4 + double quant written to", a.out, f"{total / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
