#pragma once
// The one place that knows which libtorch we build against: Debian's 1.13 (CPU) here and in CI,
// PyTorch 2.x (CUDA) on the GPU machine. Everything else calls these shims.
#include <ATen/ATen.h>
#include <torch/version.h>

#include <optional>

#include "curebench/core/dtype.hpp"
#include "curebench/core/error.hpp"

#if TORCH_VERSION_MAJOR >= 2
#define CUREBENCH_TORCH2 1
#else
#define CUREBENCH_TORCH2 0
#endif

namespace curebench::compat {

inline constexpr bool kTorch2 = CUREBENCH_TORCH2;

inline at::ScalarType to_scalar_type(DType d, const std::string& path = "", const std::string& field = "") {
  switch (d) {
    case DType::F64: return at::kDouble;
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::I64: return at::kLong;
    case DType::I32: return at::kInt;
    case DType::I16: return at::kShort;
    case DType::I8: return at::kChar;
    case DType::U8: return at::kByte;
    case DType::BOOL: return at::kBool;
    default: break;
  }
  throw Error(Errc::unsupported, path, field, "dtype " + std::string(dtype_name(d)) + " has no libtorch equivalent here");
}

// Scaled dot-product attention on [B, H, T, D] tensors with an additive float mask (or none, causal=false).
// torch 2.x: the fused kernel (flash / memory-efficient where the inputs allow); 1.13: the plain math,
// which is also the reference the fused path is checked against.
inline at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const std::optional<at::Tensor>& additive_mask, double scale) {
#if CUREBENCH_TORCH2
  return at::scaled_dot_product_attention(q, k, v, additive_mask, 0.0, false, scale);
#else
  auto scores = at::matmul(q, k.transpose(-2, -1)) * scale;
  if (additive_mask) scores = scores + *additive_mask;
  auto probs = at::softmax(scores.to(at::kFloat), -1).to(q.scalar_type());
  return at::matmul(probs, v);
#endif
}

inline bool cuda_available() {
#if defined(CUREBENCH_WITH_CUDA)
  return at::hasCUDA() && at::globalContext().hasCUDA();
#else
  return false;
#endif
}

}  // namespace curebench::compat
