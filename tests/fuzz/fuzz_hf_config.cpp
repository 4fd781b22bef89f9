// libFuzzer target: HF config.json text -> parse_json_text -> spec_from_hf_config (model/hf_config.hpp).
// Both 4.x and 5.x spellings are reached from the seeds. Any input must give a ModelSpec or a
// curebench::Error; nlohmann exceptions escaping, UB (e.g. float -> int casts) or > 1 s are bugs.
#include "curebench/core/json_file.hpp"
#include "curebench/model/hf_config.hpp"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto j = curebench::parse_json_text(text, "config.json");
    auto spec = curebench::model::spec_from_hf_config(j, "config.json");
    if (static_cast<std::int64_t>(spec.layer_sliding.size()) != spec.num_layers) __builtin_trap();
  } catch (const curebench::Error&) {
  }
  return 0;
}
