#pragma once
// Fused kernels for the decoder's per-token layers (model/layer_hooks.hpp says what each computes and
// why they exist). RMSNorm and RoPE reproduce the ATen compositions of model/layers.hpp rounding for
// rounding (RMSNorm's sum of squares is added in another order, so a last-bit difference is possible);
// decode attention is one block per (row, query head) over the cache columns, fp32 throughout.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "curebench/model/layer_hooks.hpp"

namespace curebench::kernels {

__device__ __forceinline__ float block_sum(float v, float* scratch) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, off);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  __syncthreads();  // scratch may still be read from a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = 0.0f;
  for (int i = 0; i < warps; ++i) total += scratch[i];
  return total;
}
__device__ __forceinline__ float block_max(float v, float* scratch) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xFFFFFFFFu, v, off));
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float m = scratch[0];
  for (int i = 1; i < warps; ++i) m = fmaxf(m, scratch[i]);
  return m;
}

// One block per row; each thread holds hidden / blockDim elements (loaded once as 16-byte vectors).
template <bool kPlusOne>
__global__ void rms_norm_kernel(const uint4* __restrict__ x, const uint4* __restrict__ w, uint4* __restrict__ y,
                                int hidden8, float eps, float inv_hidden) {
  __shared__ float scratch[32];
  const auto* xr = x + static_cast<std::int64_t>(blockIdx.x) * hidden8;
  auto* yr = y + static_cast<std::int64_t>(blockIdx.x) * hidden8;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < hidden8; i += blockDim.x) {
    const uint4 v = xr[i];
    const auto* h = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const float2 f = __bfloat1622float2(h[j]);
      ss += f.x * f.x + f.y * f.y;
    }
  }
  const float r = rsqrtf(block_sum(ss, scratch) * inv_hidden + eps);
  for (int i = threadIdx.x; i < hidden8; i += blockDim.x) {
    const uint4 v = xr[i], wv = w[i];
    const auto* h = reinterpret_cast<const __nv_bfloat162*>(&v);
    const auto* wh = reinterpret_cast<const __nv_bfloat162*>(&wv);
    uint4 o;
    auto* oh = reinterpret_cast<__nv_bfloat162*>(&o);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const float2 f = __bfloat1622float2(h[j]), g = __bfloat1622float2(wh[j]);
      if constexpr (kPlusOne) {
        oh[j] = __floats2bfloat162_rn(f.x * r * (g.x + 1.0f), f.y * r * (g.y + 1.0f));
      } else {
        const float2 n = __bfloat1622float2(__floats2bfloat162_rn(f.x * r, f.y * r));
        oh[j] = __floats2bfloat162_rn(g.x * n.x, g.y * n.y);
      }
    }
    yr[i] = o;
  }
}

inline bool rms_norm(const void* x, const void* w, void* y, std::int64_t rows, std::int64_t hidden, float eps, bool plus_one,
                     void* stream) {
  if (hidden % 8 != 0 || rows <= 0 || rows > 0x7FFFFFFF) return false;
  for (const void* p : {x, w, static_cast<const void*>(y)})
    if (reinterpret_cast<std::uintptr_t>(p) % 16 != 0) return false;
  const int hidden8 = static_cast<int>(hidden / 8);
  const int threads = hidden8 >= 512 ? 512 : (hidden8 + 31) / 32 * 32;
  auto s = static_cast<cudaStream_t>(stream);
  const auto* xv = static_cast<const uint4*>(x);
  const auto* wv = static_cast<const uint4*>(w);
  auto* yv = static_cast<uint4*>(y);
  const float inv = 1.0f / static_cast<float>(hidden);
  if (plus_one) rms_norm_kernel<true><<<static_cast<unsigned>(rows), threads, 0, s>>>(xv, wv, yv, hidden8, eps, inv);
  else rms_norm_kernel<false><<<static_cast<unsigned>(rows), threads, 0, s>>>(xv, wv, yv, hidden8, eps, inv);
  return cudaPeekAtLastError() == cudaSuccess;
}

// One thread per (b, h, t, d < D/2): writes out[d] and out[d + D/2].
__global__ void rope_kernel(model::hooks::RopeArgs a) {
  const std::int64_t half = a.D / 2;
  const std::int64_t total = a.B * a.H * a.T * half;
  const auto* x = static_cast<const __nv_bfloat16*>(a.x);
  const auto* cs = static_cast<const __nv_bfloat16*>(a.cos);
  const auto* sn = static_cast<const __nv_bfloat16*>(a.sin);
  auto* out = static_cast<__nv_bfloat16*>(a.out);
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t d = i % half, bht = i / half, t = bht % a.T, bh = bht / a.T, h = bh % a.H, b = bh / a.H;
    const auto* xr = x + b * a.sb + h * a.sh + t * a.st;
    const std::int64_t tab = (b * a.T + t) * a.D;
    const float x1 = __bfloat162float(xr[d]), x2 = __bfloat162float(xr[d + half]);
    const float c1 = __bfloat162float(cs[tab + d]), c2 = __bfloat162float(cs[tab + d + half]);
    const float s1 = __bfloat162float(sn[tab + d]), s2 = __bfloat162float(sn[tab + d + half]);
    auto r = [](float v) { return __bfloat162float(__float2bfloat16_rn(v)); };
    auto* o = out + ((b * a.H + h) * a.T + t) * a.D;
    o[d] = __float2bfloat16_rn(r(x1 * c1) + r(-x2 * s1));
    o[d + half] = __float2bfloat16_rn(r(x2 * c2) + r(x1 * s2));
  }
}

