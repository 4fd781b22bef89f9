#pragma once
// Sensitivity scan: quantize one decoder layer at a time (all its linears that fit the format), leave the
// rest in full precision, and measure the output KL against the full-precision model on a token set.
// Layers ranked by mean KL, most sensitive first: the candidates for MixedPrecisionRules::keep_layers.
#include <algorithm>
#include <vector>

#include "curebench/quant/fidelity.hpp"
#include "curebench/quant/named_config.hpp"

namespace curebench::quant {

struct LayerSensitivity {
  std::int64_t layer = 0;
  double kl_mean = 0, kl_max = 0, top1_agreement = 0, ppl_delta = 0;
};

inline void to_json(nlohmann::json& j, const LayerSensitivity& s) {
  j = nlohmann::json{{"layer", s.layer}, {"kl_mean", s.kl_mean}, {"kl_max", s.kl_max}, {"top1_agreement", s.top1_agreement},
                     {"ppl_delta", s.ppl_delta}};
}

// `ref` must hold dense linears (a full-precision load). Returns layers sorted by kl_mean, descending.
inline std::vector<LayerSensitivity> sensitivity_scan(const model::Decoder& ref, const NamedQuant& q,
                                                      const std::vector<std::vector<std::int64_t>>& seqs) {
  std::vector<LayerSensitivity> out;
  const auto& spec = ref.spec();
  for (std::int64_t i = 0; i < spec.num_layers; ++i) {
    auto w = ref.weights();  // tensors are shared, only layer i's linears are replaced
    auto& l = w.layers[static_cast<std::size_t>(i)];
    for (auto* lin : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) {
      if (auto* d = std::get_if<Dense>(lin); d && q.fits(d->w)) *lin = q.quantize(d->w);
    }
    model::Decoder one(spec, std::move(w), ref.dtype(), ref.device());
    auto f = compare_models(ref, one, seqs);
    out.push_back({i, f.kl_mean, f.kl_max, f.top1_agreement, f.ppl_delta});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.kl_mean > b.kl_mean; });
  return out;
}

}  // namespace curebench::quant
