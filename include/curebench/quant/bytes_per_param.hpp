#pragma once
// What a format really costs: bytes held per parameter (all buffers, scales and code tables included),
// measured on a quantized weight rather than taken from a formula. The nominal figures are in each
// QuantConfig::bits_per_weight(); tests check the two agree (NF4 4.5 bits, NF4 + double quant 4.127).
#include <ATen/ATen.h>

#include <cstdint>

#include "curebench/quant/config.hpp"
#include "curebench/quant/weight.hpp"

namespace curebench::quant {

inline double bytes_per_param(const Weight& w) {
  return static_cast<double>(weight_bytes(w)) / static_cast<double>(out_features(w) * in_features(w));
}
inline double bits_per_param(const Weight& w) { return 8.0 * bytes_per_param(w); }

// Quantize a random [out, in] weight with config C and measure; the default shape is one Llama-3-8B
// attention projection, where per-tensor constants (code tables) are negligible.
template <QuantConfig C>
double measured_bits_per_param(std::int64_t out = 4096, std::int64_t in = 4096) {
  return bits_per_param(C{}.quantize(at::randn({out, in}, at::kFloat) * 0.02));
}

}  // namespace curebench::quant
