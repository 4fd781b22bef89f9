#pragma once
// 4-bit weight x bf16 activation GEMM for kGemv4MaxRows < M <= kGemm4MaxRows (batched decode, short prefill
// chunks): y[M, N] = x[M, K] . W[N, K]^T on the tensor cores with the weight read from global memory in the
// stored NF4/FP4 (bitsandbytes) or int4 (tinygemm, before tiling) layout and dequantized in registers. No bf16
// copy of the weight is written (the path it replaces, kernels/dequant.cuh + cuBLAS, writes and reads one).
//
// Shape of the work. A block owns kRows weight rows (kWarpsN warps of kRt m16 tiles) and kBatch activation rows
// (kWarpsM warps of kNt n8 tiles); grid = (M chunks, N tiles, K splits), M chunks fastest so the blocks that
// share a weight tile run together and the second read of it hits L2. Per k step of 128 (4 chunks of 32
// weights per row) the block copies the weight tile (kRows x 64 bytes) and the activation tile (kBatch x 256
// bytes) into shared memory with cp.async, kStages deep. Each warp then decodes its A fragments once per k16
// (mma.sync m16n8k16, bf16 in, float32 accumulate) and uses them for all kNt n-tiles of its batch rows, so
// the decode cost per weight falls as 1 / kNt while the bytes per weight stay ~0.52.
// The k order inside an MMA is the one gemv4_mma_kernel uses (gemv4.cuh): lane t of a quad takes the whole
// 16-byte chunk 4 s + t of its rows at step s, MMA j of the step its weights 4j .. 4j + 3, and the matching 16
// bytes of x row g come from shared memory (one 16-byte load gives B of two MMAs). The activation tile is
// swizzled (gemm4_swizzle) so that these loads and the weight loads are free of bank conflicts.
// Numerics: the MMA sees exactly the bf16 weight dequantize writes (Format::mma_pair), sums run in float32,
// one bf16 rounding of y; with a K split the splits' float32 partials are added in split order by a second
// kernel (deterministic). Grouped q|k|v (segments side by side) and gated gate/up (SiLU / GELU-tanh epilogue,
// ATen's roundings) share the kernel: in the gated form a warp's even m16 tiles are gate rows and its odd ones
// the up rows of the same outputs, so the epilogue pairs them in registers.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "curebench/kernels/device.cuh"
#include "curebench/kernels/gemv4.cuh"
#include "curebench/quant/kernel_hooks.hpp"

namespace curebench::kernels {

template <int kRt_, int kNt_, int kWarpsN_, int kWarpsM_, int kStages_>
struct Gemm4Tile {
  static constexpr int kRt = kRt_, kNt = kNt_, kWarpsN = kWarpsN_, kWarpsM = kWarpsM_, kStages = kStages_;
  static constexpr int kThreads = 32 * kWarpsN * kWarpsM;
  static constexpr int kRows = 16 * kRt * kWarpsN;  // weight rows staged per block (gated: half gate, half up)
  static constexpr int kBatch = 8 * kNt * kWarpsM;  // activation rows per block
  static constexpr int kWBytes = kRows * 64;        // one k step (128 weights) of each row
  static constexpr int kXBytes = kBatch * 256;      // one k step (128 bf16) of each activation row
  static constexpr int kStageBytes = kWBytes + kXBytes;
  static constexpr int kSmemBytes = kStages * kStageBytes;
  static_assert(kRt % 2 == 0, "the gated form pairs a warp's m16 tiles (gate, up)");
  static_assert((kRows * 4) % kThreads == 0 && (kBatch * 16) % kThreads == 0, "whole copy rounds");
};

// 16-byte unit u (0..15) of activation row n in a stage lands at unit gemm4_swizzle(n, u): a quarter warp's
// loads (rows g, g + 1; units 4t + jj for t = 0..3) then hit 8 different bank groups.
__host__ __device__ constexpr int gemm4_swizzle(int n, int u) { return u ^ (((u >> 3) & 1) << 1) ^ (n & 1); }

__device__ __forceinline__ void cp_async16(void* smem_dst, const void* src, bool full) {
  const auto dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"(src), "r"(full ? 16 : 0));  // 0: zero fill
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(N));
}

