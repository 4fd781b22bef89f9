#pragma once
// ModelSpec: a decoder-only transformer described as data. Every supported family (Llama, Mistral, Qwen2,
// Qwen3, Gemma-2) is the same generic decoder with different values here; no per-family classes.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace curebench::model {

enum class Activation { silu, gelu_tanh, gelu };

struct RopeSpec {
  double theta = 10000.0;
  std::string type = "default";  // default | llama3 | linear
  double factor = 1.0;
  double low_freq_factor = 1.0, high_freq_factor = 4.0;
  std::int64_t original_max_position = 8192;
  std::vector<float> freq_divisors;  // GGUF rope_freqs.weight: inv_freq[i] / divisors[i] (overrides the type's formula)
};

struct ModelSpec {
  std::string architecture;  // e.g. LlamaForCausalLM
  std::string model_type;    // e.g. llama
  std::int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0;
  std::int64_t num_layers = 0, num_heads = 0, num_kv_heads = 0, head_dim = 0;
  std::int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  RopeSpec rope;
  Activation activation = Activation::silu;
  bool tie_word_embeddings = false;
  bool qkv_bias = false, o_bias = false, mlp_bias = false;
  bool norm_plus_one = false;      // Gemma: RMSNorm scales by (1 + w)
  bool scale_embeddings = false;   // Gemma: embeddings x sqrt(hidden_size)
  bool sandwich_norms = false;     // Gemma-2: post-attention and pre/post-feedforward norms
  bool qk_norm = false;            // Qwen3: RMSNorm on each head of q and k
  std::optional<double> attn_logit_softcap, final_logit_softcap;  // Gemma-2
  double attention_scale = 0.0;    // 1/sqrt(head_dim) unless query_pre_attn_scalar says otherwise
  std::optional<std::int64_t> sliding_window;
  std::vector<bool> layer_sliding;  // per layer: uses the sliding window
  std::string dtype = "float32";    // the checkpoint's declared dtype
  std::optional<std::int64_t> bos_id, pad_id;
  std::vector<std::int64_t> eos_ids;

  std::int64_t q_dim() const { return num_heads * head_dim; }
  std::int64_t kv_dim() const { return num_kv_heads * head_dim; }

  // Parameter count from the shapes the spec implies (embeddings counted once when tied).
  std::int64_t parameter_count() const {
    std::int64_t attn = hidden_size * (q_dim() + 2 * kv_dim()) + q_dim() * hidden_size;
    if (qkv_bias) attn += q_dim() + 2 * kv_dim();
    std::int64_t mlp = 3 * hidden_size * intermediate_size;
    std::int64_t norms = hidden_size * (sandwich_norms ? 4 : 2) + (qk_norm ? 2 * head_dim : 0);
    std::int64_t per_layer = attn + mlp + norms;
    std::int64_t emb = vocab_size * hidden_size;
    return num_layers * per_layer + emb + (tie_word_embeddings ? 0 : emb) + hidden_size;
  }
};

inline std::string to_string(Activation a) {
  switch (a) {
    case Activation::silu: return "silu";
    case Activation::gelu_tanh: return "gelu_pytorch_tanh";
    case Activation::gelu: return "gelu";
  }
  return "?";
}

inline void to_json(nlohmann::json& j, const ModelSpec& s) {
  j = nlohmann::json{{"architecture", s.architecture}, {"model_type", s.model_type}, {"vocab_size", s.vocab_size},
                     {"hidden_size", s.hidden_size}, {"intermediate_size", s.intermediate_size},
                     {"num_layers", s.num_layers}, {"num_heads", s.num_heads}, {"num_kv_heads", s.num_kv_heads},
                     {"head_dim", s.head_dim}, {"max_position_embeddings", s.max_position_embeddings},
                     {"rms_norm_eps", s.rms_norm_eps}, {"rope", {{"theta", s.rope.theta}, {"type", s.rope.type}, {"factor", s.rope.factor}}},
                     {"activation", to_string(s.activation)}, {"tie_word_embeddings", s.tie_word_embeddings},
                     {"qkv_bias", s.qkv_bias}, {"qk_norm", s.qk_norm}, {"sandwich_norms", s.sandwich_norms},
                     {"sliding_window", s.sliding_window ? nlohmann::json(*s.sliding_window) : nlohmann::json()},
                     {"attn_logit_softcap", s.attn_logit_softcap ? nlohmann::json(*s.attn_logit_softcap) : nlohmann::json()},
                     {"final_logit_softcap", s.final_logit_softcap ? nlohmann::json(*s.final_logit_softcap) : nlohmann::json()},
                     {"dtype", s.dtype}, {"eos_ids", s.eos_ids}, {"parameters", s.parameter_count()}};
}

}  // namespace curebench::model
