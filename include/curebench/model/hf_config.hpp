#pragma once
// Hugging Face config.json -> ModelSpec. Reads both spellings found in the wild:
//   transformers 4.x: rope_theta, rope_scaling{type|rope_type,...}, torch_dtype, implicit layer kinds
//   transformers 5.x: rope_parameters{rope_theta, rope_type,...}, dtype, layer_types[]
#include <filesystem>
#include <string>

#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/model/architectures.hpp"
#include "curebench/model/spec.hpp"

namespace curebench::model {

namespace detail {

inline std::int64_t positive_int(const nlohmann::json& c, const char* key, const std::string& path) {
  auto v = json_get<std::int64_t>(c, key, path);
  if (v <= 0 || v > (std::int64_t{1} << 31)) throw Error(Errc::config, path, key, "expected a positive integer, found " + std::to_string(v));
  return v;
}

inline std::vector<std::int64_t> id_list(const nlohmann::json& c, const char* key, const std::string& path) {
  auto it = c.find(key);
  if (it == c.end() || it->is_null()) return {};
  if (it->is_number_integer()) return {it->get<std::int64_t>()};
  if (it->is_array()) {
    std::vector<std::int64_t> out;
    for (auto& v : *it) {
      if (!v.is_number_integer()) throw Error(Errc::config, path, key, "expected integers");
      out.push_back(v.get<std::int64_t>());
    }
    return out;
  }
  throw Error(Errc::config, path, key, "expected an integer or a list of integers");
}

inline Activation parse_activation(const std::string& s, const std::string& path, const char* key) {
  if (s == "silu" || s == "swish") return Activation::silu;
  if (s == "gelu_pytorch_tanh" || s == "gelu_new" || s == "gelu_fast") return Activation::gelu_tanh;
  if (s == "gelu") return Activation::gelu;
  throw Error(Errc::unsupported, path, key, "activation '" + s + "' is not supported (silu, gelu, gelu_pytorch_tanh)");
}

inline void parse_rope(const nlohmann::json& c, ModelSpec& s, const std::string& path) {
  // 5.x: rope_parameters (possibly keyed by layer type); 4.x: rope_theta + rope_scaling.
  nlohmann::json params = nlohmann::json::object();
  std::string field = "rope_scaling";
  if (auto rp = c.find("rope_parameters"); rp != c.end() && rp->is_object()) {
    params = rp->contains("full_attention") ? (*rp)["full_attention"] : *rp;
    field = "rope_parameters";
  } else if (auto rs = c.find("rope_scaling"); rs != c.end() && rs->is_object()) {
    params = *rs;
  }
  s.rope.theta = json_get_or<double>(params, "rope_theta", json_get_or<double>(c, "rope_theta", 10000.0, path), path);
  std::string type = json_get_or<std::string>(params, "rope_type", json_get_or<std::string>(params, "type", "default", path), path);
  s.rope.type = type;
  if (type == "default") return;
  s.rope.factor = json_get_or<double>(params, "factor", 1.0, path);
  if (type == "linear") return;
  if (type == "llama3") {
    s.rope.low_freq_factor = json_get<double>(params, "low_freq_factor", path);
    s.rope.high_freq_factor = json_get<double>(params, "high_freq_factor", path);
    s.rope.original_max_position = json_get<std::int64_t>(params, "original_max_position_embeddings", path);
    return;
  }
  throw Error(Errc::unsupported, path, field + ".rope_type", "RoPE type '" + type + "' is not supported (default, linear, llama3)");
}

}  // namespace detail

inline ModelSpec spec_from_hf_config(const nlohmann::json& c, const std::string& path) {
  if (!c.is_object()) throw Error(Errc::config, path, "", "config.json is not a JSON object");
  ModelSpec s;
  const ArchitectureRow* row = nullptr;
  if (auto a = c.find("architectures"); a != c.end() && a->is_array() && !a->empty()) {
    if (!(*a)[0].is_string()) throw Error(Errc::config, path, "architectures", "expected a list of strings");
    s.architecture = (*a)[0].get<std::string>();
    row = find_architecture(s.architecture);
    if (!row) {
      std::string known;
      for (auto& r : kArchitectures) known += (known.empty() ? "" : ", ") + std::string(r.architecture);
      throw Error(Errc::unsupported, path, "architectures", "unknown architecture '" + s.architecture + "' (supported: " + known + ")");
    }
  } else {
    auto mt = json_get<std::string>(c, "model_type", path);
    row = find_architecture(mt);
    if (!row) throw Error(Errc::unsupported, path, "model_type", "unknown model_type '" + mt + "' and no architectures field");
    s.architecture = std::string(row->architecture);
  }
  s.model_type = std::string(row->model_type);
  s.vocab_size = detail::positive_int(c, "vocab_size", path);
  s.hidden_size = detail::positive_int(c, "hidden_size", path);
  s.intermediate_size = detail::positive_int(c, "intermediate_size", path);
  s.num_layers = detail::positive_int(c, "num_hidden_layers", path);
  // The layer count sizes per-layer tables and loops (2^31 layers took minutes in the Qwen window loop below).
  constexpr std::int64_t kMaxLayers = std::int64_t{1} << 16;
  if (s.num_layers > kMaxLayers)
    throw Error(Errc::config, path, "num_hidden_layers", "expected at most " + std::to_string(kMaxLayers) + ", found " + std::to_string(s.num_layers));
  s.num_heads = detail::positive_int(c, "num_attention_heads", path);
  s.num_kv_heads = json_get_or<std::int64_t>(c, "num_key_value_heads", s.num_heads, path);
  if (s.num_kv_heads <= 0 || s.num_heads % s.num_kv_heads != 0)
    throw Error(Errc::config, path, "num_key_value_heads", "must divide num_attention_heads (" + std::to_string(s.num_heads) + "), found " + std::to_string(s.num_kv_heads));
  s.head_dim = json_get_or<std::int64_t>(c, "head_dim", s.hidden_size / s.num_heads, path);
  if (s.head_dim <= 0 || s.head_dim % 2 != 0) throw Error(Errc::config, path, "head_dim", "must be a positive even number");
  s.max_position_embeddings = json_get_or<std::int64_t>(c, "max_position_embeddings", 2048, path);
  s.rms_norm_eps = json_get_or<double>(c, "rms_norm_eps", 1e-6, path);
  detail::parse_rope(c, s, path);

  s.qkv_bias = row->qkv_bias;
  s.norm_plus_one = row->norm_plus_one;
  s.scale_embeddings = row->scale_embeddings;
  s.sandwich_norms = row->sandwich_norms;
  s.qk_norm = row->qk_norm;
  if (json_get_or<bool>(c, "attention_bias", false, path)) s.qkv_bias = s.o_bias = true;  // Llama's flag biases o too
  s.mlp_bias = json_get_or<bool>(c, "mlp_bias", false, path);
  s.activation = row->default_activation;
  for (const char* key : {"hidden_activation", "hidden_act"}) {
    if (auto it = c.find(key); it != c.end() && it->is_string()) {
      s.activation = detail::parse_activation(it->get<std::string>(), path, key);
      break;
    }
  }
  // Gemma-2 trained with tanh-GELU even where an old config says "gelu".
  if (row->gelu_means_tanh && s.activation == Activation::gelu) s.activation = Activation::gelu_tanh;

  s.attention_scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  if (auto q = c.find("query_pre_attn_scalar"); q != c.end() && q->is_number())
    s.attention_scale = 1.0 / std::sqrt(q->get<double>());
  if (auto v = c.find("attn_logit_softcapping"); v != c.end() && v->is_number()) s.attn_logit_softcap = v->get<double>();
  if (auto v = c.find("final_logit_softcapping"); v != c.end() && v->is_number()) s.final_logit_softcap = v->get<double>();

  // Which layers use the sliding window.
  s.layer_sliding.assign(static_cast<std::size_t>(s.num_layers), false);
  auto window = c.find("sliding_window");
  bool window_set = window != c.end() && window->is_number_integer() && window->get<std::int64_t>() > 0;
  if (window_set) s.sliding_window = window->get<std::int64_t>();
  if (auto lt = c.find("layer_types"); lt != c.end() && lt->is_array()) {
    if (static_cast<std::int64_t>(lt->size()) != s.num_layers)
      throw Error(Errc::config, path, "layer_types", "has " + std::to_string(lt->size()) + " entries for " + std::to_string(s.num_layers) + " layers");
    for (std::size_t i = 0; i < lt->size(); ++i) {
      auto t = (*lt)[i].is_string() ? (*lt)[i].get<std::string>() : "";
      if (t != "full_attention" && t != "sliding_attention")
        throw Error(Errc::unsupported, path, "layer_types[" + std::to_string(i) + "]", "unknown layer type '" + t + "'");
      s.layer_sliding[i] = (t == "sliding_attention");
    }
  } else if (window_set) {
    auto max_window_layers = json_get_or<std::int64_t>(c, "max_window_layers", 0, path);
    const bool qwen_window = row->sliding == SlidingLayers::from_max_window_layer && json_get_or<bool>(c, "use_sliding_window", false, path);
    for (std::int64_t i = 0; i < s.num_layers; ++i) {
      switch (row->sliding) {
        case SlidingLayers::none: s.layer_sliding[i] = false; break;
        case SlidingLayers::all: s.layer_sliding[i] = true; break;
        case SlidingLayers::even: s.layer_sliding[i] = (i % 2 == 0); break;
        case SlidingLayers::from_max_window_layer: s.layer_sliding[i] = qwen_window && i >= max_window_layers; break;
      }
    }
  }
  bool any_sliding = false;
  for (bool b : s.layer_sliding) any_sliding |= b;
  if (any_sliding && !window_set) throw Error(Errc::config, path, "sliding_window", "layers use a sliding window but no positive sliding_window is given");
  if (!any_sliding) s.sliding_window.reset();

  s.tie_word_embeddings = json_get_or<bool>(c, "tie_word_embeddings", row->tied_by_default, path);
  s.dtype = json_get_or<std::string>(c, "dtype", json_get_or<std::string>(c, "torch_dtype", "float32", path), path);
  if (auto b = detail::id_list(c, "bos_token_id", path); !b.empty()) s.bos_id = b.front();
  if (auto p = detail::id_list(c, "pad_token_id", path); !p.empty()) s.pad_id = p.front();
  s.eos_ids = detail::id_list(c, "eos_token_id", path);
  for (auto id : s.eos_ids)
    if (id < 0 || id >= s.vocab_size) throw Error(Errc::config, path, "eos_token_id", "id " + std::to_string(id) + " outside the vocabulary");
  return s;
}

inline ModelSpec load_hf_config(const std::filesystem::path& config_json) {
  return spec_from_hf_config(read_json_file(config_json.string()), config_json.string());
}

}  // namespace curebench::model
