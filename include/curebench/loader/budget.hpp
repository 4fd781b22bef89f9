#pragma once
// Memory budget planner: predicts what a model needs (weights in a given format + KV cache +
// activations) from the ModelSpec alone, before anything is loaded, so a loader strategy that
// cannot fit is skipped with a reason instead of being tried and crashing.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "curebench/core/error.hpp"
#include "curebench/model/spec.hpp"

namespace curebench::loader {

// Storage formats of the linear layers (embeddings stay 16-bit; lm_head follows `quantize_lm_head`).
enum class WeightFormat { f32, bf16, int8, fp8, nf4, nf4_double_quant, fp4, int4_g32, int4_g64, int4_g128 };

inline std::string to_string(WeightFormat f) {
  switch (f) {
    case WeightFormat::f32: return "f32";
    case WeightFormat::bf16: return "bf16";
    case WeightFormat::int8: return "int8";
    case WeightFormat::fp8: return "fp8";
    case WeightFormat::nf4: return "nf4";
    case WeightFormat::nf4_double_quant: return "nf4-dq";
    case WeightFormat::fp4: return "fp4";
    case WeightFormat::int4_g32: return "int4-g32";
    case WeightFormat::int4_g64: return "int4-g64";
    case WeightFormat::int4_g128: return "int4-g128";
  }
  return "?";
}

// Bytes per weight element including scales: int8 per-row f32 scale is ~0 per element (counted per row).
inline double bits_per_weight(WeightFormat f) {
  switch (f) {
    case WeightFormat::f32: return 32;
    case WeightFormat::bf16: return 16;
    case WeightFormat::int8:
    case WeightFormat::fp8: return 8;  // e4m3 + one f32 scale per row (counted per row, ~0 per element)
    case WeightFormat::nf4:
    case WeightFormat::fp4: return 4 + 32.0 / 64;                          // f32 absmax per 64
    case WeightFormat::nf4_double_quant: return 4 + 8.0 / 64 + 32.0 / (64 * 256);  // u8 absmax + f32 per 256 blocks
    case WeightFormat::int4_g32: return 4 + 32.0 / 32;                     // bf16 scale + zero per group
    case WeightFormat::int4_g64: return 4 + 32.0 / 64;
    case WeightFormat::int4_g128: return 4 + 32.0 / 128;
  }
  return 16;
}

// GPTQ / AWQ as stored (quant/gptq.hpp, quant/awq.hpp): `bits` per code, an fp16 scale and a packed `bits`-bit
// zero per group of `group_size` inputs (-1: one group over `in`) and output, and with `g_idx` (GPTQ) one int32
// per input row, i.e. 32 / out per weight. GPTQ 4-bit g128: 4.16 bits at out = 4096; AWQ 4-bit g128: 4.16.
inline double packed_int_bits_per_weight(int bits, std::int64_t group_size, std::int64_t in, std::int64_t out, bool g_idx) {
  const auto groups = group_size > 0 ? (in + group_size - 1) / group_size : 1;
  double b = bits + static_cast<double>(groups) * (16 + bits) / static_cast<double>(in);
  if (g_idx) b += 32.0 / static_cast<double>(out);
  return b;
}

struct MemoryPlan {
  std::int64_t weight_bytes = 0, kv_cache_bytes = 0, activation_bytes = 0;
  std::int64_t total() const { return weight_bytes + kv_cache_bytes + activation_bytes; }
};

struct Workload {
  std::int64_t batch = 1;
  std::int64_t context = 4096;     // prompt + generated tokens per sequence
  std::int64_t prefill_chunk = 512;            // prompt columns per forward during prefill, at most
  std::int64_t prefill_token_budget = 16384;   // rows x columns per prefill forward, at most (runtime::generate)
  int activation_bytes_per_element = 2;
};

inline std::int64_t linear_parameters(const model::ModelSpec& s) {
  const auto H = s.hidden_size;
  return s.num_layers * (H * (s.q_dim() + 2 * s.kv_dim()) + s.q_dim() * H + 3 * H * s.intermediate_size);
}

// Plan for linear layers stored at `linear_bits` per weight (scales included) and the rest at `dense_bytes`.
inline MemoryPlan plan_memory_bits(const model::ModelSpec& s, double linear_bits, int dense_bytes, const Workload& w = {},
                                   bool quantize_lm_head = false, bool per_row_scales = false) {
  MemoryPlan p;
  const auto emb = s.vocab_size * s.hidden_size;
  auto linear_bytes = static_cast<double>(linear_parameters(s)) * linear_bits / 8.0;
  if (per_row_scales) linear_bytes += 4.0 * s.num_layers * (s.q_dim() + 2 * s.kv_dim() + 2 * s.hidden_size + 2 * s.intermediate_size);
  // A tied classifier is the embedding, unless quantized: then a quantized copy sits beside it.
  const double head_bytes = quantize_lm_head ? emb * linear_bits / 8.0 : (s.tie_word_embeddings ? 0.0 : emb * dense_bytes * 1.0);
  const auto small = s.num_layers * s.hidden_size * 4 + s.hidden_size;  // norms (and biases, roughly)
  p.weight_bytes = static_cast<std::int64_t>(linear_bytes + head_bytes) + emb * dense_bytes + small * dense_bytes;
  p.kv_cache_bytes = 2 * s.num_layers * s.kv_dim() * w.context * w.batch * 2;
  // Peak activations: one prefill chunk through the widest layer (MLP) plus fp32 logits of the chunk's last
  // tokens, plus attention scores of the plain (non-fused) path.
  const auto columns = std::min({w.prefill_chunk, std::max<std::int64_t>(1, w.prefill_token_budget / std::max<std::int64_t>(1, w.batch)), w.context});
  const auto tokens = w.batch * columns;
  p.activation_bytes = tokens * (4 * s.hidden_size + 3 * s.intermediate_size) * w.activation_bytes_per_element +
                       w.batch * s.vocab_size * 4 * 2 + w.batch * s.num_heads * columns * w.context * 4;
  return p;
}

inline MemoryPlan plan_memory(const model::ModelSpec& s, WeightFormat format, const Workload& w = {},
                              bool quantize_lm_head = false) {
  return plan_memory_bits(s, bits_per_weight(format), format == WeightFormat::f32 ? 4 : 2, w, quantize_lm_head,
                          format == WeightFormat::int8);
}

inline nlohmann::json to_json_plan(const MemoryPlan& p) {
  return {{"weight_bytes", p.weight_bytes}, {"kv_cache_bytes", p.kv_cache_bytes}, {"activation_bytes", p.activation_bytes},
          {"total_bytes", p.total()}};
}

// ---- Layer split across devices (plan only) ----
// When one GPU cannot hold the model, device_map="auto" (accelerate's infer_auto_device_map) fills the visible GPUs
// in order: the embeddings first, then each layer on the current device while it fits, else on the next one, then
// the final norm and lm_head after the last layer. This is that plan, as data. Executing it needs a per-layer device
// in model::Decoder, which it does not have (its only per-layer seam is host offload to one compute device): the plan
// is not run by any loader yet.

// What each piece costs on its device, in bytes.
struct SplitCosts {
  std::int64_t embed = 0;    // embedding table
  std::int64_t layer = 0;    // one layer: linears, norms, and its share of the KV cache
  std::int64_t head = 0;     // final norm + lm_head (a tied lm_head on another device than the embeddings is a copy)
  std::int64_t reserve = 0;  // per device used: the peak activations of a forward (plan_memory_bits' activations)
};

inline SplitCosts split_costs(const model::ModelSpec& s, double linear_bits, int dense_bytes, const Workload& w = {},
                              bool quantize_lm_head = false) {
  const auto H = s.hidden_size;
  const auto per_layer_linear = H * (s.q_dim() + 2 * s.kv_dim()) + s.q_dim() * H + 3 * H * s.intermediate_size;
  const auto emb = s.vocab_size * H;
  SplitCosts c;
  c.embed = emb * dense_bytes;
  c.layer = static_cast<std::int64_t>(static_cast<double>(per_layer_linear) * linear_bits / 8.0) + 4 * H * dense_bytes +
            2 * s.kv_dim() * w.context * w.batch * 2;  // norms (and biases, roughly), then k and v in 16 bits
  c.head = H * dense_bytes + (quantize_lm_head ? static_cast<std::int64_t>(static_cast<double>(emb) * linear_bits / 8.0)
                                               : emb * dense_bytes);
  c.reserve = plan_memory_bits(s, linear_bits, dense_bytes, w, quantize_lm_head).activation_bytes;
  return c;
}

struct LayerSplit {
  int embed_device = 0, head_device = 0;
  std::vector<int> layer_device;        // per layer
  std::vector<std::int64_t> used_bytes;  // per visible device (0: unused)
  int devices_used() const {
    return static_cast<int>(std::count_if(used_bytes.begin(), used_bytes.end(), [](std::int64_t b) { return b > 0; }));
  }
};

// Sequential fill of `free_bytes` (per visible device, in order). A device in use holds `reserve` besides its pieces.
// Throws Errc::out_of_memory when the devices together cannot hold the model this way.
inline LayerSplit split_layers(const SplitCosts& c, std::int64_t num_layers, const std::vector<std::int64_t>& free_bytes) {
  LayerSplit p;
  p.used_bytes.assign(free_bytes.size(), 0);
  std::size_t dev = 0;
  auto place = [&](std::int64_t bytes, const std::string& what) -> int {
    for (; dev < free_bytes.size(); ++dev) {
      const auto used = p.used_bytes[dev] > 0 ? p.used_bytes[dev] : c.reserve;
      if (used + bytes <= free_bytes[dev]) {
        p.used_bytes[dev] = used + bytes;
        return static_cast<int>(dev);
      }
    }
    std::int64_t total = 0;
    for (auto f : free_bytes) total += f;
    throw Error(Errc::out_of_memory, "", "free_bytes",
                "the " + std::to_string(free_bytes.size()) + " devices (" + std::to_string(total) +
                    " bytes free in all) cannot hold the model split by layers: " + what + " does not fit");
  };
  p.embed_device = place(c.embed, "the embeddings");
  for (std::int64_t i = 0; i < num_layers; ++i) p.layer_device.push_back(place(c.layer, "layer " + std::to_string(i)));
  p.head_device = place(c.head, "the final norm and lm_head");
  return p;
}

inline nlohmann::json to_json_split(const LayerSplit& p) {
  return {{"embed_device", p.embed_device}, {"layer_device", p.layer_device}, {"head_device", p.head_device},
          {"used_bytes", p.used_bytes}, {"devices_used", p.devices_used()}};
}

}  // namespace curebench::loader
