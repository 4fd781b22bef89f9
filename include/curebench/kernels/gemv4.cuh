#pragma once
// 4-bit weight x bf16 activation products for small batches (M <= kGemv4MaxRows), reading the packed
// weight once: y[M, N] = x[M, K] . W[N, K]^T with W in the bitsandbytes NF4/FP4 layout or the tinygemm
// int4 layout before tiling (quant/bnb4.hpp, quant/int4.hpp). At M = 1 a decode step is a pass over every
// weight byte, so this kernel is the 4-bit decode speed: dequantize + cuBLAS moves ~4.5 bytes per weight
// (write bf16, read it back), this moves ~0.52.
//
// Shape of the work: kSplitK warps share a group of kRows consecutive output rows and split K (warp w, lane l
// of the group take the 16-byte chunks c = 32 kSplitK j + 32 w + l, so a warp reads 512 contiguous bytes of a
// row per step); every lane keeps kRows x M float accumulators; groups of more than one warp reduce through
// shared memory. The default is one warp per group (measured best). A chunk is 32 weights, so it never
// straddles a quantization block (blocksize >= 32) or an int4 group. The activation chunk is loaded once per
// chunk and reused for the kRows rows.
// Numerics: codes decoded in float32 (no bf16 rounding of the weight), float32 accumulation, one bf16
// rounding of y; the block scale multiplies the chunk's partial sum.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdlib>

#include "curebench/quant/kernel_hooks.hpp"

namespace curebench::kernels {

inline constexpr int kGemv4Warps = 4;
// One warp per group of rows (no shared-memory reduction) measured best overall on the H100 (2026-11-23:
// decode b1 NF4-DQ 195 tok/s vs 189 with four warps per group; 128256 x 4096 at M = 1: 159 vs 179 us).
inline constexpr int kGemv4DefaultSplitK = 1;

// Code value of a nibble, and the scale (and zero) of the quantization block holding a chunk.
struct Bnb4Format {
  static constexpr bool kHasZero = false;
  quant::hooks::Bnb4View v;
  __device__ void fill_lut(float* lut) const {
    if (threadIdx.x < 16) lut[threadIdx.x] = v.code[threadIdx.x];
  }
  __device__ float block_scale(std::int64_t blk) const {
    if (!v.absmax_u8) return __ldg(v.absmax_f32 + blk);
    // Product, then sum, each rounded (no FMA contraction): the bits quant/bnb4.hpp's block_scales() gives.
    return __fadd_rn(__fmul_rn(__ldg(v.nested_code + v.absmax_u8[blk]), __ldg(v.nested_absmax + (blk >> v.nested_shift))),
                     v.nested_offset);
  }
  // Element index of the chunk's first weight: bnb blocks run over the flattened [N, K] tensor.
  __device__ float scale(std::int64_t row, std::int64_t k, std::int64_t chunk, float& /*zero*/) const {
    return block_scale((row * k + chunk * 32) >> v.block_shift);
  }
};

struct Int4Format {
  static constexpr bool kHasZero = true;
  quant::hooks::Int4View v;
  __device__ void fill_lut(float* lut) const {
    if (threadIdx.x < 16) lut[threadIdx.x] = static_cast<float>(threadIdx.x) - 8.0f;
  }
  // scales_and_zeros [K/G, N, 2]: w = (q - 8) * scale + zero.
  __device__ float scale(std::int64_t row, std::int64_t /*k*/, std::int64_t chunk, float& zero) const {
    const auto* sz = static_cast<const __nv_bfloat162*>(v.scales_and_zeros);
    const auto p = __bfloat1622float2(sz[((chunk * 32) >> v.group_shift) * v.n + row]);
    zero = p.y;
    return p.x;
  }
};

// Streamed once: keep the weight out of L1 (the activation chunk is what gets reused there).
__device__ __forceinline__ uint4 load_streaming(const uint4* p) {
  uint4 r;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
               : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
               : "l"(p));
  return r;
}

