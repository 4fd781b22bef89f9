#pragma once
// Metric policies over SampleRecords. A Metric observes records one at a time and reports a JSON object
// whose keys are merged into results.json models[].splits.<split> (docs/results-schema.md).
// Rules that fix the seed notebook's numbers:
//  - accuracy = correct / scored, where scored = records with `correct` non-null (labelled letter
//    questions, errors included as wrong); null when nothing is scored — never 0 for an unlabelled split;
//  - every rate carries its denominator; every interval is Wilson 95 %;
//  - length is measured in characters and UTF-8 bytes as well as tokens, because token counts of models
//    with different tokenizers are not comparable.
#include "curebench/eval/sample.hpp"
#include "curebench/eval/wilson.hpp"

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include <cmath>
#include <concepts>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace curebench::eval::metrics {

template <class M>
concept Metric = std::default_initializable<M> && requires(M m, const M& cm, const SampleRecord& s) {
  m.observe(s);
  { cm.to_json() } -> std::convertible_to<nlohmann::json>;
};

inline nlohmann::json number_or_null(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
inline std::optional<double> mean(double sum, std::size_t n) {
  return n ? std::optional<double>(sum / static_cast<double>(n)) : std::nullopt;
}

// Letter accuracy with its Wilson 95 % interval: {n, n_labelled, n_scored, correct, accuracy, ci95, errors}.
struct Accuracy {
  std::size_t n = 0, labelled = 0, scored = 0, correct = 0, errors = 0;
  void observe(const SampleRecord& s) {
    ++n;
    labelled += s.gold.has_value();
    errors += s.error.has_value();
    if (s.correct) {
      ++scored;
      correct += *s.correct;
    }
  }
  std::optional<double> accuracy() const { return mean(static_cast<double>(correct), scored); }
  nlohmann::json to_json() const {
    nlohmann::json ci = nullptr;
    if (auto w = wilson_interval(correct, scored)) ci = {w->lo, w->hi};
    return {{"n", n}, {"n_labelled", labelled}, {"n_scored", scored},
            {"correct", scored ? nlohmann::json(correct) : nlohmann::json(nullptr)},
            {"accuracy", number_or_null(accuracy())}, {"ci95", ci}, {"errors", errors}};
  }
};
static_assert(Metric<Accuracy>);

// Accuracy per question type: {"by_type": {"multi_choice": {...Accuracy}, ...}}.
struct ByType {
  std::map<std::string, Accuracy> per_type;
  void observe(const SampleRecord& s) { per_type[std::string(to_string(s.type))].observe(s); }
  nlohmann::json to_json() const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [type, acc] : per_type) j[type] = acc.to_json();
    return {{"by_type", j}};
  }
};
static_assert(Metric<ByType>);

// Extraction over letter questions (open_ended asks for no letter): failures = no letter found.
struct Extraction {
  std::size_t attempted = 0, failures = 0;
  std::map<std::string, std::size_t> rules;
  void observe(const SampleRecord& s) {
    if (s.type == QuestionType::open_ended) return;
    ++attempted;
    failures += !s.answer.has_value();
    ++rules[s.rule.empty() ? "none" : s.rule];
  }
  nlohmann::json to_json() const {
    return {{"extraction", {{"attempted", attempted}, {"failures", failures},
                            {"failure_rate", number_or_null(mean(static_cast<double>(failures), attempted))},
                            {"rules", rules}}}};
  }
};
static_assert(Metric<Extraction>);

// Token usage as counted by the model's own tokenizer (generated tokens, not a re-encode of the text).
struct TokenStats {
  std::size_t n = 0, input_total = 0, output_total = 0;
  void observe(const SampleRecord& s) {
    ++n;
    input_total += s.input_tokens;
    output_total += s.output_tokens;
  }
  nlohmann::json to_json() const {
    return {{"tokens",
             {{"input_mean", number_or_null(mean(static_cast<double>(input_total), n))},
              {"output_mean", number_or_null(mean(static_cast<double>(output_total), n))},
              {"total_mean", number_or_null(mean(static_cast<double>(input_total + output_total), n))},
              {"input_total", input_total}, {"output_total", output_total}}}};
  }
};
static_assert(Metric<TokenStats>);

