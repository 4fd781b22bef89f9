#pragma once
// Numbers the figures derive from results.json: the generalization gap (only where both splits are labelled)
// with a Newcombe interval, bits per weight, weight memory saved against 16-bit weights, averages over splits.
#include "curebench/report/dashboard/run_data.hpp"

#include <cmath>
#include <optional>
#include <string>

namespace curebench::report {

struct Gap {
  std::optional<double> value;   // accuracy(val) - accuracy(test), fraction; nullopt when undefined
  std::optional<Interval> ci95;  // Newcombe hybrid score interval from the two Wilson intervals
  std::string undefined_reason;  // e.g. "undefined: test split unlabelled"
};

// The gap exists only when both splits were measured; a number in the file is not trusted otherwise.
inline Gap generalization_gap(const ModelRun& m) {
  Gap g;
  auto* v = m.split(SplitRole::validation);
  auto* t = m.split(SplitRole::test);
  if (!v) g.undefined_reason = "undefined: no validation split";
  else if (!v->measurable()) g.undefined_reason = "undefined: validation split unlabelled";
  else if (!t) g.undefined_reason = "undefined: no test split";
  else if (!t->measurable()) g.undefined_reason = "undefined: test split unlabelled";
  if (!g.undefined_reason.empty()) return g;
  double d = *v->accuracy - *t->accuracy;
  g.value = m.gap_in_file ? *m.gap_in_file : d;
  if (v->ci95 && t->ci95) {
    // Newcombe (1998) method 10: combine each proportion's Wilson limits.
    double p1 = *v->accuracy, p2 = *t->accuracy;
    double lo = d - std::sqrt(std::pow(p1 - v->ci95->lo, 2) + std::pow(t->ci95->hi - p2, 2));
    double hi = d + std::sqrt(std::pow(v->ci95->hi - p1, 2) + std::pow(p2 - t->ci95->lo, 2));
    g.ci95 = Interval{lo, hi};
  }
  return g;
}

// Bits per weight: what the quantizer reports, else stored bytes over parameters, else the dtype's width.
inline std::optional<double> bits_per_weight(const ModelRun& m) {
  if (m.quantization && m.quantization->bits_per_weight) return m.quantization->bits_per_weight;
  auto bytes = m.quantization && m.quantization->weight_bytes ? m.quantization->weight_bytes : m.weight_bytes;
  if (bytes && m.parameters && *m.parameters > 0) return *bytes * 8.0 / *m.parameters;
  if (!m.quant || *m.quant == "none") {
    if (m.dtype == "f32") return 32.0;
    if (m.dtype == "bf16" || m.dtype == "f16") return 16.0;
  }
  return std::nullopt;
}

// Share of weight memory saved against the same weights stored in 16 bits (negative for f32).
inline std::optional<double> memory_saved_vs_16bit(const ModelRun& m) {
  auto b = bits_per_weight(m);
  if (!b) return std::nullopt;
  return 1.0 - *b / 16.0;
}

// Mean output characters for the split that carries the model's accuracy (tokenizer-independent length).
inline std::optional<double> output_chars_mean(const ModelRun& m, const SplitResult* s) {
  if (s && s->output_chars_mean) return s->output_chars_mean;
  double sum = 0;
  int n = 0;
  for (auto& x : m.samples)
    if (x.output_chars && (!s || x.split == s->name)) sum += *x.output_chars, ++n;
  if (n == 0) return std::nullopt;
  return sum / n;
}

// Average tokens per question over all splits, weighted by each split's n (falls back to the samples).
struct TokenMeans {
  double input = 0, output = 0;
};
inline std::optional<TokenMeans> token_means(const ModelRun& m) {
  double wsum = 0, in = 0, out = 0;
  for (auto& s : m.splits)
    if (s.input_tokens_mean && s.output_tokens_mean) {
      double w = s.n.value_or(1);
      wsum += w, in += w * *s.input_tokens_mean, out += w * *s.output_tokens_mean;
    }
  if (wsum > 0) return TokenMeans{in / wsum, out / wsum};
  int n = 0;
  for (auto& x : m.samples)
    if (x.input_tokens && x.output_tokens) in += *x.input_tokens, out += *x.output_tokens, ++n;
  if (n > 0) return TokenMeans{in / n, out / n};
  return std::nullopt;
}

// Question-type counts per split: from the verification block, else counted from the samples.
inline std::map<std::string, std::map<std::string, double>> question_type_counts(const RunData& run) {
  for (auto& m : run.models)
    if (!m.question_types.empty()) return m.question_types;
  for (auto& m : run.models)
    if (!m.samples.empty()) {
      std::map<std::string, std::map<std::string, double>> counts;
      for (auto& s : m.samples) counts[s.split.empty() ? "?" : s.split][s.question_type.empty() ? "?" : s.question_type] += 1;
      return counts;
    }
  return {};
}

}  // namespace curebench::report
