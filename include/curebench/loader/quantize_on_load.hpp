#pragma once
// QuantizeOnLoad<Q>: stream a 16-bit checkpoint tensor by tensor, quantizing each linear layer as it
// arrives, so peak memory stays near the quantized size (plus one dense tensor) instead of the full
// bf16 model — the seed's "BitsAndBytes 4-bit on load", planned against the budget first.
#include <string>
#include <variant>

#include "curebench/loader/guarded_source.hpp"
#include "curebench/loader/strategy.hpp"
#include "curebench/model/safetensors_source.hpp"
#include "curebench/quant/config.hpp"
#include "curebench/quant/chunking.hpp"

namespace curebench::loader {

// Q: any quant::QuantConfig (quant/config.hpp: NF4, FP4, Int8, FP8, Int4<G>; quant/mixed_precision.hpp wraps one
// with keep rules).
template <quant::QuantConfig Q>
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
    // A grouped format needs every linear's input dimension (hidden, heads x head_dim, intermediate) to be a
    // multiple of its group: say no here rather than fail in load() with a shape error after reading the weights.
    if constexpr (requires { Q::group_size; }) {
      const auto& s = c.spec;
      for (auto [what, n] : {std::pair<const char*, std::int64_t>{"hidden_size", s.hidden_size},
                             {"num_heads x head_dim", s.q_dim()}, {"intermediate_size", s.intermediate_size}})
        if (n % Q::group_size != 0) {
          v.ok = false;
          v.reason = std::string(what) + " " + std::to_string(n) + " is not a multiple of " + config.name() +
                     "'s group of " + std::to_string(Q::group_size);
          return v;
        }
    }
    v.plan = plan_memory_bits(c.spec, config.bits_per_weight(), 2, r.workload, classifier_quantized(r));
    if (auto b = device_budget(r); b && peak_bytes(c, r) > *b) {
      v.ok = false;
      v.reason = "needs " + format_bytes(peak_bytes(c, r)) + " at " + config.name() + ", over " + budget_words(r, *b);
    }
    return v;
  }

  // Predicted peak on the load device: the planned model plus, while the largest linear is converted, its
  // dense source in the compute dtype and the quantizer's transient for it (one slab: quant/chunking.hpp).
  std::int64_t peak_bytes(const CheckpointInfo& c, const LoadRequest& r) const {
    const auto& s = c.spec;
    const auto largest = std::max(s.vocab_size * s.hidden_size, s.hidden_size * s.intermediate_size);
    return plan_memory_bits(s, config.bits_per_weight(), 2, r.workload, classifier_quantized(r)).total() +
           largest * static_cast<std::int64_t>(c10::elementSize(compute_dtype(c, r))) +
           quant::quantize_transient_bytes(largest, r.device.is_cuda());
  }

  // Mixed precision keeps the classifier by its rules (keep_lm_head, default on); a plain config asks the request.
  bool classifier_quantized(const LoadRequest& r) const {
    if constexpr (requires { config.rules.keep_lm_head; }) return !config.rules.keep_lm_head;
    else return r.quantize_lm_head;
  }

  model::LoadedModel load(const CheckpointInfo& c, const LoadRequest& r) const {
    const auto dtype = compute_dtype(c, r);
    auto spec = c.spec;
    auto generation = model::read_generation_defaults(c.path, spec);
    io::SafetensorsSet set(c.path);
    model::SafetensorsSource src(set, dtype, r.device);
    GuardedSource guarded(src, device_budget(r), r.faults, name());
    // `dense` is the only reference to the source (load_weights moves it in): it is freed when this returns,
    // so no more than one dense linear is alive at a time (tests/loader/test_quantize_on_load.cpp).
    const auto classifier = model::tensor_name(model::Role::lm_head, src.name_style(), false);
    model::LinearTransform transform = [&](const std::string& tensor, at::Tensor dense) -> quant::Weight {
      const auto dense_bytes = dense.numel() * dense.element_size();
      const bool is_classifier = tensor == classifier;
      quant::Weight q;
      if constexpr (requires { config.quantize(tensor, dense, spec.num_layers); }) {  // mixed precision: per-name rules
        q = config.quantize(tensor, dense, spec.num_layers);
      } else {
        // The classifier (lm_head, or a copy of a tied embedding) is quantized only when the request asks
        // (LoadRequest::quantize_lm_head): bitsandbytes keeps it in 16 bits (llm_int8_skip_modules, the seed
        // pipeline's setting), and its error reaches every logit (docs/quantization-fidelity.md, "The classifier").
        if (is_classifier && !r.quantize_lm_head) return quant::Dense{std::move(dense)};
        q = config.quantize(dense);
      }
      if (is_classifier && spec.tie_word_embeddings) {  // a quantized copy beside the embedding, which stays
        if (!std::holds_alternative<quant::Dense>(q)) guarded.charge_derived(tensor, quant::weight_bytes(q));
        return q;
      }
      guarded.refund(dense_bytes - quant::weight_bytes(q));  // the dense copy is gone once quantized
      return q;
    };
    auto weights = model::load_weights(spec, guarded, transform);
    return model::LoadedModel{c.path, std::move(generation), model::Decoder(std::move(spec), std::move(weights), dtype, r.device)};
  }
};

}  // namespace curebench::loader
