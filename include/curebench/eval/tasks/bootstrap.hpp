#pragma once
// Confidence intervals for the study's scores (issue 21 point 3; docs/study.md "Confidence intervals").
//  - Every F1 (entity F1; RE micro and macro F1; multi-label micro and macro F1): percentile bootstrap. One
//    resample draws n of the n items (sentences, pairs, documents) with replacement; the figure is recomputed
//    on it exactly as on the data (macro F1 over the labels that occur in the resample, F1 = 0 where TP = 0);
//    B resamples; the 95 % interval is the 2.5th and 97.5th percentile of the B figures, linearly interpolated
//    between order statistics (numpy's default, Hyndman-Fan type 7).
//  - Each label's F1 (RE and multi-label `per_label`): the same percentile bootstrap, the same draws, reported as
//    "per_label_ci" {label: {lo, hi}}. In a resample where the label occurs nowhere (no gold, no prediction) its
//    F1 is 0, scikit-learn's zero_division default - so a rare label's interval reaches 0.
//  - Accuracy (RE) and exact match (multi-label), proportions of independent items: Wilson (eval/wilson.hpp).
//  - Paired bootstrap of two runs on the same items (a 4-bit run against the full-precision run of the same
//    model): each resample's draws are applied to both runs, the difference run - baseline recomputed; the
//    interval is that of the B differences. A run paired with itself gives [0, 0].
// Draws: std::mt19937_64 seeded with `seed` (its output sequence is fixed by the C++ standard); an index in
// [0, n) is the first draw x >= 2^64 mod n, taken mod n (unbiased, and the same on every standard library,
// which std::uniform_int_distribution is not). Same seed, same items -> the same intervals, bit for bit.
// Implementation: each item is a short list of per-label (TP, FP, FN) contributions; a resample is a vector of
// draw counts w, and its per-label totals are sum_i w_i * contribution_i (no resampled copy of the data).
#include "curebench/core/error.hpp"
#include "curebench/eval/tasks/entity_f1.hpp"
#include "curebench/eval/tasks/label_f1.hpp"
#include "curebench/eval/wilson.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace curebench::eval::tasks {

struct BootstrapOptions {
  std::size_t resamples = 1000;  // B; the CLI refuses fewer than 1,000
  std::uint64_t seed = 0;
};
inline constexpr double kIntervalLevel = 0.95;

// ---------------------------------------------------------------------------------------------- draws

inline std::size_t uniform_index(std::mt19937_64& rng, std::size_t n) {
  const std::uint64_t floor = (std::uint64_t{0} - std::uint64_t{n}) % n;  // 2^64 mod n
  for (;;)
    if (const std::uint64_t x = rng(); x >= floor) return static_cast<std::size_t>(x % n);
}

// Calls f(w) for each of the B resamples of n items; w[i] = how often item i was drawn (sum n).
template <class F>
void for_each_resample(std::size_t n, const BootstrapOptions& o, F&& f) {
  require(n > 0, Errc::invalid_argument, "", "items", "a bootstrap needs at least one item");
  require(o.resamples > 0, Errc::invalid_argument, "", "resamples", "a bootstrap needs at least one resample");
  std::mt19937_64 rng(o.seed);
  std::vector<std::uint32_t> w(n);
  for (std::size_t b = 0; b < o.resamples; ++b) {
    std::fill(w.begin(), w.end(), 0u);
    for (std::size_t k = 0; k < n; ++k) ++w[uniform_index(rng, n)];
    f(static_cast<const std::vector<std::uint32_t>&>(w));
  }
}

// p-quantile of sorted values, linear between order statistics: h = (B - 1) p, v[floor h] + frac(h) (v[.+1] - v[.]).
inline double quantile_sorted(const std::vector<double>& v, double p) {
  require(!v.empty(), Errc::invalid_argument, "", "values", "quantile of no values");
  const double h = double(v.size() - 1) * p;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= v.size()) return v.back();
  return v[lo] + (h - double(lo)) * (v[lo + 1] - v[lo]);
}

