#pragma once
// FullPrecision<Offload>: the 16-bit (or fp32 on CPU) model as stored. With LayerOffload, when the
// weights do not fit the device budget, whole layers stay in host memory and visit the GPU per forward
// (the seed's device_map="auto", but planned: we know which layers move before loading).
#include "curebench/loader/guarded_source.hpp"
#include "curebench/loader/strategy.hpp"
#include "curebench/model/safetensors_source.hpp"

namespace curebench::loader {

struct NoOffload {
  static constexpr bool enabled = false;
};
struct LayerOffload {
  static constexpr bool enabled = true;
};

template <class Offload = NoOffload>
struct FullPrecision {
  std::string name() const { return Offload::enabled ? "FullPrecision+Offload" : "FullPrecision"; }

  // Layers that must stay in host memory for the weights to fit the device budget (0 = none).
  static std::int64_t layers_to_offload(const model::ModelSpec& s, const MemoryPlan& plan, std::int64_t budget) {
    if (plan.total() <= budget) return 0;
    const auto per_layer = (plan.weight_bytes - s.vocab_size * s.hidden_size * 2) / std::max<std::int64_t>(1, s.num_layers);
    const auto over = plan.total() - budget;
    return std::min<std::int64_t>(s.num_layers + 1, (over + per_layer - 1) / std::max<std::int64_t>(1, per_layer));
  }

  Verdict check(const CheckpointInfo& c, const LoadRequest& r) const {
    Verdict v;
    if (c.kind != CheckpointKind::hf_safetensors) {
      v.ok = false;
      v.reason = "checkpoint is " + to_string(c.kind) + "; FullPrecision reads unquantized safetensors";
      return v;
    }
    const auto dtype = compute_dtype(c, r);
    v.plan = plan_memory(c.spec, dtype == at::kFloat ? WeightFormat::f32 : WeightFormat::bf16, r.workload);
    auto budget = device_budget(r);
    if (!budget || v.plan.total() <= *budget) return v;
    auto offload = layers_to_offload(c.spec, v.plan, *budget);
    if (!Offload::enabled || !r.device.is_cuda() || offload > c.spec.num_layers) {
      v.ok = false;
      v.reason = "needs " + format_bytes(v.plan.total()) + " (weights " + format_bytes(v.plan.weight_bytes) +
                 "), over " + budget_words(r, *budget);
      return v;
    }
    v.reason = std::to_string(offload) + " of " + std::to_string(c.spec.num_layers) + " layers kept in host memory";
    return v;
  }

  model::LoadedModel load(const CheckpointInfo& c, const LoadRequest& r) const {
    const auto dtype = compute_dtype(c, r);
    auto spec = c.spec;
    auto generation = model::read_generation_defaults(c.path, spec);
    io::SafetensorsSet set(c.path);
    std::int64_t offload = 0;
    auto budget = device_budget(r);
    if (Offload::enabled && budget && r.device.is_cuda())
      offload = layers_to_offload(spec, plan_memory(spec, WeightFormat::bf16, r.workload), *budget);
    // Offloading loads everything to the host first, then moves the resident part.
    const at::Device load_device = offload > 0 ? at::Device(at::kCPU) : r.device;
    model::SafetensorsSource src(set, dtype, load_device);
    GuardedSource guarded(src, offload > 0 ? r.budget.cpu_bytes : budget, r.faults, name());
    auto weights = model::load_weights(spec, guarded);
    std::vector<bool> offloaded(static_cast<std::size_t>(spec.num_layers), false);
    if (offload > 0) {
      weights.embed = weights.embed.to(r.device);
      weights.final_norm = weights.final_norm.to(r.device);
      weights.lm_head = spec.tie_word_embeddings ? quant::Weight{quant::Dense{weights.embed}} : quant::to_device(weights.lm_head, r.device);
      for (std::int64_t i = 0; i < spec.num_layers; ++i) {
        // The last layers stay on the host: the first ones run without a copy while the rest stream in.
        if (i < spec.num_layers - offload) weights.layers[i] = model::layer_to(weights.layers[i], r.device);
        else offloaded[i] = true;
      }
    }
    model::Decoder decoder(std::move(spec), std::move(weights), dtype, r.device);
    if (offload > 0) decoder.set_offloaded(std::move(offloaded));
    return model::LoadedModel{c.path, std::move(generation), std::move(decoder)};
  }
};

static_assert(LoaderStrategy<FullPrecision<>>);
static_assert(LoaderStrategy<FullPrecision<LayerOffload>>);

}  // namespace curebench::loader