template <class Format>
__device__ __forceinline__ const uint4* segment_weight(const GemvSegments<Format>& segs, int s) {
  return s == 0 ? segs.w[0] : s == 1 ? segs.w[1] : segs.w[2];
}
template <class Format>
__device__ __forceinline__ std::int64_t segment_start(const GemvSegments<Format>& segs, int s) {
  return s == 0 ? segs.start[0] : s == 1 ? segs.start[1] : s == 2 ? segs.start[2] : segs.start[3];
}

// partial: float32 [split, m, ld] (ld = n_out, gated 2 n_out: gate then up), only when gridDim.z > 1.
template <class Tile, bool kGated, class Format>
__global__ void __launch_bounds__(Tile::kThreads)
    gemm4_kernel(GemvSegments<Format> segs, const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y,
                 float* __restrict__ partial, int m, std::int64_t n_out, std::int64_t k, int steps_per_split) {
  constexpr int kRt = Tile::kRt, kNt = Tile::kNt, kThreads = Tile::kThreads;
  extern __shared__ __align__(16) unsigned char gemm4_smem[];
  __shared__ float lut[16];
  segs.f[0].fill_lut(lut);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int wn = warp % Tile::kWarpsN, wm = warp / Tile::kWarpsN;
  const int m0 = blockIdx.x * Tile::kBatch;
  const std::int64_t chunks = k >> 5;
  const int steps = static_cast<int>((chunks + 3) >> 2);
  const int s_begin = blockIdx.z * steps_per_split;
  const int n_steps = min(steps, s_begin + steps_per_split) - s_begin;

  // Rows of the block: tile q (16 rows), row i of it -> (segment, row inside the segment's weight, output row).
  const std::int64_t blk_row0 = static_cast<std::int64_t>(blockIdx.y) * (kGated ? Tile::kRows / 2 : Tile::kRows);
  int seg = 0;
  if constexpr (!kGated) {
    while (seg + 1 < segs.count && blk_row0 >= segment_start(segs, seg + 1)) ++seg;  // starts are multiples of kRows
  }
  const std::int64_t seg_begin = kGated ? 0 : segment_start(segs, seg), seg_end = kGated ? n_out : segment_start(segs, seg + 1);
  auto out_row_of = [&](int q, int i) -> std::int64_t {
    return kGated ? blk_row0 + (q >> 1) * 16 + i : blk_row0 + q * 16 + i;
  };
  auto segment_of = [&](int q) { return kGated ? (q & 1) : seg; };

  // The copies this thread issues per stage: weight units and activation units, addresses fixed up front.
  constexpr int kWCopies = Tile::kRows * 4 / kThreads, kXCopies = Tile::kBatch * 16 / kThreads;
  const uint4* wsrc[kWCopies];
  bool wok[kWCopies];
#pragma unroll
  for (int l = 0; l < kWCopies; ++l) {
    const int idx = tid + l * kThreads, b = idx >> 2, q = b >> 4, i = b & 15;
    const std::int64_t out = out_row_of(q, i);
    wok[l] = out < seg_end;
    wsrc[l] = segment_weight(segs, segment_of(q)) + (wok[l] ? out - seg_begin : 0) * chunks + (idx & 3);
  }
  // Activation copies: copy l of this thread is row n0 + l * kXRowStride, unit xu; the addresses are computed per
  // stage from one base (an array of kXCopies pointers costs the wide tiles' registers).
  constexpr int kXRowStride = kThreads / 16;
  const int xn0 = tid >> 4, xu = tid & 15;
  const __nv_bfloat16* xbase = x + static_cast<std::int64_t>(m0 + xn0) * k + xu * 8;
  auto load_stage = [&](int slot, int step) {
    unsigned char* ws = gemm4_smem + slot * Tile::kStageBytes;
    unsigned char* xs = ws + Tile::kWBytes;
#pragma unroll
    for (int l = 0; l < kWCopies; ++l) {
      const int idx = tid + l * kThreads;
      const bool ok = wok[l] && 4 * static_cast<std::int64_t>(step) + (idx & 3) < chunks;
      cp_async16(ws + idx * 16, ok ? wsrc[l] + 4 * static_cast<std::int64_t>(step) : wsrc[l], ok);
    }
    const bool k_ok = 128 * static_cast<std::int64_t>(step) + xu * 8 < k;
#pragma unroll
    for (int l = 0; l < kXCopies; ++l) {
      const int n = xn0 + l * kXRowStride;
      const bool ok = k_ok && m0 + n < m;
      cp_async16(xs + n * 256 + gemm4_swizzle(n, xu) * 16,
                 ok ? xbase + static_cast<std::int64_t>(l * kXRowStride) * k + 128 * static_cast<std::int64_t>(step) : x, ok);
    }
  };

  // The lane's A rows: tile r of the warp, h = 0 row g, h = 1 row g + 8.
  std::int64_t arow[kRt][2];
  bool aok[kRt][2];
#pragma unroll
  for (int r = 0; r < kRt; ++r)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const std::int64_t out = out_row_of(wn * kRt + r, g + 8 * h);
      aok[r][h] = out < seg_end;
      arow[r][h] = aok[r][h] ? out - seg_begin : 0;
    }
  const Format f0 = kGated ? segs.f[0] : segment_format(segs, seg);
  const Format f1 = kGated ? segs.f[1] : f0;
  auto load_scales = [&](int step, std::uint32_t (&sc)[kRt][2]) {
    const std::int64_t c = 4 * static_cast<std::int64_t>(step) + t;
#pragma unroll
    for (int r = 0; r < kRt; ++r)
#pragma unroll
      for (int h = 0; h < 2; ++h)  // scale 0 (a missing row or chunk): the zero-filled weight decodes to 0
        sc[r][h] = aok[r][h] && c < chunks ? ((kGated && (r & 1)) ? f1 : f0).mma_scale(arow[r][h], k, c) : 0u;
  };

  float acc[kRt][kNt][4];
