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

// Scaled dot-product attention: q [B, Hq, T, D], k/v [B, Hkv, S, D] with Hkv dividing Hq (grouped-query
// attention: query head h reads kv head h / (Hq/Hkv)), additive float mask [B, 1, T, S].
// torch 2.x: the fused kernel, which reads the shared kv heads in place; 1.13: the plain math (also the
// reference the fused path is checked against), which repeats the kv heads first.
inline at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const std::optional<at::Tensor>& additive_mask, double scale) {
#if CUREBENCH_TORCH2
  return at::scaled_dot_product_attention(q, k, v, additive_mask, 0.0, false, scale, /*enable_gqa=*/q.size(1) != k.size(1));
#else
  auto rep = q.size(1) / k.size(1);
  auto kk = rep > 1 ? k.repeat_interleave(rep, 1) : k, vv = rep > 1 ? v.repeat_interleave(rep, 1) : v;
  auto scores = at::matmul(q, kk.transpose(-2, -1)) * scale;
  if (additive_mask) scores = scores + *additive_mask;
  auto probs = at::softmax(scores.to(at::kFloat), -1).to(q.scalar_type());
  return at::matmul(probs, vv);
#endif
}

inline bool cuda_available() {
#if defined(CUREBENCH_WITH_CUDA)
  return at::hasCUDA() && at::globalContext().hasCUDA();
#else
  return false;
#endif
}

// ---- int4 weight-only (tinygemm), CUDA sm80+ on torch >= 2.2 ----------------------------------------------
// Packed input: uint8 [N, K/2] with element 2i in the high nibble (torch >= 2.5 takes it as is; 2.2-2.4
// took int32 [N, K] holding 0..15, so it is unpacked here). Scales and zeros: bf16 [K/G, N, 2];
// w = (q - 8) * scale + zero. Activations must be bf16 [M, K].
#if CUREBENCH_TORCH2 && (TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 2)
#define CUREBENCH_HAS_INT4PACK 1
#else
#define CUREBENCH_HAS_INT4PACK 0
#endif
inline constexpr bool kHasInt4Pack = CUREBENCH_HAS_INT4PACK;

inline at::Tensor int4_pack(const at::Tensor& packed_u8, std::int64_t inner_k_tiles) {
#if CUREBENCH_HAS_INT4PACK
#if TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR < 5
  auto b = packed_u8.to(at::kInt);
  auto w = at::stack({b.div(16, "floor"), b.remainder(16)}, 2).view({packed_u8.size(0), -1}).contiguous();
  return at::_convert_weight_to_int4pack(w, inner_k_tiles);
#else
  return at::_convert_weight_to_int4pack(packed_u8.contiguous(), inner_k_tiles);
#endif
#else
  (void)packed_u8, (void)inner_k_tiles;
  throw Error(Errc::unsupported, "", "int4_pack", "tinygemm int4 needs libtorch >= 2.2 with CUDA");
#endif
}

inline at::Tensor int4_mm(const at::Tensor& x_bf16, const at::Tensor& tiles, std::int64_t group, const at::Tensor& scales_and_zeros) {
#if CUREBENCH_HAS_INT4PACK
  return at::_weight_int4pack_mm(x_bf16, tiles, group, scales_and_zeros);
#else
  (void)x_bf16, (void)tiles, (void)group, (void)scales_and_zeros;
  throw Error(Errc::unsupported, "", "int4_mm", "tinygemm int4 needs libtorch >= 2.2 with CUDA");
#endif
}

}  // namespace curebench::compat
