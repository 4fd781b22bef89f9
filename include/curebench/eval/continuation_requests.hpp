#pragma once
// Loglikelihood requests for one context and its candidate continuations, built the one way curebench builds them:
// `curebench eval --mode loglikelihood` (eval/pipeline.hpp, an option letter per continuation) and the study's
// relation extraction by loglikelihood (eval/tasks/label_loglikelihood.hpp, a label per continuation).
// Per continuation, context and continuation are tokenized together (as the model reads them); the tokens they
// share with the context tokenized alone are the request's context (at least one token is left to the
// continuation), the rest its continuation. The model reads context + continuation minus its last token
// (runtime::score), so max_context + 1 tokens fit: a longer context keeps its first token (usually BOS) and its end.
// lm_eval_split (`--protocol lm-eval`): lm-evaluation-harness's HF _encode_pair instead - whitespace at the end of
// the context moves to the continuation, the context is its own tokens and the continuation the whole's tokens after
// as many (if that leaves none, the shared-prefix split above) - and its window: a long context keeps only its end,
// (context + continuation)[-(max_length + 1):].
#include "curebench/eval/extract/python_strip.hpp"
#include "curebench/runtime/score.hpp"
#include "curebench/tokenizer/load_tokenizer.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace curebench::eval {

struct ContinuationRequests {
  std::vector<runtime::ScoreRequest> requests;  // one per continuation, in order
  std::size_t context_tokens = 0;               // the context tokenized alone
  bool truncated = false;                       // the first continuation's context was cut to fit
};

inline ContinuationRequests continuation_requests(const tokenizer::Tokenizer& tok, const std::string& context,
                                                  const std::vector<std::string>& continuations, bool add_special,
                                                  std::int64_t max_context, bool lm_eval_split = false) {
  auto encode = [&](const std::string& text) {
    auto ids = tok.encode(text, add_special);
    return std::vector<std::int64_t>(ids.begin(), ids.end());
  };
  ContinuationRequests out;
  // lm-eval: n_spaces = len(context) - len(context.rstrip()) move to the continuation.
  std::size_t ctx_end = context.size();
  if (lm_eval_split) {
    const auto s = extract::py::stripped(context);
    ctx_end = s.empty() ? 0 : static_cast<std::size_t>(s.data() + s.size() - context.data());
  }
  const std::string ctx_text = context.substr(0, ctx_end), moved = context.substr(ctx_end);
  const auto ctx_ids = encode(ctx_text);
  out.context_tokens = ctx_ids.size();
  for (std::size_t c = 0; c < continuations.size(); ++c) {
    auto all = encode(ctx_text + moved + continuations[c]);
    std::vector<std::int64_t> ctx, cont;
    if (lm_eval_split && !ctx_ids.empty() && all.size() > ctx_ids.size()) {
      ctx = ctx_ids;
      cont.assign(all.begin() + static_cast<std::ptrdiff_t>(ctx_ids.size()), all.end());
    } else {
      std::size_t common = 0;
      while (common < ctx_ids.size() && common < all.size() && ctx_ids[common] == all[common]) ++common;
      common = std::min(common, all.size() - 1);
      ctx.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(common));
      cont.assign(all.begin() + static_cast<std::ptrdiff_t>(common), all.end());
    }
    const auto room = max_context + 1 - static_cast<std::int64_t>(cont.size());
    if (room >= 2 && static_cast<std::int64_t>(ctx.size()) > room) {
      std::vector<std::int64_t> kept;
      if (!lm_eval_split) kept.push_back(ctx.front());
      kept.insert(kept.end(), ctx.end() - (room - static_cast<std::int64_t>(kept.size())), ctx.end());
      ctx = std::move(kept);
      out.truncated = out.truncated || c == 0;
    }
    out.requests.push_back({std::move(ctx), std::move(cont)});
  }
  return out;
}

}  // namespace curebench::eval