#pragma unroll
  for (int r = 0; r < kRt; ++r)
#pragma unroll
    for (int nt = 0; nt < kNt; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[r][nt][e] = 0.0f;

#pragma unroll
  for (int s = 0; s < Tile::kStages - 1; ++s) {
    if (s < n_steps) load_stage(s, s_begin + s);
    cp_async_commit();
  }
  std::uint32_t sc[kRt][2];
  load_scales(s_begin, sc);
  __syncthreads();  // the table
  for (int it = 0; it < n_steps; ++it) {
    cp_async_wait<Tile::kStages - 2>();
    __syncthreads();  // stage `it` landed for every thread; every warp is done with the slot refilled next
    {
      const int nx = it + Tile::kStages - 1;
      if (nx < n_steps) load_stage(nx % Tile::kStages, s_begin + nx);
      cp_async_commit();
    }
    std::uint32_t sc_next[kRt][2];
    load_scales(s_begin + it + 1, sc_next);  // past the end: chunk >= chunks gives 0, never read
    const unsigned char* ws = gemm4_smem + (it % Tile::kStages) * Tile::kStageBytes;
    const unsigned char* xs = ws + Tile::kWBytes;
    uint4 wq[kRt][2];
#pragma unroll
    for (int r = 0; r < kRt; ++r)
#pragma unroll
      for (int h = 0; h < 2; ++h) wq[r][h] = *reinterpret_cast<const uint4*>(ws + ((wn * kRt + r) * 16 + g + 8 * h) * 64 + t * 16);
#pragma unroll
    for (int jj = 0; jj < 4; ++jj) {
      // The warp's A fragments of this k32 (decoded once), then one n-tile's activations at a time: registers stay
      // ~kRt x 8 + 4 whatever kNt is. Each accumulator still sums in (jj, e) order: the same bits as before.
      std::uint32_t a[kRt][2][4];
#pragma unroll
      for (int r = 0; r < kRt; ++r) {
        const std::uint32_t w0 = word_of(wq[r][0], jj), w1 = word_of(wq[r][1], jj);
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int b = 2 * e;
          a[r][e][0] = Format::mma_pair(w0, b, sc[r][0], lut), a[r][e][1] = Format::mma_pair(w1, b, sc[r][1], lut);
          a[r][e][2] = Format::mma_pair(w0, b + 1, sc[r][0], lut), a[r][e][3] = Format::mma_pair(w1, b + 1, sc[r][1], lut);
        }
      }
#pragma unroll
      for (int nt = 0; nt < kNt; ++nt) {
        const int n = (wm * kNt + nt) * 8 + g;
        const uint4 xv = *reinterpret_cast<const uint4*>(xs + n * 256 + gemm4_swizzle(n, 4 * t + jj) * 16);
#pragma unroll
        for (int r = 0; r < kRt; ++r)
#pragma unroll
          for (int e = 0; e < 2; ++e)
            mma_bf16_16816(acc[r][nt], a[r][e][0], a[r][e][1], a[r][e][2], a[r][e][3], word_of(xv, 2 * e), word_of(xv, 2 * e + 1));
      }
    }
#pragma unroll
    for (int r = 0; r < kRt; ++r) sc[r][0] = sc_next[r][0], sc[r][1] = sc_next[r][1];
  }
  cp_async_wait<0>();

  // acc[r][nt]: {row g, batch 2t}, {row g, 2t + 1}, {row g + 8, 2t}, {row g + 8, 2t + 1} of tile r, n-tile nt.
  const bool split = gridDim.z > 1;
  const std::int64_t ld = kGated ? 2 * n_out : n_out;
