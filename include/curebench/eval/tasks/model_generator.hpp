#pragma once
// A task Generator (task.hpp) backed by a loaded model: render each conversation (the family's chat template,
// else render_without_template + BOS, as eval's Pipeline does), keep the end of a prompt that does not fit the
// context (the item and the instruction to answer are at the end; the first token, usually BOS, is kept too),
// greedy-decode up to max_new_tokens, decode the new tokens as text.
#include "curebench/core/error.hpp"
#include "curebench/eval/chat_message.hpp"
#include "curebench/eval/tasks/task.hpp"
#include "curebench/model/decoder.hpp"
#include "curebench/runtime/generate.hpp"
#include "curebench/tokenizer/chat_template.hpp"
#include "curebench/tokenizer/load_tokenizer.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace curebench::eval::tasks {

struct GeneratorStats {
  std::size_t prompts = 0, truncated = 0, prompt_tokens = 0, output_tokens = 0;
  double prefill_s = 0, decode_s = 0;
  std::string chat_template = "raw";
  nlohmann::json to_json() const {
    return {{"prompts", prompts}, {"prompts_truncated", truncated}, {"prompt_tokens", prompt_tokens},
            {"output_tokens", output_tokens}, {"chat_template", chat_template},
            {"decode_tokens_per_second", decode_s > 0 ? nlohmann::json(double(output_tokens) / decode_s) : nlohmann::json()}};
  }
};

// How a conversation becomes the model's text: the family's chat template (its text holds BOS, so the tokenizer
// adds no special tokens), else render_without_template + BOS. Shared with label_loglikelihood.hpp.
struct PromptRenderer {
  std::function<std::string(const Conversation&)> render = render_without_template;
  bool add_special = true;
  std::string chat_template = "raw";
};

inline PromptRenderer prompt_renderer(const std::string& model_dir) {
  PromptRenderer r;
  try {
    auto setup = std::make_shared<tokenizer::ChatSetup>(tokenizer::chat_setup_for_model(model_dir));
    r.render = [setup](const Conversation& c) {
      std::vector<tokenizer::ChatMessage> msgs;
      for (const auto& m : c) msgs.push_back({m.role, m.content});
      return tokenizer::render_chat(*setup->style, msgs, setup->options);
    };
    r.add_special = false;  // the template's text holds BOS
    r.chat_template = std::string(setup->style->family);
  } catch (const Error&) {
    // No template known for this checkpoint: plain text, the answer follows "Entities:" / "Label:" directly.
  }
  return r;
}

// `decoder`, `tok` and `stats` must outlive the returned Generator.
inline Generator model_generator(const model::Decoder& decoder, const tokenizer::Tokenizer& tok, const std::string& model_dir,
                                 std::int64_t max_new_tokens, GeneratorStats& stats) {
  const auto pr = prompt_renderer(model_dir);
  const auto& render = pr.render;
  const bool add_special = pr.add_special;
  stats.chat_template = pr.chat_template;
  const std::int64_t budget = decoder.spec().max_position_embeddings - max_new_tokens;
  require(budget >= 16, Errc::invalid_argument, "", "--max-new-tokens",
          std::to_string(max_new_tokens) + " new tokens leave no room for a prompt in a context of " +
              std::to_string(decoder.spec().max_position_embeddings));
  std::vector<std::int64_t> eos(decoder.spec().eos_ids.begin(), decoder.spec().eos_ids.end());
  for (auto id : tok.eos_ids())
    if (std::find(eos.begin(), eos.end(), id) == eos.end()) eos.push_back(id);
  return [&decoder, &tok, &stats, render, add_special, budget, max_new_tokens, eos](const std::vector<Conversation>& convs) {
    std::vector<std::vector<std::int64_t>> prompts;
    for (const auto& c : convs) {
      auto enc = tok.encode(render(c), add_special);
      std::vector<std::int64_t> ids(enc.begin(), enc.end());
      if (static_cast<std::int64_t>(ids.size()) > budget) {
        std::vector<std::int64_t> kept{ids.front()};
        kept.insert(kept.end(), ids.end() - (budget - 1), ids.end());
        ids = std::move(kept);
        ++stats.truncated;
      }
      prompts.push_back(std::move(ids));
    }
    runtime::GenerateOptions opt;
    opt.max_new_tokens = max_new_tokens;
    opt.eos_ids = eos;  // greedy: SamplingConfig's default
    auto gens = runtime::generate(decoder, prompts, opt);
    std::vector<std::string> out;
    for (const auto& g : gens) {
      std::vector<std::int32_t> ids(g.tokens.begin(), g.tokens.end());
      out.push_back(tok.decode(ids, /*skip_special_tokens=*/true));
      stats.prompt_tokens += static_cast<std::size_t>(g.prompt_tokens);
      stats.output_tokens += g.tokens.size();
    }
    if (!gens.empty()) stats.prefill_s += gens[0].prefill_ms / 1e3, stats.decode_s += gens[0].decode_ms / 1e3;
    stats.prompts += convs.size();
    return out;
  };
}

}  // namespace curebench::eval::tasks
