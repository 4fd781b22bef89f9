#pragma once
// The public names of the quant configs (--quant, run configs' models[].quant, study precisions), without
// libtorch so that config readers can check a name; quant/named_config.hpp maps each to its config type.
#include <string>
#include <vector>

namespace curebench::quant {

inline const std::vector<std::string>& named_quant_names() {
  static const std::vector<std::string> names{"nf4", "nf4-dq", "fp4", "int8", "fp8", "int4-g32", "int4-g64", "int4-g128"};
  return names;
}

inline std::string named_quant_list() {
  std::string known;
  for (auto& n : named_quant_names()) known += (known.empty() ? "" : ", ") + n;
  return known;
}

// Whether a --quant value (a run config's models[].quant, a study precision's loader quant) quantizes on load:
// every value but full precision ("none") and a checkpoint as stored ("prequantized"); "auto" counts, since its
// chain starts with 4-bit on load.
inline bool quantizes_on_load(const std::string& quant) { return quant != "none" && quant != "prequantized"; }

}  // namespace curebench::quant
