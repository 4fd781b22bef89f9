#pragma once
// Streaming reader for CURE-Bench JSONL splits (one question per line).
//
// Line rules (docs/evaluation.md "Dataset format"):
//  - a UTF-8 byte order mark at the start of the file is dropped; CRLF line ends are accepted;
//  - a line that is empty or only whitespace is not a record: it is counted in `blank_lines` (reported
//    by verification as a warning), never silently dropped from the accounting;
//  - every other line must be one JSON object that passes question_from_json(); the first bad line stops
//    the read with an Error naming file, line and field. The whole file is read and validated even when a
//    sample limit keeps fewer records, so the sha256 and the record count always describe the full file.
// Subsampling (limit k > 0):
//  - without a seed: the first k records in file order (what the seed notebook's [:50] did, but stated);
//  - with seed s: the k records whose SHA-256("<s>\n<id>") digests are smallest ("hash rank"), returned in
//    file order. The choice depends only on (s, id), so it does not move when the file is reordered or
//    grows, and datasets/convert.py reproduces it in Python.
#include "curebench/core/error.hpp"
#include "curebench/core/regular_file.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/eval/question.hpp"
#include "curebench/eval/sha256.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval {

struct LoadOptions {
  std::size_t limit = 0;                        // 0 = keep every record
  std::optional<std::uint64_t> seed;            // set = hash-rank subsample, unset = first `limit` records
  std::size_t max_line_bytes = std::size_t{16} << 20;
};

struct Dataset {
  std::string split;          // "val", "test", ...
  std::string path;
  std::string sha256;         // of the file's bytes, as on disk
  std::size_t records = 0;    // valid records in the file (before the limit)
  std::size_t blank_lines = 0;
  bool had_bom = false;
  std::size_t limit = 0;
  std::optional<std::uint64_t> seed;
  std::vector<Question> questions;  // the kept records, in file order
};

// Hash-rank key of a record: smaller keys are kept first.
inline std::array<std::uint8_t, 32> subsample_key(std::uint64_t seed, std::string_view id) {
  return Sha256{}.update(std::to_string(seed)).update("\n").update(id).digest();
}

// Calls on_line(line_number, text) for every line (BOM and trailing CR removed) and returns the file's
// SHA-256. Reads in 1 MiB blocks: memory stays bounded by the longest line; a line longer than max_line_bytes is
// an Errc::dataset error naming the line before it is read whole. unterminated_tail: when given, a last line
// without its "\n" (what a writer killed mid-line leaves) is not passed to on_line; its byte count is stored
// there instead (0 when the file ends with "\n").
template <class OnLine>
std::string for_each_line(const std::string& path, OnLine&& on_line, std::size_t max_line_bytes, bool* had_bom = nullptr,
                          std::size_t* unterminated_tail = nullptr) {
  auto in = open_regular_ifstream(path);
  Sha256 hash;
  std::string pending;
  // 1 MiB blocks bound memory by the longest line, not the file; a small file gets a block of its own size
  // (+1 so one read also sees the end) instead of a zero-filled MiB per load.
  std::error_code size_ec;
  const auto file_bytes = std::filesystem::file_size(path, size_ec);
  std::vector<char> block(size_ec ? std::size_t{1} << 20
                                  : std::clamp<std::size_t>(static_cast<std::size_t>(file_bytes) + 1, 4096, std::size_t{1} << 20));
  std::size_t line_no = 0;
  bool first = true;
  auto too_long = [&] {
    return Error(Errc::dataset, path, line_field(line_no + 1, ""), "line longer than " + std::to_string(max_line_bytes) + " bytes");
  };
  auto emit = [&](std::string& line) {
    if (line.size() > max_line_bytes) throw too_long();
    ++line_no;
    std::string_view view(line);
    if (first) {
      first = false;
      if (view.substr(0, 3) == "\xEF\xBB\xBF") {
        view.remove_prefix(3);
        if (had_bom) *had_bom = true;
      }
    }
    if (!view.empty() && view.back() == '\r') view.remove_suffix(1);
    on_line(line_no, view);
  };
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    std::size_t got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    hash.update(reinterpret_cast<const std::uint8_t*>(block.data()), got);
    std::size_t start = 0;
    for (std::size_t i = 0; i < got; ++i) {
      if (block[i] != '\n') continue;
      pending.append(block.data() + start, i - start);
      emit(pending);
      pending.clear();
      start = i + 1;
    }
    pending.append(block.data() + start, got - start);
    if (pending.size() > max_line_bytes) throw too_long();
  }
  if (in.bad()) throw Error(Errc::io, path, "", "read failed");
  if (unterminated_tail) *unterminated_tail = pending.size();
  else if (!pending.empty()) emit(pending);  // last line without a newline is still a line
  return hash.hex();
}

inline bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; });
}

inline Dataset load_split(std::string split, const std::string& path, const LoadOptions& opt = {}) {
  Dataset ds;
  ds.split = std::move(split);
  ds.path = path;
  ds.limit = opt.limit;
  ds.seed = opt.seed;

  struct Ranked {
    std::array<std::uint8_t, 32> key;
    std::size_t order;
    Question q;
    bool operator<(const Ranked& o) const { return key != o.key ? key < o.key : order < o.order; }
  };
  std::priority_queue<Ranked> heap;  // max-heap: the top is the worst of the k kept so far

  ds.sha256 = for_each_line(
      path,
      [&](std::size_t line_no, std::string_view text) {
        if (is_blank(text)) {
          ++ds.blank_lines;
          return;
        }
        nlohmann::json j;
        try {
          j = parse_json_text(text, path, JsonLimits{opt.max_line_bytes, 64});
        } catch (const Error& e) {
          throw Error(Errc::dataset, path, line_field(line_no, e.field()), e.message());
        }
        Question q = question_from_json(j, path, line_no);
        std::size_t order = ds.records++;
        if (opt.limit == 0) {
          ds.questions.push_back(std::move(q));
        } else if (!opt.seed) {
          if (ds.questions.size() < opt.limit) ds.questions.push_back(std::move(q));
        } else {
          Ranked r{subsample_key(*opt.seed, q.id), order, std::move(q)};
          if (heap.size() < opt.limit) {
            heap.push(std::move(r));
          } else if (r < heap.top()) {
            heap.pop();
            heap.push(std::move(r));
          }
        }
      },
      opt.max_line_bytes, &ds.had_bom);

  if (opt.limit != 0 && opt.seed) {
    std::vector<Ranked> kept;
    while (!heap.empty()) {
      kept.push_back(std::move(const_cast<Ranked&>(heap.top())));
      heap.pop();
    }
    std::sort(kept.begin(), kept.end(), [](const Ranked& a, const Ranked& b) { return a.order < b.order; });
    for (auto& r : kept) ds.questions.push_back(std::move(r.q));
  }
  return ds;
}

// What results.json records about a split's source file (provenance.datasets[]).
inline nlohmann::json provenance_json(const Dataset& ds) {
  nlohmann::json j = {{"split", ds.split}, {"path", ds.path}, {"sha256", ds.sha256}, {"records", ds.records},
                      {"used", ds.questions.size()}, {"blank_lines", ds.blank_lines},
                      {"limit", ds.limit == 0 ? nlohmann::json(nullptr) : nlohmann::json(ds.limit)},
                      {"subsample_seed", ds.seed ? nlohmann::json(*ds.seed) : nlohmann::json(nullptr)}};
  return j;
}

}  // namespace curebench::eval
