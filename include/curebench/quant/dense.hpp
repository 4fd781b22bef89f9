#pragma once
// Unquantized weight (f32 / bf16 / f16): the reference every quantized format is checked against.
#include <ATen/ATen.h>

#include <cstdint>

namespace curebench::quant {

struct Dense {
  at::Tensor w;  // [out, in]

  at::Tensor matmul(const at::Tensor& x) const { return at::linear(x, w.scalar_type() == x.scalar_type() ? w : w.to(x.scalar_type())); }
  at::Tensor dequantize(at::ScalarType dtype) const { return w.to(dtype); }
  std::int64_t bytes() const { return static_cast<std::int64_t>(w.numel() * w.element_size()); }
  std::int64_t out_features() const { return w.size(0); }
  std::int64_t in_features() const { return w.size(1); }
  Dense to(const at::Device& device) const { return {w.to(device)}; }
};

}  // namespace curebench::quant
