#pragma once
// The CURE-Bench submission package as Kaggle accepts it (datasets/cure-bench notes; the starter kit's
// save_submission): submission.csv + meta_data.json, zipped (deflate) as submission.zip.
//  - CSV columns id, prediction, choice, reasoning; header and every cell quoted ("" inside a cell), rows
//    end in "\n", embedded newlines stay inside the quotes (pandas to_csv(quoting=1));
//  - one row per TEST question, in test-file order; a test question without a sample is an error (a
//    partial submission would be scored as wrong answers) unless fill_missing is set;
//  - prediction = the free-text answer (step 1 for two-step items), "No prediction available" if empty;
//  - choice = the extracted letter, NOTAVALUE when none and always for open_ended;
//  - reasoning = Python json.dumps of the message list (both conversations for two-step items);
//  - meta_data.json is the flat object the kit writes (json.dump(indent=2)), not the {"meta_data": {...}}
//    wrapper the seed notebook wrote;
//  - no cell reads back as null: a cell that the kit maps (nan NaN None null NULL <NA> nat NaT, '', ' ') or that
//    pandas' read_csv reads as NaN by default becomes the kit's placeholder for its column.
#include "curebench/core/atomic_write.hpp"
#include "curebench/core/error.hpp"
#include "curebench/eval/extract/python_strip.hpp"
#include "curebench/eval/question.hpp"
#include "curebench/eval/sample.hpp"
#include "curebench/report/python_json.hpp"

#include <unistd.h>
#include <zip.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::report {

struct SubmissionRow {
  std::string id, prediction, choice, reasoning;
};

struct SubmissionMeta {
  std::string model_name;
  std::string model_type = "LocalModel";
  std::string track = "internal_reasoning";     // internal_reasoning | agentic_reasoning
  std::string base_model_type = "OpenWeighted";  // API | OpenWeighted
  std::string base_model_name;
  std::string dataset = "cure_bench_pharse_1";   // sic: the competition's spelling
  std::string additional_info;
  std::string average_tokens_per_question;
  std::string average_tools_per_question = "0";
  std::string tool_category_coverage;
};

// Sets one of the fields a run config or the CLI may give (the kit's metadata keys); false for any other key.
inline bool set_meta_field(SubmissionMeta& m, std::string_view key, std::string value) {
  std::string* field = key == "model_name"        ? &m.model_name
                       : key == "model_type"      ? &m.model_type
                       : key == "track"           ? &m.track
                       : key == "base_model_type" ? &m.base_model_type
                       : key == "base_model_name" ? &m.base_model_name
                       : key == "dataset"         ? &m.dataset
                       : key == "additional_info" ? &m.additional_info
                                                  : nullptr;
  if (field) *field = std::move(value);
  return field != nullptr;
}

inline void validate(const SubmissionMeta& m) {
  require(!m.model_name.empty(), Errc::invalid_argument, "meta_data.json", "model_name", "must not be empty");
  require(!m.base_model_name.empty(), Errc::invalid_argument, "meta_data.json", "base_model_name", "must not be empty");
  require(m.track == "internal_reasoning" || m.track == "agentic_reasoning", Errc::invalid_argument, "meta_data.json",
          "track", "expected internal_reasoning | agentic_reasoning, found \"" + m.track + "\"");
  require(m.base_model_type == "API" || m.base_model_type == "OpenWeighted", Errc::invalid_argument, "meta_data.json",
          "base_model_type", "expected API | OpenWeighted, found \"" + m.base_model_type + "\"");
  require(!m.dataset.empty(), Errc::invalid_argument, "meta_data.json", "dataset", "must not be empty");
}

// Key order as the kit writes it.
inline std::string meta_data_json(const SubmissionMeta& m) {
  validate(m);
  nlohmann::ordered_json j;
  j["model_name"] = m.model_name;
  j["model_type"] = m.model_type;
  j["track"] = m.track;
  j["base_model_type"] = m.base_model_type;
  j["base_model_name"] = m.base_model_name;
  j["dataset"] = m.dataset;
  j["additional_info"] = m.additional_info;
  j["average_tokens_per_question"] = m.average_tokens_per_question;
  j["average_tools_per_question"] = m.average_tools_per_question;
  j["tool_category_coverage"] = m.tool_category_coverage;
  return j.dump(2, ' ', true);
}

// The kit's response.strip(): Python's whitespace set (eval/extract/python_strip.hpp), not only ASCII.
inline std::string_view strip_ws(std::string_view s) { return eval::extract::py::stripped(s); }

inline SubmissionRow submission_row(const eval::SampleRecord& s) {
  SubmissionRow row;
  row.id = s.id;
  std::string_view free_text = s.output;
  for (const auto& m : s.messages)
    if (m.role == "assistant") {  // the first assistant turn is the answer (step 1 of two-step items)
      free_text = m.content;
      break;
    }
  free_text = strip_ws(free_text);
  row.prediction = free_text.empty() ? "No prediction available" : std::string(free_text);
  row.choice = (s.type != eval::QuestionType::open_ended && s.answer) ? std::string(1, *s.answer) : "NOTAVALUE";
  row.reasoning = s.messages.empty() ? "No reasoning available" : python_json_dumps(s.messages);
  return row;
}