#pragma unroll
  for (int r = 0; r < kRt; ++r) {
    if (kGated && (r & 1)) continue;  // up rows are written with their gate rows
#pragma unroll
    for (int nt = 0; nt < kNt; ++nt)
#pragma unroll
      for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int batch = m0 + (wm * kNt + nt) * 8 + 2 * t + e;
          const std::int64_t out = out_row_of(wn * kRt + r, g + 8 * h);
          if (batch >= m || out >= (kGated ? n_out : seg_end)) continue;
          const float v = acc[r][nt][2 * h + e];
          if (split) {
            float* p = partial + (static_cast<std::int64_t>(blockIdx.z) * m + batch) * ld;
            p[out] = v;
            if constexpr (kGated) p[n_out + out] = acc[r + 1][nt][2 * h + e];
          } else if constexpr (kGated) {
            const float gv = round_bf16(v), uv = round_bf16(acc[r + 1][nt][2 * h + e]);
            y[batch * n_out + out] = __float2bfloat16_rn(round_bf16(activate(gv, segs.activation)) * uv);
          } else {
            y[batch * n_out + out] = __float2bfloat16_rn(v);
          }
        }
  }
}

// The K splits' partials added in split order, then the epilogue (bf16, or the gated product).
template <bool kGated>
__global__ void gemm4_reduce_kernel(const float* __restrict__ partial, __nv_bfloat16* __restrict__ y, int split, int m,
                                    std::int64_t n_out, int activation) {
  const std::int64_t total = static_cast<std::int64_t>(m) * n_out, ld = kGated ? 2 * n_out : n_out;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t batch = i / n_out, out = i - batch * n_out;
    float v = 0.0f, u = 0.0f;
    for (int z = 0; z < split; ++z) {
      const float* p = partial + (static_cast<std::int64_t>(z) * m + batch) * ld;
      v += p[out];
      if constexpr (kGated) u += p[n_out + out];
    }
    if constexpr (kGated) {
      y[i] = __float2bfloat16_rn(round_bf16(activate(round_bf16(v), activation)) * round_bf16(u));
    } else {
      y[i] = __float2bfloat16_rn(v);
    }
  }
}

// How many ways to split K: the fewest that minimise (waves x k steps per split) on a crude time model (weight
// and activation bytes of a step at the HBM rate shared by the resident blocks, or its MMAs at ~400 TFLOP/s,
// whichever is longer) plus the partials' round trip and a launch when split; bounded by the workspace.
template <class Tile>
int gemm4_split(std::int64_t tiles, int steps, std::int64_t partial_floats_per_split, std::int64_t workspace_floats,
                int resident_per_sm) {
  const double slots = static_cast<double>(sm_count()) * (resident_per_sm > 0 ? resident_per_sm : 1);
  const double step_bytes = Tile::kWBytes + 0.25 * Tile::kXBytes;  // x is mostly an L2 hit
  const double step_flops = 2.0 * Tile::kRows * Tile::kBatch * 128;
  const double step_us = std::max(step_bytes / (2.5e6 / slots), step_flops / (4.0e8 / slots));
  int best = 1;
  double best_us = 1e300;
  for (int s = 1; s <= 8; ++s) {
    const int per = (steps + s - 1) / s;
    if ((steps + per - 1) / per != s) continue;  // no empty split
    if (s > 1 && s * partial_floats_per_split > workspace_floats) break;
    const double waves = std::ceil(static_cast<double>(tiles) * s / slots);
    double us = waves * per * step_us;
    if (s > 1) us += 2.0 + 8.0 * s * partial_floats_per_split / 2.5e6;
    if (us < best_us) best_us = us, best = s;
  }
  return best;
}

