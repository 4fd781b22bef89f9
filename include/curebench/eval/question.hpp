#pragma once
// One CURE-Bench question, parsed and validated from a JSON object. Errors name the file, the line and
// the field, and say what was expected and what was found.
#include "curebench/core/error.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curebench::eval {

enum class QuestionType { multi_choice, open_ended_multi_choice, open_ended };

inline constexpr std::string_view to_string(QuestionType t) noexcept {
  switch (t) {
    case QuestionType::multi_choice: return "multi_choice";
    case QuestionType::open_ended_multi_choice: return "open_ended_multi_choice";
    case QuestionType::open_ended: return "open_ended";
  }
  return "unknown";
}

inline std::optional<QuestionType> parse_question_type(std::string_view s) noexcept {
  if (s == "multi_choice") return QuestionType::multi_choice;
  if (s == "open_ended_multi_choice") return QuestionType::open_ended_multi_choice;
  if (s == "open_ended") return QuestionType::open_ended;
  return std::nullopt;
}

// Options in letter order (A, B, ...): the order prompts list them in and the order continuations score.
using Options = std::vector<std::pair<char, std::string>>;

// A record's `lm_eval` object (datasets/convert.py --lm-eval writes it): the lm-eval task it belongs to and the source
// fields an lm-eval prompt needs beyond question and options (PubMedQA: the abstract's CONTEXTS and the bare QUESTION).
struct LmEvalFields {
  std::string task;                                   // "" = inferred from the id (eval/lm_eval.hpp)
  std::optional<std::vector<std::string>> contexts;
  std::optional<std::string> question;
};

struct Question {
  std::string id;
  QuestionType type = QuestionType::multi_choice;
  std::string question;
  std::optional<Options> options;
  std::optional<char> correct_answer;  // absent in unlabelled (test) splits
  // An open_ended record whose correct_answer is free text (a shape the kit's code reads): kept for a human or model
  // judge, not machine-gradable, so the record counts as unlabelled for letter accuracy (verification reports it).
  std::optional<std::string> reference_answer;
  std::size_t line = 0;                // 1-based line in the source file; 0 when built in memory
  // Set when `id` was made distinct ("<id>#line<N>") because the file repeats the id and the run allows it
  // (allow_duplicate_ids): the id as the file wrote it, which the submission row carries.
  std::string source_id;
  std::optional<LmEvalFields> lm_eval;  // only --protocol lm-eval reads it

  const std::string& submitted_id() const noexcept { return source_id.empty() ? id : source_id; }

  bool labelled() const noexcept { return correct_answer.has_value(); }
  // Letter accuracy is defined for the two option-bearing types only; open_ended is judged elsewhere.
  bool letter_scored() const noexcept { return type != QuestionType::open_ended; }

  const std::string* option(char letter) const {
    if (!options) return nullptr;
    for (const auto& [l, text] : *options)
      if (l == letter) return &text;
    return nullptr;
  }
};

inline std::string line_field(std::size_t line, std::string_view field) {
  std::string s = "line " + std::to_string(line);
  if (!field.empty()) s += ": " + std::string(field);
  return s;
}

namespace detail {
inline std::string json_kind(const nlohmann::json& j) { return j.type_name(); }
}  // namespace detail

