#pragma once
// Entity-level precision / recall / F1 (CoNLL-2000 conlleval, BLURB's NER metric): a predicted entity is
// correct only when its type and both boundaries equal a gold entity's. Counts are pooled over every sentence
// (micro); precision = correct / predicted, recall = correct / gold, F1 = 2PR / (P + R) = 2·correct /
// (gold + predicted); each is 0 when its denominator is 0, as conlleval prints it. Per-type figures are the
// same counts restricted to one type.
#include "curebench/eval/tasks/iob2.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace curebench::eval::tasks {

struct EntityCounts {
  std::size_t gold = 0, predicted = 0, correct = 0;

  static double ratio(std::size_t num, std::size_t den) { return den ? double(num) / double(den) : 0.0; }
  double precision() const { return ratio(correct, predicted); }
  double recall() const { return ratio(correct, gold); }
  double f1() const { return ratio(2 * correct, gold + predicted); }
  nlohmann::json to_json() const {
    return {{"precision", precision()}, {"recall", recall()}, {"f1", f1()},
            {"gold", gold}, {"predicted", predicted}, {"correct", correct}};
  }
};

struct EntityF1 {
  EntityCounts all;
  std::map<std::string, EntityCounts> per_type;
  std::vector<EntityCounts> per_sentence;  // in add() order: what the bootstrap resamples (bootstrap.hpp)
  std::size_t sentences = 0, tokens = 0, tokens_correct = 0;  // tokens_correct: gold tag == predicted tag

  // One sentence's entities. Spans from spans_from_tags are distinct, so a sorted intersection counts matches.
  void add(std::vector<Span> gold, std::vector<Span> pred) {
    ++sentences;
    std::sort(gold.begin(), gold.end());
    std::sort(pred.begin(), pred.end());
    for (const auto& s : gold) ++all.gold, ++per_type[s.type].gold;
    for (const auto& s : pred) ++all.predicted, ++per_type[s.type].predicted;
    std::vector<Span> both;
    std::set_intersection(gold.begin(), gold.end(), pred.begin(), pred.end(), std::back_inserter(both));
    for (const auto& s : both) ++all.correct, ++per_type[s.type].correct;
    per_sentence.push_back({gold.size(), pred.size(), both.size()});
  }

  // One sentence as two tag columns of equal length.
  template <class Tags>
  void add_tags(const Tags& gold, const Tags& pred) {
    require(gold.size() == pred.size(), Errc::invalid_argument, "", "tags", "gold and predicted tag counts differ");
    tokens += gold.size();
    for (std::size_t i = 0; i < gold.size(); ++i) tokens_correct += gold[i] == pred[i];
    add(spans_from_tags(gold), spans_from_tags(pred));
  }

  nlohmann::json to_json() const {
    nlohmann::json j = all.to_json();
    nlohmann::json types = nlohmann::json::object();
    for (const auto& [type, c] : per_type) types[type] = c.to_json();
    j["per_type"] = types;
    j["sentences"] = sentences;
    j["tokens"] = tokens;
    j["token_accuracy"] = EntityCounts::ratio(tokens_correct, tokens);
    return j;
  }
};

}  // namespace curebench::eval::tasks
