#!/usr/bin/env python3
"""Writes a random-weight Hugging Face checkpoint (bf16 safetensors, sharded) with the shapes of a real
model, for speed and memory measurements only (the outputs are meaningless). Needs torch + safetensors.

    python3 benchmarks/make_random_checkpoint.py llama3-8b OUT_DIR [--device cuda]

Shapes (from the published config.json files): llama3-8b, mistral-7b, qwen2-7b, gemma2-9b.
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file

SHAPES = {
    "llama3-8b": dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=4096, intermediate_size=14336,
                      num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, vocab_size=128256,
                      rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=128000,
                      eos_token_id=128009, max_position_embeddings=8192),
    "mistral-7b": dict(architectures=["MistralForCausalLM"], model_type="mistral", hidden_size=4096, intermediate_size=14336,
                       num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, vocab_size=32000,
                       rope_theta=10000.0, rms_norm_eps=1e-5, sliding_window=4096, tie_word_embeddings=False,
                       bos_token_id=1, eos_token_id=2, max_position_embeddings=32768),
    "qwen2-7b": dict(architectures=["Qwen2ForCausalLM"], model_type="qwen2", hidden_size=3584, intermediate_size=18944,
                     num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4, vocab_size=152064,
                     rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=False, bos_token_id=151643,
                     eos_token_id=151643, max_position_embeddings=32768),
    "gemma2-9b": dict(architectures=["Gemma2ForCausalLM"], model_type="gemma2", hidden_size=3584, intermediate_size=14336,
                      num_hidden_layers=42, num_attention_heads=16, num_key_value_heads=8, head_dim=256, vocab_size=256000,
                      query_pre_attn_scalar=256, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
                      sliding_window=4096, hidden_activation="gelu_pytorch_tanh", rope_theta=10000.0, rms_norm_eps=1e-6,
                      tie_word_embeddings=True, bos_token_id=2, eos_token_id=1, max_position_embeddings=8192),
}


def tensors(c, layer):
    h, i = c["hidden_size"], c["intermediate_size"]
    d = c.get("head_dim", h // c["num_attention_heads"])
    q, kv = c["num_attention_heads"] * d, c["num_key_value_heads"] * d
    p = f"model.layers.{layer}."
    t = {p + "self_attn.q_proj.weight": (q, h), p + "self_attn.k_proj.weight": (kv, h), p + "self_attn.v_proj.weight": (kv, h),
         p + "self_attn.o_proj.weight": (h, q), p + "mlp.gate_proj.weight": (i, h), p + "mlp.up_proj.weight": (i, h),
         p + "mlp.down_proj.weight": (h, i), p + "input_layernorm.weight": (h,), p + "post_attention_layernorm.weight": (h,)}
    if c["model_type"] == "qwen2":
        t.update({p + "self_attn.q_proj.bias": (q,), p + "self_attn.k_proj.bias": (kv,), p + "self_attn.v_proj.bias": (kv,)})
    if c["model_type"] == "gemma2":
        t.update({p + "pre_feedforward_layernorm.weight": (h,), p + "post_feedforward_layernorm.weight": (h,)})
    return t


def write_index_and_config(out, weight_map, total, c):
    """The shard index, config.json and generation_config.json of a checkpoint whose shards are written."""
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map},
              open(os.path.join(out, "model.safetensors.index.json"), "w"), indent=1)
    json.dump(c, open(os.path.join(out, "config.json"), "w"), indent=1)
    json.dump({"bos_token_id": c["bos_token_id"], "eos_token_id": c["eos_token_id"]},
              open(os.path.join(out, "generation_config.json"), "w"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("out")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    c = dict(SHAPES[a.shape], torch_dtype="bfloat16")
    os.makedirs(a.out, exist_ok=True)
    g = torch.Generator(device=a.device).manual_seed(0)

    def rand(shape):
        if len(shape) == 1:  # norms: near 1 (Gemma stores w with (1 + w), near 0)
            base = 0.0 if c["model_type"] == "gemma2" else 1.0
            return (base + 0.01 * torch.randn(shape, generator=g, device=a.device)).to(torch.bfloat16).cpu()
        return (torch.randn(shape, generator=g, device=a.device) * (1.0 / shape[-1] ** 0.5)).to(torch.bfloat16).cpu()

    shards, weight_map, total = [], {}, 0
    first = {"model.embed_tokens.weight": (c["vocab_size"], c["hidden_size"]), "model.norm.weight": (c["hidden_size"],)}
    if not c["tie_word_embeddings"]:
        first["lm_head.weight"] = (c["vocab_size"], c["hidden_size"])
    groups = [first] + [tensors(c, l) for l in range(c["num_hidden_layers"])]
    per_shard = 4  # layers per shard
    chunks = [groups[0]] + [dict(kv for grp in groups[1 + k:1 + k + per_shard] for kv in grp.items())
                            for k in range(0, c["num_hidden_layers"], per_shard)]
    for n, chunk in enumerate(chunks):
        name = f"model-{n + 1:05d}-of-{len(chunks):05d}.safetensors"
        data = {k: rand(s) for k, s in chunk.items()}
        total += sum(v.numel() * 2 for v in data.values())
        save_file(data, os.path.join(a.out, name), metadata={"format": "pt"})
        weight_map.update({k: name for k in data})
    write_index_and_config(a.out, weight_map, total, c)
    print(a.shape, "written to", a.out, f"{total / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
