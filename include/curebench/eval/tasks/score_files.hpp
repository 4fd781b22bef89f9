#pragma once
// Readers for predictions a user brings to `curebench score` (docs/study.md "Scoring your own predictions").
// Every line is validated; the first bad one stops the read with an Errc::dataset error naming file, line and
// field. Lines are read through the bounded line reader (CRLF accepted, a UTF-8 BOM dropped).
//  - CoNLL (NER): `token ... gold pred`, whitespace-separated, at least 3 columns and the same count on every
//    line (conlleval refuses a changing count too); the last two columns are IOB2 tags. A blank line ends a
//    sentence; so does a line whose first column is "-X-" (conlleval's boundary token).
//  - JSONL (RE): {"id": string|integer, "gold": "<label>", "pred": "<label>"} per line.
//  - JSONL (multi-label): {"id": ..., "gold": ["<label>", ...], "pred": [...]}; a label twice in one list is an
//    error (a set has no duplicates), an empty list is a valid "no label".
// Blank JSONL lines are skipped; unknown keys are allowed (a user's file may carry the text or the raw output).
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/question.hpp"
#include "curebench/eval/tasks/entity_f1.hpp"
#include "curebench/eval/tasks/label_f1.hpp"
#include "curebench/eval/tasks/line_formats.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval::tasks {

