#pragma once
// FP8 W8A8 (`--quant fp8`): the weight in OCP FP8 E4M3 ("e4m3fn": exponent bias 7, no infinities, one NaN
// code per sign, largest finite 448) with one float32 scale per output row, w ~ e4m3(q) * scale[row]; the
// activation quantized per token (per row of x) at run time with a dynamic scale amax / 448, the scheme
// serving engines run on H100 for the batch regime (vLLM's and fbgemm's "fp8 dynamic, per channel").
//   y[m, n] = (sum_k e4m3(xq[m, k]) * e4m3(wq[n, k])) * sx[m] * sw[n]
// On CUDA (compute capability >= 8.9, PyTorch 2.x) the sum is the GPU's FP8 tensor-core GEMM through
// at::_scaled_mm with row-wise scales (float32 accumulation, bf16 out), and for up to 8 rows (decode) the
// tensor-core GEMV of kernels/fp8.cuh (the weight read once at full bandwidth). Elsewhere (CPU; Debian's libtorch
// 1.13 has no float8 type) the same numbers are emulated: both operands rounded to e4m3 exactly as the GPU
// path rounds them, decoded, multiplied in float32. Storage is uint8 holding the e4m3 bit patterns on
// every libtorch; torch 2.x views those bytes as at::kFloat8_e4m3fn without a copy.
// Rounding: round to nearest, ties to even, saturating at +-448 (what torch's and CUDA's float -> e4m3
// conversions give in range; tests/cuda/test_cuda_fp8.cpp checks the bytes against torch's cast).
#include <ATen/ATen.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "curebench/core/error.hpp"
#include "curebench/core/torch_compat.hpp"
#include "curebench/quant/chunking.hpp"
#include "curebench/quant/kernel_hooks.hpp"

#if defined(CUREBENCH_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace curebench::quant {

inline constexpr float kE4M3Max = 448.0f;
// Scales are amax * (1 / 448) with the reciprocal rounded to float once, not amax / 448: ATen's CUDA division by a
// scalar multiplies by the reciprocal while its CPU division divides, so only the product is the same bits on both
// (and in kernels/fp8.cuh).
inline constexpr float kInvE4M3Max = 1.0f / kE4M3Max;

// The value of each of the 256 e4m3fn codes, from the format's definition (sign, 4 exponent bits, 3 mantissa
// bits): exponent field 0 is subnormal (m / 8 * 2^-6), 15 with mantissa 7 is NaN.
inline float e4m3_value(std::uint8_t code) {
  const int e = (code >> 3) & 0xF, m = code & 0x7;
  const float sign = (code & 0x80) ? -1.0f : 1.0f;
  if (e == 0xF && m == 0x7) return std::numeric_limits<float>::quiet_NaN();
  if (e == 0) return sign * std::ldexp(static_cast<float>(m), -9);
  return sign * std::ldexp(1.0f + static_cast<float>(m) / 8.0f, e - 7);
}

inline at::Tensor e4m3_table(const at::Device& device = at::kCPU) {
  std::array<float, 256> v{};
  for (int c = 0; c < 256; ++c) v[c] = e4m3_value(static_cast<std::uint8_t>(c));
  return at::tensor(at::ArrayRef<float>(v.data(), v.size()), at::kFloat).to(device);
}

// float32 -> e4m3fn codes (uint8), with ATen integer ops so that it runs where the tensor is (the GPU at load):
// in the normal range (|f| >= 2^-6) the float's 23 mantissa bits are rounded to 3 by adding half an e4m3 step
// minus one plus the kept lowest bit (ties to even) and shifting; a carry into the exponent is the right result.
// Below 2^-6 the e4m3 grid is uniform (2^-9 steps), so round(|f| * 512) is the code (8 is 2^-6, the first normal).
inline at::Tensor encode_e4m3(const at::Tensor& f32) {
  auto f = f32.to(at::kFloat).contiguous();
  auto a = f.abs().clamp_max(kE4M3Max).contiguous();
  auto bits = a.view(at::kInt);
  auto normal = (bits + 0x7FFFF + bits.__rshift__(20).bitwise_and(1)).__rshift__(20) - ((127 - 7) << 3);
  auto subnormal = (a * 512.0f).round().to(at::kInt);
  auto code = at::where(a >= 0.015625f, normal, subnormal);
  code = at::where(at::isnan(f), at::full_like(code, 0x7F), code);
  auto sign = f.view(at::kInt).lt(0).to(at::kInt).__lshift__(7);
  return code.bitwise_or(sign).to(at::kByte);
}

// e4m3fn codes (uint8) -> float32 values.
inline at::Tensor decode_e4m3(const at::Tensor& codes) {
#if CUREBENCH_TORCH2
  return codes.contiguous().view(at::kFloat8_e4m3fn).to(at::kFloat);
#else
  return e4m3_table(codes.device()).index_select(0, codes.flatten().to(at::kLong)).view(codes.sizes());
#endif
}

// Per-row dynamic quantization of x [rows, k]: scale = amax(|x_row|) * (1 / 448) (0 for an all-zero row, which then
// divides by 1), codes = e4m3(x / scale). The reference of the CUDA kernel behind hooks::fp8_quantize_rows.
struct RowsE4M3 {
  at::Tensor codes;   // uint8 [rows, k]
  at::Tensor scales;  // float32 [rows]
};
inline RowsE4M3 quantize_rows_e4m3(const at::Tensor& x2) {
  auto f = x2.to(at::kFloat);
  auto scale = std::get<0>(f.abs().max(-1)) * kInvE4M3Max;
  auto safe = at::where(scale > 0, scale, at::ones_like(scale));
  return {encode_e4m3(f / safe.unsqueeze(1)), scale};
}

