#pragma once
// Prompts as chat messages, one policy type per protocol. The tokenizer renders them with the model
// family's chat template; nothing here knows about templates or tokens.
//
// Both protocols follow the competition rules the seed broke:
//  - multi_choice: one step, options shown;
//  - open_ended_multi_choice: TWO steps. Step 1 shows the question WITHOUT options and asks for a free
//    answer; step 2 is a fresh conversation that shows question + options + the step-1 answer and asks
//    for a letter or None;
//  - open_ended: one step, no options; no letter is extracted and it is left out of letter accuracy.
#include "curebench/eval/chat_message.hpp"
#include "curebench/eval/extract/python_strip.hpp"
#include "curebench/eval/question.hpp"

#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval {

// Loglikelihood mode: score each continuation after the rendered prompt (+ generation prefix); the
// highest total log-probability picks letters[i].
struct LoglikelihoodPrompt {
  Conversation messages;
  std::vector<std::string> continuations;
  std::vector<char> letters;
  // Set by protocols that report acc_norm (lm-eval): each continuation's choice length in characters.
  std::vector<std::size_t> norm_lengths;
};

// apply_chat_template's enable_thinking under a protocol (Qwen3's switch; other templates ignore it): a protocol
// type may say `static constexpr std::optional<bool> enable_thinking`; unset = not passed, the template's default.
template <class P>
constexpr std::optional<bool> protocol_enable_thinking() {
  if constexpr (requires { P::enable_thinking; }) return P::enable_thinking;
  else return std::nullopt;
}

template <class P>
concept PromptProtocol = requires(const P& p, const Question& q, std::string_view step1_answer) {
  { P::name } -> std::convertible_to<std::string_view>;
  { p.steps(q) } -> std::same_as<int>;                       // 1 or 2
  { p.first(q) } -> std::same_as<Conversation>;              // step 1 (the only step for 1-step types)
  { p.mapping(q, step1_answer) } -> std::same_as<Conversation>;  // step 2 of open_ended_multi_choice
  { p.loglikelihood(q) } -> std::same_as<LoglikelihoodPrompt>;
};

namespace detail {
// Python's str.strip() (Unicode whitespace, U+00A0 and U+3000 included), as the kit's response.strip().
inline std::string_view strip(std::string_view s) { return extract::py::stripped(s); }
inline std::string option_lines(const Question& q, std::string_view sep) {
  std::string out;
  if (!q.options) return out;
  for (const auto& [letter, text] : *q.options) {
    if (!out.empty()) out += '\n';
    out += letter;
    out += sep;
    out += text;
  }
  return out;
}
inline std::string letter_list(const Question& q) {  // "A, B, C or D"
  std::string out;
  if (!q.options) return out;
  for (std::size_t i = 0; i < q.options->size(); ++i) {
    if (i) out += (i + 1 == q.options->size()) ? " or " : ", ";
    out += (*q.options)[i].first;
  }
  return out;
}
// Letter continuations (" A", " B", ...) when the prompt lists the options; option texts (" yes", ...)
// when it does not (open_ended_multi_choice must not show options, so the texts themselves are scored).
inline LoglikelihoodPrompt continuations(Conversation messages, const Question& q, bool letters_shown) {
  LoglikelihoodPrompt lp{std::move(messages), {}, {}};
  if (!q.options || q.type == QuestionType::open_ended) return lp;
  for (const auto& [letter, text] : *q.options) {
    lp.continuations.push_back(letters_shown ? std::string(" ") + letter : " " + text);
    lp.letters.push_back(letter);
  }
  return lp;
}
}  // namespace detail

// The official starter kit (mims-harvard/CUREBench eval_framework.py + dataset_utils.py, commit 679b08d),
// string for string, quirks included: system "You are a helpful assistant."; Qwen3 without thinking; multi_choice options as
// "A: text" lines; open_ended's question is wrapped in the open-ended instruction twice (dataset_utils
// wraps it, eval_framework wraps it again); the mapping step is a new conversation.
struct OfficialKitProtocol {
  static constexpr std::string_view name = "official";
  static constexpr std::string_view system = "You are a helpful assistant.";
  // LocalModel.inference: apply_chat_template(messages, add_generation_prompt=True, enable_thinking=False). Its
  // max_tokens = 1024 is the run config's default under this protocol (eval/run_config.hpp default_max_new_tokens).
  static constexpr std::optional<bool> enable_thinking = false;

