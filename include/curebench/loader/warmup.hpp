#pragma once
// Warm-up / fidelity check right after a load: the model must be usable before we hand it over.
// Vocabulary vs embedding rows, special ids in range, and a short greedy run with finite logits.
#include <string>

#include "curebench/core/error.hpp"
#include "curebench/model/load.hpp"

namespace curebench::loader {

inline void warmup_check(const model::LoadedModel& m, std::int64_t steps = 4) {
  const auto& d = m.decoder;
  const auto& s = d.spec();
  const auto where = m.dir.string();
  if (d.weights().embed.size(0) != s.vocab_size)
    throw Error(Errc::shape, where, "embed_tokens", "embedding has " + std::to_string(d.weights().embed.size(0)) +
                                                         " rows for a vocabulary of " + std::to_string(s.vocab_size));
  auto in_vocab = [&](std::int64_t id, const char* field) {
    if (id < 0 || id >= s.vocab_size)
      throw Error(Errc::config, where, field, "id " + std::to_string(id) + " outside the vocabulary of " + std::to_string(s.vocab_size));
  };
  for (auto id : s.eos_ids) in_vocab(id, "eos_token_id");
  if (s.bos_id) in_vocab(*s.bos_id, "bos_token_id");
  const std::int64_t start = s.bos_id.value_or(0);
  auto cache = d.make_cache(1, steps + 1);
  auto ids = at::full({1, 1}, start, at::kLong);
  auto real = at::ones({1, 1}, at::kBool);
  for (std::int64_t i = 0; i < steps; ++i) {
    auto logits = d.forward(ids.to(d.device()), real.to(d.device()), cache);
    if (!at::isfinite(logits).all().item<bool>())
      throw Error(Errc::numeric, where, "warmup", "non-finite logits at step " + std::to_string(i) + " (NaN/Inf in the weights?)");
    ids = logits.argmax(-1).to(at::kCPU).view({1, 1});
  }
}

}  // namespace curebench::loader
