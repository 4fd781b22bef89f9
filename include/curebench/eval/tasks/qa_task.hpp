#pragma once
// QA - the multiple-choice questions `curebench eval` runs - as a study task, so one study config covers NER,
// relation extraction, multi-label and QA (issue 21 point 1). Built from eval's own parts, not a copy of them:
//  - items: eval::load_split (eval/dataset.hpp: CURE-Bench JSONL, every line validated); the study keeps the
//    multi_choice questions with a gold letter (qa_items; the others are counted, not run: an open-ended question
//    has no letter to score, and eval answers an open_ended_multi_choice one in two steps);
//  - prompt: CurebenchProtocol's short multiple-choice prompt (the user turn `curebench eval --protocol curebench
//    --mode loglikelihood` sends: question, "Options:" lettered, "Answer:"), without its system turn so that every
//    study task's prompt is user turns only; a few-shot example's answer is its gold letter;
//  - parser: eval's CurebenchDefault extractor (eval/extract.hpp; its rules in docs/evaluation.md); no letter read:
//    the prediction is "none", counted in parse_failures;
//  - score: SingleLabelF1 over the letters with no negative label, so `accuracy` (Wilson interval, eval/wilson.hpp,
//    as `curebench eval` reports it) is the headline and micro F1 equals it; predictions.jsonl lines are `curebench
//    score --task re` input (no --negative).
#include "curebench/core/error.hpp"
#include "curebench/eval/chat_message.hpp"
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/extract.hpp"
#include "curebench/eval/prompt.hpp"
#include "curebench/eval/question.hpp"
#include "curebench/eval/tasks/label_f1.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval {
// What a prompting method needs of a question (eval/tasks/prompting.hpp PromptItem), beside Question (ADL).
inline std::string item_id(const Question& q) { return q.id; }
inline std::string item_text(const Question& q) { return q.question; }
}  // namespace curebench::eval

namespace curebench::eval::tasks {
using eval::item_id;  // tasks::item_id(q) as for the other tasks' items
using eval::item_text;

struct QaItems {
  std::vector<Question> questions;         // multi_choice with a gold letter, file order
  std::map<std::string, std::size_t> left_out;  // question_type (or "unlabelled") -> count
};

// The study's QA items of a CURE-Bench JSONL file; a file with none is an error naming it.
inline QaItems qa_items(const std::string& path) {
  QaItems out;
  for (auto& q : load_split("study", path).questions) {
    if (q.type != QuestionType::multi_choice) ++out.left_out[std::string(to_string(q.type))];
    else if (!q.correct_answer || !q.options || q.options->empty()) ++out.left_out["unlabelled"];
    else out.questions.push_back(std::move(q));
  }
  require(!out.questions.empty(), Errc::dataset, path, "question_type",
          "no multi_choice question with a correct_answer: the study's QA task scores those only");
  return out;
}

struct QaPrediction {
  std::string letter = "none";
  std::string rule;
  bool parsed = false;
};

struct QaScore {
  SingleLabelF1 f1;  // no negative: micro F1 = accuracy
  std::size_t parse_failures = 0;
  void add(const Question& q, const QaPrediction& p) {
    f1.add(std::string(1, *q.correct_answer), p.letter);
    parse_failures += !p.parsed;
  }
  nlohmann::json to_json() const {
    auto j = f1.to_json();
    j["parse_failures"] = parse_failures;
    return j;
  }
};

struct QaTask {
  static constexpr std::string_view name = "qa";
  using Item = Question;
  using Prediction = QaPrediction;
  using Score = QaScore;

  static std::string question(const Question& q) {
    const auto lp = CurebenchProtocol{}.loglikelihood(q);
    return lp.messages.back().content;  // "Answer the following multiple choice question. ... Answer:"
  }
  Conversation prompt(const Question& q, const std::vector<const Question*>& examples) const {
    Conversation c;
    for (const auto* e : examples) {
      c.push_back({"user", question(*e)});
      c.push_back({"assistant", std::string(1, *e->correct_answer)});
    }
    c.push_back({"user", question(q)});
    return c;
  }
  QaPrediction parse(const Question& q, std::string_view output) const {
    QaPrediction p;
    const auto e = extract::CurebenchDefault{}.extract(output, extract::Options(q.options ? *q.options : Options{}));
    p.rule = e.rule;
    if (e.answer) p.letter = *e.answer, p.parsed = true;
    return p;
  }
  Score score() const { return {}; }
  nlohmann::json prediction_json(const Question& q, const QaPrediction& p) const {
    return {{"id", q.id}, {"gold", q.correct_answer ? std::string(1, *q.correct_answer) : std::string()},
            {"pred", p.letter}, {"parsed", p.parsed}, {"rule", p.rule}};
  }
};

}  // namespace curebench::eval::tasks