struct FP8 {
  at::Tensor q;      // uint8 [out, in], e4m3fn bit patterns
  at::Tensor scale;  // float32 [out]
  at::ScalarType dtype = at::kBFloat16;

  at::Tensor dequantize(at::ScalarType dt) const { return (decode_e4m3(q) * scale.unsqueeze(1)).to(dt); }

  at::Tensor matmul(const at::Tensor& x) const {
    const auto k = x.size(-1), rows = x.numel() / std::max<std::int64_t>(k, 1);
    auto shape = x.sizes().vec();
    shape.back() = out_features();
    auto x2 = x.reshape({rows, k});
    auto y = fast_matmul(x2);
    if (!y.defined()) {
      auto xq = quantize_rows_e4m3(x2);
      y = at::linear(decode_e4m3(xq.codes), decode_e4m3(q.to(x2.device()))) * xq.scales.unsqueeze(1) * scale.to(x2.device());
    }
    return y.view(shape).to(x.scalar_type());
  }
  std::int64_t bytes() const { return q.numel() + scale.numel() * 4; }
  std::int64_t out_features() const { return q.size(0); }
  std::int64_t in_features() const { return q.size(1); }
  FP8 to(const at::Device& d) const { return {q.to(d), scale.to(d), dtype}; }

  // Whether x [rows, k] on this device takes the FP8 tensor-core GEMM (tests check that the GPU machine's does).
  bool takes_fast_path(const at::Tensor& x2) const {
#if defined(CUREBENCH_WITH_CUDA) && CUREBENCH_TORCH2
    if (!x2.is_cuda() || !q.is_cuda() || x2.dim() != 2 || in_features() % 16 != 0 || out_features() % 16 != 0) return false;
    const auto* p = at::cuda::getDeviceProperties(x2.get_device());
    return p->major * 10 + p->minor >= 89;
#else
    (void)x2;
    return false;
#endif
  }

 private:
  // Undefined when the tensor-core path does not apply; the caller emulates.
  at::Tensor fast_matmul(const at::Tensor& x2) const {
#if defined(CUREBENCH_WITH_CUDA) && CUREBENCH_TORCH2
    if (!takes_fast_path(x2)) return {};
    auto xb = x2.to(at::kBFloat16).contiguous();
    const auto rows = xb.size(0), k = xb.size(1);
    at::Tensor codes, scales;
    if (auto fn = hooks::fp8_quantize_rows(); fn && rows > 0) {
      codes = at::empty({rows, k}, xb.options().dtype(at::kByte));
      scales = at::empty({rows}, xb.options().dtype(at::kFloat));
      if (!fn(xb.data_ptr(), codes.data_ptr<std::uint8_t>(), scales.data_ptr<float>(), rows, k,
              c10::cuda::getCurrentCUDAStream().stream()))
        codes = at::Tensor();
    }
    if (!codes.defined()) {
      auto r = quantize_rows_e4m3(xb);
      codes = r.codes, scales = r.scales;
    }
    if (auto gemv = hooks::fp8_gemv(); gemv && rows <= hooks::kFp8GemvMaxRows) {  // decode: kernels/fp8.cuh
      auto y = at::empty({rows, out_features()}, xb.options());
      if (gemv(q.data_ptr<std::uint8_t>(), scale.data_ptr<float>(), codes.data_ptr<std::uint8_t>(), scales.data_ptr<float>(),
               y.data_ptr(), rows, out_features(), k, c10::cuda::getCurrentCUDAStream().stream()))
        return y;
    }
    // Row-wise scaling: a [rows, k] row-major, b [k, n] column-major (the [n, k] weight transposed), scale_a
    // [rows, 1], scale_b [1, n], float32; bf16 out; exact float32 accumulation (use_fast_accum off).
    return at::_scaled_mm(codes.view(at::kFloat8_e4m3fn), q.view(at::kFloat8_e4m3fn).t(), scales.unsqueeze(1).contiguous(),
                          scale.view({1, out_features()}), std::nullopt, std::nullopt, at::kBFloat16, false);
#else
    (void)x2;
    return {};
#endif
  }
};

// Per output row: scale = amax(|w_row|) * (1 / 448), q = e4m3(w / scale), in slabs of rows (chunking.hpp) written
// into the preallocated outputs. The encoder's integer temporaries cost ~40 bytes per slab value, so a slab is
// 1 Mi values on the host and 4 Mi on a GPU (160 MiB, within quantize_transient_bytes' GPU allowance; fewer
// launches at load).
inline FP8 quantize_fp8(const at::Tensor& w, std::int64_t chunk_elements = kChunkElements) {
  require(w.dim() == 2, Errc::shape, "", "quantize_fp8", "expected a 2-D [out, in] weight, got " + std::to_string(w.dim()) + " dims");
  const auto rows = w.size(0), cols = w.size(1);
  FP8 r{at::empty({rows, cols}, w.options().dtype(at::kByte)), at::empty({rows}, w.options().dtype(at::kFloat)), w.scalar_type()};
  const auto step = slab_rows(rows, cols, 1, std::min(chunk_elements, w.is_cuda() ? kChunkElements / 4 : kSliceElements));
  for_each_slab(rows, step, [&](std::int64_t first, std::int64_t slab) {
    auto s = quantize_rows_e4m3(w.narrow(0, first, slab));
    r.q.narrow(0, first, slab).copy_(s.codes);
    r.scale.narrow(0, first, slab).copy_(s.scales);
  });
  return r;
}

}  // namespace curebench::quant
