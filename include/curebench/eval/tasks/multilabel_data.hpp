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
// LitCovid: the CSV of BioCreative VII Track 5 (BC7-LitCovid-{Train,Dev,Test}.csv, as BigBIO's bc7_litcovid
// loader reads it): a header row naming the columns - pmid, title, abstract and label are used, others
// (journal, keywords, pub_type, authors, doi) ignored, in any order - then one article a record; RFC 4180
// quoting ("..." with "" for a quote; a quoted field may hold commas and line breaks); the topics
// `;`-separated in `label`, each one of the 7 (litcovid_labels()); an empty label field: no topic. The text is
// title + " " + abstract (either may be empty, not both). The TSV layout of gpt_bionlp_benchmark's LitCovid copy
// is not documented here and not read.
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/question.hpp"
#include "curebench/eval/tasks/answer_text.hpp"
#include "curebench/eval/tasks/line_formats.hpp"
#include "curebench/tokenizer/utf8.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <utility>
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

// LitCovid's 7 topics as BC7-LitCovid spells them.
inline const std::vector<std::string>& litcovid_labels() {
  static const std::vector<std::string> l{"Case Report", "Diagnosis",  "Epidemic Forecasting", "Mechanism",
                                          "Prevention",  "Transmission", "Treatment"};
  return l;
}

inline std::vector<MultiLabelItem> read_multilabel_jsonl(const std::string& path) {
  std::vector<MultiLabelItem> out;
  for_each_jsonl_object(  // an object with a string or integer id per line
      path,
      [&](std::size_t line_no, const nlohmann::json& j) {
        const auto id = j.find("id");
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
        const auto col = split_tsv_columns<3>(text, path, line_no, "pmid, text, labels");
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

namespace detail {
// RFC 4180 records of `text`: fields split at ',', records at '\n' (a '\r' before it dropped), "..." quoted with ""
// for a quote. Each record with the line it starts on. A quote inside an unquoted field, text after a closing
// quote, or an unterminated quote is an error naming the line.
inline std::vector<std::pair<std::size_t, std::vector<std::string>>> csv_records(std::string_view text,
                                                                                  const std::string& path) {
  std::vector<std::pair<std::size_t, std::vector<std::string>>> out;
  std::vector<std::string> record;
  std::string field;
  std::size_t line = 1, start_line = 1;
  bool quoted = false, was_quoted = false, any = false;
  auto end_field = [&] {
    record.push_back(std::move(field));
    field.clear();
    was_quoted = false;
  };
  auto end_record = [&] {
    end_field();
    if (!(record.size() == 1 && record[0].empty())) out.push_back({start_line, std::move(record)});  // blank lines
    record.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    any = true;
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
        else quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      require(field.empty() && !was_quoted, Errc::dataset, path, line_field(line, "csv"),
              "a quote inside an unquoted field (RFC 4180: quote the whole field, double the quote)");
      quoted = was_quoted = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      if (c == '\r') ++i;
      end_record();
      start_line = ++line;
    } else {
      require(!was_quoted, Errc::dataset, path, line_field(line, "csv"), "text after a field's closing quote");
      field += c;
    }
  }
  require(!quoted, Errc::dataset, path, line_field(start_line, "csv"), "a quoted field is not closed by the end of the file");
  if (any && (!field.empty() || !record.empty() || was_quoted)) end_record();
  return out;
}
}  // namespace detail

inline std::vector<MultiLabelItem> read_litcovid_csv(const std::string& path) {
  const auto text = read_text_file(path);
  if (auto bad = tokenizer::find_invalid_utf8(text))
    throw Error(Errc::dataset, path, "byte " + std::to_string(*bad + 1), "not valid UTF-8");
  std::string_view body(text);
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // a UTF-8 BOM
  const auto records = detail::csv_records(body, path);
  require(!records.empty(), Errc::dataset, path, "header", "empty file: expected a header row (pmid,...,label)");
  const auto& header = records[0].second;
  auto column = [&](const char* name) {
    const auto it = std::find(header.begin(), header.end(), name);
    require(it != header.end(), Errc::dataset, path, line_field(records[0].first, "header"),
            std::string("expected a column '") + name + "' (BC7-LitCovid CSV: pmid, journal, title, abstract, "
            "keywords, pub_type, authors, doi, label)");
    return static_cast<std::size_t>(it - header.begin());
  };
  const std::size_t pmid = column("pmid"), title = column("title"), abstract = column("abstract"), label = column("label");
  const auto& known = litcovid_labels();
  std::vector<MultiLabelItem> out;
  for (std::size_t r = 1; r < records.size(); ++r) {
    const auto& [line_no, f] = records[r];
    require(f.size() == header.size(), Errc::dataset, path, line_field(line_no, "columns"),
            "expected " + std::to_string(header.size()) + " comma-separated fields (as the header), found " +
                std::to_string(f.size()));
    require(!trim(f[pmid]).empty(), Errc::dataset, path, line_field(line_no, "pmid"), "empty pmid");
    std::string doc = std::string(trim(f[title]));
    if (!trim(f[abstract]).empty()) doc += (doc.empty() ? "" : " ") + std::string(trim(f[abstract]));
    require(!doc.empty(), Errc::dataset, path, line_field(line_no, "abstract"), "empty title and abstract");
    MultiLabelItem item{std::string(trim(f[pmid])), std::move(doc), {}};
    const std::string_view labels = trim(f[label]);
    for (std::size_t pos = 0; pos <= labels.size() && !labels.empty();) {
      std::size_t semi = labels.find(';', pos);
      if (semi == std::string_view::npos) semi = labels.size();
      const std::string l(trim(labels.substr(pos, semi - pos)));
      pos = semi + 1;
      require(std::find(known.begin(), known.end(), l) != known.end(), Errc::dataset, path, line_field(line_no, "label"),
              "'" + l + "' is not one of LitCovid's 7 topics");
      require(item.labels.insert(l).second, Errc::dataset, path, line_field(line_no, "label"),
              "topic '" + l + "' appears twice");
    }
    out.push_back(std::move(item));
  }
  require(!out.empty(), Errc::dataset, path, "", "no articles after the header");
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