inline Interval percentile_interval(std::vector<double> values, double level = kIntervalLevel) {
  std::sort(values.begin(), values.end());
  const double tail = (1.0 - level) / 2.0;
  return {quantile_sorted(values, tail), quantile_sorted(values, 1.0 - tail)};
}

// ---------------------------------------------------------------------------------------------- count tables

struct LabelContribution {
  std::uint32_t label = 0, tp = 0, fp = 0, fn = 0;
};

// A scored run as items of per-label contributions. `pooled[l]`: label l counts in micro F1 (not the negative
// label); `correct[i]`: item i is right as a whole (RE accuracy, multi-label exact match, NER: unused).
struct CountTable {
  std::vector<std::string> labels;
  std::vector<char> pooled;
  std::vector<std::vector<LabelContribution>> items;
  std::vector<char> correct;
};

// The figures one resample (or the data: every w_i = 1) gives.
struct Figures {
  double micro_f1 = 0, macro_f1 = 0, accuracy = 0;
  std::vector<double> label_f1;  // per label of the table (0 where it occurs nowhere in the resample)
};

inline Figures figures_of(const CountTable& t, const std::vector<std::uint32_t>& w) {
  std::vector<LabelCounts> totals(t.labels.size());
  std::size_t n = 0, correct = 0;
  for (std::size_t i = 0; i < t.items.size(); ++i) {
    if (!w[i]) continue;
    n += w[i];
    correct += t.correct[i] ? w[i] : 0;
    for (const auto& c : t.items[i]) {
      auto& s = totals[c.label];
      s.tp += std::size_t{w[i]} * c.tp, s.fp += std::size_t{w[i]} * c.fp, s.fn += std::size_t{w[i]} * c.fn;
    }
  }
  LabelCounts pooled;
  double sum = 0;
  std::size_t seen = 0;
  std::vector<double> label_f1(totals.size(), 0.0);
  for (std::size_t l = 0; l < totals.size(); ++l) {
    const auto& s = totals[l];
    if (t.pooled[l]) pooled += s;
    if (s.tp + s.fp + s.fn == 0) continue;  // absent from this resample: not a label of its macro mean
    label_f1[l] = s.f1();
    sum += label_f1[l];
    ++seen;
  }
  return {pooled.f1(), seen ? sum / double(seen) : 0.0, LabelCounts::ratio(correct, n), std::move(label_f1)};
}

class LabelIndex {
 public:
  std::uint32_t operator()(const std::string& label) {
    auto [it, added] = index_.try_emplace(label, static_cast<std::uint32_t>(labels_.size()));
    if (added) labels_.push_back(label);
    return it->second;
  }
  std::vector<std::string> take() { return std::move(labels_); }

 private:
  std::map<std::string, std::uint32_t> index_;
  std::vector<std::string> labels_;
};

// NER: one pseudo-label per sentence (TP = correct, FP = predicted - correct, FN = gold - correct), so micro F1
// is 2C / (G + P), conlleval's F1.
inline CountTable count_table(const EntityF1& s) {
  CountTable t{{"entity"}, {1}, {}, {}};
  for (const auto& c : s.per_sentence) {
    t.items.push_back({{0, std::uint32_t(c.correct), std::uint32_t(c.predicted - c.correct),
                        std::uint32_t(c.gold - c.correct)}});
    t.correct.push_back(0);
  }
  return t;
}

inline CountTable count_table(const SingleLabelF1& s) {
  CountTable t;
  LabelIndex index;
  for (const auto& [gold, pred] : s.items) {
    const auto g = index(gold), p = index(pred);
    if (g == p) t.items.push_back({{g, 1, 0, 0}});
    else t.items.push_back({{g, 0, 0, 1}, {p, 0, 1, 0}});
    t.correct.push_back(gold == pred);
  }
  t.labels = index.take();
  for (const auto& l : t.labels) t.pooled.push_back(!(s.negative && *s.negative == l));
  return t;
}

