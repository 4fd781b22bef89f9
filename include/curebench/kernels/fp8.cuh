#pragma once
// FP8 W8A8's per-token activation quantization in one launch (quant/fp8.hpp, hooks::fp8_quantize_rows): the
// ATen reference is ~8 launches (abs, max, divide, where, the encoder's integer steps), and it runs before every
// FP8 matmul. One block per row: the row's amax, scale = amax * (1 / 448), then codes = e4m3(x / scale) through
// the hardware conversion (round to nearest even, saturating to +-448, NaN to NaN): the reference's numbers bit
// for bit (the division is IEEE in both; tests/cuda/test_cuda_fp8.cpp compares codes and scales).
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "curebench/kernels/gemv4.cuh"
#include "curebench/kernels/layers.cuh"
#include "curebench/quant/kernel_hooks.hpp"

namespace curebench::kernels {

// Threads per row: a decode step quantizes a handful of rows of up to 14336 values, and one 256-thread block per
// row left each row ~10 us of serial work (the first GPU run, 2026-12-07); 1024 threads with 16-byte loads give a
// thread one or two vectors. Many rows (prefill, large batches) keep 256, enough blocks to fill the GPU.
inline constexpr int kFp8QuantThreadsFew = 1024, kFp8QuantThreadsMany = 256;
inline constexpr std::int64_t kFp8QuantFewRows = 64;

// From each thread's part of the row's amax: the row's scale amax * (1 / 448), written by thread 0, and the divisor
// the codes use (1 for an all-zero row, whose scale is 0).
__device__ __forceinline__ float fp8_row_divisor(float amax_part, float* scratch, float* scales, std::int64_t row) {
  const float scale = __fmul_rn(block_max(amax_part, scratch), 1.0f / 448.0f);
  if (threadIdx.x == 0) scales[row] = scale;
  return scale > 0.0f ? scale : 1.0f;
}

// k % 8 == 0: rows as 16-byte vectors of 8 bf16 in, 8-byte vectors of 8 codes out.
template <int kThreads>
__global__ void __launch_bounds__(kThreads)
    fp8_quantize_rows_vec_kernel(const uint4* __restrict__ x, uint2* __restrict__ codes, float* __restrict__ scales, std::int64_t k8) {
  __shared__ float scratch[32];
  pdl_start();
  const std::int64_t row = blockIdx.x;
  const uint4* xr = x + row * k8;
  uint2* qr = codes + row * k8;
  float m = 0.0f;
  for (std::int64_t i = threadIdx.x; i < k8; i += kThreads) {
    const uint4 v = xr[i];
    const auto* h = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const float2 f = __bfloat1622float2(h[j]);
      m = fmaxf(m, fmaxf(fabsf(f.x), fabsf(f.y)));
    }
  }
  const float divisor = fp8_row_divisor(m, scratch, scales, row);
  for (std::int64_t i = threadIdx.x; i < k8; i += kThreads) {
    const uint4 v = xr[i];
    const auto* h = reinterpret_cast<const __nv_bfloat162*>(&v);
    std::uint32_t pair[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const float2 f = __bfloat1622float2(h[j]);
      pair[j] = __nv_cvt_float2_to_fp8x2(make_float2(__fdiv_rn(f.x, divisor), __fdiv_rn(f.y, divisor)), __NV_SATFINITE, __NV_E4M3);
    }
    qr[i] = make_uint2(pair[0] | (pair[1] << 16), pair[2] | (pair[3] << 16));
  }
}

// Any k: one value at a time.
__global__ void __launch_bounds__(kFp8QuantThreadsMany)
    fp8_quantize_rows_kernel(const __nv_bfloat16* __restrict__ x, std::uint8_t* __restrict__ codes, float* __restrict__ scales,
                             std::int64_t k) {
  __shared__ float scratch[32];
  const std::int64_t row = blockIdx.x;
  const __nv_bfloat16* xr = x + row * k;
  std::uint8_t* qr = codes + row * k;
  float m = 0.0f;
  for (std::int64_t i = threadIdx.x; i < k; i += blockDim.x) m = fmaxf(m, fabsf(__bfloat162float(xr[i])));
  const float divisor = fp8_row_divisor(m, scratch, scales, row);
  for (std::int64_t i = threadIdx.x; i < k; i += blockDim.x)
    qr[i] = static_cast<std::uint8_t>(__nv_cvt_float_to_fp8(__fdiv_rn(__bfloat162float(xr[i]), divisor), __NV_SATFINITE, __NV_E4M3));
}

