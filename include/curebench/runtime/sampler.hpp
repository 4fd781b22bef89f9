#pragma once
// Next-token choice from logits: greedy, or seeded sampling with temperature, top-k, top-p and
// repetition penalty (the transformers logits-processor order: penalty, temperature, top-k, top-p).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>

#include <cstdint>
#include <vector>

#include "curebench/core/error.hpp"

namespace curebench::runtime {

struct SamplingConfig {
  bool greedy = true;
  double temperature = 1.0;
  std::int64_t top_k = 0;  // 0 = off
  double top_p = 1.0;      // 1 = off
  double repetition_penalty = 1.0;
  std::uint64_t seed = 0;

  void validate() const {
    if (!(temperature > 0.0)) throw Error(Errc::invalid_argument, "", "temperature", "must be > 0");
    if (top_k < 0) throw Error(Errc::invalid_argument, "", "top_k", "must be >= 0");
    if (!(top_p > 0.0 && top_p <= 1.0)) throw Error(Errc::invalid_argument, "", "top_p", "must be in (0, 1]");
    if (!(repetition_penalty > 0.0)) throw Error(Errc::invalid_argument, "", "repetition_penalty", "must be > 0");
  }
};

class Sampler {
 public:
  explicit Sampler(SamplingConfig cfg) : cfg_(cfg) {
    cfg_.validate();
    gen_ = at::detail::createCPUGenerator(cfg_.seed);
  }

  // logits: [V] fp32 for one sequence; history: the ids it has seen (prompt + generated).
  std::int64_t next(at::Tensor logits, const std::vector<std::int64_t>& history) {
    logits = logits.to(at::kCPU, at::kFloat).clone();
    if (cfg_.repetition_penalty != 1.0 && !history.empty()) {
      std::vector<std::int64_t> seen;
      for (auto id : history)
        if (id >= 0 && id < logits.size(0)) seen.push_back(id);
      std::sort(seen.begin(), seen.end());
      seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
      auto idx = at::tensor(seen, at::kLong);
      auto picked = logits.index_select(0, idx);
      picked = at::where(picked < 0, picked * cfg_.repetition_penalty, picked / cfg_.repetition_penalty);
      logits.index_copy_(0, idx, picked);
    }
    if (cfg_.greedy) return logits.argmax().item<std::int64_t>();
    logits = logits / cfg_.temperature;
    const auto neg_inf = -std::numeric_limits<float>::infinity();
    if (cfg_.top_k > 0 && cfg_.top_k < logits.size(0)) {
      auto kth = std::get<0>(logits.topk(cfg_.top_k)).min();
      logits.masked_fill_(logits < kth, neg_inf);
    }
    if (cfg_.top_p < 1.0) {
      auto [sorted, order] = logits.sort(/*dim=*/0, /*descending=*/true);
      auto cum = sorted.softmax(0).cumsum(0);
      // Drop a token when the mass before it already reaches top_p (the first token always stays).
      auto drop = (cum - sorted.softmax(0)) >= cfg_.top_p;
      logits.index_put_({order.masked_select(drop)}, neg_inf);
    }
    auto probs = logits.softmax(0);
    return at::multinomial(probs, 1, false, gen_).item<std::int64_t>();
  }

  const SamplingConfig& config() const { return cfg_; }

 private:
  SamplingConfig cfg_;
  at::Generator gen_;
};

}  // namespace curebench::runtime
