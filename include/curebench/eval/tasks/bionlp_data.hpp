#pragma once
// Readers for the biomedical NLP sets of the quantized-LLM study, in the formats they are distributed in
// (../shared/datasets/bionlp/README.md describes each):
//  - NER token files (NCBI-disease, BC5CDR-chem/-disease, BLURB's IOB2 TSV): `TOKEN<TAB>TAG` per line, a blank
//    line between sentences -> NerSentence (tokens + gold entity spans, conlleval's chunk rules);
//  - ChemProt masked pairs (TSV, header `index sentence label`, CRLF in dev.tsv, quotes are plain text) and GAD
//    masked pairs (JSON lines, label in relation[0].relation_type) -> RelationItem (id, text, label).
// Every record is validated (column count, tag, label in the dataset's label set); the first bad line is an
// Errc::dataset error naming file, line and field. A file is read through the bounded line reader.
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/question.hpp"
#include "curebench/eval/tasks/iob2.hpp"
#include "curebench/eval/tasks/line_formats.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval::tasks {

struct NerSentence {
  std::size_t line = 0;  // first line of the sentence in its file: its id
  std::vector<std::string> tokens;
  std::vector<Span> gold;
};

struct RelationItem {
  std::string id, text, label;
};

// The text a model reads: tokens joined by one space (the files are pre-tokenized: "ataxia - telangiectasia").
inline std::string item_text(const NerSentence& s) {
  std::string out;
  for (const auto& t : s.tokens) out += (out.empty() ? "" : " ") + t;
  return out;
}
// A sentence's id is its text (the files have none): stable when a file is reordered.
inline std::string item_id(const NerSentence& s) { return item_text(s); }
inline std::string item_text(const RelationItem& r) { return r.text; }
inline std::string item_id(const RelationItem& r) { return r.id; }

// A relation set's labels as data: the one that means "no relation" is left out of micro F1 (BLURB).
struct RelationLabels {
  std::string_view dataset;
  std::vector<std::string_view> labels;
  std::string_view negative;
  bool contains(std::string_view l) const { return std::find(labels.begin(), labels.end(), l) != labels.end(); }
  std::string list() const {
    std::string s;
    for (auto l : labels) s += (s.empty() ? "" : ", ") + std::string(l);
    return s;
  }
};

inline const RelationLabels& chemprot_labels() {
  static const RelationLabels l{"ChemProt", {"CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9", "false"}, "false"};
  return l;
}
inline const RelationLabels& gad_labels() {
  static const RelationLabels l{"GAD", {"positive", "negative"}, "negative"};
  return l;
}

inline std::vector<NerSentence> read_iob2_tokens(const std::string& path) {
  std::vector<NerSentence> out;
  NerSentence cur;
  std::vector<std::string> tags;
  auto flush = [&] {
    if (cur.tokens.empty()) return;
    cur.gold = spans_from_tags(tags);
    out.push_back(std::move(cur));
    cur = {};
    tags.clear();
  };
  for_each_line(
      path,
      [&](std::size_t line_no, std::string_view text) {
        if (is_blank(text)) return flush();
        const auto tab = text.find('\t');
        if (tab == std::string_view::npos || text.find('\t', tab + 1) != std::string_view::npos || tab == 0)
          throw Error(Errc::dataset, path, line_field(line_no, "columns"),
                      "expected 'TOKEN<TAB>TAG' (two tab-separated columns)");
        const auto tag = text.substr(tab + 1);
        require_tag(tag, path, line_field(line_no, "tag"));
        if (cur.tokens.empty()) cur.line = line_no;
        cur.tokens.emplace_back(text.substr(0, tab));
        tags.emplace_back(tag);
      },
      std::size_t{1} << 16);
  flush();
  require(!out.empty(), Errc::dataset, path, "", "no sentences");
  return out;
}

inline std::vector<RelationItem> read_chemprot_tsv(const std::string& path) {
  std::vector<RelationItem> out;
  const auto& labels = chemprot_labels();
  for_each_line(
      path,
      [&](std::size_t line_no, std::string_view text) {
        if (line_no == 1) {
          require(text == "index\tsentence\tlabel", Errc::dataset, path, line_field(1, "header"),
                  "expected the header 'index<TAB>sentence<TAB>label'");
          return;
        }
        if (text.empty()) return;
        const auto col = split_tsv_columns<3>(text, path, line_no, "index, sentence, label");
        require(!col[0].empty(), Errc::dataset, path, line_field(line_no, "index"), "empty pair id");
        require(labels.contains(col[2]), Errc::dataset, path, line_field(line_no, "label"),
                "expected one of " + labels.list() + ", found '" + std::string(col[2]) + "'");
        out.push_back({std::string(col[0]), std::string(col[1]), std::string(col[2])});
      },
      std::size_t{1} << 20);
  require(!out.empty(), Errc::dataset, path, "", "no pairs after the header");
  return out;
}

inline std::vector<RelationItem> read_gad_jsonl(const std::string& path) {
  std::vector<RelationItem> out;
  const auto& labels = gad_labels();
  for_each_jsonl_object(
      path,
      [&](std::size_t line_no, const nlohmann::json& j) {
        auto string_at = [&](const nlohmann::json& obj, const char* key, const std::string& field) {
          auto it = obj.is_object() ? obj.find(key) : obj.end();
          require(obj.is_object() && it != obj.end() && it->is_string(), Errc::dataset, path,
                  line_field(line_no, field), "expected a string");
          return it->get<std::string>();
        };
        auto rel = j.find("relation");
        require(rel != j.end() && rel->is_array() && rel->size() == 1, Errc::dataset, path,
                line_field(line_no, "relation"), "expected a list with exactly one relation object");
        RelationItem item{string_at(j, "id", "id"), string_at(j, "text", "text"),
                          string_at((*rel)[0], "relation_type", "relation[0].relation_type")};
        require(labels.contains(item.label), Errc::dataset, path, line_field(line_no, "relation[0].relation_type"),
                "expected one of " + labels.list() + ", found '" + item.label + "'");
        out.push_back(std::move(item));
      },
      std::size_t{1} << 20);
  return out;
}

}  // namespace curebench::eval::tasks