template <class Tile, bool kGated, class Format>
bool launch_gemm4_tile(const GemvSegments<Format>& segs, const void* x, void* y, std::int64_t m, std::int64_t n_out,
                       std::int64_t k, void* workspace, std::int64_t workspace_bytes, cudaStream_t stream) {
  auto kernel = gemm4_kernel<Tile, kGated, Format>;
  // The shared-memory opt-in is a per-device function attribute: set once per device, on the first (eager) call,
  // so that graph captures later only launch. -1: the device cannot run this tile.
  static int resident_of[kMaxDevices] = {};
  int& resident = resident_of[current_device()];
  if (resident == 0) {
    int r = 0;
    if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Tile::kSmemBytes) != cudaSuccess ||
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&r, kernel, Tile::kThreads, Tile::kSmemBytes) != cudaSuccess || r < 1) {
      cudaGetLastError();  // the failed query is not left for the next launch check to find
      r = -1;
    }
    resident = r;
  }
  if (resident < 1) return false;
  const std::int64_t rows_per_block = kGated ? Tile::kRows / 2 : Tile::kRows;
  const dim3 grid0(static_cast<unsigned>((m + Tile::kBatch - 1) / Tile::kBatch),
                   static_cast<unsigned>((n_out + rows_per_block - 1) / rows_per_block), 1);
  const int steps = static_cast<int>(((k >> 5) + 3) >> 2);
  const std::int64_t per_split = m * (kGated ? 2 * n_out : n_out);
  const int split = gemm4_split<Tile>(static_cast<std::int64_t>(grid0.x) * grid0.y, steps, per_split,
                                      workspace ? workspace_bytes / 4 : 0, resident);
  const int per = (steps + split - 1) / split;
  const dim3 grid(grid0.x, grid0.y, static_cast<unsigned>(split));
  auto* out = static_cast<__nv_bfloat16*>(y);
  kernel<<<grid, Tile::kThreads, Tile::kSmemBytes, stream>>>(segs, static_cast<const __nv_bfloat16*>(x), out,
                                                             static_cast<float*>(workspace), static_cast<int>(m), n_out, k, per);
  if (split > 1) {
    const std::int64_t total = m * n_out;
    const auto blocks = static_cast<unsigned>(std::min<std::int64_t>((total + 255) / 256, std::int64_t{sm_count()} * 16));
    gemm4_reduce_kernel<kGated><<<blocks, 256, 0, stream>>>(static_cast<const float*>(workspace), out, split,
                                                            static_cast<int>(m), n_out, segs.activation);
  }
  return cudaPeekAtLastError() == cudaSuccess;
}

// Tile per M (a block's activation rows; more rows than that take more M chunks). Named for the benchmarks.
using Gemm4Tile16 = Gemm4Tile<2, 2, 4, 1, 4>;   // 128 weight rows x 16, 128 threads, 48 KB
using Gemm4Tile32 = Gemm4Tile<2, 4, 4, 1, 4>;   // 128 x 32, 128 threads, 64 KB
// 64 rows in one warp row: each weight decoded once per block (two warp rows decode it twice): 0.81-0.92x the
// time of <2, 4, 4, 2, 4> on the 8B shapes (H100, 2026-12-07). Wider single-row tiles (128 x 128) spill and lose.
using Gemm4Tile64 = Gemm4Tile<2, 8, 4, 1, 4>;   // 128 x 64, 128 threads, 96 KB
using Gemm4Tile96 = Gemm4Tile<2, 6, 4, 2, 3>;   // 128 x 96, 256 threads, 96 KB
using Gemm4Tile128 = Gemm4Tile<2, 8, 4, 2, 3>;  // 128 x 128, 256 threads, 120 KB