inline bool fp8_quantize_rows(const void* x_bf16, std::uint8_t* codes, float* scales, std::int64_t rows, std::int64_t k,
                              void* stream) {
  if (rows < 1 || k < 1 || rows > 0x7FFFFFFF) return false;
  auto s = static_cast<cudaStream_t>(stream);
  const auto blocks = static_cast<unsigned>(rows);
  const bool vec = k % 8 == 0 && reinterpret_cast<std::uintptr_t>(x_bf16) % 16 == 0 && reinterpret_cast<std::uintptr_t>(codes) % 8 == 0;
  if (vec && rows <= kFp8QuantFewRows)
    launch_dependent<&fp8_quantize_rows_vec_kernel<kFp8QuantThreadsFew>>(blocks, kFp8QuantThreadsFew, 0, s, static_cast<const uint4*>(x_bf16),
                                                                         reinterpret_cast<uint2*>(codes), scales, k / 8);
  else if (vec)
    launch_dependent<&fp8_quantize_rows_vec_kernel<kFp8QuantThreadsMany>>(blocks, kFp8QuantThreadsMany, 0, s, static_cast<const uint4*>(x_bf16),
                                                                          reinterpret_cast<uint2*>(codes), scales, k / 8);
  else
    fp8_quantize_rows_kernel<<<blocks, kFp8QuantThreadsMany, 0, s>>>(static_cast<const __nv_bfloat16*>(x_bf16), codes, scales, k);
  return cudaPeekAtLastError() == cudaSuccess;
}

// ---- FP8 GEMV for M <= 8 (decode): e4m3 x e4m3 on the tensor cores, no decoding -------------------------------
// mma.sync m16n8k32 (e4m3 in, float32 accumulate) multiplies 16 weight rows x 32 k by x^T [32 k x 8]: the batch
// rows are the MMA's N. Lane (g = lane / 4, t = lane % 4) holds A rows g and g + 8 at k slots {4t..4t+3,
// 16+4t..16+4t+3} and B column g at the same slots. The order of k inside a dot product is free, so lane t's slots
// are its own 16-byte chunk c = 4i + t of each row at warp step i: MMA 0 takes the chunk's bytes 0-7, MMA 1 bytes
// 8-15 (slots 4t.. <- bytes 0-3 / 8-11, slots 16+4t.. <- bytes 4-7 / 12-15), and x row g's 16 codes at 16c are
// the matching B. The work layout is the 4-bit tensor-core GEMV's (kernels/gemv4.cuh): a block is
// mma_split_for_chunks(K / 16) warps on one 16-row tile, each loading kMmaSteps steps of weights before
// multiplying, the warps' sums added in warp order (sum_split_warps). Epilogue: y = acc * x_scale[col] * w_scale[row].

