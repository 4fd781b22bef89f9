#pragma once
// The architecture table: what each supported `architectures` value changes in the generic decoder.
// A new family is a new row (plus, at most, one new ModelSpec field).
#include <optional>
#include <string_view>

#include "curebench/model/spec.hpp"

namespace curebench::model {

struct ArchitectureRow {
  std::string_view architecture;
  std::string_view model_type;
  bool qkv_bias;
  bool norm_plus_one;
  bool scale_embeddings;
  bool sandwich_norms;
  bool qk_norm;
  Activation default_activation;
  bool uses_sliding_window;  // honours config.sliding_window (Mistral, Gemma-2; Qwen2 only if use_sliding_window)
};

inline constexpr ArchitectureRow kArchitectures[] = {
    // architecture         model_type  qkv_b  (1+w)  emb*√d sandw  qk_n   act                  sliding
    {"LlamaForCausalLM",   "llama",    false, false, false, false, false, Activation::silu,      false},
    {"MistralForCausalLM", "mistral",  false, false, false, false, false, Activation::silu,      true},
    {"Qwen2ForCausalLM",   "qwen2",    true,  false, false, false, false, Activation::silu,      false},
    {"Qwen3ForCausalLM",   "qwen3",    false, false, false, false, true,  Activation::silu,      false},
    {"Gemma2ForCausalLM",  "gemma2",   false, true,  true,  true,  false, Activation::gelu_tanh, true},
};

inline const ArchitectureRow* find_architecture(std::string_view name) {
  for (const auto& row : kArchitectures)
    if (row.architecture == name || row.model_type == name) return &row;
  return nullptr;
}

}  // namespace curebench::model
