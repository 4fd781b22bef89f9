#pragma once
// A TensorSource wrapper that enforces the memory budget while loading (a load that would exceed it
// fails with out_of_memory at the tensor that crosses the line, before allocating it) and injects faults.
#include <string>

#include "curebench/core/bytes.hpp"
#include "curebench/loader/strategy.hpp"
#include "curebench/model/weights.hpp"

namespace curebench::loader {

template <model::TensorSource S>
class GuardedSource {
 public:
  GuardedSource(const S& inner, std::optional<std::int64_t> budget, FaultInjection faults, const std::string& strategy)
      : inner_(inner), budget_(budget), faults_(std::move(faults)) {
    if (!faults_.only_strategy.empty() && faults_.only_strategy != strategy) faults_ = {};
  }

  std::optional<at::Tensor> dense(const std::string& name) const {
    guard(name);
    auto t = inner_.dense(name);
    if (t) charge(name, t->numel() * t->element_size());
    return t;
  }
  std::optional<quant::Weight> linear(const std::string& name) const {
    guard(name);
    auto w = inner_.linear(name);
    if (w) charge(name, quant::weight_bytes(*w));
    return w;
  }
  std::string origin() const { return inner_.origin(); }
  model::NameStyle name_style() const { return inner_.name_style(); }

  // Linear layers that get quantized after loading give back part of what dense() charged.
  void refund(std::int64_t bytes) const { used_ -= bytes; }
  // A tensor made from one already loaded (the quantized classifier copied from a tied embedding).
  void charge_derived(const std::string& name, std::int64_t bytes) const { charge(name, bytes); }
  std::int64_t used() const { return used_; }

 private:
  void guard(const std::string& name) const {
    if (!faults_.oom_at_tensor.empty() && name == faults_.oom_at_tensor)
      throw Error(Errc::out_of_memory, inner_.origin(), name, "injected allocation failure (fault injection)");
  }
  void charge(const std::string& name, std::int64_t bytes) const {
    used_ += bytes;
    if (budget_ && used_ > *budget_)
      throw Error(Errc::out_of_memory, inner_.origin(), name,
                  "loading it brings weights to " + format_bytes(used_) + ", over the budget of " + format_bytes(*budget_));
  }

  const S& inner_;
  std::optional<std::int64_t> budget_;
  FaultInjection faults_;
  mutable std::int64_t used_ = 0;
};

}  // namespace curebench::loader
