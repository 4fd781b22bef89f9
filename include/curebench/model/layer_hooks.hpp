#pragma once
// Optional fused CUDA kernels for the decoder's small per-token layers (kernels/layers.cuh), reached through
// function pointers as quant/kernel_hooks.hpp does for the weight formats: the header-only model code
// needs no CUDA compiler, and where no nvcc-built object registers them they stay null and model/layers.hpp
// keeps its ATen compositions (the reference the kernels are tested against, tests/cuda/test_cuda_layers.cpp).
// Why: a decode step of an 8B model at batch 1 is ~1,500 launches, most of them elementwise pieces of
// RMSNorm and RoPE; each costs a few microseconds even inside a CUDA graph.
// All pointers are device pointers to bf16 unless said otherwise; each returns false, launching nothing,
// for a case it does not take.
#include <algorithm>
#include <cstdint>

namespace curebench::model::hooks {

// y [rows, hidden] = RMSNorm(x) with transformers' rounding: normed = bf16(x * rsqrt(mean(x^2) + eps)),
// y = bf16(w * normed); plus_one (Gemma): y = bf16(x * rsqrt(..) * (1 + w)), all in fp32. x, y contiguous.
using RmsNormFn = bool (*)(const void* x, const void* w, void* y, std::int64_t rows, std::int64_t hidden, float eps,
                           bool plus_one, void* stream);

// sum [rows, hidden] = bf16(x + r) (the residual stream) and y = RMSNorm(sum) as RmsNormFn computes it, in one
// pass over the row: the decoder's "add the block's output, then normalize for the next block". All contiguous.
using AddRmsNormFn = bool (*)(const void* x, const void* r, void* sum, const void* w, void* y, std::int64_t rows,
                              std::int64_t hidden, float eps, bool plus_one, void* stream);

// out [B, H, T, D] contiguous = x * cos + rotate_half(x) * sin, each product and the sum rounded to bf16 as
// ATen does; x is [B, H, T, D] with element strides (sb, sh, st, 1); cos, sin [B, T, D] contiguous.
struct RopeArgs {
  const void* x = nullptr;
  const void* cos = nullptr;
  const void* sin = nullptr;
  void* out = nullptr;
  std::int64_t B = 0, H = 0, T = 0, D = 0, sb = 0, sh = 0, st = 0;
};
using RopeFn = bool (*)(const RopeArgs& a, void* stream);

// One decode column (T = 1) of a layer, in one launch: q_out [B, Hq, D] contiguous = RoPE(q) as RopeFn rounds it,
// and the cache's column *col (a device int64, read by a CUDA-graph replay) of every row gets RoPE(k) and v. q, k, v
// are [B, H, D] views with element strides (b, h, 1) (slices of the q|k|v product); cos, sin [B, D] contiguous;
// the caches [B, Hkv, S, D] with element strides (cb, ch, cs, 1). Replaces two RoPE launches and two index_copy_.
struct RopeCacheArgs {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  const void* cos = nullptr;
  const void* sin = nullptr;
  const std::int64_t* col = nullptr;
  void* q_out = nullptr;
  void* cache_k = nullptr;
  void* cache_v = nullptr;
  std::int64_t B = 0, Hq = 0, Hkv = 0, D = 0;
  std::int64_t qb = 0, qh = 0, kb = 0, kh = 0, vb = 0, vh = 0;
  std::int64_t ckb = 0, ckh = 0, cks = 0, cvb = 0, cvh = 0, cvs = 0;
};
using RopeCacheFn = bool (*)(const RopeCacheArgs& a, void* stream);

// One query column per row: out [B, Hq, D] = softmax(q k^T * scale + mask) v over the first key_len cache
// columns; kv head of query head h is h / (Hq / Hkv). q [B, Hq, D] contiguous; k, v with element strides
// (kb, kh, ks, 1); mask [B, key_len] additive, contiguous, in the activation dtype (bf16).
// The keys are split in runs, each run's softmax pieces (max, sum, unnormalised output) go to `workspace`
// (float32, decode_attention_workspace_floats), and a second pass combines them. Two kernels share that layout:
// the grouped one (one block per run, kv head and row, all query heads of the group from one read of the run's
// keys and values; runs of decode_attention_run_keys) and, where it does not apply, one block per run of
// kAttentionSplitKeys, query head and row.
inline constexpr std::int64_t kAttentionSplitKeys = 64;
// Runs of 16 keys (two 16-byte loads per thread at head dim 128) while that gives at most 64 runs, longer runs
// (up to 128 keys) for longer caches, so the combining pass stays short.
inline constexpr std::int64_t kAttentionMaxRunKeys = 128;
inline std::int64_t decode_attention_run_keys(std::int64_t key_len) {
  std::int64_t r = 16;
  while (r < kAttentionMaxRunKeys && (key_len + r - 1) / r > 64) r *= 2;
  return r;
}
inline std::int64_t decode_attention_workspace_floats(std::int64_t B, std::int64_t Hq, std::int64_t D, std::int64_t key_len) {
  const auto runs = std::max((key_len + kAttentionSplitKeys - 1) / kAttentionSplitKeys,
                             (key_len + decode_attention_run_keys(key_len) - 1) / decode_attention_run_keys(key_len));
  return B * Hq * runs * (D + 2);
}
struct DecodeAttentionArgs {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  const void* mask = nullptr;
  void* out = nullptr;
  float* workspace = nullptr;
  std::int64_t B = 0, Hq = 0, Hkv = 0, D = 0, key_len = 0, kb = 0, kh = 0, ks = 0, vb = 0, vh = 0, vs = 0;
  float scale = 1.0f;
};
using DecodeAttentionFn = bool (*)(const DecodeAttentionArgs& a, void* stream);

inline RmsNormFn& rms_norm() {
  static RmsNormFn f = nullptr;
  return f;
}
inline AddRmsNormFn& add_rms_norm() {
  static AddRmsNormFn f = nullptr;
  return f;
}
inline RopeFn& rope() {
  static RopeFn f = nullptr;
  return f;
}
inline RopeCacheFn& rope_cache() {
  static RopeCacheFn f = nullptr;
  return f;
}
inline DecodeAttentionFn& decode_attention() {
  static DecodeAttentionFn f = nullptr;
  return f;
}
// The per-head kernel alone (any group size), for tests and before/after timings of the grouped one.
inline DecodeAttentionFn& decode_attention_per_head() {
  static DecodeAttentionFn f = nullptr;
  return f;
}

}  // namespace curebench::model::hooks
