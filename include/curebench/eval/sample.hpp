#pragma once
// One evaluated question: what the model was asked, what it said, what was extracted and how it scored.
// This is the line format of models/<name>/samples.jsonl (docs/results-schema.md) and the only input of
// the metrics, so every number in results.json can be recomputed from the log.
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/eval/chat_message.hpp"
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/question.hpp"
#include "curebench/eval/sha256.hpp"

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
  std::string prompt_sha256;               // of the rendered prompt (first step); "" when nothing was asked
  std::string question_sha256;             // of the question record (question_sha256()); "" in logs before it
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
  std::optional<int> rank;                  // the rank that answered it, in a data-parallel run (dist/); else absent
  // --protocol lm-eval (eval/lm_eval.hpp): acc_norm's pick and score, and every choice's summed log-probability (in
  // choice order), so acc and acc_norm can be recomputed from the log. Absent otherwise.
  std::optional<char> answer_norm;
  std::optional<bool> correct_norm;
  std::vector<double> logprobs;
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

// SHA-256 of the fields of a question that the run uses (id, type, text, options, answer), in a canonical form
// (sorted keys): a resume compares it with the finished record's to find questions edited since they were run.
inline std::string question_sha256(const Question& q) { return sha256_hex(to_json_value(q).dump()); }

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
                     {"prompt_sha256", r.prompt_sha256}, {"question_sha256", r.question_sha256}, {"output", r.output},
                     {"answer", detail::letter_or_null(r.answer)}, {"rule", r.rule},
                     {"span", r.span ? nlohmann::json::array({r.span->first, r.span->second}) : nlohmann::json(nullptr)},
                     {"gold", detail::letter_or_null(r.gold)},
                     {"correct", r.correct ? nlohmann::json(*r.correct) : nlohmann::json(nullptr)},
                     {"input_tokens", r.input_tokens}, {"output_tokens", r.output_tokens},
                     {"output_chars", r.output_chars}, {"output_bytes", r.output_bytes},
                     {"latency_ms", r.latency_ms}, {"stop_reason", r.stop_reason}, {"messages", r.messages},
                     {"error", r.error ? nlohmann::json(*r.error) : nlohmann::json(nullptr)}};
  if (r.rank) j["rank"] = *r.rank;  // one-process logs stay as they were
  if (r.answer_norm) j["answer_norm"] = std::string(1, *r.answer_norm);
  if (r.correct_norm) j["correct_norm"] = *r.correct_norm;
  if (!r.logprobs.empty()) j["logprobs"] = r.logprobs;
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
  if (auto it = j.find("question_sha256"); it != j.end()) {  // absent in logs written before it was recorded
    if (!it->is_string()) throw fail("question_sha256", "expected a string");
    r.question_sha256 = it->get<std::string>();
  }
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
  if (auto it = j.find("rank"); it != j.end()) {
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() > (1u << 16)) throw fail("rank", "expected a rank (0..65536)");
    r.rank = it->get<int>();
  }
  r.answer_norm = letter("answer_norm");
  if (auto it = j.find("correct_norm"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) throw fail("correct_norm", "expected true, false or null");
    r.correct_norm = it->get<bool>();
  }
  if (auto it = j.find("logprobs"); it != j.end() && !it->is_null()) {
    if (!it->is_array() || it->size() > 64) throw fail("logprobs", "expected a list of at most 64 numbers");
    for (const auto& v : *it) {
      if (!v.is_number()) throw fail("logprobs", "expected a list of numbers");
      r.logprobs.push_back(v.get<double>());
    }
  }
  return r;
}

// Longest samples.jsonl line written or read back. A record holds the rendered prompt(s) of one question (a
// dataset line is at most 16 MiB) and the model's output; 64 MiB leaves room for JSON escaping. A longer line is
// refused before it is read whole (unbounded, a 1.5 GB line cost 1.7 GB of memory in `report` and on resume).
inline constexpr std::size_t kMaxSampleLineBytes = std::size_t{64} << 20;

// Reads a samples.jsonl file line by line with the bounded line reader: on_json(line_no, json) for every line
// that is not blank. A line longer than max_line_bytes or one that is not JSON is Errc::format naming the file and
// "line N". Returns the byte count of an unterminated last line (a writer killed mid-record), which is not parsed.
template <class OnJson>
std::size_t for_each_sample_json(const std::string& path, OnJson&& on_json, std::size_t max_line_bytes = kMaxSampleLineBytes) {
  std::size_t tail = 0;
  try {
    for_each_line(
        path,
        [&](std::size_t line_no, std::string_view line) {
          if (is_blank(line)) return;
          nlohmann::json j;
          try {
            j = parse_json_text(line, path, JsonLimits{max_line_bytes, 64});
          } catch (const Error& e) {
            throw Error(Errc::format, path, line_field(line_no, ""), "corrupt record (not the last line): " + e.message());
          } catch (const nlohmann::json::exception& e) {
            throw Error(Errc::format, path, line_field(line_no, ""), std::string("corrupt record (not the last line): ") + e.what());
          }
          on_json(line_no, j);
        },
        max_line_bytes, nullptr, &tail);
  } catch (const Error& e) {
    if (e.code() != Errc::dataset) throw;  // the line reader's "line longer than": this file is no dataset
    throw Error(Errc::format, e.path(), e.field(), e.message() + " (a samples.jsonl record is at most that long)");
  }
  return tail;
}

}  // namespace curebench::eval