inline bool rope(const model::hooks::RopeArgs& a, void* stream) {
  if (a.D % 2 != 0 || a.B * a.H * a.T == 0) return false;
  const std::int64_t total = a.B * a.H * a.T * (a.D / 2);
  const auto blocks = static_cast<unsigned>(std::min<std::int64_t>((total + 255) / 256, 132 * 16));
  rope_kernel<<<blocks, 256, 0, static_cast<cudaStream_t>(stream)>>>(a);
  return cudaPeekAtLastError() == cudaSuccess;
}

inline constexpr int kAttentionThreads = 128;
inline constexpr std::int64_t kAttentionMaxKeys = 11264;  // scores (44 KB) + q stay under 48 KB of shared memory
inline constexpr std::int64_t kAttentionMaxHeadDim = 256;

// Block (query head h, row b): scores of every key (a warp per key, lanes split D), softmax in shared
// memory, then each thread sums p_j v_j for its output dimensions.
__global__ void __launch_bounds__(kAttentionThreads) decode_attention_kernel(model::hooks::DecodeAttentionArgs a) {
  extern __shared__ float scores[];
  __shared__ float qs[kAttentionMaxHeadDim];
  __shared__ float scratch[32];
  const std::int64_t h = blockIdx.x, b = blockIdx.y, kvh = h / (a.Hq / a.Hkv);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = kAttentionThreads / 32;
  const auto* q = static_cast<const __nv_bfloat16*>(a.q) + (b * a.Hq + h) * a.D;
  const auto* k = static_cast<const __nv_bfloat16*>(a.k) + b * a.kb + kvh * a.kh;
  const auto* v = static_cast<const __nv_bfloat16*>(a.v) + b * a.vb + kvh * a.vh;
  const auto* mask = static_cast<const __nv_bfloat16*>(a.mask) + b * a.key_len;
  for (int d = threadIdx.x; d < a.D; d += kAttentionThreads) qs[d] = __bfloat162float(q[d]);
  __syncthreads();
  for (std::int64_t j = warp; j < a.key_len; j += warps) {
    const auto* kr = reinterpret_cast<const __nv_bfloat162*>(k + j * a.ks);
    float s = 0.0f;
    for (std::int64_t d2 = lane; d2 < a.D / 2; d2 += 32) {
      const float2 kf = __bfloat1622float2(kr[d2]);
      s = fmaf(qs[2 * d2], kf.x, fmaf(qs[2 * d2 + 1], kf.y, s));
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xFFFFFFFFu, s, off);
    if (lane == 0) scores[j] = s * a.scale + __bfloat162float(mask[j]);
  }
  __syncthreads();
  float m = -INFINITY;
  for (std::int64_t j = threadIdx.x; j < a.key_len; j += kAttentionThreads) m = fmaxf(m, scores[j]);
  m = block_max(m, scratch);
  float sum = 0.0f;
  for (std::int64_t j = threadIdx.x; j < a.key_len; j += kAttentionThreads) {
    const float p = scores[j] == -INFINITY ? 0.0f : __expf(scores[j] - m);
    scores[j] = p;
    sum += p;
  }
  const float inv = 1.0f / block_sum(sum, scratch);  // block_sum's barrier also publishes the p_j
  auto* out = static_cast<__nv_bfloat16*>(a.out) + (b * a.Hq + h) * a.D;
  for (int d = threadIdx.x; d < a.D; d += kAttentionThreads) {
    float acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f, acc3 = 0.0f;
    std::int64_t j = 0;
    for (; j + 4 <= a.key_len; j += 4) {
      acc0 = fmaf(scores[j], __bfloat162float(v[j * a.vs + d]), acc0);
      acc1 = fmaf(scores[j + 1], __bfloat162float(v[(j + 1) * a.vs + d]), acc1);
      acc2 = fmaf(scores[j + 2], __bfloat162float(v[(j + 2) * a.vs + d]), acc2);
      acc3 = fmaf(scores[j + 3], __bfloat162float(v[(j + 3) * a.vs + d]), acc3);
    }
    for (; j < a.key_len; ++j) acc0 = fmaf(scores[j], __bfloat162float(v[j * a.vs + d]), acc0);
    out[d] = __float2bfloat16_rn((acc0 + acc1 + acc2 + acc3) * inv);
  }
}

inline bool decode_attention(const model::hooks::DecodeAttentionArgs& a, void* stream) {
  if (a.key_len <= 0 || a.key_len > kAttentionMaxKeys || a.D > kAttentionMaxHeadDim || a.D % 2 != 0 || a.Hkv <= 0 ||
      a.Hq % a.Hkv != 0 || a.B > 65535)
    return false;
  const dim3 grid(static_cast<unsigned>(a.Hq), static_cast<unsigned>(a.B));
  const auto smem = static_cast<std::size_t>(a.key_len) * sizeof(float);
  decode_attention_kernel<<<grid, kAttentionThreads, smem, static_cast<cudaStream_t>(stream)>>>(a);
  return cudaPeekAtLastError() == cudaSuccess;
}

inline bool register_layer_hooks() {
  model::hooks::rms_norm() = &rms_norm;
  model::hooks::rope() = &rope;
  model::hooks::decode_attention() = &decode_attention;
  return true;
}

}  // namespace curebench::kernels
