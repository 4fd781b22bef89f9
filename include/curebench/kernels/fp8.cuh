#pragma once
// FP8 W8A8's per-token activation quantization in one launch (quant/fp8.hpp, hooks::fp8_quantize_rows): the
// ATen reference is ~8 launches (abs, max, divide, where, the encoder's integer steps), and it runs before every
// FP8 matmul. One block per row: the row's amax, scale = amax / 448, then codes = e4m3(x / scale) through the
// hardware conversion (round to nearest even, saturating to +-448, NaN to NaN): the reference's numbers bit for
// bit (the division is IEEE in both; tests/cuda/test_cuda_fp8.cpp compares codes and scales).
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "curebench/kernels/layers.cuh"
#include "curebench/quant/kernel_hooks.hpp"

namespace curebench::kernels {

inline constexpr int kFp8QuantThreads = 256;

__global__ void __launch_bounds__(kFp8QuantThreads)
    fp8_quantize_rows_kernel(const __nv_bfloat16* __restrict__ x, std::uint8_t* __restrict__ codes, float* __restrict__ scales,
                             std::int64_t k) {
  __shared__ float scratch[kFp8QuantThreads / 32];
  const std::int64_t row = blockIdx.x;
  const __nv_bfloat16* xr = x + row * k;
  std::uint8_t* qr = codes + row * k;
  float m = 0.0f;
  for (std::int64_t i = threadIdx.x; i < k; i += blockDim.x) m = fmaxf(m, fabsf(__bfloat162float(xr[i])));
  m = block_max(m, scratch);
  const float scale = __fdiv_rn(m, 448.0f);
  const float divisor = scale > 0.0f ? scale : 1.0f;
  if (threadIdx.x == 0) scales[row] = scale;
  for (std::int64_t i = threadIdx.x; i < k; i += blockDim.x)
    qr[i] = static_cast<std::uint8_t>(__nv_cvt_float_to_fp8(__fdiv_rn(__bfloat162float(xr[i]), divisor), __NV_SATFINITE, __NV_E4M3));
}

inline bool fp8_quantize_rows(const void* x_bf16, std::uint8_t* codes, float* scales, std::int64_t rows, std::int64_t k,
                              void* stream) {
  if (rows < 1 || k < 1 || rows > 0x7FFFFFFF) return false;
  fp8_quantize_rows_kernel<<<static_cast<unsigned>(rows), kFp8QuantThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      static_cast<const __nv_bfloat16*>(x_bf16), codes, scales, k);
  return cudaPeekAtLastError() == cudaSuccess;
}

}  // namespace curebench::kernels