template <bool kGated, class Format>
bool launch_gemm4(const GemvSegments<Format>& segs, const void* x, void* y, std::int64_t m, std::int64_t n_out,
                  std::int64_t k, void* workspace, std::int64_t workspace_bytes, cudaStream_t stream) {
  if (m <= 16) return launch_gemm4_tile<Gemm4Tile16, kGated>(segs, x, y, m, n_out, k, workspace, workspace_bytes, stream);
  if (m <= 32) return launch_gemm4_tile<Gemm4Tile32, kGated>(segs, x, y, m, n_out, k, workspace, workspace_bytes, stream);
  if (m <= 64) return launch_gemm4_tile<Gemm4Tile64, kGated>(segs, x, y, m, n_out, k, workspace, workspace_bytes, stream);
  if (m <= 96) return launch_gemm4_tile<Gemm4Tile96, kGated>(segs, x, y, m, n_out, k, workspace, workspace_bytes, stream);
  return launch_gemm4_tile<Gemm4Tile128, kGated>(segs, x, y, m, n_out, k, workspace, workspace_bytes, stream);
}

// Checks, then the launch. Plain segments must start on a block's rows (multiples of 128: q|k|v of every
// model with head_dim 128 qualify); gated: two segments of equal rows. False: nothing launched.
template <class Format>
bool dispatch_gemm4(const GemvSegments<Format>& segs, bool gated, const void* x, void* y, std::int64_t m, std::int64_t k,
                    void* workspace, std::int64_t workspace_bytes, void* stream) {
  if (m < 1 || m > quant::hooks::kGemm4MaxRows || k % 32 != 0 || reinterpret_cast<std::uintptr_t>(x) % 16 != 0 ||
      segs.count < 1 || segs.count > 3)
    return false;
  for (int s = 0; s < segs.count; ++s) {
    if (reinterpret_cast<std::uintptr_t>(segs.w[s]) % 16 != 0) return false;
    if (!gated && s > 0 && segs.start[s] % Gemm4Tile16::kRows != 0) return false;
  }
  if (gated && (segs.count != 2 || segs.start[2] - segs.start[1] != segs.start[1])) return false;
  const std::int64_t n_out = gated ? segs.start[1] : segs.start[segs.count];
  auto s = static_cast<cudaStream_t>(stream);
  return gated ? launch_gemm4<true>(segs, x, y, m, n_out, k, workspace, workspace_bytes, s)
               : launch_gemm4<false>(segs, x, y, m, n_out, k, workspace, workspace_bytes, s);
}

inline bool bnb4_gemm(const quant::hooks::Bnb4View* w, const std::int64_t* rows, int count, int gated_activation,
                      const void* x, void* y, std::int64_t m, std::int64_t k, void* workspace, std::int64_t workspace_bytes,
                      void* stream) {
  GemvSegments<Bnb4Format> segs;
  segs.count = count;
  segs.activation = gated_activation;
  if (count < 1 || count > 3) return false;
  for (int s = 0; s < count; ++s) {
    if (w[s].block_shift < 5) return false;  // blocks of 16: a chunk would straddle two
    segs.f[s] = Bnb4Format{w[s]};
    segs.w[s] = reinterpret_cast<const uint4*>(w[s].packed);
    segs.start[s + 1] = segs.start[s] + rows[s];
  }
  return dispatch_gemm4(segs, gated_activation >= 0, x, y, m, k, workspace, workspace_bytes, stream);
}

inline bool int4_gemm(const quant::hooks::Int4View* w, int count, int gated_activation, const void* x, void* y,
                      std::int64_t m, std::int64_t k, void* workspace, std::int64_t workspace_bytes, void* stream) {
  GemvSegments<Int4Format> segs;
  segs.count = count;
  segs.activation = gated_activation;
  if (count < 1 || count > 3) return false;
  for (int s = 0; s < count; ++s) {
    if (w[s].group_shift < 5) return false;
    segs.f[s] = Int4Format{w[s]};
    segs.w[s] = reinterpret_cast<const uint4*>(w[s].packed);
    segs.start[s + 1] = segs.start[s] + w[s].n;
  }
  return dispatch_gemm4(segs, gated_activation >= 0, x, y, m, k, workspace, workspace_bytes, stream);
}

}  // namespace curebench::kernels
