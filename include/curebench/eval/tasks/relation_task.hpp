#pragma once
// Relation extraction as a generation task: the model names the relation of one masked pair; the parser reads
// the first label of the dataset's label set in its answer; scored with label_f1.hpp (micro F1 over the labels
// other than the negative one - BLURB - and macro F1 over all - Chen et al. 2025 - both reported).
// Parser rules (docs/study.md "Relation answers"):
//  - the answer is answer_lines() of the output (up to a blank line or a new "Sentence:"/"Task:" line);
//  - the label or alias that starts earliest wins (ties: the longest), matched ASCII-case-insensitively and only
//    as a whole word (no letter, digit or ':' right before or after: "CPR:4" is not read in "CPR:41");
//  - no label found: the prediction is the negative label (a model that says nothing usable has claimed no
//    relation) and the item is counted in parse_failures, so the two are never confused in a report.
#include "curebench/eval/chat_message.hpp"
#include "curebench/eval/tasks/answer_text.hpp"
#include "curebench/eval/tasks/bionlp_data.hpp"
#include "curebench/eval/tasks/label_f1.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curebench::eval::tasks {

// What the prompt says about a dataset: the question, each label's meaning, and words read as a label.
struct RelationPromptTable {
  std::string_view dataset, question;
  std::vector<std::pair<std::string_view, std::string_view>> meanings;  // label -> meaning shown to the model
  std::vector<std::pair<std::string_view, std::string_view>> aliases;   // word -> label
};

inline const RelationPromptTable& chemprot_prompt() {
  static const RelationPromptTable t{
      "ChemProt",
      "Task: classify the relation the sentence states between the chemical @CHEMICAL$ and the gene or protein "
      "@GENE$. Answer with exactly one label:",
      {{"CPR:3", "upregulator or activator"}, {"CPR:4", "downregulator or inhibitor"}, {"CPR:5", "agonist"},
       {"CPR:6", "antagonist"}, {"CPR:9", "substrate or product of"}, {"false", "none of these"}},
      {}};
  return t;
}

inline const RelationPromptTable& gad_prompt() {
  static const RelationPromptTable t{
      "GAD",
      "Task: does the sentence state an association between the gene @GENE$ and the disease @DISEASE$? Answer "
      "with exactly one label:",
      {{"positive", "an association is stated"}, {"negative", "no association is stated"}},
      {{"yes", "positive"}, {"no", "negative"}}};
  return t;
}

struct RelationPrediction {
  std::string label;
  bool parsed = false;
};

inline bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '_';
}

inline RelationPrediction parse_relation_answer(std::string_view output, const RelationLabels& labels,
                                                const RelationPromptTable& table) {
  std::string text;
  for (auto line : answer_lines(output)) {
    for (char c : line) text += ascii_lower(c);
    text += '\n';
  }
  std::vector<std::pair<std::string, std::string>> words;  // lower-cased word -> label
  for (auto l : labels.labels) {
    std::string w;
    for (char c : l) w += ascii_lower(c);
    words.push_back({w, std::string(l)});
  }
  for (auto [w, l] : table.aliases) words.push_back({std::string(w), std::string(l)});
  std::size_t best_at = std::string::npos, best_len = 0;
  std::string best;
  for (const auto& [w, l] : words)
    for (std::size_t at = text.find(w); at != std::string::npos; at = text.find(w, at + 1)) {
      const bool bounded = (at == 0 || !word_char(text[at - 1])) &&
                           (at + w.size() == text.size() || !word_char(text[at + w.size()]));
      if (!bounded) continue;
      if (at < best_at || (at == best_at && w.size() > best_len)) {
        best_at = at;
        best_len = w.size();
        best = l;
      }
      break;  // later occurrences of this word start later
    }
  if (best_at == std::string::npos) return {std::string(labels.negative), false};
  return {best, true};
}

struct RelationScore {
  SingleLabelF1 f1;
  std::size_t parse_failures = 0;
  void add(const RelationItem& item, const RelationPrediction& p) {
    f1.add(item.label, p.label);
    parse_failures += !p.parsed;
  }
  nlohmann::json to_json() const {
    auto j = f1.to_json();
    j["parse_failures"] = parse_failures;
    return j;
  }
};

struct RelationTask {
  static constexpr std::string_view name = "re";
  using Item = RelationItem;
  using Prediction = RelationPrediction;
  using Score = RelationScore;
  const RelationLabels* labels = &chemprot_labels();
  const RelationPromptTable* table = &chemprot_prompt();

  std::string question(const RelationItem& r) const {
    std::string q(table->question);
    for (auto [label, meaning] : table->meanings) q += "\n" + std::string(label) + " = " + std::string(meaning);
    return q + "\nSentence: " + r.text + "\nLabel:";
  }
  Conversation prompt(const RelationItem& r, const std::vector<const RelationItem*>& examples) const {
    Conversation c;
    for (const auto* e : examples) {
      c.push_back({"user", question(*e)});
      c.push_back({"assistant", e->label});
    }
    c.push_back({"user", question(r)});
    return c;
  }
  RelationPrediction parse(const RelationItem&, std::string_view output) const {
    return parse_relation_answer(output, *labels, *table);
  }
  nlohmann::json prediction_json(const RelationItem& r, const RelationPrediction& p) const {
    return {{"id", r.id}, {"gold", r.label}, {"pred", p.label}, {"parsed", p.parsed}};
  }
  Score score() const {
    Score s;
    s.f1.negative = std::string(labels->negative);
    return s;
  }
};

}  // namespace curebench::eval::tasks
