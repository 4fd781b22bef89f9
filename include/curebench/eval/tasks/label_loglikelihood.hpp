#pragma once
// Relation extraction by loglikelihood over the label set (issue 21 point 1's other way than generation): for each
// prompt, every label's continuation " <label>" is scored by runtime::score, the requests built as `curebench eval
// --mode loglikelihood` builds them (eval/continuation_requests.hpp; the prompt rendered as model_generator renders
// it), and the label of the highest summed log-probability is the answer (ties: the earlier label of the set). It
// is a Generator (task.hpp) whose output is that label, so run_task, the relation parser (which reads the label
// back exactly: parse_failures stays 0), the prediction files and the scores are those of generation.
// No length normalization: every label is scored as its sum (lm-eval's `acc`), so a label of more tokens pays for
// each; the per-label sums of every prompt are kept in LabelChoiceStats for the record.
#include "curebench/core/error.hpp"
#include "curebench/core/timer.hpp"
#include "curebench/eval/chat_message.hpp"
#include "curebench/eval/continuation_requests.hpp"
#include "curebench/eval/tasks/model_generator.hpp"
#include "curebench/eval/tasks/task.hpp"
#include "curebench/model/decoder.hpp"
#include "curebench/runtime/score.hpp"
#include "curebench/tokenizer/load_tokenizer.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace curebench::eval::tasks {

struct LabelChoiceStats {
  std::size_t prompts = 0, truncated = 0, scored_tokens = 0;
  double seconds = 0;
  std::string chat_template = "raw";
  std::vector<std::vector<double>> loglikelihoods;  // per prompt, per label (the set's order)
  nlohmann::json to_json() const {
    return {{"mode", "loglikelihood"}, {"prompts", prompts}, {"prompts_truncated", truncated},
            {"scored_tokens", scored_tokens}, {"chat_template", chat_template},
            {"scored_tokens_per_second", seconds > 0 ? nlohmann::json(double(scored_tokens) / seconds) : nlohmann::json()}};
  }
};

// `decoder`, `tok` and `stats` must outlive the returned Generator.
inline Generator label_loglikelihood_chooser(const model::Decoder& decoder, const tokenizer::Tokenizer& tok,
                                             const std::string& model_dir, std::vector<std::string> labels,
                                             LabelChoiceStats& stats, std::int64_t batch_size = 16) {
  require(!labels.empty(), Errc::invalid_argument, "", "labels", "loglikelihood over an empty label set");
  const auto pr = prompt_renderer(model_dir);
  stats.chat_template = pr.chat_template;
  std::vector<std::string> continuations;
  for (const auto& l : labels) continuations.push_back(" " + l);
  const std::int64_t max_context = decoder.spec().max_position_embeddings;
  return [&decoder, &tok, &stats, pr, labels, continuations, max_context, batch_size](const std::vector<Conversation>& convs) {
    Timer timer;
    std::vector<runtime::ScoreRequest> reqs;
    for (const auto& c : convs) {
      auto built = continuation_requests(tok, pr.render(c), continuations, pr.add_special, max_context);
      stats.truncated += built.truncated;
      for (auto& r : built.requests) {
        stats.scored_tokens += r.context.size() + r.continuation.size();
        reqs.push_back(std::move(r));
      }
    }
    const auto scores = runtime::score(decoder, reqs, batch_size);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < convs.size(); ++i) {
      std::vector<double> sums;
      std::size_t best = 0;
      for (std::size_t k = 0; k < labels.size(); ++k) {
        sums.push_back(scores[i * labels.size() + k].sum_logprob);
        if (sums[k] > sums[best]) best = k;
      }
      stats.loglikelihoods.push_back(std::move(sums));
      out.push_back(labels[best]);
    }
    stats.prompts += convs.size();
    stats.seconds += timer.millis() / 1e3;
    return out;
  };
}

}  // namespace curebench::eval::tasks