inline std::vector<SubmissionRow> submission_rows(const std::vector<eval::Question>& test_questions,
                                                  const std::vector<eval::SampleRecord>& samples,
                                                  const std::string& test_split = "test", bool fill_missing = false) {
  std::map<std::string, const eval::SampleRecord*> by_id;
  for (const auto& s : samples)
    if (s.split == test_split) by_id[s.id] = &s;
  std::vector<SubmissionRow> rows;
  std::vector<std::string> missing;
  for (const auto& q : test_questions) {
    auto it = by_id.find(q.id);
    if (it != by_id.end()) {
      rows.push_back(submission_row(*it->second));
      rows.back().id = q.submitted_id();  // a duplicated id run on its own (allow_duplicate_ids) keeps the file's id
    } else if (fill_missing) {
      rows.push_back({q.submitted_id(), "No prediction available", "NOTAVALUE", "No reasoning available"});
    } else {
      missing.push_back(q.id);
    }
  }
  if (!missing.empty())
    throw Error(Errc::dataset, "submission.csv", "id",
                std::to_string(missing.size()) + " of " + std::to_string(test_questions.size()) +
                    " test questions have no sample (first: " + missing.front() + "); finish the run or pass fill_missing");
  return rows;
}

// Cells that would not survive as text: the kit's null_like_values + '' and ' ' (save_submission), and
// pandas' STR_NA_VALUES (pandas/_libs/parsers.pyx), which read_csv reads as NaN, quoted or not.
inline constexpr std::string_view kNullLikeCells[] = {
    // the kit
    "nan", "NaN", "None", "null", "NULL", "<NA>", "nat", "NaT", "", " ",
    // pandas read_csv defaults not already above
    "-1.#IND", "1.#QNAN", "1.#IND", "-1.#QNAN", "#N/A N/A", "#N/A", "N/A", "n/a", "NA", "#NA", "-NaN", "-nan"};

inline bool null_like_cell(std::string_view cell) {
  for (auto v : kNullLikeCells)
    if (cell == v) return true;
  return false;
}

// The kit's null_replacements, column by column.
struct NullPlaceholders {
  static constexpr std::string_view id = "unknown_id", prediction = "No prediction available", choice = "NOTAVALUE",
                                    reasoning = "No reasoning available";
};
inline std::string_view non_null(std::string_view cell, std::string_view placeholder) {
  return null_like_cell(cell) ? placeholder : cell;
}

inline void append_csv_cell(std::string& out, std::string_view cell) {
  out += '"';
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

inline std::string submission_csv(const std::vector<SubmissionRow>& rows) {
  std::string out = "\"id\",\"prediction\",\"choice\",\"reasoning\"\n";
  for (const auto& r : rows) {
    append_csv_cell(out, non_null(r.id, NullPlaceholders::id));
    out += ',';
    append_csv_cell(out, non_null(r.prediction, NullPlaceholders::prediction));
    out += ',';
    append_csv_cell(out, non_null(r.choice, NullPlaceholders::choice));
    out += ',';
    append_csv_cell(out, non_null(r.reasoning, NullPlaceholders::reasoning));
    out += '\n';
  }
  return out;
}

// Writes a deflated zip of in-memory files to `target` atomically (temp file in the same folder + rename).
inline void write_zip(const std::filesystem::path& target, const std::vector<std::pair<std::string, std::string>>& files) {
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  std::string tmp = target.string() + ".tmp." + std::to_string(::getpid());
  // libzip writes its own mkstemp file and renames it onto `tmp`; an entry already at `tmp` (our pid: a dead
  // namesake's leftover or a planted link) is unlinked first, so libzip never opens through it.
  ::unlink(tmp.c_str());
  int err = 0;
  zip_t* za = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!za) throw Error(Errc::io, tmp, "", "zip_open failed with libzip error " + std::to_string(err));
  auto fail = [&](const std::string& what) {
    std::string msg = what + ": " + zip_strerror(za);
    zip_discard(za);
    std::remove(tmp.c_str());
    return Error(Errc::io, target.string(), "", msg);
  };
  for (const auto& [name, content] : files) {
    // libzip reads the buffer at zip_close(); `files` outlives that call.
    zip_source_t* src = zip_source_buffer(za, content.data(), content.size(), 0);
    if (!src) throw fail("zip_source_buffer(" + name + ")");
    zip_int64_t index = zip_file_add(za, name.c_str(), src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
    if (index < 0) {
      zip_source_free(src);
      throw fail("zip_file_add(" + name + ")");
    }
    if (zip_set_file_compression(za, static_cast<zip_uint64_t>(index), ZIP_CM_DEFLATE, 9) < 0)
      throw fail("zip_set_file_compression(" + name + ")");
  }
  if (zip_close(za) < 0) throw fail("zip_close");
  if (std::rename(tmp.c_str(), target.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(Errc::io, target.string(), "", "rename of the finished zip failed");
  }
}

struct SubmissionPaths {
  std::filesystem::path csv, meta, zip;
};

// models/<name>/submission/{submission.csv, meta_data.json} and models/<name>/submission.zip.
inline SubmissionPaths write_submission(const std::filesystem::path& model_dir, const std::vector<SubmissionRow>& rows,
                                        const SubmissionMeta& meta) {
  std::string csv = submission_csv(rows);
  std::string meta_json = meta_data_json(meta);
  SubmissionPaths p{model_dir / "submission" / "submission.csv", model_dir / "submission" / "meta_data.json",
                    model_dir / "submission.zip"};
  atomic_write(p.csv, csv);
  atomic_write(p.meta, meta_json);
  write_zip(p.zip, {{"submission.csv", csv}, {"meta_data.json", meta_json}});
  return p;
}

}  // namespace curebench::report
