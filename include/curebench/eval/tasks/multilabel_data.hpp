#pragma once
// Multi-label document classification data (the study's HoC / LitCovid family; docs/study.md "Multi-label").
// No permissively licensed multi-label set is shipped (HoC is GPL-3.0, LitCovid's licence is unknown), so a
// user converts their own copy into the project's multi-label JSONL, one document a line:
//     {"id": "<string>" | <integer>, "text": "<the document>", "labels": ["<label>", ...]}
// (an empty list is a document with no label). read_multilabel_jsonl validates every line (a string or integer
// id, a non-empty text, labels non-empty strings, none twice); the first bad line is an Errc::dataset error naming
// file, line and field.
// The converter reads HoC in the TSV shape of github qingyu-qc/gpt_bionlp_benchmark Benchmarks/Hoc/datasets
// ({train,dev,test}.tsv, hoc-sample200.tsv; ../shared/datasets/bionlp/README.md): the header `pmid<TAB>text<TAB>labels`,
// then one document a line, its hallmarks `;`-separated in the third column (an empty column: no hallmark).
// Every label must be one of the 10 hallmarks (hoc_labels()), which catches a file of another set.
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/question.hpp"
#include "curebench/eval/tasks/answer_text.hpp"
#include "curebench/tokenizer/utf8.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval::tasks {

struct MultiLabelItem {
  std::string id, text;
  std::set<std::string> labels;
};
inline std::string item_id(const MultiLabelItem& d) { return d.id; }
inline std::string item_text(const MultiLabelItem& d) { return d.text; }

// The 10 hallmarks of cancer as HoC's TSV spells them (Hanahan & Weinberg 2011; Baker et al. 2016).
inline const std::vector<std::string>& hoc_labels() {
  static const std::vector<std::string> l{
      "activating invasion and metastasis", "avoiding immune destruction",      "cellular energetics",
      "enabling replicative immortality",   "evading growth suppressors",       "genomic instability and mutation",
      "inducing angiogenesis",              "resisting cell death",             "sustaining proliferative signaling",
      "tumor promoting inflammation"};
  return l;
}

inline std::vector<MultiLabelItem> read_multilabel_jsonl(const std::string& path) {
  std::vector<MultiLabelItem> out;
  for_each_line(
      path,
      [&](std::size_t line_no, std::string_view text) {
        if (is_blank(text)) return;
        nlohmann::json j;
        try {
          j = parse_json_text(text, path, JsonLimits{std::size_t{1} << 22, 16});
        } catch (const Error& e) {
          throw Error(Errc::dataset, path, line_field(line_no, e.field()), e.message());
        }
        require(j.is_object(), Errc::dataset, path, line_field(line_no, ""),
                std::string("expected a JSON object {\"id\", \"text\", \"labels\"}, found ") + j.type_name());
        auto id = j.find("id");
        require(id != j.end() && (id->is_string() || id->is_number_integer()), Errc::dataset, path,
                line_field(line_no, "id"), "expected a string or integer id");
        auto t = j.find("text");
        require(t != j.end() && t->is_string() && !trim(t->get_ref<const std::string&>()).empty(), Errc::dataset, path,
                line_field(line_no, "text"), "expected the document as a non-empty string");
        auto labels = j.find("labels");
        require(labels != j.end() && labels->is_array(), Errc::dataset, path, line_field(line_no, "labels"),
                "expected an array of label strings (empty: no label)");
        MultiLabelItem item{id->is_string() ? id->get<std::string>() : id->dump(), t->get<std::string>(), {}};
        for (std::size_t i = 0; i < labels->size(); ++i) {
          const auto& v = (*labels)[i];
          const auto field = line_field(line_no, "labels[" + std::to_string(i) + "]");
          require(v.is_string() && !trim(v.get_ref<const std::string&>()).empty(), Errc::dataset, path, field,
                  "expected a non-empty label string");
          require(item.labels.insert(v.get<std::string>()).second, Errc::dataset, path, field,
                  "label '" + v.get<std::string>() + "' appears twice in one document");
        }
        out.push_back(std::move(item));
      },
      std::size_t{1} << 22);
  require(!out.empty(), Errc::dataset, path, "", "no documents");
  return out;
}

inline std::vector<MultiLabelItem> read_hoc_tsv(const std::string& path) {
  std::vector<MultiLabelItem> out;
  const auto& known = hoc_labels();
  for_each_line(
      path,
      [&](std::size_t line_no, std::string_view text) {
        if (line_no == 1) {
          require(text == "pmid\ttext\tlabels", Errc::dataset, path, line_field(1, "header"),
                  "expected the HoC header 'pmid<TAB>text<TAB>labels'");
          return;
        }
        if (text.empty()) return;
        std::array<std::string_view, 3> col;
        std::size_t start = 0;
        for (std::size_t c = 0; c < 3; ++c) {
          const auto tab = text.find('\t', start);
          const bool last = c == 2;
          require(last ? tab == std::string_view::npos : tab != std::string_view::npos, Errc::dataset, path,
                  line_field(line_no, "columns"), "expected 3 tab-separated columns (pmid, text, labels)");
          col[c] = text.substr(start, last ? std::string_view::npos : tab - start);
          start = tab + 1;
        }
        require(!trim(col[0]).empty(), Errc::dataset, path, line_field(line_no, "pmid"), "empty pmid");
        require(!trim(col[1]).empty(), Errc::dataset, path, line_field(line_no, "text"), "empty text");
        if (auto bad = tokenizer::find_invalid_utf8(text))  // JSON holds UTF-8 only: refused here, with its line
          throw Error(Errc::dataset, path, line_field(line_no, "byte " + std::to_string(*bad + 1)), "not valid UTF-8");
        MultiLabelItem item{std::string(trim(col[0])), std::string(col[1]), {}};
        for (std::size_t pos = 0; pos <= col[2].size() && !trim(col[2]).empty();) {
          std::size_t semi = col[2].find(';', pos);
          if (semi == std::string_view::npos) semi = col[2].size();
          const std::string label(trim(col[2].substr(pos, semi - pos)));
          pos = semi + 1;
          require(std::find(known.begin(), known.end(), label) != known.end(), Errc::dataset, path,
                  line_field(line_no, "labels"), "'" + label + "' is not one of HoC's 10 hallmarks");
          require(item.labels.insert(label).second, Errc::dataset, path, line_field(line_no, "labels"),
                  "hallmark '" + label + "' appears twice");
        }
        out.push_back(std::move(item));
      },
      std::size_t{1} << 22);
  require(!out.empty(), Errc::dataset, path, "", "no documents after the header");
  return out;
}

// The project's multi-label JSONL for `items` (one object a line, keys id, labels, text; labels sorted).
inline std::string multilabel_jsonl(const std::vector<MultiLabelItem>& items) {
  std::string out;
  for (const auto& d : items) {
    nlohmann::json j = nlohmann::json::object();
    j["id"] = d.id;
    j["text"] = d.text;
    j["labels"] = nlohmann::json(std::vector<std::string>(d.labels.begin(), d.labels.end()));
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict) + "\n";
  }
  return out;
}

// The label set a task lists when none is given: the sorted union of every document's labels.
inline std::vector<std::string> label_union(const std::vector<const std::vector<MultiLabelItem>*>& sets) {
  std::set<std::string> all;
  for (const auto* s : sets)
    for (const auto& d : *s) all.insert(d.labels.begin(), d.labels.end());
  return {all.begin(), all.end()};
}

}  // namespace curebench::eval::tasks
