#pragma once
// QuantizeOnLoad<Q>: stream a 16-bit checkpoint tensor by tensor, quantizing each linear layer as it
// arrives, so peak memory stays near the quantized size (plus one dense tensor) instead of the full
// bf16 model — the seed's "BitsAndBytes 4-bit on load", planned against the budget first.
#include <string>

#include "curebench/loader/guarded_source.hpp"
#include "curebench/loader/strategy.hpp"
#include "curebench/model/safetensors_source.hpp"

namespace curebench::loader {

// What QuantizeOnLoad needs of a quantization config (quant/ provides NF4, FP4, Int8, Int4<G>).
template <class Q>
concept OnLoadQuantizer = requires(const Q& q, at::Tensor w) {
  { q.name() } -> std::convertible_to<std::string>;
  { q.quantize(w) } -> std::same_as<quant::Weight>;
  { q.bits_per_weight() } -> std::convertible_to<double>;
};

template <OnLoadQuantizer Q>
struct QuantizeOnLoad {
  Q config{};

  std::string name() const { return "QuantizeOnLoad<" + std::string(config.name()) + ">"; }

  Verdict check(const CheckpointInfo& c, const LoadRequest& r) const {
    Verdict v;
    if (c.kind != CheckpointKind::hf_safetensors) {
      v.ok = false;
      v.reason = "checkpoint is " + to_string(c.kind) + "; QuantizeOnLoad reads unquantized safetensors";
      return v;
    }
    v.plan = plan_memory_bits(c.spec, config.bits_per_weight(), 2, r.workload);
    // Peak while streaming: the quantized weights plus the largest dense tensor in flight.
    const auto largest = std::max(c.spec.vocab_size * c.spec.hidden_size, c.spec.hidden_size * c.spec.intermediate_size) * 2;
    if (auto b = device_budget(r); b && v.plan.total() + largest > *b) {
      v.ok = false;
      v.reason = "needs " + format_bytes(v.plan.total() + largest) + " at " + config.name() + ", over the budget of " + format_bytes(*b);
    }
    return v;
  }

  model::LoadedModel load(const CheckpointInfo& c, const LoadRequest& r) const {
    const auto dtype = compute_dtype(c, r);
    auto spec = c.spec;
    auto generation = model::read_generation_defaults(c.path, spec);
    io::SafetensorsSet set(c.path);
    model::SafetensorsSource src(set, dtype, r.device);
    GuardedSource guarded(src, device_budget(r), r.faults, name());
    model::LinearTransform transform = [&](const std::string& tensor, at::Tensor dense) {
      const auto dense_bytes = dense.numel() * dense.element_size();
      quant::Weight q;
      if constexpr (requires { config.quantize(tensor, dense, spec.num_layers); })  // mixed precision: per-name rules
        q = config.quantize(tensor, dense, spec.num_layers);
      else
        q = config.quantize(std::move(dense));
      guarded.refund(dense_bytes - quant::weight_bytes(q));  // the dense copy is gone once quantized
      return q;
    };
    auto weights = model::load_weights(spec, guarded, transform);
    return model::LoadedModel{c.path, std::move(generation), model::Decoder(std::move(spec), std::move(weights), dtype, r.device)};
  }
};

}  // namespace curebench::loader