// acc[r][m] += scale[r] * (codes of chunk c of row r . x[m, 32c .. 32c + 31]) (+ zero[r] * sum of those x for
// int4): the decode loop both GEMV kernels share. Word i of a row's 16 bytes holds weights 8i..8i+7 (byte b:
// 8i+2b in the high nibble, 8i+2b+1 low); their activations are one 16-byte load per row of x, shared by the R
// weight rows.
template <int M, int R, bool kHasZero>
__device__ __forceinline__ void accumulate_chunk(const uint4 (&q)[R], const float (&scale)[R], const float (&zero)[R],
                                                 const __nv_bfloat16* __restrict__ x, std::int64_t k, std::int64_t c,
                                                 const float* lut, float (&acc)[R][M]) {
  float dot[R][M], xsum[M];
#pragma unroll
  for (int m = 0; m < M; ++m) {
    xsum[m] = 0.0f;
#pragma unroll
    for (int r = 0; r < R; ++r) dot[r][m] = 0.0f;
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    uint4 xa[M];
#pragma unroll
    for (int m = 0; m < M; ++m) xa[m] = __ldg(reinterpret_cast<const uint4*>(x + m * k + c * 32) + i);
    if constexpr (kHasZero) {
#pragma unroll
      for (int m = 0; m < M; ++m)
#pragma unroll
        for (int b = 0; b < 4; ++b) {
          const float2 xf = __bfloat1622float2(reinterpret_cast<const __nv_bfloat162*>(&xa[m])[b]);
          xsum[m] += xf.x + xf.y;
        }
    }
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const std::uint32_t word = i == 0 ? q[r].x : i == 1 ? q[r].y : i == 2 ? q[r].z : q[r].w;
#pragma unroll
      for (int b = 0; b < 4; ++b) {
        const std::uint32_t byte = (word >> (8 * b)) & 0xFFu;
        const float hi = lut[byte >> 4], lo = lut[byte & 0xFu];
#pragma unroll
        for (int m = 0; m < M; ++m) {
          const float2 xf = __bfloat1622float2(reinterpret_cast<const __nv_bfloat162*>(&xa[m])[b]);
          dot[r][m] = fmaf(xf.x, hi, fmaf(xf.y, lo, dot[r][m]));
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m) {
      acc[r][m] = fmaf(scale[r], dot[r][m], acc[r][m]);
      if constexpr (kHasZero) acc[r][m] = fmaf(zero[r], xsum[m], acc[r][m]);
    }
}

// kSplitK warps share a group of kRows rows (splitting K, reduced through shared memory); the block's
// 4 / kSplitK groups are consecutive. Each lane prefetches its next chunk before decoding the current one.
template <int M, int kRows, int kSplitK, class Format>
__global__ void __launch_bounds__(kGemv4Warps * 32)
    gemv4_kernel(const uint4* __restrict__ w, Format fmt, const __nv_bfloat16* __restrict__ x,
                 __nv_bfloat16* __restrict__ y, std::int64_t n, std::int64_t k) {
  constexpr int kGroups = kGemv4Warps / kSplitK;
  __shared__ float lut[16];
  __shared__ float partial[kGemv4Warps][kRows][M];
  fmt.fill_lut(lut);
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int group = warp / kSplitK, part = warp % kSplitK;
  const std::int64_t row0 = (static_cast<std::int64_t>(blockIdx.x) * kGroups + group) * kRows;
  const std::int64_t chunks = k >> 5;
  constexpr int kStride = kSplitK * 32;
  float acc[kRows][M];
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m) acc[r][m] = 0.0f;

  std::int64_t c = part * 32 + lane;
  uint4 q[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r)
    if (row0 + r < n && c < chunks) q[r] = load_streaming(w + (row0 + r) * chunks + c);
  for (; c < chunks; c += kStride) {
    uint4 next[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
      if (row0 + r < n && c + kStride < chunks) next[r] = load_streaming(w + (row0 + r) * chunks + c + kStride);
    float zero[kRows], scale[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) zero[r] = 0.0f, scale[r] = row0 + r < n ? fmt.scale(row0 + r, k, c, zero[r]) : 0.0f;
    accumulate_chunk<M, kRows, Format::kHasZero>(q, scale, zero, x, k, c, lut, acc);
#pragma unroll
    for (int r = 0; r < kRows; ++r) q[r] = next[r];
  }
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m) {
      float v = acc[r][m];
#pragma unroll
      for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, off);
      acc[r][m] = v;
      if (kSplitK > 1 && lane == 0) partial[warp][r][m] = v;
    }
  if constexpr (kSplitK == 1) {
    if (lane < kRows * M) {
      const int r = lane / M, m = lane % M;
      float v = 0.0f;
#pragma unroll
      for (int rr = 0; rr < kRows; ++rr)
#pragma unroll
        for (int mm = 0; mm < M; ++mm)
          if (rr == r && mm == m) v = acc[rr][mm];  // constant indices keep acc in registers
      if (row0 + r < n) y[m * n + row0 + r] = __float2bfloat16_rn(v);
    }
  } else {
    __syncthreads();
    for (int t = threadIdx.x; t < kGroups * kRows * M; t += blockDim.x) {
      const int g = t / (kRows * M), r = (t / M) % kRows, m = t % M;
      const std::int64_t row = (static_cast<std::int64_t>(blockIdx.x) * kGroups + g) * kRows + r;
      if (row >= n) continue;
      float v = 0.0f;
#pragma unroll
      for (int i = 0; i < kSplitK; ++i) v += partial[g * kSplitK + i][r][m];
      y[m * n + row] = __float2bfloat16_rn(v);
    }
  }
}

