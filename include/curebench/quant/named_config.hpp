#pragma once
// Quant configs chosen at run time by name (the CLI's --quant): nf4 | nf4-dq | fp4 | int8 | int4-g32 |
// int4-g64 | int4-g128. Each is one of the compile-time configs in config.hpp behind a function, plus
// whether a weight fits it: int4 needs in_features to be a multiple of its group, and a weight that does
// not fit is kept dense (stories260K's down_proj has in = 172, no multiple of 32) and listed, not refused.
#include <functional>
#include <string>
#include <vector>

#include "curebench/core/error.hpp"
#include "curebench/quant/config.hpp"

namespace curebench::quant {

struct NamedQuant {
  std::string name;
  std::function<Weight(const at::Tensor&)> quantize;
  double bits_per_weight = 16;
  std::int64_t group = 0;    // int4 group (0: any width fits)
  bool bnb_layout = false;   // has a bitsandbytes checkpoint layout (nf4/fp4/int8)

  bool fits(const at::Tensor& w) const { return w.dim() == 2 && (group == 0 || w.size(1) % group == 0); }
};

template <QuantConfig C>
NamedQuant named_quant_of(std::string name, std::int64_t group, bool bnb) {
  return {std::move(name), [](const at::Tensor& w) { return C::quantize(w); }, C::bits_per_weight(), group, bnb};
}

inline const std::vector<std::string>& named_quant_names() {
  static const std::vector<std::string> names{"nf4", "nf4-dq", "fp4", "int8", "int4-g32", "int4-g64", "int4-g128"};
  return names;
}

inline NamedQuant named_quant(const std::string& name) {
  if (name == "nf4") return named_quant_of<NF4Config<64, false>>(name, 0, true);
  if (name == "nf4-dq") return named_quant_of<NF4Config<64, true>>(name, 0, true);
  if (name == "fp4") return named_quant_of<FP4Config<64, false>>(name, 0, true);
  if (name == "int8") return named_quant_of<Int8Config>(name, 0, true);
  if (name == "int4-g32") return named_quant_of<Int4Config<32>>(name, 32, false);
  if (name == "int4-g64") return named_quant_of<Int4Config<64>>(name, 64, false);
  if (name == "int4-g128") return named_quant_of<Int4Config<128>>(name, 128, false);
  std::string known;
  for (auto& n : named_quant_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error(Errc::invalid_argument, "", "--quant", "unknown quant config '" + name + "' (" + known + ")");
}

}  // namespace curebench::quant