inline std::vector<std::string_view> split_whitespace(std::string_view line) {
  std::vector<std::string_view> out;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; };
  for (std::size_t i = 0; i < line.size();) {
    while (i < line.size() && space(line[i])) ++i;
    std::size_t start = i;
    while (i < line.size() && !space(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

inline EntityF1 score_conll_file(const std::string& path) {
  EntityF1 score;
  std::vector<std::string> gold, pred;
  std::size_t columns = 0, first_line = 0;
  auto flush = [&] {
    if (!gold.empty()) score.add_tags(gold, pred);
    gold.clear();
    pred.clear();
  };
  for_each_line(
      path,
      [&](std::size_t line_no, std::string_view text) {
        auto cols = split_whitespace(text);
        if (cols.empty()) return flush();
        if (columns == 0) {
          require(cols.size() >= 3, Errc::dataset, path, line_field(line_no, "columns"),
                  "expected 'token ... gold pred' (at least 3 whitespace-separated columns), found " +
                      std::to_string(cols.size()));
          columns = cols.size();
          first_line = line_no;
        }
        require(cols.size() == columns, Errc::dataset, path, line_field(line_no, "columns"),
                "expected " + std::to_string(columns) + " columns as on line " + std::to_string(first_line) +
                    ", found " + std::to_string(cols.size()));
        if (cols[0] == "-X-") return flush();
        const std::string gold_field = "gold tag (column " + std::to_string(columns - 1) + ")";
        const std::string pred_field = "predicted tag (column " + std::to_string(columns) + ")";
        require_tag(cols[columns - 2], path, line_field(line_no, gold_field));
        require_tag(cols[columns - 1], path, line_field(line_no, pred_field));
        gold.emplace_back(cols[columns - 2]);
        pred.emplace_back(cols[columns - 1]);
      },
      std::size_t{1} << 20);
  flush();
  require(score.tokens > 0, Errc::dataset, path, "", "no token lines (expected 'token ... gold pred' per line)");
  return score;
}

inline std::string label_field(const nlohmann::json& j, std::string_view key, const std::string& path,
                               std::size_t line_no) {
  auto it = j.find(key);
  require(it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty(), Errc::dataset, path,
          line_field(line_no, key),
          "expected a non-empty label string, found " +
              std::string(it == j.end() ? "nothing" : it->is_string() ? "an empty string" : it->type_name()));
  return it->get<std::string>();
}

inline std::set<std::string> label_set_field(const nlohmann::json& j, std::string_view key, const std::string& path,
                                             std::size_t line_no) {
  auto it = j.find(key);
  require(it != j.end() && it->is_array(), Errc::dataset, path, line_field(line_no, key),
          std::string("expected an array of label strings, found ") + (it == j.end() ? "nothing" : it->type_name()));
  std::set<std::string> labels;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    const std::string field = std::string(key) + "[" + std::to_string(i) + "]";
    require(v.is_string() && !v.get_ref<const std::string&>().empty(), Errc::dataset, path, line_field(line_no, field),
            std::string("expected a non-empty label string, found ") + (v.is_string() ? "an empty string" : v.type_name()));
    require(labels.insert(v.get<std::string>()).second, Errc::dataset, path, line_field(line_no, field),
            "label '" + v.get<std::string>() + "' appears twice in one set");
  }
  return labels;
}

// Where each scored item came from: its id (as JSON text, so 1 and "1" differ) and line, in add() order.
struct ItemKeys {
  std::vector<std::string> ids;
  std::vector<std::size_t> lines;
  void add(const nlohmann::json& j, std::size_t line_no) {
    ids.push_back(j.at("id").dump());
    lines.push_back(line_no);
  }
};

inline SingleLabelF1 score_label_jsonl(const std::string& path, std::optional<std::string> negative = std::nullopt,
                                       ItemKeys* keys = nullptr) {
  SingleLabelF1 score;
  score.negative = std::move(negative);
  for_each_jsonl_object(path, [&](std::size_t line_no, const nlohmann::json& j) {
    auto gold = label_field(j, "gold", path, line_no);
    score.add(gold, label_field(j, "pred", path, line_no));
    if (keys) keys->add(j, line_no);
  });
  return score;
}

inline MultiLabelF1 score_multilabel_jsonl(const std::string& path, ItemKeys* keys = nullptr) {
  MultiLabelF1 score;
  for_each_jsonl_object(path, [&](std::size_t line_no, const nlohmann::json& j) {
    auto gold = label_set_field(j, "gold", path, line_no);
    score.add(gold, label_set_field(j, "pred", path, line_no));
    if (keys) keys->add(j, line_no);
  });
  return score;
}

// For a paired comparison (bootstrap.hpp paired_intervals): the baseline's items re-added in the run's order,
// matched by id. Both files must hold the same ids, each once, with the same gold; the first mismatch is an
// Errc::dataset error naming the file, line and field.
template <class Score>
Score align_by_id(const Score& run, const ItemKeys& run_keys, const std::string& run_path, const Score& baseline,
                  const ItemKeys& base_keys, const std::string& base_path) {
  auto item = [](const Score& s, std::size_t k) -> const auto& {
    if constexpr (requires { s.docs; }) return s.docs[k];
    else return s.items[k];
  };
  std::map<std::string, std::size_t> where;
  for (std::size_t i = 0; i < base_keys.ids.size(); ++i)
    require(where.emplace(base_keys.ids[i], i).second, Errc::dataset, base_path, line_field(base_keys.lines[i], "id"),
            "id " + base_keys.ids[i] + " appears twice (a paired comparison matches items by id)");
  std::set<std::string> run_ids;
  for (std::size_t i = 0; i < run_keys.ids.size(); ++i) {
    require(run_ids.insert(run_keys.ids[i]).second, Errc::dataset, run_path, line_field(run_keys.lines[i], "id"),
            "id " + run_keys.ids[i] + " appears twice (a paired comparison matches items by id)");
    require(where.count(run_keys.ids[i]), Errc::dataset, base_path, "id",
            "has no item with id " + run_keys.ids[i] + " (" + run_path + " line " + std::to_string(run_keys.lines[i]) +
                "): a paired comparison needs the same items in both files");
  }
  for (std::size_t i = 0; i < base_keys.ids.size(); ++i)
    require(run_ids.count(base_keys.ids[i]), Errc::dataset, base_path, line_field(base_keys.lines[i], "id"),
            "id " + base_keys.ids[i] + " is not in " + run_path + ": a paired comparison needs the same items in both files");
  Score out;
  if constexpr (requires { out.negative; }) out.negative = baseline.negative;
  for (std::size_t i = 0; i < run_keys.ids.size(); ++i) {
    const std::size_t k = where.at(run_keys.ids[i]);
    const auto& [gold, pred] = item(baseline, k);
    require(gold == item(run, i).first, Errc::dataset, base_path, line_field(base_keys.lines[k], "gold"),
            "differs from the gold of id " + run_keys.ids[i] + " in " + run_path + " (line " +
                std::to_string(run_keys.lines[i]) + "): a paired comparison needs the same items");
    out.add(gold, pred);
  }
  return out;
}

}  // namespace curebench::eval::tasks