// The work layout (measured per layout on the H100 with `curebench_bench --benchmark_filter=BM_Matmul/`,
// docs/performance.md): CUREBENCH_GEMV_SPLITK=1|2|4 picks it for experiments; the default is the measured best.
inline int gemv4_split_k() {
  static const int v = [] {
    const char* e = std::getenv("CUREBENCH_GEMV_SPLITK");
    const int s = e ? std::atoi(e) : 0;
    return s == 1 || s == 2 || s == 4 ? s : kGemv4DefaultSplitK;
  }();
  return v;
}

template <int M, int kSplitK, class Format>
void launch_gemv4_layout(const std::uint8_t* packed, const Format& fmt, const void* x, void* y, std::int64_t n, std::int64_t k,
                         cudaStream_t stream) {
  constexpr int kRows = M <= 2 ? 2 : 4;
  constexpr int kRowsPerBlock = kRows * (kGemv4Warps / kSplitK);
  const auto blocks = static_cast<unsigned>((n + kRowsPerBlock - 1) / kRowsPerBlock);
  gemv4_kernel<M, kRows, kSplitK, Format><<<blocks, kGemv4Warps * 32, 0, stream>>>(
      reinterpret_cast<const uint4*>(packed), fmt, static_cast<const __nv_bfloat16*>(x), static_cast<__nv_bfloat16*>(y), n, k);
}

template <int M, class Format>
void launch_gemv4(const std::uint8_t* packed, const Format& fmt, const void* x, void* y, std::int64_t n, std::int64_t k,
                  cudaStream_t stream) {
  switch (gemv4_split_k()) {
    case 1: launch_gemv4_layout<M, 1>(packed, fmt, x, y, n, k, stream); break;
    case 2: launch_gemv4_layout<M, 2>(packed, fmt, x, y, n, k, stream); break;
    default: launch_gemv4_layout<M, 4>(packed, fmt, x, y, n, k, stream); break;
  }
}

template <class Format>
bool dispatch_gemv4(const std::uint8_t* packed, const Format& fmt, const void* x, void* y, std::int64_t m, std::int64_t n,
                    std::int64_t k, void* stream) {
  // 16-byte alignment of every row (K/2 bytes) and of the activation rows (2K bytes): K % 32 == 0.
  if (k % 32 != 0 || reinterpret_cast<std::uintptr_t>(packed) % 16 != 0 || reinterpret_cast<std::uintptr_t>(x) % 16 != 0)
    return false;
  auto s = static_cast<cudaStream_t>(stream);
  switch (m) {
    case 1: launch_gemv4<1>(packed, fmt, x, y, n, k, s); break;
    case 2: launch_gemv4<2>(packed, fmt, x, y, n, k, s); break;
    case 3: launch_gemv4<3>(packed, fmt, x, y, n, k, s); break;
    case 4: launch_gemv4<4>(packed, fmt, x, y, n, k, s); break;
    case 5: launch_gemv4<5>(packed, fmt, x, y, n, k, s); break;
    case 6: launch_gemv4<6>(packed, fmt, x, y, n, k, s); break;
    case 7: launch_gemv4<7>(packed, fmt, x, y, n, k, s); break;
    case 8: launch_gemv4<8>(packed, fmt, x, y, n, k, s); break;
    default: return false;
  }
  return cudaPeekAtLastError() == cudaSuccess;
}

