#pragma once
// Optional CUDA kernels for the quantized formats, reached through function pointers so that the
// header-only quant types need no CUDA compiler: a translation unit compiled by nvcc that includes
// kernels/dequant.cuh (benchmarks, tests/cuda, an application) registers them at static initialisation;
// where none is linked the hooks stay null and the formats use their ATen-op paths.
#include <cstdint>

namespace curebench::quant::hooks {

// NF4/FP4: packed [n/2] bytes (high nibble first), scales float32 [n/blocksize], code float32 [16] ->
// out bf16 [n]. All device pointers; stream is a cudaStream_t.
using Bnb4DequantFn = void (*)(const std::uint8_t* packed, const float* scales, const float* code, void* out_bf16,
                               std::int64_t n, std::int64_t blocksize, void* stream);
// Int4 (tinygemm layout, before tiling): packed [N, K/2] bytes, scales_and_zeros bf16 [K/G, N, 2] ->
// out bf16 [N, K], w = (q - 8) * scale + zero.
using Int4DequantFn = void (*)(const std::uint8_t* packed, const void* scales_and_zeros_bf16, void* out_bf16,
                               std::int64_t n, std::int64_t k, std::int64_t group, void* stream);

inline Bnb4DequantFn& bnb4_dequant() {
  static Bnb4DequantFn f = nullptr;
  return f;
}
inline Int4DequantFn& int4_dequant() {
  static Int4DequantFn f = nullptr;
  return f;
}

}  // namespace curebench::quant::hooks