  int steps(const Question& q) const { return q.type == QuestionType::open_ended_multi_choice ? 2 : 1; }

  Conversation first(const Question& q) const {
    std::string user;
    switch (q.type) {
      case QuestionType::multi_choice:
        user = mc_prompt(q);
        break;
      case QuestionType::open_ended_multi_choice:
        user = open_prompt(q.question);
        break;
      case QuestionType::open_ended:
        user = open_prompt(open_prompt(q.question));
        break;
    }
    return {{"system", std::string(system)}, {"user", std::move(user)}};
  }

  Conversation mapping(const Question& q, std::string_view step1_answer) const {
    std::string meta = "The following is a multiple choice question about medicine and the agent's open-ended answer "
                       "to the question. Convert the agent's answer to the final answer format using the "
                       "corresponding option label, e.g., 'A', 'B', 'C', 'D', 'E' or 'None'. \n\nQuestion: " +
                       q.question + "\n" + detail::option_lines(q, ": ") + "\n\n";
    return {{"system", std::string(system)},
            {"user", meta + "Agent's answer: " + std::string(detail::strip(step1_answer)) + "\n\nMulti-choice answer:"}};
  }

  LoglikelihoodPrompt loglikelihood(const Question& q) const {
    if (q.type == QuestionType::multi_choice) return detail::continuations(first(q), q, true);
    return detail::continuations({{"system", std::string(system)}, {"user", open_prompt(q.question)}}, q, false);
  }

  static std::string mc_prompt(const Question& q) {
    return "The following is a multiple choice question about medicine. Answer with only the letter (A, B, C, D, or "
           "E).\n\nQuestion: " + q.question + "\n" + detail::option_lines(q, ": ") + "\n\nAnswer:";
  }
  static std::string open_prompt(const std::string& question) {
    return "The following is an open-ended question about medicine. Provide a comprehensive answer.\n\nQuestion: " +
           question + "\n\nAnswer:";
  }
};
static_assert(PromptProtocol<OfficialKitProtocol>);

// curebench's own protocol: short reasoning, then one final "Answer: X" line that the extractors anchor
// on (instead of "Answer with only the letter", which gives the extractor nothing to disambiguate).
struct CurebenchProtocol {
  static constexpr std::string_view name = "curebench";
  static constexpr std::string_view system =
      "You are a careful clinical expert. Reason briefly and accurately, then give a clear final answer.";

  int steps(const Question& q) const { return q.type == QuestionType::open_ended_multi_choice ? 2 : 1; }

  Conversation first(const Question& q) const {
    std::string user;
    if (q.type == QuestionType::multi_choice) {
      user = "Answer the following multiple choice question.\n\nQuestion: " + q.question + "\n\nOptions:\n" +
             detail::option_lines(q, ". ") + "\n\nThink step by step in a few sentences, then write the final line as " +
             "\"Answer: X\" where X is one of " + detail::letter_list(q) + ".";
    } else {
      user = "Answer the following question in your own words.\n\nQuestion: " + q.question +
             "\n\nThink step by step in a few sentences, then write the final line as \"Answer: \" followed by your "
             "answer.";
    }
    return {{"system", std::string(system)}, {"user", std::move(user)}};
  }

  Conversation mapping(const Question& q, std::string_view step1_answer) const {
    std::string user = "Question: " + q.question + "\n\nOptions:\n" + detail::option_lines(q, ". ") +
                       "\n\nAn expert answered the question, without seeing the options, as follows:\n" +
                       std::string(detail::strip(step1_answer)) +
                       "\n\nWhich option states the same answer? Write the final line as \"Answer: X\" where X is one "
                       "of " + detail::letter_list(q) + ", or \"Answer: None\" if no option matches.";
    return {{"system", std::string(system)}, {"user", std::move(user)}};
  }

  LoglikelihoodPrompt loglikelihood(const Question& q) const {
    if (q.type == QuestionType::multi_choice) {
      std::string user = "Answer the following multiple choice question.\n\nQuestion: " + q.question + "\n\nOptions:\n" +
                         detail::option_lines(q, ". ") + "\n\nAnswer:";
      return detail::continuations({{"system", std::string(system)}, {"user", std::move(user)}}, q, true);
    }
    std::string user = "Answer the following question.\n\nQuestion: " + q.question + "\n\nAnswer:";
    return detail::continuations({{"system", std::string(system)}, {"user", std::move(user)}}, q, false);
  }
};
static_assert(PromptProtocol<CurebenchProtocol>);

}  // namespace curebench::eval
