#pragma once
// What the GoogleTest and the Google Benchmark side of a registered pipeline share (testing/gtest_pipeline.hpp,
// testing/benchmark_pipeline.hpp): the pipeline type a run config asks for, and the replacement of a case's
// previous run folder. Neither framework is included here.
#include "curebench/core/error.hpp"
#include "curebench/eval/pipeline.hpp"
#include "curebench/eval/pipeline_case.hpp"
#include "curebench/eval/run_by_config.hpp"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace curebench::testing {

// The pipeline type `curebench eval` picks for a config: its protocol and its extraction policy (eval/run_by_config.hpp).
struct PipelineByConfig {
  static eval::RunSummary run(const eval::RunConfig& cfg, const std::filesystem::path& out) {
    return eval::run_pipeline_for(cfg, out);
  }
};

namespace detail {
// A previous run of the case is replaced, but only a folder this runner made (it holds run_config.json); the tree
// is removed with nftw, not std::filesystem::remove_all (which crashed when bound to the PyTorch wheel's copy in
// libtorch.so: docs/cuda.md).
inline void replace_previous_run(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return;
  if (!std::filesystem::exists(dir / "run_config.json", ec))
    throw Error(Errc::io, dir.string(), "", "exists and is not a run folder of this case; refusing to delete it");
  auto rm = [](const char* p, const struct stat*, int flag, struct FTW*) { return flag == FTW_DP ? ::rmdir(p) : ::unlink(p); };
  if (::nftw(dir.c_str(), rm, 16, FTW_DEPTH | FTW_PHYS) != 0) throw Error(Errc::io, dir.string(), "", "could not remove the previous run");
}
}  // namespace detail

}  // namespace curebench::testing