inline CountTable count_table(const MultiLabelF1& s) {
  CountTable t;
  LabelIndex index;
  for (const auto& [gold, pred] : s.docs) {
    std::vector<LabelContribution> item;
    for (const auto& g : gold) item.push_back({index(g), pred.count(g) ? 1u : 0u, 0, pred.count(g) ? 0u : 1u});
    for (const auto& p : pred)
      if (!gold.count(p)) item.push_back({index(p), 0, 1, 0});
    t.items.push_back(std::move(item));
    t.correct.push_back(gold == pred);
  }
  t.labels = index.take();
  t.pooled.assign(t.labels.size(), 1);
  return t;
}

// Every table's figures on each of the B resamples, the same draws for all tables (one table: a plain bootstrap;
// two: the paired bootstrap). Tables must hold the same number of items, item i of each being the same item.
inline std::vector<std::vector<Figures>> bootstrap_figures(const std::vector<const CountTable*>& tables,
                                                           const BootstrapOptions& o) {
  require(!tables.empty(), Errc::invalid_argument, "", "tables", "nothing to resample");
  const std::size_t n = tables[0]->items.size();
  for (const auto* t : tables)
    require(t->items.size() == n, Errc::invalid_argument, "", "items", "paired runs hold different item counts");
  std::vector<std::vector<Figures>> out(tables.size());
  for_each_resample(n, o, [&](const std::vector<std::uint32_t>& w) {
    for (std::size_t k = 0; k < tables.size(); ++k) out[k].push_back(figures_of(*tables[k], w));
  });
  return out;
}

// ---------------------------------------------------------------------------------------------- JSON

inline nlohmann::json interval_json(Interval i, const char* method) {
  return {{"lo", i.lo}, {"hi", i.hi}, {"method", method}};
}

inline nlohmann::json bootstrap_settings_json(const BootstrapOptions& o, const char* unit) {
  return {{"resamples", o.resamples}, {"seed", o.seed}, {"level", kIntervalLevel}, {"unit", unit},
          {"percentile", "linear interpolation (numpy default, type 7)"}};
}

template <class Pick>
Interval figure_interval(const std::vector<Figures>& f, Pick pick) {
  std::vector<double> v;
  v.reserve(f.size());
  for (const auto& x : f) v.push_back(pick(x));
  return percentile_interval(std::move(v));
}

inline const char* unit_of(const EntityF1&) { return "sentence"; }
inline const char* unit_of(const SingleLabelF1&) { return "item"; }
inline const char* unit_of(const MultiLabelF1&) { return "document"; }

// {"ci": {...}, "bootstrap": {...}} for one run: merge into its to_json(). Null intervals for an empty run.
inline nlohmann::json score_intervals(const EntityF1& s, const BootstrapOptions& o) {
  nlohmann::json ci = nlohmann::json::object();
  if (!s.per_sentence.empty()) {
    auto t = count_table(s);
    auto f = bootstrap_figures({&t}, o)[0];
    ci["f1"] = interval_json(figure_interval(f, [](const Figures& x) { return x.micro_f1; }), "bootstrap");
  }
  return {{"ci", ci}, {"bootstrap", bootstrap_settings_json(o, unit_of(s))}};
}