// Validates one record. `path`/`line` only label errors. Unknown keys are allowed (datasets carry extras
// such as subject names); every key we use is checked for presence and type.
inline Question question_from_json(const nlohmann::json& j, const std::string& path, std::size_t line) {
  auto fail = [&](std::string_view field, const std::string& msg) -> Error {
    return Error(Errc::dataset, path, line_field(line, field), msg);
  };
  if (!j.is_object()) throw fail("", "expected a JSON object, found " + detail::json_kind(j));
  auto get_string = [&](std::string_view key) -> std::string {
    auto it = j.find(key);
    if (it == j.end()) throw fail(key, "missing field (expected a string)");
    if (!it->is_string()) throw fail(key, "expected a string, found " + detail::json_kind(*it));
    return it->get<std::string>();
  };

  Question q;
  q.line = line;
  q.id = get_string("id");
  if (q.id.empty()) throw fail("id", "expected a non-empty string, found \"\"");
  std::string type = get_string("question_type");
  auto t = parse_question_type(type);
  if (!t) throw fail("question_type", "expected multi_choice | open_ended_multi_choice | open_ended, found \"" + type + "\"");
  q.type = *t;
  q.question = get_string("question");
  if (q.question.empty()) throw fail("question", "expected non-empty text, found \"\"");

  if (auto it = j.find("options"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) throw fail("options", "expected an object letter -> text, found " + detail::json_kind(*it));
    Options opts;
    for (const auto& [key, value] : it->items()) {  // nlohmann::json keeps keys sorted: letter order
      if (key.size() != 1 || key[0] < 'A' || key[0] > 'Z')
        throw fail("options." + key, "expected a single capital letter A-Z as option key, found \"" + key + "\"");
      if (!value.is_string()) throw fail("options." + key, "expected a string, found " + detail::json_kind(value));
      opts.emplace_back(key[0], value.get<std::string>());
    }
    if (opts.size() < 2) throw fail("options", "expected at least 2 options, found " + std::to_string(opts.size()));
    for (std::size_t i = 0; i < opts.size(); ++i)
      if (opts[i].first != static_cast<char>('A' + i))
        throw fail("options", std::string("expected consecutive letters from A, found a gap before ") + opts[i].first);
    q.options = std::move(opts);
  }
  if (q.type != QuestionType::open_ended && !q.options)
    throw fail("options", "missing: required for question_type " + type);

  if (auto it = j.find("lm_eval"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) throw fail("lm_eval", "expected an object {task, contexts, question}, found " + detail::json_kind(*it));
    LmEvalFields f;
    for (const auto& [key, value] : it->items()) {
      if (key == "task" || key == "question") {
        if (!value.is_string()) throw fail("lm_eval." + key, "expected a string, found " + detail::json_kind(value));
        (key == "task" ? f.task : f.question.emplace()) = value.get<std::string>();
      } else if (key == "contexts") {
        if (!value.is_array()) throw fail("lm_eval.contexts", "expected a list of strings, found " + detail::json_kind(value));
        f.contexts.emplace();
        for (const auto& c : value) {
          if (!c.is_string()) throw fail("lm_eval.contexts", "expected a list of strings, found an element of type " + detail::json_kind(c));
          f.contexts->push_back(c.get<std::string>());
        }
      }  // other keys: extras, as at the top level
    }
    q.lm_eval = std::move(f);
  }

  // Absent or null = unlabelled. An empty string is refused: it is how the seed's labels silently vanished.
  if (auto it = j.find("correct_answer"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) throw fail("correct_answer", "expected a letter string, found " + detail::json_kind(*it));
    std::string a = it->get<std::string>();
    const bool letter = a.size() == 1 && a[0] >= 'A' && a[0] <= 'Z';
    if (!letter && q.type == QuestionType::open_ended && !a.empty()) {
      q.reference_answer = std::move(a);  // free text: not machine-gradable, reported separately
      return q;
    }
    if (!letter)
      throw fail("correct_answer", "expected one capital letter (omit the key for unlabelled records; free text only for "
                                   "open_ended), found \"" + a + "\"");
    if (q.options && !q.option(a[0]))
      throw fail("correct_answer", "letter " + a + " is not one of the options (A-" +
                                       std::string(1, q.options->back().first) + ")");
    q.correct_answer = a[0];
  }
  return q;
}

inline nlohmann::json to_json_value(const Question& q) {
  nlohmann::json j = {{"id", q.id}, {"question_type", std::string(to_string(q.type))}, {"question", q.question}};
  if (q.options) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& [l, text] : *q.options) o[std::string(1, l)] = text;
    j["options"] = std::move(o);
  }
  if (q.correct_answer) j["correct_answer"] = std::string(1, *q.correct_answer);
  if (q.reference_answer) j["correct_answer"] = *q.reference_answer;
  if (q.lm_eval) {  // only records that carry it: other records keep their question_sha256
    nlohmann::json l = {{"task", q.lm_eval->task}};
    if (q.lm_eval->contexts) l["contexts"] = *q.lm_eval->contexts;
    if (q.lm_eval->question) l["question"] = *q.lm_eval->question;
    j["lm_eval"] = std::move(l);
  }
  return j;
}

inline void to_json(nlohmann::json& j, const Question& q) { j = to_json_value(q); }

}  // namespace curebench::eval
