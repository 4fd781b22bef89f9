#pragma once
// Quant configs chosen at run time by name (the CLI's --quant): nf4 | nf4-dq | fp4 | int8 | fp8 | int4-g32 |
// int4-g64 | int4-g128. Each is one of the compile-time configs in config.hpp behind a function, plus
// whether a weight fits it: int4 needs in_features to be a multiple of its group, and a weight that does
// not fit is kept dense (stories260K's down_proj has in = 172, no multiple of 32) and listed, not refused.
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "curebench/core/error.hpp"
#include "curebench/quant/config.hpp"
#include "curebench/quant/quant_names.hpp"

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
  return {std::move(name), [](const at::Tensor& w) { return C{}.quantize(w); }, C{}.bits_per_weight(), group, bnb};
}

// The one place a public name becomes a config type: f(std::type_identity<C>{}, group, bnb_layout) for the
// config the name stands for, the same in every subcommand (quantize, eval, task, study, the benchmarks).
// nf4 is bitsandbytes' default (block 64, no double quant); nf4-dq adds double quant (the seed pipeline's
// BitsAndBytesConfig). False: no such name.
template <class F>
bool visit_named_config(const std::string& name, F&& f) {
  if (name == "nf4") return f(std::type_identity<NF4Config<64, false>>{}, 0, true), true;
  if (name == "nf4-dq") return f(std::type_identity<NF4Config<64, true>>{}, 0, true), true;
  if (name == "fp4") return f(std::type_identity<FP4Config<64, false>>{}, 0, true), true;
  if (name == "int8") return f(std::type_identity<Int8Config>{}, 0, true), true;
  if (name == "fp8") return f(std::type_identity<FP8Config>{}, 0, false), true;
  if (name == "int4-g32") return f(std::type_identity<Int4Config<32>>{}, 32, false), true;
  if (name == "int4-g64") return f(std::type_identity<Int4Config<64>>{}, 64, false), true;
  if (name == "int4-g128") return f(std::type_identity<Int4Config<128>>{}, 128, false), true;
  return false;
}

inline NamedQuant named_quant(const std::string& name) {
  NamedQuant q;
  const bool known = visit_named_config(name, [&]<class C>(std::type_identity<C>, std::int64_t group, bool bnb) {
    q = named_quant_of<C>(name, group, bnb);
  });
  if (!known) throw Error(Errc::invalid_argument, "", "--quant", "unknown quant config '" + name + "' (" + named_quant_list() + ")");
  return q;
}

}  // namespace curebench::quant