// Tokenizer-independent length: code points and UTF-8 bytes of the output, and the reasoning before the answer.
struct OutputLength {
  std::size_t n = 0;
  double chars = 0, bytes = 0, reasoning = 0;
  void observe(const SampleRecord& s) {
    ++n;
    chars += static_cast<double>(s.output_chars);
    bytes += static_cast<double>(s.output_bytes);
    reasoning += static_cast<double>(reasoning_chars(s));
  }
  nlohmann::json to_json() const {
    return {{"output_chars_mean", number_or_null(mean(chars, n))}, {"output_bytes_mean", number_or_null(mean(bytes, n))},
            {"reasoning_chars_mean", number_or_null(mean(reasoning, n))}};
  }
};
static_assert(Metric<OutputLength>);

// Wall time per sample and generation speed: tokens/s = Σ output tokens / Σ latency (not a mean of ratios).
struct Latency {
  std::size_t n = 0, output_tokens = 0;
  double total_ms = 0;
  void observe(const SampleRecord& s) {
    ++n;
    total_ms += s.latency_ms;
    output_tokens += s.output_tokens;
  }
  nlohmann::json to_json() const {
    std::optional<double> tps;
    if (total_ms > 0) tps = static_cast<double>(output_tokens) / (total_ms / 1000.0);
    return {{"latency_ms_mean", number_or_null(mean(total_ms, n))}, {"tokens_per_second", number_or_null(tps)}};
  }
};
static_assert(Metric<Latency>);

// Point-biserial correlation of output length (chars) with correctness over scored records:
//   r_pb = (M1 - M0) / s_n · sqrt(p q)  =  Pearson r of (chars, correct ∈ {0,1}).
// Null when fewer than 2 scored records, all equally correct, or all of one length (r undefined).
struct LengthCorrectness {
  std::vector<double> chars, correct;
  void observe(const SampleRecord& s) {
    if (!s.correct) return;
    chars.push_back(static_cast<double>(s.output_chars));
    correct.push_back(*s.correct ? 1.0 : 0.0);
  }
  std::optional<double> value() const {
    if (chars.size() < 2) return std::nullopt;
    Eigen::Map<const Eigen::VectorXd> x(chars.data(), static_cast<Eigen::Index>(chars.size()));
    Eigen::Map<const Eigen::VectorXd> y(correct.data(), static_cast<Eigen::Index>(correct.size()));
    Eigen::VectorXd xc = x.array() - x.mean(), yc = y.array() - y.mean();
    double sxx = xc.squaredNorm(), syy = yc.squaredNorm();
    if (sxx <= 0.0 || syy <= 0.0) return std::nullopt;
    return xc.dot(yc) / std::sqrt(sxx * syy);
  }
  nlohmann::json to_json() const { return {{"length_correctness_correlation", number_or_null(value())}}; }
};
static_assert(Metric<LengthCorrectness>);

// Compile-time composition: observe() fans out, to_json() merges the objects (a key twice is a bug).
template <Metric... Ms>
struct Metrics {
  std::tuple<Ms...> parts;
  void observe(const SampleRecord& s) {
    std::apply([&](auto&... m) { (m.observe(s), ...); }, parts);
  }
  nlohmann::json to_json() const {
    nlohmann::json out = nlohmann::json::object();
    std::apply([&](const auto&... m) { (merge(out, m.to_json()), ...); }, parts);
    return out;
  }
  template <class M>
  const M& get() const { return std::get<M>(parts); }

 private:
  static void merge(nlohmann::json& out, const nlohmann::json& part) {
    for (const auto& [key, value] : part.items()) {
      if (out.contains(key)) throw Error(Errc::internal, "", key, "two metrics report the same key");
      out[key] = value;
    }
  }
};

// Everything results.json shows per split.
using SplitMetrics = Metrics<Accuracy, ByType, Extraction, TokenStats, OutputLength, Latency, LengthCorrectness>;
static_assert(Metric<SplitMetrics>);

template <Metric M = SplitMetrics, class Range>
M summarize(const Range& samples) {
  M m;
  for (const SampleRecord& s : samples) m.observe(s);
  return m;
}

}  // namespace curebench::eval::metrics
