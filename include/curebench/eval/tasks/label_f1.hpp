#pragma once
// Label F1 for relation extraction (one label per item) and multi-label classification (a label set per
// document), with scikit-learn's f1_score definitions:
//  - a label's F1 = 2TP / (2TP + FP + FN), and 0 when TP = 0 (sklearn's zero_division result);
//  - macro_f1 = unweighted mean of per-label F1 over every label that occurs in gold or pred (a negative
//    label such as ChemProt's "false" included);
//  - micro_f1 = the same formula on TP/FP/FN pooled: for single-label tasks over the labels other than the
//    negative one (BLURB's ChemProt convention; all labels when there is none, which makes it accuracy), for
//    multi-label over every (document, label) pair.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace curebench::eval::tasks {

struct LabelCounts {
  std::size_t tp = 0, fp = 0, fn = 0;

  static double ratio(std::size_t num, std::size_t den) { return den ? double(num) / double(den) : 0.0; }
  double precision() const { return ratio(tp, tp + fp); }
  double recall() const { return ratio(tp, tp + fn); }
  double f1() const { return tp ? ratio(2 * tp, 2 * tp + fp + fn) : 0.0; }
  std::size_t support() const { return tp + fn; }  // gold occurrences
  LabelCounts& operator+=(const LabelCounts& o) {
    tp += o.tp, fp += o.fp, fn += o.fn;
    return *this;
  }
  nlohmann::json to_json() const {
    return {{"tp", tp}, {"fp", fp}, {"fn", fn}, {"support", support()},
            {"precision", precision()}, {"recall", recall()}, {"f1", f1()}};
  }
};

using PerLabel = std::map<std::string, LabelCounts>;

inline double macro_f1(const PerLabel& per_label) {
  if (per_label.empty()) return 0.0;
  double sum = 0;
  for (const auto& [label, c] : per_label) sum += c.f1();
  return sum / double(per_label.size());
}

inline nlohmann::json per_label_json(const PerLabel& per_label) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [label, c] : per_label) j[label] = c.to_json();
  return j;
}

// One gold and one predicted label per item (ChemProt CPR:3..9/false, GAD positive/negative).
struct SingleLabelF1 {
  std::optional<std::string> negative;  // excluded from micro_f1 only
  PerLabel per_label;
  std::size_t n = 0, agree = 0;
  std::vector<std::pair<std::string, std::string>> items;  // (gold, pred) in add() order, for bootstrap.hpp

  void add(const std::string& gold, const std::string& pred) {
    ++n;
    items.emplace_back(gold, pred);
    if (gold == pred) {
      ++agree;
      ++per_label[gold].tp;
    } else {
      ++per_label[gold].fn;
      ++per_label[pred].fp;
    }
  }
  LabelCounts pooled() const {
    LabelCounts sum;
    for (const auto& [label, c] : per_label)
      if (label != negative) sum += c;
    return sum;
  }
  double micro_f1() const { return pooled().f1(); }
  double accuracy() const { return LabelCounts::ratio(agree, n); }
  // A negative label that no item has as gold or prediction is most likely a typo ("False" for "false"):
  // micro_f1 then pools every label. Reported, so a caller can say so.
  bool negative_seen() const { return negative && per_label.count(*negative); }
  nlohmann::json to_json() const {
    auto p = pooled();
    return {{"n", n}, {"micro_f1", p.f1()}, {"micro_precision", p.precision()}, {"micro_recall", p.recall()},
            {"macro_f1", macro_f1(per_label)}, {"accuracy", accuracy()},
            {"negative", negative ? nlohmann::json(*negative) : nlohmann::json(nullptr)},
            {"negative_seen", negative ? nlohmann::json(negative_seen()) : nlohmann::json(nullptr)},
            {"labels", per_label.size()}, {"per_label", per_label_json(per_label)}};
  }
};

// A set of labels per document (HoC hallmarks, LitCovid topics); an empty set is a valid answer.
struct MultiLabelF1 {
  PerLabel per_label;
  std::size_t n = 0, exact = 0;
  std::vector<std::pair<std::set<std::string>, std::set<std::string>>> docs;  // (gold, pred), for bootstrap.hpp

  void add(const std::set<std::string>& gold, const std::set<std::string>& pred) {
    ++n;
    docs.emplace_back(gold, pred);
    exact += gold == pred;
    for (const auto& g : gold) ++(pred.count(g) ? per_label[g].tp : per_label[g].fn);
    for (const auto& p : pred)
      if (!gold.count(p)) ++per_label[p].fp;
  }
  LabelCounts pooled() const {
    LabelCounts sum;
    for (const auto& [label, c] : per_label) sum += c;
    return sum;
  }
  double micro_f1() const { return pooled().f1(); }
  nlohmann::json to_json() const {
    auto p = pooled();
    return {{"n", n}, {"micro_f1", p.f1()}, {"micro_precision", p.precision()}, {"micro_recall", p.recall()},
            {"macro_f1", macro_f1(per_label)}, {"exact_match", LabelCounts::ratio(exact, n)},
            {"labels", per_label.size()}, {"per_label", per_label_json(per_label)}};
  }
};

}  // namespace curebench::eval::tasks
