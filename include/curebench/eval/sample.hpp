#pragma once
// One evaluated question: what the model was asked, what it said, what was extracted and how it scored.
// This is the line format of models/<name>/samples.jsonl (docs/results-schema.md) and the only input of
// the metrics, so every number in results.json can be recomputed from the log.
#include "curebench/core/error.hpp"
#include "curebench/eval/chat_message.hpp"
#include "curebench/eval/question.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curebench::eval {

struct SampleRecord {
  std::string id;
  std::string split;
  QuestionType type = QuestionType::multi_choice;
  std::string prompt_sha256;
  std::string output;                       // model text; two-step items: both steps joined
  std::optional<char> answer;               // extracted letter, null when extraction failed or not attempted
  std::string rule = "none";                // extractor rule that fired
  std::optional<std::pair<std::size_t, std::size_t>> span;  // [begin, end) byte offsets into `output`
  std::optional<char> gold;
  std::optional<bool> correct;              // null = not scored (unlabelled or open_ended)
  std::size_t input_tokens = 0, output_tokens = 0;
  std::size_t output_chars = 0, output_bytes = 0;  // Unicode code points / UTF-8 bytes of `output`
  double latency_ms = 0.0;
  std::string stop_reason;                  // eos | stop_string | max_new_tokens | error
  std::vector<ChatMessage> messages;        // the whole conversation(s), assistant turns included
  std::optional<std::string> error;         // generation failed: the record still counts (as wrong if scored)
};

// Code points of UTF-8 text: counts every byte that is not a continuation byte (10xxxxxx).
inline std::size_t utf8_code_points(std::string_view s) noexcept {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The scoring rule, in one place: letter questions with a gold letter are scored; a missing answer is wrong.
inline std::optional<bool> score(const Question& q, std::optional<char> answer) {
  if (!q.labelled() || !q.letter_scored()) return std::nullopt;
  return answer.has_value() && *answer == *q.correct_answer;
}

// Sets output_chars/output_bytes from `output`.
inline void measure_output(SampleRecord& r) {
  r.output_bytes = r.output.size();
  r.output_chars = utf8_code_points(r.output);
}

// Characters of reasoning before the extracted answer (whole output when nothing was extracted).
inline std::size_t reasoning_chars(const SampleRecord& r) {
  if (!r.span) return utf8_code_points(r.output);
  std::size_t end = std::min(r.span->first, r.output.size());
  return utf8_code_points(std::string_view(r.output).substr(0, end));
}

namespace detail {
inline nlohmann::json letter_or_null(const std::optional<char>& c) {
  return c ? nlohmann::json(std::string(1, *c)) : nlohmann::json(nullptr);
}
}  // namespace detail

inline void to_json(nlohmann::json& j, const SampleRecord& r) {
  j = nlohmann::json{{"id", r.id}, {"split", r.split}, {"question_type", std::string(to_string(r.type))},
                     {"prompt_sha256", r.prompt_sha256}, {"output", r.output},
                     {"answer", detail::letter_or_null(r.answer)}, {"rule", r.rule},
                     {"span", r.span ? nlohmann::json::array({r.span->first, r.span->second}) : nlohmann::json(nullptr)},
                     {"gold", detail::letter_or_null(r.gold)},
                     {"correct", r.correct ? nlohmann::json(*r.correct) : nlohmann::json(nullptr)},
                     {"input_tokens", r.input_tokens}, {"output_tokens", r.output_tokens},
                     {"output_chars", r.output_chars}, {"output_bytes", r.output_bytes},
                     {"latency_ms", r.latency_ms}, {"stop_reason", r.stop_reason}, {"messages", r.messages},
                     {"error", r.error ? nlohmann::json(*r.error) : nlohmann::json(nullptr)}};
}

// Reads a samples.jsonl record back (resume, `curebench report`); `where` labels errors ("file: line N").
inline SampleRecord sample_from_json(const nlohmann::json& j, const std::string& path, const std::string& where) {
  auto fail = [&](std::string_view field, const std::string& msg) {
    return Error(Errc::format, path, where + ": " + std::string(field), msg);
  };
  if (!j.is_object()) throw fail("", std::string("expected a JSON object, found ") + j.type_name());
  auto str = [&](std::string_view key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) throw fail(key, "expected a string");
    return it->get<std::string>();
  };
  auto letter = [&](std::string_view key) -> std::optional<char> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_string() || it->get<std::string>().size() != 1) throw fail(key, "expected one letter or null");
    return it->get<std::string>()[0];
  };
  auto count = [&](std::string_view key) -> std::size_t {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned()) throw fail(key, "expected a non-negative integer");
    return it->get<std::size_t>();
  };
  SampleRecord r;
  r.id = str("id");
  r.split = str("split");
  auto t = parse_question_type(str("question_type"));
  if (!t) throw fail("question_type", "unknown question type");
  r.type = *t;
  r.prompt_sha256 = str("prompt_sha256");
  r.output = str("output");
  r.answer = letter("answer");
  r.rule = str("rule");
  if (auto it = j.find("span"); it != j.end() && !it->is_null()) {
    if (!it->is_array() || it->size() != 2 || !(*it)[0].is_number_unsigned() || !(*it)[1].is_number_unsigned())
      throw fail("span", "expected [begin, end] or null");
    r.span = std::pair{(*it)[0].get<std::size_t>(), (*it)[1].get<std::size_t>()};
  }
  r.gold = letter("gold");
  if (auto it = j.find("correct"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) throw fail("correct", "expected true, false or null");
    r.correct = it->get<bool>();
  }
  r.input_tokens = count("input_tokens");
  r.output_tokens = count("output_tokens");
  r.output_chars = count("output_chars");
  r.output_bytes = count("output_bytes");
  auto lat = j.find("latency_ms");
  if (lat == j.end() || !lat->is_number()) throw fail("latency_ms", "expected a number");
  r.latency_ms = lat->get<double>();
  r.stop_reason = str("stop_reason");
  if (auto it = j.find("messages"); it != j.end()) {
    try {
      r.messages = it->get<std::vector<ChatMessage>>();
    } catch (const nlohmann::json::exception& e) {
      throw fail("messages", std::string("expected [{role, content}]: ") + e.what());
    }
  }
  if (auto it = j.find("error"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) throw fail("error", "expected a string or null");
    r.error = it->get<std::string>();
  }
  return r;
}

}  // namespace curebench::eval
