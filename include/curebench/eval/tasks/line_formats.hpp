#pragma once
// Line-level helpers the study's readers share (bionlp_data.hpp, multilabel_data.hpp, score_files.hpp), so every
// reader reports a bad line the same way: an Errc::dataset error naming file, line and field.
//  - split_tsv_columns<N>: exactly N tab-separated columns of one line (field "columns" otherwise);
//  - for_each_jsonl_object: every non-blank line of a JSONL file parsed as an object with a string or integer id
//    (fields: the parser's, "" for a non-object, "id"), at most max_line_bytes a line; a file without one is an
//    error too.
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/eval/dataset.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace curebench::eval::tasks {

// `what` names the columns in the message ("index, sentence, label").
template <std::size_t N>
std::array<std::string_view, N> split_tsv_columns(std::string_view text, const std::string& path, std::size_t line_no,
                                                  std::string_view what) {
  std::array<std::string_view, N> col;
  std::size_t start = 0;
  for (std::size_t c = 0; c < N; ++c) {
    const auto tab = text.find('\t', start);
    const bool last = c + 1 == N;
    require(last ? tab == std::string_view::npos : tab != std::string_view::npos, Errc::dataset, path,
            line_field(line_no, "columns"),
            "expected " + std::to_string(N) + " tab-separated columns (" + std::string(what) + ")");
    col[c] = text.substr(start, last ? std::string_view::npos : tab - start);
    start = tab + 1;
  }
  return col;
}

// Calls on_record(line_no, object) for every non-blank line of a JSONL file, after checking it is an object with
// an id.
inline void for_each_jsonl_object(const std::string& path,
                                  const std::function<void(std::size_t, const nlohmann::json&)>& on_record,
                                  std::size_t max_line_bytes = std::size_t{1} << 20) {
  std::size_t records = 0;
  for_each_line(
      path,
      [&](std::size_t line_no, std::string_view text) {
        if (is_blank(text)) return;
        nlohmann::json j;
        try {
          j = parse_json_text(text, path, JsonLimits{max_line_bytes, 16});
        } catch (const Error& e) {
          throw Error(Errc::dataset, path, line_field(line_no, e.field()), e.message());
        }
        require(j.is_object(), Errc::dataset, path, line_field(line_no, ""),
                std::string("expected a JSON object, found ") + j.type_name());
        auto id = j.find("id");
        require(id != j.end() && (id->is_string() || id->is_number_integer()), Errc::dataset, path,
                line_field(line_no, "id"),
                std::string("expected a string or integer id, found ") + (id == j.end() ? "nothing" : id->type_name()));
        ++records;
        on_record(line_no, j);
      },
      max_line_bytes);
  require(records > 0, Errc::dataset, path, "", "no records (expected one JSON object per line)");
}

}  // namespace curebench::eval::tasks
