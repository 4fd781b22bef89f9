#pragma once
// Split verification before any model runs: counts, duplicate ids, id overlap between every pair of splits,
// how many records are labelled, the question-type mix. It fixes the seed's habit of printing a finding
// and going on as if nothing happened: the result says `passed` and carries warnings into results.json.
//  - passed = no duplicate id inside a split and no id shared by two splits (leakage);
//  - warnings (do not fail): a split with no labels ("accuracy not measurable"), a partly labelled split,
//    open_ended records whose correct_answer is free text (not machine-gradable), blank lines in a file, the same
//    question text under different ids across splits.
#include "curebench/core/json_file.hpp"
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/question.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace curebench::eval {

struct SplitCheck {
  std::string split;
  std::size_t count = 0;
  std::size_t unique_ids = 0;
  std::vector<std::string> duplicate_ids;  // each duplicated id once, in first-seen order
  std::size_t labelled = 0;
  std::size_t free_text_answers = 0;  // open_ended records with a free-text correct_answer: not machine-gradable
  std::map<std::string, std::size_t> question_types;
  std::size_t blank_lines = 0;
};

struct Overlap {
  std::string a, b;
  std::size_t count = 0;               // ids present in both splits
  std::vector<std::string> examples;   // up to 10, in split a's order
  std::size_t same_question_text = 0;  // question texts present in both under any id
};

struct Verification {
  std::vector<SplitCheck> splits;
  std::vector<Overlap> overlap;
  bool passed = true;
  std::vector<std::string> warnings;

  const SplitCheck* find(std::string_view split) const {
    for (const auto& s : splits)
      if (s.split == split) return &s;
    return nullptr;
  }
};

struct NamedSplit {
  std::string name;
  const std::vector<Question>* questions;
  std::size_t blank_lines = 0;
};

inline SplitCheck check_split(const NamedSplit& s) {
  SplitCheck c;
  c.split = s.name;
  c.blank_lines = s.blank_lines;
  std::unordered_map<std::string, std::size_t> seen;
  for (const Question& q : *s.questions) {
    ++c.count;
    if (q.labelled()) ++c.labelled;
    if (q.reference_answer) ++c.free_text_answers;
    ++c.question_types[std::string(to_string(q.type))];
    if (++seen[q.id] == 2) c.duplicate_ids.push_back(q.id);
  }
  c.unique_ids = seen.size();
  return c;
}

inline Overlap check_overlap(const NamedSplit& a, const NamedSplit& b) {
  Overlap o;
  o.a = a.name;
  o.b = b.name;
  std::unordered_set<std::string> ids_b, texts_b;
  for (const Question& q : *b.questions) {
    ids_b.insert(q.id);
    texts_b.insert(q.question);
  }
  std::unordered_set<std::string> counted_ids, counted_texts;
  for (const Question& q : *a.questions) {
    if (ids_b.count(q.id) && counted_ids.insert(q.id).second) {
      ++o.count;
      if (o.examples.size() < 10) o.examples.push_back(q.id);
    }
    if (texts_b.count(q.question) && counted_texts.insert(q.question).second) ++o.same_question_text;
  }
  return o;
}

inline Verification verify_splits(const std::vector<NamedSplit>& splits) {
  Verification v;
  for (const auto& s : splits) {
    SplitCheck c = check_split(s);
    if (!c.duplicate_ids.empty()) {
      v.passed = false;
      v.warnings.push_back(s.name + " split has " + std::to_string(c.duplicate_ids.size()) + " duplicated ids");
    }
    if (c.count > 0 && c.labelled == 0)
      v.warnings.push_back(s.name + " split has no labels: accuracy not measurable");
    else if (c.labelled > 0 && c.labelled < c.count)
      v.warnings.push_back(s.name + " split is partly labelled (" + std::to_string(c.labelled) + " of " +
                           std::to_string(c.count) + "): accuracy is over the labelled records only");
    if (c.free_text_answers > 0)
      v.warnings.push_back(s.name + " split has " + std::to_string(c.free_text_answers) +
                           " open_ended records with a free-text correct_answer: not machine-gradable, left out of accuracy");
    if (c.count == 0) v.warnings.push_back(s.name + " split is empty");
    if (c.blank_lines > 0)
      v.warnings.push_back(s.name + " file has " + std::to_string(c.blank_lines) + " blank lines (not records)");
    v.splits.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < splits.size(); ++i)
    for (std::size_t j = i + 1; j < splits.size(); ++j) {
      Overlap o = check_overlap(splits[i], splits[j]);
      if (o.count > 0) {
        v.passed = false;
        v.warnings.push_back(std::to_string(o.count) + " ids appear in both " + o.a + " and " + o.b + " (leakage)");
      }
      if (o.same_question_text > 0)
        v.warnings.push_back(std::to_string(o.same_question_text) + " question texts appear in both " + o.a + " and " +
                             o.b + " under different or equal ids");
      v.overlap.push_back(std::move(o));
    }
  return v;
}

inline Verification verify_splits(const std::vector<const Dataset*>& datasets) {
  std::vector<NamedSplit> named;
  for (const Dataset* d : datasets) named.push_back({d->split, &d->questions, d->blank_lines});
  return verify_splits(named);
}

// A split that repeats an id would give every row of that id one answer (the samples log and the submission
// are keyed by id), so a run refuses it before any model loads, naming the ids and their lines:
inline std::vector<std::pair<std::string, std::vector<std::size_t>>> duplicate_id_lines(const std::vector<Question>& qs) {
  std::unordered_map<std::string, std::size_t> index;
  std::vector<std::pair<std::string, std::vector<std::size_t>>> all;
  for (const Question& q : qs) {
    auto [it, fresh] = index.try_emplace(q.id, all.size());
    if (fresh) all.push_back({q.id, {}});
    all[it->second].second.push_back(q.line);
  }
  std::vector<std::pair<std::string, std::vector<std::size_t>>> out;
  for (auto& e : all)
    if (e.second.size() > 1) out.push_back(std::move(e));
  return out;
}

inline void refuse_duplicate_ids(const Dataset& d) {
  auto dups = duplicate_id_lines(d.questions);
  if (dups.empty()) return;
  std::string list;
  for (std::size_t i = 0; i < dups.size() && i < 20; ++i) {
    std::string lines;
    for (auto l : dups[i].second) lines += (lines.empty() ? "" : ", ") + std::to_string(l);
    list += (i ? ", " : "") + dump_json(nlohmann::json(dups[i].first)) + " (lines " + lines + ")";
  }
  if (dups.size() > 20) list += ", ... (" + std::to_string(dups.size() - 20) + " more)";
  throw Error(Errc::dataset, d.path, "id",
              std::to_string(dups.size()) + " duplicated id(s) in split " + d.split + ": " + list +
                  "; every row of an id would get one answer. Make the ids unique, or pass --allow-duplicate-ids "
                  "(run config \"allow_duplicate_ids\": true) to run each row on its own");
}

// The override: every occurrence after the first is run under the distinct key "<id>#line<N>" (its samples record),
// and keeps the file's id for the submission (Question::source_id).
inline void separate_duplicate_ids(Dataset& d) {
  std::unordered_set<std::string> ids;
  for (const Question& q : d.questions) ids.insert(q.id);
  std::unordered_set<std::string> seen;
  for (Question& q : d.questions) {
    if (seen.insert(q.id).second) continue;
    std::string key = q.id + "#line" + std::to_string(q.line);
    if (ids.count(key) || !seen.insert(key).second)
      throw Error(Errc::dataset, d.path, line_field(q.line, "id"), "cannot run duplicated id " + dump_json(nlohmann::json(q.id)) +
                                                                      " on its own: the key " + key + " is taken");
    q.source_id = q.id;
    q.id = std::move(key);
  }
}

inline void to_json(nlohmann::json& j, const SplitCheck& c) {
  j = {{"count", c.count}, {"unique_ids", c.unique_ids}, {"duplicate_ids", c.duplicate_ids},
       {"labelled", c.labelled}, {"free_text_answers", c.free_text_answers}, {"question_types", c.question_types},
       {"blank_lines", c.blank_lines}};
}

inline void to_json(nlohmann::json& j, const Overlap& o) {
  j = {{"a", o.a}, {"b", o.b}, {"count", o.count}, {"examples", o.examples},
       {"same_question_text", o.same_question_text}};
}

// Shape of results.json models[].verification (docs/results-schema.md).
inline void to_json(nlohmann::json& j, const Verification& v) {
  nlohmann::json splits = nlohmann::json::object();
  for (const auto& s : v.splits) splits[s.split] = s;
  j = {{"splits", std::move(splits)}, {"overlap", v.overlap}, {"passed", v.passed}, {"warnings", v.warnings}};
}

}  // namespace curebench::eval
