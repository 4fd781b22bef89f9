#pragma once
// Loglikelihood scoring for multiple choice (lm-evaluation-harness style): the log-probability of each
// continuation given its context, summed over the continuation's tokens, with no tokens generated.
// Batch invariant on the CPU (issue 18; lm-eval's most reported bug is a score that moves with the batch size):
// rows are padded on the right, so a request's tokens sit at the same columns (0..n-1) in any batch and every
// attention row it computes holds the same non-masked entries at the same places; a request's loglikelihood is then
// bit-identical whatever its batch-mates (tests/runtime/test_generate.cpp). Left padding, which generation needs,
// shifted them and moved the last bits.
#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "curebench/core/error.hpp"
#include "curebench/model/decoder.hpp"

namespace curebench::runtime {

struct ScoreRequest {
  std::vector<std::int64_t> context, continuation;
};

struct ScoreResult {
  double sum_logprob = 0;       // acc uses argmax of this
  std::int64_t num_tokens = 0;  // acc_norm divides by the continuation's length (tokens or characters)
  bool greedy = false;          // every continuation token was the argmax
};

inline std::vector<ScoreResult> score(const model::Decoder& model, const std::vector<ScoreRequest>& requests,
                                      std::int64_t batch_size = 8, std::int64_t chunk = 512) {
  std::vector<ScoreResult> out(requests.size());
  const std::int64_t pad = model.spec().pad_id.value_or(0);
  for (std::size_t first = 0; first < requests.size(); first += static_cast<std::size_t>(batch_size)) {
    const auto last = std::min(requests.size(), first + static_cast<std::size_t>(batch_size));
    const auto B = static_cast<std::int64_t>(last - first);
    std::int64_t longest = 0, shortest_context = std::numeric_limits<std::int64_t>::max();
    for (auto i = first; i < last; ++i) {
      const auto& r = requests[i];
      if (r.context.empty() || r.continuation.empty())
        throw Error(Errc::invalid_argument, "", "score request " + std::to_string(i), "context and continuation must be non-empty");
      // The last continuation token is never fed: nothing is predicted from it (lm-eval's inp[:-1]), so a request
      // of max_position_embeddings + 1 tokens fits the model, as lm-eval's window does.
      longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(r.context.size() + r.continuation.size()) - 1);
    }
    // Every batch is as wide as a multiple of 64 columns: the attention rows of a request then have the same length
    // (and the same vector/tail split in softmax and the matmuls' reductions) alone and beside longer batch-mates.
    longest = (longest + 63) / 64 * 64;
    auto ids = at::full({B, longest}, pad, at::kLong);
    auto real = at::zeros({B, longest}, at::kBool);
    for (std::int64_t b = 0; b < B; ++b) {
      const auto& r = requests[first + b];
      std::vector<std::int64_t> all(r.context);
      all.insert(all.end(), r.continuation.begin(), r.continuation.end() - 1);
      const auto n = static_cast<std::int64_t>(all.size());
      ids[b].narrow(0, 0, n).copy_(at::tensor(all, at::kLong));
      real[b].narrow(0, 0, n).fill_(true);
      // Column where this row's first continuation token is predicted from.
      shortest_context = std::min<std::int64_t>(shortest_context, static_cast<std::int64_t>(r.context.size()) - 1);
    }
    auto cache = model.make_cache(B, longest);
    // Forward in column chunks (bounded attention memory); keep logits from column shortest_context on.
    std::vector<at::Tensor> parts;
    for (std::int64_t c = 0; c < longest; c += chunk) {
      const auto n = std::min(chunk, longest - c);
      const auto first = std::max<std::int64_t>(0, shortest_context - c);
      auto l = model.forward(ids.narrow(1, c, n).to(model.device()), real.narrow(1, c, n).to(model.device()), cache,
                             first < n ? first : -1);
      if (c + n > shortest_context) parts.push_back(l);
    }
    auto logprobs = at::log_softmax(at::cat(parts, 1), -1).to(at::kCPU);  // [B, longest - shortest_context, V]
    for (std::int64_t b = 0; b < B; ++b) {
      const auto& r = requests[first + b];
      const auto m = static_cast<std::int64_t>(r.continuation.size());
      auto& res = out[first + b];
      res.num_tokens = m;
      res.greedy = true;
      for (std::int64_t j = 0; j < m; ++j) {
        const auto col = static_cast<std::int64_t>(r.context.size()) - 1 + j - shortest_context;  // predicts continuation[j]
        auto row = logprobs[b][col];
        res.sum_logprob += row[r.continuation[j]].item<double>();
        res.greedy = res.greedy && row.argmax().item<std::int64_t>() == r.continuation[j];
      }
      // NaN/Inf logits (NaN weights of a model loaded without the chain's warm-up) would score as a number.
      if (!std::isfinite(res.sum_logprob))
        throw Error(Errc::numeric, "", "logits", "non-finite loglikelihood for request " + std::to_string(first + b) +
                                                     " (NaN/Inf in the weights?)");
    }
  }
  return out;
}

}  // namespace curebench::runtime
