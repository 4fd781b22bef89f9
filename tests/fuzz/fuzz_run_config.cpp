// libFuzzer target: the `curebench eval --config` run.json (eval/run_config.hpp): models, splits, limits,
// seeds, budgets ("16GiB"), then the canonical JSON and hash the run folder is guarded with.
// Contract: a RunConfig that passed finalize() or a curebench::Error. Anything else is a bug.
#include "curebench/core/json_file.hpp"
#include "curebench/eval/run_config.hpp"

#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto j = curebench::parse_json_text(text, "/runs/run.json");
    auto cfg = curebench::eval::run_config_from_json(j, "/runs/run.json");
    if (cfg.models.empty() || cfg.splits.empty() || cfg.hash.size() != 64) std::abort();
    // run_config.json exactly as eval::RunFolder::claim writes it (strict dump: must not throw).
    (void)curebench::eval::to_json_value(cfg).dump(2);
  } catch (const curebench::Error&) {
  }
  return 0;
}