__device__ __forceinline__ void mma_e4m3_16832(float (&d)[4], std::uint32_t a0, std::uint32_t a1, std::uint32_t a2,
                                               std::uint32_t a3, std::uint32_t b0, std::uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__global__ void __launch_bounds__(kMmaMaxSplit * 32)
    fp8_gemv_kernel(const uint4* __restrict__ w, const float* __restrict__ w_scales, const uint4* __restrict__ x,
                    const float* __restrict__ x_scales, __nv_bfloat16* __restrict__ y, int m, std::int64_t n, std::int64_t k) {
  __shared__ float4 partial[kMmaMaxSplit][32];
  pdl_launch_dependents();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int split = static_cast<int>(blockDim.x >> 5);
  const std::int64_t chunks = k >> 4;  // 16-byte chunks per row
  const std::int64_t row0 = static_cast<std::int64_t>(blockIdx.x) * 16 + g, row1 = row0 + 8;
  const bool valid0 = row0 < n, valid1 = row1 < n, has_x = g < m;
  const uint4* w0 = w + (valid0 ? row0 : 0) * chunks;
  const uint4* w1 = w + (valid1 ? row1 : 0) * chunks;
  const uint4* xg = x + static_cast<std::int64_t>(has_x ? g : 0) * chunks;
  const std::uint64_t policy = evict_first_policy();  // the weight is read once (kernels/gemv4.cuh)
  const int steps = static_cast<int>((chunks + 3) >> 2);
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  const uint4 zero = make_uint4(0, 0, 0, 0);
  bool waited = false;
  for (int i0 = warp * kMmaSteps; i0 < steps; i0 += split * kMmaSteps) {
    uint4 a[kMmaSteps][2], b[kMmaSteps];
#pragma unroll
    for (int u = 0; u < kMmaSteps; ++u) {
      const std::int64_t c = 4 * static_cast<std::int64_t>(i0 + u) + t;
      const bool in = c < chunks;
      a[u][0] = in && valid0 ? load_weight(w0 + c, policy) : zero;
      a[u][1] = in && valid1 ? load_weight(w1 + c, policy) : zero;
    }
    if (!waited) {  // the first slab of weights is in flight before x is read (kernels/launch.cuh)
      pdl_wait();
      waited = true;
    }
#pragma unroll
    for (int u = 0; u < kMmaSteps; ++u) {
      const std::int64_t c = 4 * static_cast<std::int64_t>(i0 + u) + t;
      b[u] = c < chunks && has_x ? __ldg(xg + c) : zero;
    }
#pragma unroll
    for (int u = 0; u < kMmaSteps; ++u) {
      mma_e4m3_16832(acc, a[u][0].x, a[u][1].x, a[u][0].y, a[u][1].y, b[u].x, b[u].y);
      mma_e4m3_16832(acc, a[u][0].z, a[u][1].z, a[u][0].w, a[u][1].w, b[u].z, b[u].w);
    }
  }
  if (!sum_split_warps(acc, partial, warp, lane, split)) return;
  if (!waited) pdl_wait();
  // acc: {row g, batch 2t}, {row g, 2t + 1}, {row g + 8, 2t}, {row g + 8, 2t + 1}.
#pragma unroll
  for (int e = 0; e < 2; ++e) {
    const int col = 2 * t + e;
    if (col >= m) continue;
    const float sx = x_scales[col];
    if (valid0) y[col * n + row0] = __float2bfloat16_rn(acc[e] * sx * w_scales[row0]);
    if (valid1) y[col * n + row1] = __float2bfloat16_rn(acc[2 + e] * sx * w_scales[row1]);
  }
}

inline bool fp8_gemv(const std::uint8_t* w_codes, const float* w_scales, const std::uint8_t* x_codes, const float* x_scales,
                     void* y_bf16, std::int64_t m, std::int64_t n, std::int64_t k, void* stream) {
  if (m < 1 || m > quant::hooks::kFp8GemvMaxRows || n < 1 || k % 16 != 0 || k < 16 ||
      reinterpret_cast<std::uintptr_t>(w_codes) % 16 != 0 || reinterpret_cast<std::uintptr_t>(x_codes) % 16 != 0)
    return false;
  const auto tiles = (n + 15) / 16;
  if (tiles > 0x7FFFFFFF) return false;
  launch_dependent<&fp8_gemv_kernel>(static_cast<unsigned>(tiles), mma_split_for_chunks(k >> 4) * 32, 0,
                                     static_cast<cudaStream_t>(stream), reinterpret_cast<const uint4*>(w_codes), w_scales,
                                     reinterpret_cast<const uint4*>(x_codes), x_scales, static_cast<__nv_bfloat16*>(y_bf16),
                                     static_cast<int>(m), n, k);
  return cudaPeekAtLastError() == cudaSuccess;
}

}  // namespace curebench::kernels
