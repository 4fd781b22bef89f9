#pragma once
// Mixed precision rules: which linear layers stay in higher precision when the rest is quantized — by
// role (lm_head; embeddings are always dense in this decoder), by layer index (the first / last N layers)
// and by user-listed name substrings ("mlp.down_proj", "blk.0.attn_q"). Names in HF ("model.layers.3.")
// and GGUF ("blk.3.") spelling both carry their layer index.
#include <nlohmann/json.hpp>

#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "curebench/quant/config.hpp"

namespace curebench::quant {

// The decoder layer a tensor name belongs to, or nullopt (embeddings, final norm, lm_head).
inline std::optional<std::int64_t> layer_of(const std::string& name) {
  for (std::string_view prefix : {"model.layers.", "blk."}) {
    auto pos = name.find(prefix);
    if (pos == std::string::npos) continue;
    pos += prefix.size();
    std::int64_t v = 0;
    std::size_t digits = 0;
    while (pos + digits < name.size() && std::isdigit(static_cast<unsigned char>(name[pos + digits])))
      v = v * 10 + (name[pos + digits++] - '0');
    if (digits > 0) return v;
  }
  return std::nullopt;
}

struct MixedPrecisionRules {
  bool keep_lm_head = true;                // the classifier stays dense (bnb's default llm_int8_skip_modules)
  std::int64_t keep_first = 0, keep_last = 0;  // whole decoder layers kept dense at either end
  std::vector<std::int64_t> keep_layers;   // layer indices kept dense
  std::vector<std::string> keep_names;     // name substrings kept dense

  // True when the linear `name` of a model with `num_layers` layers stays dense.
  bool keep(const std::string& name, std::int64_t num_layers) const {
    if (keep_lm_head && (name == "lm_head.weight" || name == "output.weight")) return true;
    for (const auto& s : keep_names)
      if (!s.empty() && name.find(s) != std::string::npos) return true;
    if (auto l = layer_of(name)) {
      if (*l < keep_first || *l >= num_layers - keep_last) return true;
      for (auto k : keep_layers)
        if (k == *l) return true;
    }
    return false;
  }
};

inline void to_json(nlohmann::json& j, const MixedPrecisionRules& r) {
  j = nlohmann::json{{"keep_lm_head", r.keep_lm_head}, {"keep_first", r.keep_first}, {"keep_last", r.keep_last},
                     {"keep_layers", r.keep_layers}, {"keep_names", r.keep_names}};
}

// A quant config under mixed precision rules, for QuantizeOnLoad: `QuantizeOnLoad<MixedPrecision<NF4Config<64, true>>>{
// {.rules = {.keep_first = 1, .keep_last = 1}}}`. QuantizeOnLoad hands it each linear's name and the layer count.
template <QuantConfig Q>
struct MixedPrecision {
  MixedPrecisionRules rules;

  Q config{};

  std::string name() const { return std::string(config.name()) + "+mixed"; }
  double bits_per_weight() const { return config.bits_per_weight(); }  // nominal: kept layers cost more
  Weight quantize(const at::Tensor& w) const { return config.quantize(w); }
  Weight quantize(const std::string& tensor, const at::Tensor& w, std::int64_t num_layers) const {
    return rules.keep(tensor, num_layers) ? Weight{Dense{w}} : config.quantize(w);
  }
};

}  // namespace curebench::quant
