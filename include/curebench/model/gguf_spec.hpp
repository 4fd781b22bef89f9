#pragma once
// GGUF metadata -> ModelSpec. A GGUF file names its family in general.architecture and keeps every
// hyperparameter under "<arch>." keys (llama.cpp src/llama-arch.cpp LLM_KV_*); this maps them onto the
// same ModelSpec a config.json gives, so a GGUF model runs through the one generic decoder.
// Differences from the Hugging Face side, handled here as data:
//   - llama (and Mistral, converted as llama) store q/k rows interleaved for llama.cpp's RoPE; the
//     tensor source undoes it (`gguf_rope_interleaved`). qwen2/qwen3/gemma2 use rotate_half: no change.
//   - gemma2's converter adds 1 to every RMSNorm weight, so the spec turns norm_plus_one off.
//   - llama3 RoPE scaling is stored as a rope_freqs.weight tensor of per-frequency divisors, not as keys:
//     RopeSpec::freq_divisors carries them and rope_inv_freq divides by them, exactly as llama.cpp does.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "curebench/core/error.hpp"
#include "curebench/io/gguf.hpp"
#include "curebench/io/gguf_dequant.hpp"
#include "curebench/model/architectures.hpp"
#include "curebench/model/spec.hpp"

namespace curebench::model {

struct GGUFArchitectureRow {
  std::string_view gguf;          // general.architecture
  std::string_view architecture;  // our ArchitectureRow (HF name)
  bool rope_interleaved;          // q/k rows permuted by convert_hf_to_gguf.py (LLAMA_ROPE_TYPE_NORM)
};

inline constexpr GGUFArchitectureRow kGGUFArchitectures[] = {
    {"llama", "LlamaForCausalLM", true},
    {"mistral", "MistralForCausalLM", true},
    {"qwen2", "Qwen2ForCausalLM", false},
    {"qwen3", "Qwen3ForCausalLM", false},
    {"gemma2", "Gemma2ForCausalLM", false},
};

inline const GGUFArchitectureRow& gguf_architecture(const io::GGUFFile& f) {
  auto arch = f.get<std::string>("general.architecture");
  for (const auto& row : kGGUFArchitectures)
    if (row.gguf == arch) return row;
  std::string known;
  for (const auto& r : kGGUFArchitectures) known += (known.empty() ? "" : ", ") + std::string(r.gguf);
  throw Error(Errc::unsupported, f.path(), "general.architecture", "architecture '" + arch + "' is not supported (" + known + ")");
}

// A float tensor of the file as f32 values (for small tensors such as rope_freqs).
inline std::vector<float> gguf_floats(const io::GGUFFile& f, const io::GGUFTensorInfo& t) {
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  require(io::gguf_can_dequantize(t.type), Errc::unsupported, f.path(), t.name, "cannot decode ggml type " + std::string(io::ggml_type_name(t.type)));
  io::gguf_dequantize(t.type, f.bytes(t), std::span(out), t.name.c_str());
  return out;
}

inline ModelSpec spec_from_gguf(const io::GGUFFile& f) {
  const auto& g = gguf_architecture(f);
  const auto* row = find_architecture(g.architecture);
  const std::string a = std::string(g.gguf) + ".";
  auto positive = [&](const std::string& key) {
    auto v = f.get<std::int64_t>(key);
    if (v <= 0 || v > (std::int64_t{1} << 31)) throw Error(Errc::config, f.path(), key, "expected a positive integer, found " + std::to_string(v));
    return v;
  };
  ModelSpec s;
  s.architecture = std::string(row->architecture);
  s.model_type = std::string(row->model_type);
  s.hidden_size = positive(a + "embedding_length");
  s.intermediate_size = positive(a + "feed_forward_length");
  s.num_layers = positive(a + "block_count");
  if (s.num_layers > (std::int64_t{1} << 16)) throw Error(Errc::config, f.path(), a + "block_count", "expected at most 65536 layers");
  s.num_heads = positive(a + "attention.head_count");
  s.num_kv_heads = f.get_or<std::int64_t>(a + "attention.head_count_kv", s.num_heads);
  if (s.num_kv_heads <= 0 || s.num_heads % s.num_kv_heads != 0)
    throw Error(Errc::config, f.path(), a + "attention.head_count_kv", "must divide head_count (" + std::to_string(s.num_heads) + "), found " + std::to_string(s.num_kv_heads));
  s.head_dim = f.get_or<std::int64_t>(a + "attention.key_length", s.hidden_size / s.num_heads);
  if (s.head_dim <= 0 || s.head_dim % 2 != 0) throw Error(Errc::config, f.path(), a + "attention.key_length", "head size must be a positive even number");
  if (auto rd = f.get_or<std::int64_t>(a + "rope.dimension_count", s.head_dim); rd != s.head_dim)
    throw Error(Errc::unsupported, f.path(), a + "rope.dimension_count", "partial RoPE (" + std::to_string(rd) + " of " + std::to_string(s.head_dim) + " dims) is not supported");
  s.max_position_embeddings = f.get_or<std::int64_t>(a + "context_length", 2048);
  s.rms_norm_eps = f.get_or<double>(a + "attention.layer_norm_rms_epsilon", 1e-6);
  s.rope.theta = f.get_or<double>(a + "rope.freq_base", 10000.0);
  if (auto* emb = f.find_tensor("token_embd.weight"); emb && emb->ne.size() == 2) s.vocab_size = static_cast<std::int64_t>(emb->ne[1]);
  s.vocab_size = f.get_or<std::int64_t>(a + "vocab_size", s.vocab_size);
  if (s.vocab_size <= 0) throw Error(Errc::config, f.path(), a + "vocab_size", "no vocabulary size (no key and no token_embd.weight)");

  // RoPE scaling: linear by key; llama3 by a rope_freqs tensor (checked against our llama3 formula).
  auto scaling = f.get_or<std::string>(a + "rope.scaling.type", "none");
  if (scaling == "linear") {
    s.rope.type = "linear";
    s.rope.factor = f.get<double>(a + "rope.scaling.factor");
  } else if (scaling != "none") {
    throw Error(Errc::unsupported, f.path(), a + "rope.scaling.type", "RoPE scaling '" + scaling + "' is not supported (none, linear, llama3 via rope_freqs)");
  }
  if (auto* rf = f.find_tensor("rope_freqs.weight")) {
    auto div = gguf_floats(f, *rf);
    require(static_cast<std::int64_t>(div.size()) == s.head_dim / 2, Errc::shape, f.path(), "rope_freqs.weight",
            "expected head_dim/2 = " + std::to_string(s.head_dim / 2) + " values, found " + std::to_string(div.size()));
    for (float d : div)
      require(std::isfinite(d) && d > 0, Errc::format, f.path(), "rope_freqs.weight", "RoPE frequency divisors must be positive and finite");
    s.rope.type = "llama3";  // what converters store this way; the divisors themselves are applied, as llama.cpp does
    s.rope.factor = *std::max_element(div.begin(), div.end());
    s.rope.freq_divisors = std::move(div);
  }

  s.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  s.o_bias = f.find_tensor("blk.0.attn_output.bias") != nullptr;
  s.norm_plus_one = false;  // gemma2: the converter stored 1 + w
  s.scale_embeddings = row->scale_embeddings;
  s.sandwich_norms = row->sandwich_norms;
  s.qk_norm = f.find_tensor("blk.0.attn_q_norm.weight") != nullptr;
  s.activation = row->default_activation;
  s.attention_scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  // llama.cpp's gemma2 graph: 27B (46 layers) scales queries by 1/sqrt(hidden/heads) (query_pre_attn_scalar=144).
  if (row->gguf_hidden_query_scale_layers > 0 && s.num_layers == row->gguf_hidden_query_scale_layers)
    s.attention_scale = 1.0 / std::sqrt(static_cast<double>(s.hidden_size / s.num_heads));
  if (f.contains(a + "attn_logit_softcapping")) s.attn_logit_softcap = f.get<double>(a + "attn_logit_softcapping");
  if (f.contains(a + "final_logit_softcapping")) s.final_logit_softcap = f.get<double>(a + "final_logit_softcapping");
  s.layer_sliding.assign(static_cast<std::size_t>(s.num_layers), false);
  if (f.contains(a + "attention.sliding_window")) {
    auto w = f.get<std::int64_t>(a + "attention.sliding_window");
    if (w > 0) {
      s.sliding_window = w;
      for (std::int64_t i = 0; i < s.num_layers; ++i)
        s.layer_sliding[static_cast<std::size_t>(i)] =
            row->sliding == SlidingLayers::even ? (i % 2 == 0) : row->sliding == SlidingLayers::all;
    }
  }
  s.tie_word_embeddings = f.find_tensor("output.weight") == nullptr;
  // The declared dtype: the embedding's storage when it is a float type, else f16 (what converters start from).
  s.dtype = "float16";
  if (auto* emb = f.find_tensor("token_embd.weight")) {
    if (emb->type == io::GGMLType::F32) s.dtype = "float32";
    else if (emb->type == io::GGMLType::BF16) s.dtype = "bfloat16";
  }
  // Special ids (u32 -1 means "none", as the tokenizer reader treats it).
  auto id = [&](const char* key) -> std::optional<std::int64_t> {
    if (!f.contains(key)) return std::nullopt;
    auto v = f.get<std::int64_t>(key);
    if (v < 0 || v >= s.vocab_size) return std::nullopt;
    return v;
  };
  s.bos_id = id("tokenizer.ggml.bos_token_id");
  s.pad_id = id("tokenizer.ggml.padding_token_id");
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"})
    if (auto e = id(key); e && std::find(s.eos_ids.begin(), s.eos_ids.end(), *e) == s.eos_ids.end()) s.eos_ids.push_back(*e);
  return s;
}

}  // namespace curebench::model