// ---- several weights in one launch -------------------------------------------------------------------
// q/k/v of a layer (3 segments, outputs side by side) or gate/up with the activation product in the
// epilogue (2 segments of equal N, out = bf16(act(bf16(g)) * bf16(u)), ATen's roundings): one launch and
// one wave instead of two or three latency-bound small ones. One warp per group of kRows rows.
template <class Format>
struct GemvSegments {
  Format f[3];
  const uint4* w[3] = {nullptr, nullptr, nullptr};
  std::int64_t start[4] = {0, 0, 0, 0};  // rows of segment s: [start[s], start[s + 1])
  int count = 0;
  int activation = 0;  // gated: 0 silu, 1 gelu (tanh)
};

__device__ __forceinline__ float round_bf16(float v) { return __bfloat162float(__float2bfloat16_rn(v)); }
__device__ __forceinline__ float activate(float g, int activation) {
  if (activation == 0) return g / (1.0f + expf(-g));
  const float inner = 0.7978845608028654f * (g + 0.044715f * g * g * g);
  return 0.5f * g * (1.0f + tanhf(inner));
}

template <int M, int kRows, bool kGated, class Format>
__global__ void __launch_bounds__(kGemv4Warps * 32)
    gemv4_grouped_kernel(GemvSegments<Format> segs, const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y,
                         std::int64_t n_out, std::int64_t k) {
  constexpr int R = kGated ? 2 * kRows : kRows;
  __shared__ float lut[16];
  segs.f[0].fill_lut(lut);
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const std::int64_t row0 = (static_cast<std::int64_t>(blockIdx.x) * kGemv4Warps + warp) * kRows;
  if (row0 >= n_out) return;
  // Which segment, and the local row, of each accumulator row.
  int seg = 0;
  if constexpr (!kGated) {
    while (seg + 1 < segs.count && row0 >= segs.start[seg + 1]) ++seg;
  }
  const std::int64_t chunks = k >> 5;
  std::int64_t local[R];
  const uint4* wr[R];
  bool valid[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int s = kGated ? (r < kRows ? 0 : 1) : seg;
    const std::int64_t lr = kGated ? row0 + (r % kRows) : row0 - segs.start[s] + r;
    local[r] = lr;
    valid[r] = kGated ? row0 + (r % kRows) < n_out : lr < segs.start[s + 1] - segs.start[s];
    wr[r] = segs.w[s] + lr * chunks;
  }
  float acc[R][M];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m) acc[r][m] = 0.0f;
  for (std::int64_t c = lane; c < chunks; c += 32) {
    uint4 q[R];
#pragma unroll
    for (int r = 0; r < R; ++r)
      if (valid[r]) q[r] = load_streaming(wr[r] + c);
    float zero[R], scale[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int s = kGated ? (r < kRows ? 0 : 1) : seg;
      zero[r] = 0.0f;
      scale[r] = valid[r] ? segs.f[s].scale(local[r], k, c, zero[r]) : 0.0f;
    }
    accumulate_chunk<M, R, Format::kHasZero>(q, scale, zero, x, k, c, lut, acc);
  }
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m)
#pragma unroll
      for (int off = 16; off > 0; off >>= 1) acc[r][m] += __shfl_xor_sync(0xFFFFFFFFu, acc[r][m], off);
  if (lane != 0) return;
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    if (!valid[r]) continue;
#pragma unroll
    for (int m = 0; m < M; ++m) {
      if constexpr (kGated) {
        const float g = round_bf16(acc[r][m]), u = round_bf16(acc[r + kRows][m]);
        y[m * n_out + row0 + r] = __float2bfloat16_rn(round_bf16(activate(g, segs.activation)) * u);
      } else {
        y[m * n_out + row0 + r] = __float2bfloat16_rn(acc[r][m]);
      }
    }
  }
}

template <int M, bool kGated, class Format>
void launch_gemv4_grouped(const GemvSegments<Format>& segs, const void* x, void* y, std::int64_t n_out, std::int64_t k,
                          cudaStream_t stream) {
  constexpr int kRows = kGated ? (M <= 2 ? 2 : 1) : (M <= 2 ? 2 : 4);
  constexpr int kRowsPerBlock = kRows * kGemv4Warps;
  const auto blocks = static_cast<unsigned>((n_out + kRowsPerBlock - 1) / kRowsPerBlock);
  gemv4_grouped_kernel<M, kRows, kGated, Format><<<blocks, kGemv4Warps * 32, 0, stream>>>(
      segs, static_cast<const __nv_bfloat16*>(x), static_cast<__nv_bfloat16*>(y), n_out, k);
}

