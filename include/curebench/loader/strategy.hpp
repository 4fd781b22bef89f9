#pragma once
// The LoaderStrategy concept: a strategy says, before touching any weight, whether it can load this
// checkpoint under this budget (and why not), then loads it or fails with a typed error.
#include <concepts>
#include <optional>
#include <string>

#include "curebench/core/bytes.hpp"
#include "curebench/core/memory.hpp"
#include "curebench/loader/budget.hpp"
#include "curebench/loader/checkpoint.hpp"
#include "curebench/model/load.hpp"

namespace curebench::loader {

struct Budget {
  std::optional<std::int64_t> gpu_bytes, cpu_bytes;  // unset = no limit beyond the hardware
};

// Faults a test (or a user rehearsing a deployment) can inject; each fails exactly as the real fault would.
struct FaultInjection {
  std::string oom_at_tensor;  // loading this tensor raises out_of_memory, as an allocator failure would
  std::string only_strategy;  // restrict the fault to one strategy (by name); empty = every strategy
};

struct LoadRequest {
  at::Device device = at::kCPU;
  std::optional<at::ScalarType> dtype;  // compute dtype; default: bf16 on CUDA, the checkpoint's on CPU
  Budget budget;
  Workload workload;
  FaultInjection faults;
  // Quantize the classifier too (QuantizeOnLoad); off: it stays 16-bit, as bitsandbytes keeps it.
  bool quantize_lm_head = false;
};

struct Verdict {
  bool ok = true;
  std::string reason;  // why not (or a note when ok, e.g. "12 of 32 layers offloaded")
  MemoryPlan plan;     // predicted need on the load device
};

template <class S>
concept LoaderStrategy = requires(const S& s, const CheckpointInfo& c, const LoadRequest& r) {
  { s.name() } -> std::convertible_to<std::string>;
  { s.check(c, r) } -> std::same_as<Verdict>;
  { s.load(c, r) } -> std::same_as<model::LoadedModel>;
};

inline at::ScalarType compute_dtype(const CheckpointInfo& c, const LoadRequest& r) {
  if (r.dtype) return *r.dtype;
  if (r.device.is_cuda()) return at::kBFloat16;
  return model::parse_dtype_name(c.spec.dtype == "bfloat16" || c.spec.dtype == "float16" ? "f32" : c.spec.dtype);
}

// The budget that applies on the load device. An unset host budget is the machine's physical memory: a plan
// beyond it (a config claiming a 540 GB model on a 24 GiB machine) is skipped with its reason instead of tried
// until the allocator fails; --cpu-budget above it still overrides. An unset GPU budget stays unset: the CUDA
// allocator's OOM is typed and recorded per attempt.
inline std::optional<std::int64_t> device_budget(const LoadRequest& r) {
  if (r.device.is_cuda()) return r.budget.gpu_bytes;
  if (r.budget.cpu_bytes) return r.budget.cpu_bytes;
  if (auto ram = physical_memory_bytes(); ram > 0) return ram;
  return std::nullopt;
}

// "the budget of 16.0 GiB", or for the default host budget "the 23.4 GiB of RAM installed (no --cpu-budget)".
inline std::string budget_words(const LoadRequest& r, std::int64_t bytes) {
  if (!r.device.is_cuda() && !r.budget.cpu_bytes)
    return "the " + format_bytes(bytes) + " of RAM installed (no --cpu-budget given)";
  return "the budget of " + format_bytes(bytes);
}

}  // namespace curebench::loader
