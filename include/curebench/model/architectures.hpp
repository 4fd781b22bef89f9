#pragma once
// The architecture table: what each supported `architectures` value changes in the generic decoder.
// A new family is a new row (plus, at most, one new ModelSpec field).
#include <cstdint>
#include <optional>
#include <string_view>

#include "curebench/model/spec.hpp"

namespace curebench::model {

// Which layers honour a positive sliding_window when the config has no layer_types list.
enum class SlidingLayers {
  none,                  // Llama: the window key is ignored
  all,                   // Mistral
  even,                  // Gemma-2 (transformers 4.x: even layers slide, odd ones attend globally)
  from_max_window_layer  // Qwen2/3: only with use_sliding_window, layers >= max_window_layers (GGUF: none)
};

struct ArchitectureRow {
  std::string_view architecture;
  std::string_view model_type;
  bool qkv_bias;
  bool norm_plus_one;
  bool scale_embeddings;
  bool sandwich_norms;
  bool qk_norm;
  Activation default_activation;
  bool gelu_means_tanh;  // a config's plain "gelu" is the tanh approximation (Gemma-2 trained with it)
  SlidingLayers sliding;
  bool tied_by_default;  // tie_word_embeddings when config.json does not say
  // llama.cpp scales queries by 1/sqrt(hidden / heads) instead of 1/sqrt(head_dim) for a GGUF of this many layers
  // (Gemma-2 27B, query_pre_attn_scalar = 144, which GGUF does not store); 0: never.
  std::int64_t gguf_hidden_query_scale_layers;
};

inline constexpr ArchitectureRow kArchitectures[] = {
    // architecture         model_type  qkv_b  (1+w)  emb*√d sandw  qk_n   act                  gelu=tanh sliding                                tied   gguf q-scale
    {"LlamaForCausalLM",   "llama",    false, false, false, false, false, Activation::silu,      false, SlidingLayers::none,                  false, 0},
    {"MistralForCausalLM", "mistral",  false, false, false, false, false, Activation::silu,      false, SlidingLayers::all,                   false, 0},
    {"Qwen2ForCausalLM",   "qwen2",    true,  false, false, false, false, Activation::silu,      false, SlidingLayers::from_max_window_layer, false, 0},
    {"Qwen3ForCausalLM",   "qwen3",    false, false, false, false, true,  Activation::silu,      false, SlidingLayers::from_max_window_layer, false, 0},
    {"Gemma2ForCausalLM",  "gemma2",   false, true,  true,  true,  false, Activation::gelu_tanh, true,  SlidingLayers::even,                  true,  46},
};

inline const ArchitectureRow* find_architecture(std::string_view name) {
  for (const auto& row : kArchitectures)
    if (row.architecture == name || row.model_type == name) return &row;
  return nullptr;
}

}  // namespace curebench::model
