#pragma once
// Fidelity of a quantized model against its own full-precision self on a token set: for every position
// that has a next token, the KL divergence KL(p_ref || p_quant) of the next-token distributions (mean and
// max), top-1 agreement of the two argmaxes, and the perplexity of both on the actual next tokens (delta =
// quant - ref). Teacher-forced: both models read the same tokens, so one early disagreement does not
// snowball as it does in greedy generation.
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "curebench/core/error.hpp"
#include "curebench/model/decoder.hpp"

namespace curebench::quant {

struct Fidelity {
  std::string quant;
  std::int64_t sequences = 0, positions = 0;
  double kl_mean = 0, kl_max = 0, top1_agreement = 0;
  double ppl_ref = 0, ppl_quant = 0, ppl_delta = 0;
  std::int64_t weight_bytes_ref = 0, weight_bytes_quant = 0;
  std::vector<std::string> kept_dense;  // linears left unquantized (mixed precision rules or no fit)
};

inline void to_json(nlohmann::json& j, const Fidelity& f) {
  j = nlohmann::json{{"quant", f.quant}, {"sequences", f.sequences}, {"positions", f.positions}, {"kl_mean", f.kl_mean},
                     {"kl_max", f.kl_max}, {"top1_agreement", f.top1_agreement}, {"ppl_ref", f.ppl_ref},
                     {"ppl_quant", f.ppl_quant}, {"ppl_delta", f.ppl_delta}, {"weight_bytes_ref", f.weight_bytes_ref},
                     {"weight_bytes_quant", f.weight_bytes_quant}, {"kept_dense", f.kept_dense}};
}

// Log-probabilities [T, V] of every position of one sequence (one forward over the whole sequence).
inline at::Tensor sequence_log_probs(const model::Decoder& d, const std::vector<std::int64_t>& ids) {
  const auto T = static_cast<std::int64_t>(ids.size());
  auto cache = d.make_cache(1, T);
  auto x = at::tensor(ids, at::kLong).view({1, T});
  auto real = at::ones({1, T}, at::kBool);
  auto logits = d.forward(x, real, cache, 0);  // [1, T, V] fp32
  return at::log_softmax(logits.squeeze(0).to(at::kCPU).to(at::kDouble), -1);
}

inline Fidelity compare_models(const model::Decoder& ref, const model::Decoder& q, const std::vector<std::vector<std::int64_t>>& seqs) {
  Fidelity f;
  double kl_sum = 0, nll_ref = 0, nll_q = 0;
  std::int64_t agree = 0;
  for (const auto& s : seqs) {
    if (s.size() < 2) continue;
    const auto T = static_cast<std::int64_t>(s.size()) - 1;  // positions with a next token
    auto lr = sequence_log_probs(ref, s).narrow(0, 0, T), lq = sequence_log_probs(q, s).narrow(0, 0, T);
    auto kl = (lr.exp() * (lr - lq)).sum(-1);  // [T]
    kl_sum += kl.sum().item<double>();
    f.kl_max = std::max(f.kl_max, kl.max().item<double>());
    agree += lr.argmax(-1).eq(lq.argmax(-1)).sum().item<std::int64_t>();
    auto next = at::tensor(std::vector<std::int64_t>(s.begin() + 1, s.end()), at::kLong).unsqueeze(1);
    nll_ref -= lr.gather(1, next).sum().item<double>();
    nll_q -= lq.gather(1, next).sum().item<double>();
    f.positions += T;
    ++f.sequences;
  }
  require(f.positions > 0, Errc::invalid_argument, "", "tokens", "the token set has no sequence of 2 or more tokens");
  const auto n = static_cast<double>(f.positions);
  f.kl_mean = kl_sum / n;
  f.top1_agreement = static_cast<double>(agree) / n;
  f.ppl_ref = std::exp(nll_ref / n);
  f.ppl_quant = std::exp(nll_q / n);
  f.ppl_delta = f.ppl_quant - f.ppl_ref;
  f.weight_bytes_ref = ref.weights().bytes();
  f.weight_bytes_quant = q.weights().bytes();
  return f;
}

// Token sets: {"cases": [{"prompt_ids": [...], "output_ids": [...]}]} (greedy_references.json: prompt +
// continuation) or a plain list of id lists.
inline std::vector<std::vector<std::int64_t>> token_set_from_json(const nlohmann::json& j, const std::string& path) {
  std::vector<std::vector<std::int64_t>> out;
  try {
    if (j.is_object() && j.contains("cases")) {
      for (const auto& c : j.at("cases")) {
        auto ids = c.at("prompt_ids").get<std::vector<std::int64_t>>();
        if (c.contains("output_ids")) {
          auto o = c.at("output_ids").get<std::vector<std::int64_t>>();
          ids.insert(ids.end(), o.begin(), o.end());
        }
        out.push_back(std::move(ids));
      }
    } else if (j.is_array()) {
      for (const auto& s : j) out.push_back(s.get<std::vector<std::int64_t>>());
    } else {
      throw Error(Errc::format, path, "", "expected {\"cases\": [{\"prompt_ids\", \"output_ids\"}]} or a list of token id lists");
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(Errc::format, path, "", std::string("token set: ") + e.what());
  }
  return out;
}

}  // namespace curebench::quant
