// libFuzzer target: resuming a samples.jsonl log (report/samples_log.hpp) from arbitrary file bytes: the
// recovery path reads every finished record back and cuts off a torn last line. An input holding a NUL byte is also
// a data-parallel run folder: the bytes before it are samples.jsonl, those after it a rank's samples.rank1.jsonl,
// merged by rank 0 (report/rank_logs.hpp).
// Contract: a log whose records all parsed, or a curebench::Error naming the line; a merge either throws a
// curebench::Error or leaves one samples.jsonl that resumes cleanly, holding every (split, id) of both files once,
// and no rank log. Anything else is a bug.
#include "curebench/report/rank_logs.hpp"
#include "curebench/report/samples_log.hpp"
#include "fuzz_input_file.hpp"
#include "fuzz_scratch_dir.hpp"

#include <cstdlib>
#include <set>
#include <string>

namespace {

void merge_case(const std::uint8_t* data, std::size_t size, std::size_t nul) {
  namespace rl = curebench::report;
  static curebench::fuzz::ScratchDir dir;
  const auto model_dir = dir.path() / "m";
  std::error_code ec;
  std::filesystem::remove_all(model_dir, ec);
  std::filesystem::create_directories(model_dir);
  const std::string main_bytes(reinterpret_cast<const char*>(data), nul);
  const std::string rank_bytes(reinterpret_cast<const char*>(data) + nul + 1, size - nul - 1);
  std::ofstream(model_dir / "samples.jsonl", std::ios::binary) << main_bytes;
  std::ofstream(rl::rank_log_path(model_dir, 1), std::ios::binary) << rank_bytes;
  std::set<rl::SampleKey> expected;
  try {
    for (const auto& r : rl::read_sample_records(model_dir / "samples.jsonl")) expected.insert({r.split, r.id});
    for (const auto& r : rl::read_sample_records(rl::rank_log_path(model_dir, 1))) expected.insert({r.split, r.id});
  } catch (const curebench::Error&) {
    try {
      rl::merge_rank_logs(model_dir, {});
    } catch (const curebench::Error&) {
      return;  // what cannot be read is refused, not merged
    }
    std::abort();
  }
  if (rl::merge_rank_logs(model_dir, {}) != 1) std::abort();
  if (!rl::rank_log_paths(model_dir).empty()) std::abort();
  curebench::report::SamplesLog merged(model_dir / "samples.jsonl");  // throws on a duplicate: a bug here
  std::set<rl::SampleKey> got;
  for (const auto& r : merged.finished()) got.insert({r.split, r.id});
  if (got != expected || merged.finished().size() != expected.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static curebench::fuzz::InputFile file;
  const auto& path = file.write(data, size);
  try {
    curebench::report::SamplesLog log(path);
    if (log.dropped_partial_bytes() > size) std::abort();
    for (const auto& r : log.finished())
      if (!log.done(r.split, r.id)) std::abort();
  } catch (const curebench::Error&) {
  }
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto nul = bytes.find('\0'); nul != std::string_view::npos) {
    try {
      merge_case(data, size, nul);
    } catch (const curebench::Error&) {
      std::abort();  // the merged log must resume cleanly
    }
  }
  return 0;
}
