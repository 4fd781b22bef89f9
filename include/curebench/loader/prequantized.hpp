#pragma once
// Prequantized: the format-aware fast path (what unsloth's *-bnb-4bit repos are for in the seed). A
// checkpoint already stored quantized — a bitsandbytes 4-bit or 8-bit folder, a GPTQ or AWQ folder, or a
// GGUF file — is loaded as stored: bnb linears through quant::read_prequantized_linear, GPTQ/AWQ through
// quant::read_gptq_awq_linear, GGUF blocks as quant::GGUFBlock. No
// re-quantization and no 16-bit copy of the linears; only embeddings and norms are dense.
#include <algorithm>

#include "curebench/core/bytes.hpp"
#include "curebench/loader/guarded_source.hpp"
#include "curebench/loader/strategy.hpp"
#include "curebench/model/load_gguf.hpp"
#include "curebench/model/safetensors_source.hpp"
#include "curebench/quant/bnb_checkpoint.hpp"
#include "curebench/quant/gptq_awq_checkpoint.hpp"

namespace curebench::loader {

// What a GGUF file holds beyond its own bytes once loaded: block tensors decoded into the compute dtype (on a GPU
// every type but Q4_0 / Q4_K, model/gguf_source.hpp; a quantized token embedding on any device).
inline std::int64_t gguf_decoded_extra_bytes(const CheckpointInfo& c, const LoadRequest& r) {
  io::GGUFFile f(c.path.string());
  const auto bytes_per = static_cast<std::int64_t>(at::elementSize(compute_dtype(c, r)));
  std::int64_t extra = 0;
  for (const auto& t : f.tensors()) {
    if (t.ne.size() != 2 || t.type == io::GGMLType::F32 || t.type == io::GGMLType::F16 || t.type == io::GGMLType::BF16) continue;
    const bool embedding = t.name == "token_embd.weight";
    if (!embedding && quant::gguf_runs_as_int4(t.type, static_cast<std::int64_t>(t.ne[0]), r.device)) continue;
    if (!embedding && !r.device.is_cuda()) continue;
    extra += std::max<std::int64_t>(0, static_cast<std::int64_t>(t.numel()) * bytes_per - static_cast<std::int64_t>(t.nbytes));
  }
  return extra;
}

struct Prequantized {
  std::string name() const { return "Prequantized"; }

  Verdict check(const CheckpointInfo& c, const LoadRequest& r) const {
    Verdict v;
    if (c.kind == CheckpointKind::hf_safetensors) {
      v.ok = false;
      v.reason = "checkpoint is hf-safetensors: nothing is stored quantized";
      return v;
    }
    // What is on disk is what gets loaded, plus what a GGUF file decodes at load (gguf_decoded_extra_bytes).
    v.plan = plan_memory(c.spec, WeightFormat::bf16, r.workload);
    v.plan.weight_bytes = c.bytes_on_disk;
    if (c.kind == CheckpointKind::gguf) v.plan.weight_bytes += gguf_decoded_extra_bytes(c, r);
    // GPTQ/AWQ run as dequantize + dense matmul: during a call the widest linear exists as about five 4-byte
    // temporaries per weight (codes, gathered zeros and scales, the float32 product, its transpose).
    if (c.gptq_awq) v.plan.activation_bytes += 20 * c.spec.hidden_size * std::max(c.spec.intermediate_size, c.spec.q_dim());
    if (auto b = device_budget(r); b && v.plan.total() > *b) {
      v.ok = false;
      v.reason = "needs " + format_bytes(v.plan.total()) + " as stored (" + to_string(c.kind) + "), over " + budget_words(r, *b);
    }
    return v;
  }

  model::LoadedModel load(const CheckpointInfo& c, const LoadRequest& r) const {
    const auto dtype = compute_dtype(c, r);
    auto spec = c.spec;
    if (c.kind == CheckpointKind::gguf) {
      io::GGUFFile f(c.path.string());
      model::GGUFSource src(f, spec, dtype, r.device);
      GuardedSource guarded(src, device_budget(r), r.faults, name());
      auto weights = model::load_weights(spec, guarded);
      auto generation = model::gguf_generation_config(spec);
      return model::LoadedModel{c.path, std::move(generation), model::Decoder(std::move(spec), std::move(weights), dtype, r.device)};
    }
    auto generation = model::read_generation_defaults(c.path, spec);
    io::SafetensorsSet set(c.path);
    model::SafetensorsSource::PrequantizedReader reader = quant::read_prequantized_linear;
    if (c.gptq_awq) reader = quant::gptq_awq_reader(*c.gptq_awq);
    model::SafetensorsSource src(set, dtype, r.device, reader);
    GuardedSource guarded(src, device_budget(r), r.faults, name());
    auto weights = model::load_weights(spec, guarded);
    return model::LoadedModel{c.path, std::move(generation), model::Decoder(std::move(spec), std::move(weights), dtype, r.device)};
  }
};

static_assert(LoaderStrategy<Prequantized>);

}  // namespace curebench::loader
