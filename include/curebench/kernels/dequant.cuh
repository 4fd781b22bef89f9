#pragma once
// Dequantize-to-bf16 kernels for NF4/FP4 (bitsandbytes layout) and int4 (tinygemm layout before tiling),
// near memory bandwidth: each thread reads 4 packed bytes (8 weights) with one 32-bit load and writes
// 8 bf16 with one 16-byte store; the block scale (double quant decoded here) is one per 8 weights. Followed by
// a cuBLAS GEMM in the quant types' matmul (quant/bnb4.hpp, quant/int4.hpp) for M above the GEMV range.
// Include this from exactly one .cu translation unit and call curebench::kernels::register_dequant_hooks()
// (or let CUREBENCH_REGISTER_DEQUANT_HOOKS define a static registrar).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "curebench/kernels/device.cuh"
#include "curebench/kernels/gemv4.cuh"
#include "curebench/quant/kernel_hooks.hpp"

namespace curebench::kernels {

// Element order: byte i holds elements 2i (high nibble) and 2i+1 (low). n % 8 == 0 (true for every
// real weight: in_features is a multiple of 8). Scales as the GEMV decodes them (Bnb4Format::scale of
// gemv4.cuh, one block per 2^block_shift elements of the flattened tensor; blocks >= 8 elements).
__global__ void bnb4_dequant_kernel(const std::uint32_t* __restrict__ packed, Bnb4Format fmt, uint4* __restrict__ out,
                                    std::int64_t n8) {
  __shared__ float lut[16];
  fmt.fill_lut(lut);
  __syncthreads();
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n8;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::uint32_t w = __ldg(packed + i);
    const float s = fmt.block_scale((i * 8) >> fmt.v.block_shift);
    __nv_bfloat162 v[4];
#pragma unroll
    for (int b = 0; b < 4; ++b) {
      const std::uint32_t byte = (w >> (8 * b)) & 0xFFu;  // little endian: byte b is element pair b
      v[b] = __floats2bfloat162_rn(lut[byte >> 4] * s, lut[byte & 0xF] * s);
    }
    out[i] = *reinterpret_cast<uint4*>(v);
  }
}

// Int4: row r of [N, K]; group scale/zero at sz[(col / G) * N + r] (pairs of bf16).
__global__ void int4_dequant_kernel(const std::uint32_t* __restrict__ packed, const __nv_bfloat162* __restrict__ sz,
                                    uint4* __restrict__ out, std::int64_t n, std::int64_t k, int group_shift) {
  const std::int64_t k8 = k / 8, total = n * k8;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t row = i / k8, col = (i - row * k8) * 8;
    const std::uint32_t w = __ldg(packed + i);
    const float2 p = __bfloat1622float2(sz[(col >> group_shift) * n + row]);
    const float scale = p.x, zero = p.y;
    __nv_bfloat162 v[4];
#pragma unroll
    for (int b = 0; b < 4; ++b) {
      const std::uint32_t byte = (w >> (8 * b)) & 0xFFu;
      v[b] = __floats2bfloat162_rn((static_cast<float>(byte >> 4) - 8.0f) * scale + zero,
                                   (static_cast<float>(byte & 0xF) - 8.0f) * scale + zero);
    }
    out[i] = *reinterpret_cast<uint4*>(v);
  }
}

inline int log2_exact(std::int64_t v) {
  int s = 0;
  while ((std::int64_t{1} << s) < v) ++s;
  return s;
}

inline unsigned grid_for(std::int64_t items) {
  const std::int64_t blocks = (items + 255) / 256;
  const std::int64_t cap = std::int64_t{sm_count()} * 32;
  return static_cast<unsigned>(blocks < cap ? blocks : cap);
}

inline void bnb4_dequant(const quant::hooks::Bnb4View& w, void* out_bf16, std::int64_t n, void* stream) {
  const auto n8 = n / 8;
  bnb4_dequant_kernel<<<grid_for(n8), 256, 0, static_cast<cudaStream_t>(stream)>>>(
      reinterpret_cast<const std::uint32_t*>(w.packed), Bnb4Format{w}, static_cast<uint4*>(out_bf16), n8);
}

inline void int4_dequant(const std::uint8_t* packed, const void* sz, void* out_bf16, std::int64_t n, std::int64_t k,
                         std::int64_t group, void* stream) {
  int4_dequant_kernel<<<grid_for(n * k / 8), 256, 0, static_cast<cudaStream_t>(stream)>>>(
      reinterpret_cast<const std::uint32_t*>(packed), static_cast<const __nv_bfloat162*>(sz), static_cast<uint4*>(out_bf16),
      n, k, log2_exact(group));
}

inline bool register_dequant_hooks() {
  quant::hooks::bnb4_dequant() = &bnb4_dequant;
  quant::hooks::int4_dequant() = &int4_dequant;
  quant::hooks::bnb4_gemv() = &bnb4_gemv;
  quant::hooks::int4_gemv() = &int4_gemv;
  quant::hooks::bnb4_gemv_grouped() = &bnb4_gemv_grouped;
  quant::hooks::int4_gemv_grouped() = &int4_gemv_grouped;
  return true;
}

}  // namespace curebench::kernels

#if defined(CUREBENCH_REGISTER_DEQUANT_HOOKS)
namespace {
[[maybe_unused]] const bool curebench_dequant_hooks_registered = curebench::kernels::register_dequant_hooks();
}
#endif
