#pragma once
// Multi-label document classification as a generation task: the prompt lists the label set, the model answers
// with every label that applies, one per line; scored with MultiLabelF1 (label_f1.hpp: label-wise macro F1 and
// micro F1 over (document, label) pairs, exact match).
// Parser rules (docs/study.md "Multi-label answers -> label set"):
//  - the answer is answer_lines() of the output (up to a blank line or a new "Sentence:"/"Task:" line);
//  - the answer's ASCII letters are lower-cased and every run of whitespace becomes one space; so are the labels;
//  - every label of the task's set found in it as a whole phrase (no letter, digit or '_' right before or after)
//    is predicted, wherever it stands and however many times;
//  - where two found labels overlap in the text, the longer wins (ties: the earlier): a set with "cancer" and
//    "lung cancer" reads "lung cancer" as that one label;
//  - an answer that is "none" or "n/a" (after rule 2, trailing '.' dropped) is the empty set, as is an answer
//    with no label of the set in it; the latter is counted in answers_without_a_label, so "the model said no
//    label" and "the parser found none" are never confused in a report.
#include "curebench/eval/chat_message.hpp"
#include "curebench/eval/tasks/answer_text.hpp"
#include "curebench/eval/tasks/label_f1.hpp"
#include "curebench/eval/tasks/multilabel_data.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval::tasks {

struct MultiLabelPrediction {
  std::set<std::string> labels;
  bool said_none = false, parsed = false;  // parsed: at least one label found, or an explicit none
};

// Lower-cased ASCII, whitespace runs as one space, trimmed.
inline std::string fold_label_text(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : trim(s)) {
    if (is_space(c)) {
      space = true;
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += ascii_lower(c);
  }
  return out;
}

inline MultiLabelPrediction parse_multilabel_answer(std::string_view output, const std::vector<std::string>& labels) {
  std::string joined;
  for (auto line : answer_lines(output)) joined += std::string(line) + "\n";
  const std::string text = fold_label_text(joined);
  MultiLabelPrediction p;
  std::string bare = text;
  while (!bare.empty() && bare.back() == '.') bare.pop_back();
  if (bare == "none" || bare == "n/a") {
    p.said_none = p.parsed = true;
    return p;
  }
  auto boundary = [](char c) {
    return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
  };
  struct Hit {
    std::size_t at, len, label;
  };
  std::vector<Hit> hits;
  for (std::size_t l = 0; l < labels.size(); ++l) {
    const auto w = fold_label_text(labels[l]);
    if (w.empty()) continue;
    for (std::size_t at = text.find(w); at != std::string::npos; at = text.find(w, at + 1))
      if ((at == 0 || boundary(text[at - 1])) && (at + w.size() == text.size() || boundary(text[at + w.size()])))
        hits.push_back({at, w.size(), l});
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.len != b.len ? a.len > b.len : a.at < b.at; });
  std::vector<bool> taken(text.size(), false);
  for (const auto& h : hits) {
    if (std::any_of(taken.begin() + std::ptrdiff_t(h.at), taken.begin() + std::ptrdiff_t(h.at + h.len), [](bool b) { return b; }))
      continue;
    std::fill(taken.begin() + std::ptrdiff_t(h.at), taken.begin() + std::ptrdiff_t(h.at + h.len), true);
    p.labels.insert(labels[h.label]);
  }
  p.parsed = !p.labels.empty();
  return p;
}

struct MultiLabelScore {
  MultiLabelF1 f1;
  std::size_t unparsed = 0;
  void add(const MultiLabelItem& d, const MultiLabelPrediction& p) {
    f1.add(d.labels, p.labels);
    unparsed += !p.parsed;
  }
  nlohmann::json to_json() const {
    auto j = f1.to_json();
    j["answers_without_a_label"] = unparsed;
    return j;
  }
};

struct MultiLabelTask {
  static constexpr std::string_view name = "multilabel";
  using Item = MultiLabelItem;
  using Prediction = MultiLabelPrediction;
  using Score = MultiLabelScore;
  std::vector<std::string> labels;  // the set the prompt lists and the parser reads
  std::string noun = "document";   // what the prompt calls the text

  std::string question(const MultiLabelItem& d) const {
    std::string q = "Task: choose every label that applies to the " + noun + " from the list below. Answer with the "
                    "labels, one per line, copied exactly as listed. If none applies, answer None.\nLabels:";
    for (const auto& l : labels) q += "\n- " + l;
    return q + "\nText: " + d.text + "\nAnswer:";
  }
  std::string answer(const MultiLabelItem& d) const {
    std::string out;
    for (const auto& l : d.labels) out += (out.empty() ? "" : "\n") + l;
    return out.empty() ? "None" : out;
  }
  Conversation prompt(const MultiLabelItem& d, const std::vector<const MultiLabelItem*>& examples) const {
    Conversation c;
    for (const auto* e : examples) {
      c.push_back({"user", question(*e)});
      c.push_back({"assistant", answer(*e)});
    }
    c.push_back({"user", question(d)});
    return c;
  }
  MultiLabelPrediction parse(const MultiLabelItem&, std::string_view output) const {
    return parse_multilabel_answer(output, labels);
  }
  nlohmann::json prediction_json(const MultiLabelItem& d, const MultiLabelPrediction& p) const {
    return {{"id", d.id},
            {"gold", std::vector<std::string>(d.labels.begin(), d.labels.end())},
            {"pred", std::vector<std::string>(p.labels.begin(), p.labels.end())},
            {"parsed", p.parsed}};
  }
  Score score() const { return {}; }
};

}  // namespace curebench::eval::tasks