// Plain: segments' rows must be multiples of 4 (a warp's group never straddles two); gated: equal N.
template <class Format>
bool dispatch_gemv4_grouped(GemvSegments<Format> segs, bool gated, const void* x, void* y, std::int64_t m, std::int64_t k,
                            void* stream) {
  if (k % 32 != 0 || reinterpret_cast<std::uintptr_t>(x) % 16 != 0 || segs.count < 1 || segs.count > 3) return false;
  for (int s = 0; s < segs.count; ++s) {
    if (reinterpret_cast<std::uintptr_t>(segs.w[s]) % 16 != 0) return false;
    if (!gated && (segs.start[s + 1] - segs.start[s]) % 4 != 0) return false;
  }
  if (gated && (segs.count != 2 || segs.start[2] - segs.start[1] != segs.start[1])) return false;
  const std::int64_t n_out = gated ? segs.start[1] : segs.start[segs.count];
  auto s = static_cast<cudaStream_t>(stream);
#define CUREBENCH_GROUPED_CASE(MM)                                                 \
  case MM:                                                                         \
    if (gated) launch_gemv4_grouped<MM, true>(segs, x, y, n_out, k, s);            \
    else launch_gemv4_grouped<MM, false>(segs, x, y, n_out, k, s);                 \
    break;
  switch (m) {
    CUREBENCH_GROUPED_CASE(1)
    CUREBENCH_GROUPED_CASE(2)
    CUREBENCH_GROUPED_CASE(3)
    CUREBENCH_GROUPED_CASE(4)
    CUREBENCH_GROUPED_CASE(5)
    CUREBENCH_GROUPED_CASE(6)
    CUREBENCH_GROUPED_CASE(7)
    CUREBENCH_GROUPED_CASE(8)
    default: return false;
  }
#undef CUREBENCH_GROUPED_CASE
  return cudaPeekAtLastError() == cudaSuccess;
}

inline bool bnb4_gemv_grouped(const quant::hooks::Bnb4View* w, const std::int64_t* rows, int count, int gated_activation,
                              const void* x, void* y, std::int64_t m, std::int64_t k, void* stream) {
  GemvSegments<Bnb4Format> segs;
  segs.count = count;
  segs.activation = gated_activation;
  for (int s = 0; s < count; ++s) {
    if (w[s].block_shift < 5) return false;  // the caller passes one format (one code table) per launch
    segs.f[s] = Bnb4Format{w[s]};
    segs.w[s] = reinterpret_cast<const uint4*>(w[s].packed);
    segs.start[s + 1] = segs.start[s] + rows[s];
  }
  return dispatch_gemv4_grouped(segs, gated_activation >= 0, x, y, m, k, stream);
}

inline bool int4_gemv_grouped(const quant::hooks::Int4View* w, int count, int gated_activation, const void* x, void* y,
                              std::int64_t m, std::int64_t k, void* stream) {
  GemvSegments<Int4Format> segs;
  segs.count = count;
  segs.activation = gated_activation;
  for (int s = 0; s < count; ++s) {
    if (w[s].group_shift < 5) return false;
    segs.f[s] = Int4Format{w[s]};
    segs.w[s] = reinterpret_cast<const uint4*>(w[s].packed);
    segs.start[s + 1] = segs.start[s] + w[s].n;
  }
  return dispatch_gemv4_grouped(segs, gated_activation >= 0, x, y, m, k, stream);
}

inline bool bnb4_gemv(const quant::hooks::Bnb4View& w, const void* x, void* y, std::int64_t m, std::int64_t n, std::int64_t k,
                      void* stream) {
  if (w.block_shift < 5) return false;  // blocks of 16: a chunk would straddle two
  return dispatch_gemv4(w.packed, Bnb4Format{w}, x, y, m, n, k, stream);
}

inline bool int4_gemv(const quant::hooks::Int4View& w, const void* x, void* y, std::int64_t m, std::int64_t k, void* stream) {
  if (w.group_shift < 5) return false;
  return dispatch_gemv4(w.packed, Int4Format{w}, x, y, m, w.n, k, stream);
}

}  // namespace curebench::kernels
