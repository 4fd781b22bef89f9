#pragma once
// Optional CUDA kernels for the quantized formats, reached through function pointers so that the
// header-only quant types need no CUDA compiler: a translation unit compiled by nvcc that includes
// kernels/dequant.cuh (benchmarks, tests/cuda, an application) registers them at static initialisation;
// where none is linked the hooks stay null and the formats use their ATen-op paths.
#include <cstdint>

#include "curebench/core/env.hpp"

namespace curebench::quant::hooks {

// Int4 (tinygemm layout, before tiling): packed [N, K/2] bytes, scales_and_zeros bf16 [K/G, N, 2] ->
// out bf16 [N, K], w = (q - 8) * scale + zero.
using Int4DequantFn = void (*)(const std::uint8_t* packed, const void* scales_and_zeros_bf16, void* out_bf16,
                               std::int64_t n, std::int64_t k, std::int64_t group, void* stream);

// Views of a 4-bit weight for the small-batch kernels (kernels/gemv4.cuh); device pointers.
struct Bnb4View {
  const std::uint8_t* packed = nullptr;      // [N*K/2], high nibble first
  const float* code = nullptr;               // [16]
  const float* absmax_f32 = nullptr;         // [blocks] (no double quant)
  const std::uint8_t* absmax_u8 = nullptr;   // [blocks] (double quant: index into nested_code)
  const float* nested_code = nullptr;        // [256]
  const float* nested_absmax = nullptr;      // [ceil(blocks / nested blocksize)]
  float nested_offset = 0;
  int block_shift = 6, nested_shift = 8;     // log2 of the block sizes
};
struct Int4View {
  const std::uint8_t* packed = nullptr;      // [N, K/2]
  const void* scales_and_zeros = nullptr;    // bf16 [K/G, N, 2]
  std::int64_t n = 0;
  int group_shift = 7;
};
// y bf16 [m, n] = x bf16 [m, k] . W^T. Returns false (nothing launched) for shapes it does not take
// (m above its range, k % 32 != 0, blocks under 32): the caller falls back to dequantize + GEMM.
using Bnb4GemvFn = bool (*)(const Bnb4View& w, const void* x_bf16, void* y_bf16, std::int64_t m, std::int64_t n,
                            std::int64_t k, void* stream);
using Int4GemvFn = bool (*)(const Int4View& w, const void* x_bf16, void* y_bf16, std::int64_t m, std::int64_t k,
                            void* stream);
inline constexpr std::int64_t kGemv4MaxRows = 8;
// Which M <= 8 kernel serves these hooks (kernels/gemv4.cuh): 0, the tensor-core GEMV; 1, the shared-table FFMA
// GEMV; 2 (default), per format and M as measured on the H100 (docs/performance.md, 2026-12-06): tensor-core for
// int4 at every M and for NF4/FP4 from M = 2, FFMA for NF4/FP4 at M = 1. CUREBENCH_GEMV_KERNEL=mma|lut|auto
// picks one at start; benchmarks and tests set it to compare the kernels in one run.
inline constexpr int kGemv4DefaultVariant = 2;
inline int& gemv4_variant() {
  static int v = env::choice("CUREBENCH_GEMV_KERNEL", {{"mma", 0}, {"lut", 1}}, kGemv4DefaultVariant);
  return v;
}
// Several weights of one format against the same x in one launch (quant/grouped.hpp): gated_activation -1
// writes the outputs side by side ([m, sum of rows]); 0 (SiLU) or 1 (GELU, tanh) takes two weights of equal
// rows, gate and up, and writes bf16(act(gate) * up) [m, rows].
using Bnb4GroupedGemvFn = bool (*)(const Bnb4View* w, const std::int64_t* rows, int count, int gated_activation,
                                   const void* x_bf16, void* y_bf16, std::int64_t m, std::int64_t k, void* stream);
using Int4GroupedGemvFn = bool (*)(const Int4View* w, int count, int gated_activation, const void* x_bf16, void* y_bf16,
                                   std::int64_t m, std::int64_t k, void* stream);
inline Bnb4GroupedGemvFn& bnb4_gemv_grouped() {
  static Bnb4GroupedGemvFn f = nullptr;
  return f;
}
inline Int4GroupedGemvFn& int4_gemv_grouped() {
  static Int4GroupedGemvFn f = nullptr;
  return f;
}

// kGemv4MaxRows < M <= kGemm4MaxRows: the fused 4-bit tensor-core GEMM (kernels/gemm4.cuh), one weight
// (count 1) or several against the same x as the grouped GEMV above (side by side, or gated gate/up). workspace:
// device memory for the K split's float32 partials, gemm4_workspace_bytes(m, n) of it (n: the rows written,
// twice the output rows when gated); null or too small only limits the split. False: nothing launched.
inline constexpr std::int64_t kGemm4MaxRows = 256;
using Bnb4GemmFn = bool (*)(const Bnb4View* w, const std::int64_t* rows, int count, int gated_activation, const void* x_bf16,
                            void* y_bf16, std::int64_t m, std::int64_t k, void* workspace, std::int64_t workspace_bytes,
                            void* stream);
using Int4GemmFn = bool (*)(const Int4View* w, int count, int gated_activation, const void* x_bf16, void* y_bf16,
                            std::int64_t m, std::int64_t k, void* workspace, std::int64_t workspace_bytes, void* stream);
inline Bnb4GemmFn& bnb4_gemm() {
  static Bnb4GemmFn f = nullptr;
  return f;
}
inline Int4GemmFn& int4_gemm() {
  static Int4GemmFn f = nullptr;
  return f;
}
// Up to 8 splits of float32 [m, n] while that stays within 16 MB (a split is only worth it while the grid is
// short of the GPU's blocks, i.e. for small m x n); 0 when not even two fit.
inline std::int64_t gemm4_workspace_bytes(std::int64_t m, std::int64_t n) {
  const std::int64_t one = 4 * m * n;
  if (one <= 0) return 0;
  std::int64_t splits = (std::int64_t{16} << 20) / one;
  if (splits > 8) splits = 8;
  return splits >= 2 ? splits * one : 0;
}
// Which path serves kGemv4MaxRows < M <= kGemm4MaxRows: 0, the fused GEMM; 1, dequantize to bf16 + cuBLAS (the
// path before it); 2 (default), the fused GEMM for the formats and M up to kGemm4AutoMaxRows*, where it measured
// faster on the H100 (docs/performance.md). CUREBENCH_GEMM_KERNEL=fused|dequant|auto picks one at start.
// Measured 2026-12-07 (one H100, Llama-3-8B shapes, a layer's q|k|v + o + gate|up + down): the fused GEMM takes
// 0.53x (NF4-DQ) / 0.40x (int4) the time of dequantize + cuBLAS at M = 64, 0.91x / 0.67x at M = 128, 1.61x /
// 1.16x at M = 256; so auto takes it up to 128 rows for both.
inline constexpr std::int64_t kGemm4AutoMaxRowsBnb4 = 128, kGemm4AutoMaxRowsInt4 = 128;
inline int& gemm4_variant() {
  static int v = env::choice("CUREBENCH_GEMM_KERNEL", {{"fused", 0}, {"dequant", 1}}, 2);
  return v;
}
inline bool use_fused_gemm(bool int4, std::int64_t rows) {
  if (rows <= kGemv4MaxRows || rows > kGemm4MaxRows) return false;
  const int v = gemm4_variant();
  return v == 0 || (v == 2 && rows <= (int4 ? kGemm4AutoMaxRowsInt4 : kGemm4AutoMaxRowsBnb4));
}

inline Bnb4GemvFn& bnb4_gemv() {
  static Bnb4GemvFn f = nullptr;
  return f;
}
inline Int4GemvFn& int4_gemv() {
  static Int4GemvFn f = nullptr;
  return f;
}

// NF4/FP4 -> out bf16 [n] (n % 8 == 0), double-quant scales decoded in the kernel. Device pointers; stream
// is a cudaStream_t.
using Bnb4DequantFn = void (*)(const Bnb4View& w, void* out_bf16, std::int64_t n, void* stream);

// FP8 W8A8 (quant/fp8.hpp): x bf16 [rows, k] -> codes uint8 [rows, k] (e4m3fn, round to nearest even, saturating)
// and scales float32 [rows], scale = amax(|x_row|) * (1 / 448), codes = e4m3(x / scale) (divide by 1 for an all-zero
// row): quant::quantize_rows_e4m3's numbers, one launch. False: nothing launched.
using Fp8QuantizeRowsFn = bool (*)(const void* x_bf16, std::uint8_t* codes, float* scales, std::int64_t rows, std::int64_t k,
                                   void* stream);
inline Fp8QuantizeRowsFn& fp8_quantize_rows() {
  static Fp8QuantizeRowsFn f = nullptr;
  return f;
}
// FP8 W8A8 for M <= kFp8GemvMaxRows (decode): y bf16 [m, n] = (x_codes [m, k] . w_codes [n, k]^T) * x_scales[m] *
// w_scales[n], e4m3 operands on the tensor cores (mma.sync m16n8k32 e4m3, float32 accumulation), the weight read
// once. cuBLASLt's FP8 GEMM at one row runs few thread blocks (one per 128-256 output columns), far from the
// bandwidth a decode step needs. False: nothing launched (k % 16 != 0, m out of range, misaligned pointers).
inline constexpr std::int64_t kFp8GemvMaxRows = 8;
using Fp8GemvFn = bool (*)(const std::uint8_t* w_codes, const float* w_scales, const std::uint8_t* x_codes, const float* x_scales,
                           void* y_bf16, std::int64_t m, std::int64_t n, std::int64_t k, void* stream);
inline Fp8GemvFn& fp8_gemv() {
  static Fp8GemvFn f = nullptr;
  return f;
}

inline Bnb4DequantFn& bnb4_dequant() {
  static Bnb4DequantFn f = nullptr;
  return f;
}
inline Int4DequantFn& int4_dequant() {
  static Int4DequantFn f = nullptr;
  return f;
}

}  // namespace curebench::quant::hooks
