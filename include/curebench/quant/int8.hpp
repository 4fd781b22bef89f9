#pragma once
// Weight-only int8 with one absmax per output row: the bitsandbytes LLM.int8() checkpoint layout
// (`weight` int8 [out, in] + `SCB` float32 [out] = row absmax; w = q * SCB / 127) and gpt-fast's int8
// weight-only scheme are the same numbers. matmul runs x @ q^T in the activation dtype and scales the
// output columns: the per-row scale factors out of the dot product.
#include <ATen/ATen.h>

#include <cstdint>

#include "curebench/core/error.hpp"

namespace curebench::quant {

struct Int8 {
  at::Tensor q;    // int8 [out, in]
  at::Tensor scb;  // float32 [out], row absmax
  at::ScalarType dtype = at::kBFloat16;

  at::Tensor scales() const { return scb.to(at::kFloat) * (1.0f / 127.0f); }
  at::Tensor dequantize(at::ScalarType dt) const { return (q.to(at::kFloat) * scales().unsqueeze(1)).to(dt); }
  at::Tensor matmul(const at::Tensor& x) const {
    return at::linear(x, q.to(x.scalar_type())) * scales().to(x.scalar_type());
  }
  std::int64_t bytes() const { return q.numel() + scb.numel() * scb.element_size(); }
  std::int64_t out_features() const { return q.size(0); }
  std::int64_t in_features() const { return q.size(1); }
  Int8 to(const at::Device& d) const { return {q.to(d), scb.to(d), dtype}; }
};

// bnb int8_vectorwise_quant (threshold 0): q = round(w * 127 / absmax_row).
inline Int8 quantize_int8(const at::Tensor& w) {
  require(w.dim() == 2, Errc::shape, "", "quantize_int8", "expected a 2-D [out, in] weight, got " + std::to_string(w.dim()) + " dims");
  auto f = w.to(at::kFloat);
  auto absmax = std::get<0>(f.abs().max(1));
  auto safe = at::where(absmax > 0, absmax, at::ones_like(absmax));  // an all-zero row stays zero
  auto q = at::round(f * (127.0f / safe).unsqueeze(1)).clamp(-127, 127).to(at::kChar);
  return {q, absmax, w.scalar_type()};
}

}  // namespace curebench::quant
