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
// A second kernel further down, gemv4_mma_kernel, does the same product on the tensor cores (mma.sync, the
// batch rows as the MMA's N, the weight as the bf16 that dequantize writes); quant::hooks::gemv4_variant()
// chooses between the two per format and M (docs/performance.md, 2026-12-06, has both measured per shape).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "curebench/core/env.hpp"
#include "curebench/kernels/launch.cuh"
#include "curebench/quant/kernel_hooks.hpp"

namespace curebench::kernels {

inline constexpr int kGemv4Warps = 4;
// One warp per group of rows (no shared-memory reduction) measured best overall on the H100 (2026-11-23:
// decode b1 NF4-DQ 195 tok/s vs 189 with four warps per group; 128256 x 4096 at M = 1: 159 vs 179 us).
inline constexpr int kGemv4DefaultSplitK = 1;

// Code value of a nibble, and the scale (and zero) of the quantization block holding a chunk.
struct Bnb4Format {
  static constexpr bool kHasZero = false;
  // The fewest rows from which the default (gemv4_variant() == 2) takes the tensor-core kernel: at M = 1 the
  // table + float32 product + bf16 pack per weight made it 0.7-0.95x the FFMA kernel on the H100 (2026-12-06).
  static constexpr int kMmaMinRows = 2;
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
  // Tensor-core path: the chunk's scale as bits, and the bf16 pair of byte b of a word (the high nibble, the
  // lower k, in the low half): bf16(code * scale), the float32 product rounded once, as dequantize writes it.
  __device__ std::uint32_t mma_scale(std::int64_t row, std::int64_t k, std::int64_t chunk) const {
    return __float_as_uint(block_scale((row * k + chunk * 32) >> v.block_shift));
  }
  // The table offsets (4 x nibble) of all four bytes come from two shifts and masks per word, one byte
  // extraction (prmt) per code after that; the same expressions across a word's bytes are computed once.
  __device__ __forceinline__ static std::uint32_t mma_pair(std::uint32_t word, int b, std::uint32_t sc, const float* lut) {
    const float s = __uint_as_float(sc);
    const std::uint32_t hi4 = (word >> 2) & 0x3C3C3C3Cu, lo4 = (word << 2) & 0x3C3C3C3Cu;
    const auto* base = reinterpret_cast<const char*>(lut);
    const float hi = *reinterpret_cast<const float*>(base + __byte_perm(hi4, 0, 0x4440 | b));
    const float lo = *reinterpret_cast<const float*>(base + __byte_perm(lo4, 0, 0x4440 | b));
    const __nv_bfloat162 p = __floats2bfloat162_rn(__fmul_rn(hi, s), __fmul_rn(lo, s));
    return *reinterpret_cast<const std::uint32_t*>(&p);
  }
};

struct Int4Format {
  static constexpr bool kHasZero = true;
  static constexpr int kMmaMinRows = 1;  // 0.98-1.09x the FFMA kernel at M = 1, 2.3-4.3x at M = 8 (H100)
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
  // Tensor-core path: {scale, zero} as one bf16 pair, and the bf16 pair of byte b of a word, decoded without a
  // table: 0x4300 | q is bf16 128 + q, minus 136 is q - 8 exactly, then one bf16 fma with scale and zero.
  __device__ std::uint32_t mma_scale(std::int64_t row, std::int64_t /*k*/, std::int64_t chunk) const {
    return __ldg(static_cast<const std::uint32_t*>(v.scales_and_zeros) + ((chunk * 32) >> v.group_shift) * v.n + row);
  }
  __device__ __forceinline__ static std::uint32_t mma_pair(std::uint32_t word, int b, std::uint32_t sc, const float* /*lut*/) {
    const std::uint32_t sel = b | (b << 4) | ((b + 4) << 8) | ((b + 4) << 12);
    const std::uint32_t biased = (__byte_perm(word >> 4, word, sel) & 0x000F000Fu) | 0x43004300u;
    const std::uint32_t s2 = __byte_perm(sc, 0, 0x1010), z2 = __byte_perm(sc, 0, 0x3232);
    const __nv_bfloat162 q = __hsub2(*reinterpret_cast<const __nv_bfloat162*>(&biased), __float2bfloat162_rn(136.0f));
    const __nv_bfloat162 w = __hfma2(q, *reinterpret_cast<const __nv_bfloat162*>(&s2), *reinterpret_cast<const __nv_bfloat162*>(&z2));
    return *reinterpret_cast<const std::uint32_t*>(&w);
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
// The two FFMA kernels are launched plainly, not as dependent launches (kernels/launch.cuh): with PDL, NF4-DQ
// decode at batch 1, which runs on them, was 5-7 % slower on the H100 (docs/performance.md, twelfth session).
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
    const auto s = env::integer("CUREBENCH_GEMV_SPLITK", kGemv4DefaultSplitK, 1, 4);
    return s == 3 ? kGemv4DefaultSplitK : static_cast<int>(s);
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
struct GemvSegments;
template <bool kGated, class Format>
bool launch_gemv4_mma(const GemvSegments<Format>& segs, const void* x, void* y, std::int64_t m, std::int64_t n_out,
                      std::int64_t k, cudaStream_t stream);

template <class Format>
bool use_mma_gemv(std::int64_t m) {
  const int v = quant::hooks::gemv4_variant();
  return v == 0 || (v == 2 && m >= Format::kMmaMinRows);
}

template <class Format>
bool dispatch_gemv4(const std::uint8_t* packed, const Format& fmt, const void* x, void* y, std::int64_t m, std::int64_t n,
                    std::int64_t k, void* stream) {
  // 16-byte alignment of every row (K/2 bytes) and of the activation rows (2K bytes): K % 32 == 0.
  if (k % 32 != 0 || reinterpret_cast<std::uintptr_t>(packed) % 16 != 0 || reinterpret_cast<std::uintptr_t>(x) % 16 != 0)
    return false;
  auto s = static_cast<cudaStream_t>(stream);
  if (use_mma_gemv<Format>(m)) {
    if (m < 1 || m > 8) return false;
    GemvSegments<Format> segs;
    segs.f[0] = segs.f[1] = segs.f[2] = fmt;
    segs.w[0] = reinterpret_cast<const uint4*>(packed);
    segs.start[1] = n;
    segs.count = 1;
    return launch_gemv4_mma<false>(segs, x, y, m, n, k, s);
  }
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
  if (use_mma_gemv<Format>(m)) {
    if (m < 1 || m > 8) return false;
    for (int i = 0; i < segs.count; ++i)
      if (!gated && (segs.start[i + 1] - segs.start[i]) % 16 != 0) return false;  // a tile never straddles two
    return gated ? launch_gemv4_mma<true>(segs, x, y, m, n_out, k, s) : launch_gemv4_mma<false>(segs, x, y, m, n_out, k, s);
  }
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

// ---- tensor-core GEMV (the default for M <= 8) -------------------------------------------------------
// One mma.sync m16n8k16 (bf16 in, float32 accumulate) multiplies a tile of 16 weight rows x 16 k by x^T
// [16 k x 8]: the batch rows (M <= 8) are the MMA's N, so the per-weight work is the dequantization alone
// for every M (the FFMA kernel above does M FMAs and one shared table read per weight).
// Lane (g = lane / 4, t = lane % 4) holds A rows g and g + 8 at k slots {2t, 2t+1, 2t+8, 2t+9} of an MMA and
// B column g at the same slots. A dot product does not depend on the order of k, so lane t's slots are its
// own 16-byte chunk c = 4i + t of each row (32 weights, k = 32c .. 32c + 31) at warp step i: MMA j of the
// step takes the chunk's weights 4j .. 4j + 3 (bytes 2j, 2j + 1), and x row g's 64 bytes at 32c give the
// matching B. Each lane reads one 16-byte word per row and step from the packed layout as stored.
// The MMA sees the weight as bf16(code * scale) for NF4/FP4 (the bits dequantize writes) and
// bf16((q - 8) * scale + zero) for int4 (one bf16 fma); the sum over K runs in float32.
// A block is mma_split(K) warps on one tile (16 rows; gated: 8 gate rows over the same 8 up rows), each warp
// loading kMmaSteps steps of weights before decoding them; the warps' sums are added in warp order. The split
// depends on K alone, so a row's bits do not depend on the launch it is in (grouped == single).
inline constexpr int kMmaSteps = 4;
inline constexpr int kMmaMaxSplit = 8;

// Warps per tile for a row of `chunks` 16-byte chunks: a warp step covers 4 chunks, a warp kMmaSteps steps per
// pass, at most kMmaMaxSplit warps. Shared with the FP8 GEMV (kernels/fp8.cuh), whose chunks hold 16 weights.
__host__ __device__ constexpr int mma_split_for_chunks(std::int64_t chunks) {
  const std::int64_t steps = (chunks + 3) >> 2, s = (steps + kMmaSteps - 1) / kMmaSteps;
  return s < 1 ? 1 : s > kMmaMaxSplit ? kMmaMaxSplit : static_cast<int>(s);
}
__host__ __device__ constexpr int mma_split(std::int64_t k) { return mma_split_for_chunks(k >> 5); }  // 32 weights a chunk

// CUREBENCH_MMA_MAX_SPLIT=1..8 caps the warps per tile of the 4-bit tensor-core GEMV, for experiments: fewer warps a
// tile give more tiles per wave (Llama-3-8B's q|k|v, 384 tiles at 8 warps, is 1.45 waves of 2 blocks per SM on an
// H100). The cap is read once per process, so a row's bits still do not depend on the launch it is in.
inline int mma_split_launched(std::int64_t k) {
  static const int cap = static_cast<int>(env::integer("CUREBENCH_MMA_MAX_SPLIT", kMmaMaxSplit, 1, kMmaMaxSplit));
  const int s = mma_split(k);
  return s < cap ? s : cap;
}

// The split warps' float32 fragments added in warp order through shared memory: true in warp 0, which holds the sum
// in acc; the other warps are done (false). A barrier for the whole block when split > 1.
__device__ __forceinline__ bool sum_split_warps(float (&acc)[4], float4 (*partial)[32], int warp, int lane, int split) {
  if (split <= 1) return true;
  partial[warp][lane] = make_float4(acc[0], acc[1], acc[2], acc[3]);
  __syncthreads();
  if (warp != 0) return false;
  for (int w = 1; w < split; ++w) {
    const float4 p = partial[w][lane];
    acc[0] += p.x, acc[1] += p.y, acc[2] += p.z, acc[3] += p.w;
  }
  return true;
}

// Weights are read once: no L1 allocation, first out of L2 (activations and the KV cache stay).
__device__ __forceinline__ std::uint64_t evict_first_policy() {
  std::uint64_t p;
  asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(p));
  return p;
}
__device__ __forceinline__ uint4 load_weight(const uint4* p, std::uint64_t policy) {
  uint4 r;
  asm("ld.global.nc.L1::no_allocate.L2::cache_hint.v4.u32 {%0,%1,%2,%3}, [%4], %5;"
      : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
      : "l"(p), "l"(policy));
  return r;
}
__device__ __forceinline__ std::uint32_t word_of(const uint4& v, int i) { return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w; }
__device__ __forceinline__ void mma_bf16_16816(float (&d)[4], std::uint32_t a0, std::uint32_t a1, std::uint32_t a2,
                                               std::uint32_t a3, std::uint32_t b0, std::uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

template <class Format>
__device__ __forceinline__ Format segment_format(const GemvSegments<Format>& segs, int s) {
  return s == 0 ? segs.f[0] : s == 1 ? segs.f[1] : segs.f[2];  // selects, not a local-memory copy of the array
}

// One tile per block; each warp loads a pass of weights, then decodes it. Measured faster than a persistent grid whose
// warps load their next pass while they decode the current one (docs/performance.md, thirteenth session).
template <bool kGated, class Format>
__global__ void __launch_bounds__(kMmaMaxSplit * 32, 2)
    gemv4_mma_kernel(GemvSegments<Format> segs, const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y, int m,
                     std::int64_t n_out, std::int64_t k) {
  __shared__ float lut[16];
  __shared__ float4 partial[kMmaMaxSplit][32];
  pdl_launch_dependents();
  segs.f[0].fill_lut(lut);
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int split = static_cast<int>(blockDim.x >> 5);
  const std::int64_t chunks = k >> 5;
  // The lane's two A rows (h = 0: row g, h = 1: row g + 8): row inside its segment, and whether it exists.
  std::int64_t row[2];
  bool valid[2];
  int seg0 = 0;
  if constexpr (kGated) {
    row[0] = row[1] = static_cast<std::int64_t>(blockIdx.x) * 8 + g;
    valid[0] = valid[1] = row[0] < n_out;
  } else {
    const std::int64_t tile0 = static_cast<std::int64_t>(blockIdx.x) * 16;
    while (seg0 + 1 < segs.count && tile0 >= segs.start[seg0 + 1]) ++seg0;  // segments hold multiples of 16 rows
    const std::int64_t begin = seg0 == 0 ? segs.start[0] : seg0 == 1 ? segs.start[1] : segs.start[2];
    const std::int64_t end = seg0 == 0 ? segs.start[1] : seg0 == 1 ? segs.start[2] : segs.start[3];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      row[h] = tile0 + g + 8 * h - begin;
      valid[h] = tile0 + g + 8 * h < end;
    }
  }
  const Format f0 = segment_format(segs, seg0);
  const Format f1 = kGated ? segs.f[1] : f0;
  const uint4* base0 = seg0 == 0 ? segs.w[0] : seg0 == 1 ? segs.w[1] : segs.w[2];
  const uint4* wrow[2] = {base0 + row[0] * chunks, (kGated ? segs.w[1] : base0) + row[1] * chunks};
  const std::uint64_t policy = evict_first_policy();
  const bool has_x = g < m;
  const __nv_bfloat16* xg = x + static_cast<std::int64_t>(has_x ? g : 0) * k;
  const int steps = static_cast<int>((chunks + 3) >> 2);
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  bool waited = false;
  for (int i0 = warp * kMmaSteps; i0 < steps; i0 += split * kMmaSteps) {
    uint4 q[kMmaSteps][2];
    std::uint32_t sc[kMmaSteps][2];
#pragma unroll
    for (int u = 0; u < kMmaSteps; ++u) {
      const std::int64_t c = 4 * static_cast<std::int64_t>(i0 + u) + t;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const bool ok = valid[h] && c < chunks;
        q[u][h] = ok ? load_weight(wrow[h] + c, policy) : make_uint4(0, 0, 0, 0);
        sc[u][h] = ok ? (h == 0 ? f0 : f1).mma_scale(row[h], k, c) : 0u;  // scale 0: the weight decodes to 0
      }
    }
    if (!waited) {  // the first slab of weights is in flight before x is read
      pdl_wait();
      waited = true;
    }
#pragma unroll
    for (int u = 0; u < kMmaSteps; ++u) {
      const std::int64_t c = 4 * static_cast<std::int64_t>(i0 + u) + t;
      uint4 xv[4];
#pragma unroll
      for (int v = 0; v < 4; ++v)
        xv[v] = has_x && c < chunks ? __ldg(reinterpret_cast<const uint4*>(xg + 32 * c) + v) : make_uint4(0, 0, 0, 0);
      const uint4 q0 = q[u][0], q1 = q[u][1];
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const std::uint32_t w0 = word_of(q0, j >> 1), w1 = word_of(q1, j >> 1);
        const int b = 2 * (j & 1);
        mma_bf16_16816(acc, Format::mma_pair(w0, b, sc[u][0], lut), Format::mma_pair(w1, b, sc[u][1], lut),
                       Format::mma_pair(w0, b + 1, sc[u][0], lut), Format::mma_pair(w1, b + 1, sc[u][1], lut),
                       word_of(xv[j >> 1], b), word_of(xv[j >> 1], b + 1));
      }
    }
  }
  if (!sum_split_warps(acc, partial, warp, lane, split)) return;
  if (!waited) pdl_wait();
  // acc: {row g, batch 2t}, {row g, 2t + 1}, {row g + 8, 2t}, {row g + 8, 2t + 1}.
#pragma unroll
  for (int e = 0; e < 2; ++e) {
    const int mm = 2 * t + e;
    if (mm >= m) continue;
    if constexpr (kGated) {
      if (!valid[0]) continue;
      const float gv = round_bf16(acc[e]), uv = round_bf16(acc[2 + e]);
      y[mm * n_out + row[0]] = __float2bfloat16_rn(round_bf16(activate(gv, segs.activation)) * uv);
    } else {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const std::int64_t out_row = static_cast<std::int64_t>(blockIdx.x) * 16 + g + 8 * h;
        if (valid[h]) y[mm * n_out + out_row] = __float2bfloat16_rn(acc[2 * h + e]);
      }
    }
  }
}

template <bool kGated, class Format>
bool launch_gemv4_mma(const GemvSegments<Format>& segs, const void* x, void* y, std::int64_t m, std::int64_t n_out,
                      std::int64_t k, cudaStream_t stream) {
  const auto tiles = static_cast<unsigned>(kGated ? (n_out + 7) / 8 : (n_out + 15) / 16);
  const int threads = mma_split_launched(k) * 32;
  launch_dependent<&gemv4_mma_kernel<kGated, Format>>(tiles, threads, 0, stream, segs, static_cast<const __nv_bfloat16*>(x),
                                                      static_cast<__nv_bfloat16*>(y), static_cast<int>(m), n_out, k);
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