template <class LabelScore>
nlohmann::json label_intervals(const LabelScore& s, std::size_t right, const char* proportion, const BootstrapOptions& o) {
  nlohmann::json ci = nlohmann::json::object();
  auto t = count_table(s);
  if (!t.items.empty()) {
    auto f = bootstrap_figures({&t}, o)[0];
    ci["micro_f1"] = interval_json(figure_interval(f, [](const Figures& x) { return x.micro_f1; }), "bootstrap");
    ci["macro_f1"] = interval_json(figure_interval(f, [](const Figures& x) { return x.macro_f1; }), "bootstrap");
    ci[proportion] = interval_json(*wilson_interval(right, t.items.size()), "wilson");
    nlohmann::json per_label = nlohmann::json::object();
    for (std::size_t l = 0; l < t.labels.size(); ++l)
      per_label[t.labels[l]] =
          interval_json(figure_interval(f, [l](const Figures& x) { return x.label_f1[l]; }), "bootstrap");
    return {{"ci", ci}, {"per_label_ci", per_label}, {"bootstrap", bootstrap_settings_json(o, unit_of(s))}};
  }
  return {{"ci", ci}, {"bootstrap", bootstrap_settings_json(o, unit_of(s))}};
}
inline nlohmann::json score_intervals(const SingleLabelF1& s, const BootstrapOptions& o) {
  return label_intervals(s, s.agree, "accuracy", o);
}
inline nlohmann::json score_intervals(const MultiLabelF1& s, const BootstrapOptions& o) {
  return label_intervals(s, s.exact, "exact_match", o);
}

// Adds "ci" and "bootstrap" to a score's JSON (resamples = 0: no intervals, the JSON unchanged).
template <class Score>
void add_intervals(nlohmann::json& j, const Score& s, const BootstrapOptions& o) {
  if (o.resamples == 0) return;
  j.update(score_intervals(s, o));
}

// Paired bootstrap of run - baseline over the same items (item i of each is the same item; the caller aligns
// them and checks the golds). "delta": {figure: {value, lo, hi}} with value the difference on the data.
inline bool same_gold(const EntityF1& a, const EntityF1& b, std::size_t i) {
  return a.per_sentence[i].gold == b.per_sentence[i].gold;
}
inline bool same_gold(const SingleLabelF1& a, const SingleLabelF1& b, std::size_t i) {
  return a.items[i].first == b.items[i].first;
}
inline bool same_gold(const MultiLabelF1& a, const MultiLabelF1& b, std::size_t i) {
  return a.docs[i].first == b.docs[i].first;
}

template <class Score>
nlohmann::json paired_intervals(const Score& baseline, const Score& run, const BootstrapOptions& o) {
  auto a = count_table(baseline), b = count_table(run);
  require(!a.items.empty() && a.items.size() == b.items.size(), Errc::invalid_argument, "", "items",
          "a paired comparison needs the same, non-empty item list in both runs");
  for (std::size_t i = 0; i < a.items.size(); ++i)  // NER: the gold entity count, the rest: the gold label(s)
    require(same_gold(baseline, run, i), Errc::invalid_argument, "", "items",
            "item " + std::to_string(i + 1) + " has another gold in the baseline: the runs are not on the same items");
  const std::vector<std::uint32_t> ones(a.items.size(), 1);
  const auto fa = figures_of(a, ones), fb = figures_of(b, ones);
  auto f = bootstrap_figures({&a, &b}, o);
  auto delta = [&](double Figures::*m) {
    std::vector<double> d;
    for (std::size_t r = 0; r < f[0].size(); ++r) d.push_back(f[1][r].*m - f[0][r].*m);
    auto i = percentile_interval(std::move(d));
    return nlohmann::json{{"value", fb.*m - fa.*m}, {"lo", i.lo}, {"hi", i.hi}};
  };
  nlohmann::json out = nlohmann::json::object();
  if constexpr (std::is_same_v<Score, EntityF1>) {
    out["f1"] = delta(&Figures::micro_f1);
  } else {
    out["micro_f1"] = delta(&Figures::micro_f1);
    out["macro_f1"] = delta(&Figures::macro_f1);
    const char* p = std::is_same_v<Score, SingleLabelF1> ? "accuracy" : "exact_match";
    out[p] = delta(&Figures::accuracy);
  }
  return {{"delta", out}, {"bootstrap", bootstrap_settings_json(o, unit_of(run))},
          {"method", "paired bootstrap (the same draws for both runs), run - baseline"}};
}

}  // namespace curebench::eval::tasks
