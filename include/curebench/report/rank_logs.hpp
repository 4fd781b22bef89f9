#pragma once
// The samples logs of a data-parallel run: each rank appends to its own models/<name>/samples.rank<R>.jsonl (no two
// processes ever append to one file), and rank 0 merges them into samples.jsonl - when every rank is done, and at
// the start of any later run of the folder (a run interrupted with 3 ranks resumes with 2, or with one process).
//   - The merge writes samples.jsonl whole (atomic_write), then removes the rank logs: a kill in between leaves
//     records in both, and the next merge keeps one of each (samples.jsonl's first, then rank order).
//   - Records come out in the run's dataset order (split order, then question order), which is the order an
//     uninterrupted one-process run appends them in; records of questions no longer selected go last, in their order.
//   - A rank log's torn last line (a rank killed mid-write) is left out, as SamplesLog does on resume.
#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "curebench/core/atomic_write.hpp"
#include "curebench/core/error.hpp"
#include "curebench/eval/sample.hpp"

namespace curebench::report {

using SampleKey = std::pair<std::string, std::string>;  // (split, id)

inline std::filesystem::path rank_log_path(const std::filesystem::path& model_dir, int rank) {
  return model_dir / ("samples.rank" + std::to_string(rank) + ".jsonl");
}

// The rank logs in `model_dir`, by rank. A file of that name that is not a regular file (a planted symlink) is
// refused, not followed.
inline std::vector<std::filesystem::path> rank_log_paths(const std::filesystem::path& model_dir) {
  namespace fs = std::filesystem;
  static const std::regex name(R"(samples\.rank([0-9]{1,6})\.jsonl)");
  std::vector<std::pair<int, fs::path>> found;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(model_dir, ec))) return {};
  for (const auto& e : fs::directory_iterator(model_dir, ec)) {
    std::smatch m;
    const std::string file = e.path().filename().string();
    if (!std::regex_match(file, m, name)) continue;
    if (!fs::is_regular_file(fs::symlink_status(e.path(), ec)))
      throw Error(Errc::io, e.path().string(), "", "a rank samples log that is not a regular file (a symlink?): refused");
    found.push_back({std::stoi(m[1].str()), e.path()});
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& [rank, p] : found) out.push_back(p);
  return out;
}

// The finished records of one samples log, without changing it (a torn last line is skipped).
inline std::vector<eval::SampleRecord> read_sample_records(const std::filesystem::path& path) {
  std::vector<eval::SampleRecord> out;
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) return out;
  const std::string p = path.string();
  eval::for_each_sample_json(p, [&](std::size_t line_no, const nlohmann::json& j) {
    out.push_back(eval::sample_from_json(j, p, eval::line_field(line_no, "")));
  });
  return out;
}

// Merges the rank logs of `model_dir` into its samples.jsonl (see the top of this file). `order` gives each
// (split, id) of the run its position. Without rank logs, samples.jsonl is left as it is unless `reorder` (a resumed
// run appended its new records after the old ones: the end of the run puts them in dataset order). Returns how many
// rank logs were merged.
inline std::size_t merge_rank_logs(const std::filesystem::path& model_dir, const std::map<SampleKey, std::size_t>& order,
                                   bool reorder = false) {
  const auto ranks = rank_log_paths(model_dir);
  if (ranks.empty() && !reorder) return 0;
  const auto main = model_dir / "samples.jsonl";
  std::vector<eval::SampleRecord> all;
  std::set<SampleKey> seen;
  auto take = [&](const std::filesystem::path& p) {
    for (auto& r : read_sample_records(p))
      if (seen.insert({r.split, r.id}).second) all.push_back(std::move(r));
  };
  take(main);
  for (const auto& p : ranks) take(p);
  auto position = [&](const eval::SampleRecord& r) {
    auto it = order.find({r.split, r.id});
    return it == order.end() ? std::numeric_limits<std::size_t>::max() : it->second;
  };
  std::stable_sort(all.begin(), all.end(), [&](const auto& a, const auto& b) { return position(a) < position(b); });
  std::string text;
  for (const auto& r : all) text += dump_json(nlohmann::json(r)) + "\n";
  atomic_write(main, text);
  for (const auto& p : ranks) std::filesystem::remove(p);
  return ranks.size();
}

}  // namespace curebench::report
