#pragma once
// Weight-only int8 with one absmax per output row: the bitsandbytes LLM.int8() checkpoint layout
// (`weight` int8 [out, in] + `SCB` float32 [out] = row absmax; w = q * SCB / 127) and gpt-fast's int8
// weight-only scheme are the same numbers. matmul runs x @ q^T in the activation dtype and scales the
// output columns: the per-row scale factors out of the dot product.
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "curebench/core/error.hpp"
#include "curebench/quant/chunking.hpp"

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

// bnb int8_vectorwise_quant (threshold 0): q = round(w * 127 / absmax_row), in slabs of rows (chunking.hpp)
// written into the preallocated outputs: the float32 working copy is one slab, and rows are independent,
// so the bytes equal the whole-tensor computation's.
inline Int8 quantize_int8(const at::Tensor& w, std::int64_t chunk_elements = kChunkElements) {
  require(w.dim() == 2, Errc::shape, "", "quantize_int8", "expected a 2-D [out, in] weight, got " + std::to_string(w.dim()) + " dims");
  const auto rows = w.size(0), cols = w.size(1);
  const auto f32 = w.options().dtype(at::kFloat);
  Int8 r{at::empty({rows, cols}, w.options().dtype(at::kChar)), at::empty({rows}, f32), w.scalar_type()};
  const auto step = slab_rows(rows, cols, 1, chunk_elements);
  const auto abs_rows = std::max<std::int64_t>(1, kSliceElements / std::max<std::int64_t>(cols, 1));  // abs() copies a slice
  auto buf = at::empty({step * cols}, f32);
  for_each_slab(rows, step, [&](std::int64_t first, std::int64_t slab) {
    auto f = buf.narrow(0, 0, slab * cols).view({slab, cols});
    f.copy_(w.narrow(0, first, slab));
    auto absmax = r.scb.narrow(0, first, slab);
    for (std::int64_t s = 0; s < slab; s += abs_rows) {
      const auto len = std::min(abs_rows, slab - s);
      absmax.narrow(0, s, len).copy_(std::get<0>(f.narrow(0, s, len).abs().max(1)));
    }
    auto safe = at::where(absmax > 0, absmax, at::ones_like(absmax));  // an all-zero row stays zero
    f.mul_((127.0f / safe).unsqueeze(1)).round_().clamp_(-127, 127);
    r.q.narrow(0, first, slab).copy_(f);
  });
  return r;
}

}  // namespace curebench::quant
