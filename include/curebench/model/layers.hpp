#pragma once
// The decoder's building blocks, each written to match transformers' numerics (fp32 statistics,
// casts at the same points), so a bf16 run agrees with the reference as closely as the format allows.
#include <ATen/ATen.h>

#include <cmath>
#include <utility>

#include "curebench/model/layer_hooks.hpp"
#include "curebench/model/spec.hpp"

#if defined(CUREBENCH_WITH_CUDA)
#include <c10/cuda/CUDAStream.h>
#endif

namespace curebench::model {

#if defined(CUREBENCH_WITH_CUDA)
inline void* current_cuda_stream() { return c10::cuda::getCurrentCUDAStream().stream(); }
// The case the layer kernels take (model/layer_hooks.hpp): bf16 on CUDA.
inline bool fused_layer_case(const at::Tensor& x) { return x.is_cuda() && x.scalar_type() == at::kBFloat16; }
#endif

// RMSNorm: statistics in fp32; Llama scales by w (after casting back), Gemma by (1 + w) in fp32.
inline at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& w, double eps, bool plus_one) {
#if defined(CUREBENCH_WITH_CUDA)
  if (auto fn = hooks::rms_norm(); fn && fused_layer_case(x) && w.scalar_type() == at::kBFloat16 && w.is_contiguous()) {
    auto xc = x.contiguous();
    auto y = at::empty_like(xc);
    const auto hidden = x.size(-1);
    if (fn(xc.data_ptr(), w.data_ptr(), y.data_ptr(), xc.numel() / hidden, hidden, static_cast<float>(eps), plus_one,
           current_cuda_stream()))
      return y;
  }
#endif
  auto xf = x.to(at::kFloat);
  auto normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  if (plus_one) return (normed * (w.to(at::kFloat) + 1.0)).to(x.scalar_type());
  return w * normed.to(x.scalar_type());
}

// The residual add followed by RMSNorm: {s, rms_norm(s)} with s = x + r (one kernel on CUDA bf16).
inline std::pair<at::Tensor, at::Tensor> add_rms_norm(const at::Tensor& x, const at::Tensor& r, const at::Tensor& w,
                                                      double eps, bool plus_one) {
#if defined(CUREBENCH_WITH_CUDA)
  if (auto fn = hooks::add_rms_norm(); fn && fused_layer_case(x) && r.scalar_type() == at::kBFloat16 &&
                                        x.sizes() == r.sizes() && w.scalar_type() == at::kBFloat16 && w.is_contiguous()) {
    auto xc = x.contiguous(), rc = r.contiguous();
    auto s = at::empty_like(xc), y = at::empty_like(xc);
    const auto hidden = x.size(-1);
    if (fn(xc.data_ptr(), rc.data_ptr(), s.data_ptr(), w.data_ptr(), y.data_ptr(), xc.numel() / hidden, hidden,
           static_cast<float>(eps), plus_one, current_cuda_stream()))
      return {s, y};
  }
#endif
  auto s = x + r;
  return {s, rms_norm(s, w, eps, plus_one)};
}

inline at::Tensor activate(const at::Tensor& x, Activation a) {
  switch (a) {
    case Activation::silu: return at::silu(x);
    case Activation::gelu_tanh: return at::gelu(x, "tanh");
    case Activation::gelu: return at::gelu(x);
  }
  return x;
}

// Inverse frequencies of RoPE (fp32), with Llama-3's frequency-band rescaling when configured.
inline at::Tensor rope_inv_freq(const RopeSpec& r, std::int64_t head_dim, const at::Device& device) {
  auto exponents = at::arange(0, head_dim, 2, at::TensorOptions().dtype(at::kLong).device(device)).to(at::kFloat) /
                   static_cast<double>(head_dim);
  auto inv = at::reciprocal(at::pow(r.theta, exponents));
  if (!r.freq_divisors.empty())  // llama.cpp's per-frequency factors, as a GGUF stores Llama-3 scaling
    return inv / at::tensor(at::ArrayRef<float>(r.freq_divisors), at::kFloat).to(device);
  if (r.type == "linear") return inv / r.factor;
  if (r.type != "llama3") return inv;
  const double old_len = static_cast<double>(r.original_max_position);
  const double low_wavelen = old_len / r.low_freq_factor, high_wavelen = old_len / r.high_freq_factor;
  auto wavelen = (2.0 * M_PI) / inv;
  auto scaled = at::where(wavelen > low_wavelen, inv / r.factor, inv);
  auto smooth = (old_len / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
  auto smoothed = (1.0 - smooth) * scaled / r.factor + smooth * scaled;
  auto medium = at::logical_and(wavelen >= high_wavelen, wavelen <= low_wavelen);
  return at::where(medium, smoothed, scaled);
}

struct RopeTables {
  at::Tensor cos, sin;  // [B, 1, T, head_dim] in the activation dtype
};

inline RopeTables rope_tables(const at::Tensor& inv_freq, const at::Tensor& positions, at::ScalarType dtype) {
  auto freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [B, T, D/2]
  auto emb = at::cat({freqs, freqs}, -1).unsqueeze(1);             // [B, 1, T, D]
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

// HF layout: rotate the two halves of each head (not interleaved pairs).
inline at::Tensor apply_rope(const at::Tensor& x, const RopeTables& t) {
#if defined(CUREBENCH_WITH_CUDA)
  // x [B, H, T, D] (any strides with a unit last one), tables [B, 1, T, D].
  if (auto fn = hooks::rope(); fn && fused_layer_case(x) && x.dim() == 4 && x.stride(3) == 1 &&
                               t.cos.scalar_type() == at::kBFloat16 && t.cos.is_contiguous() && t.sin.is_contiguous() &&
                               t.cos.size(0) == x.size(0) && t.cos.size(2) == x.size(2)) {
    auto out = at::empty(x.sizes(), x.options());
    hooks::RopeArgs a;
    a.x = x.data_ptr(), a.cos = t.cos.data_ptr(), a.sin = t.sin.data_ptr(), a.out = out.data_ptr();
    a.B = x.size(0), a.H = x.size(1), a.T = x.size(2), a.D = x.size(3);
    a.sb = x.stride(0), a.sh = x.stride(1), a.st = x.stride(2);
    if (fn(a, current_cuda_stream())) return out;
  }
#endif
  auto half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  auto rotated = at::cat({-x2, x1}, -1);
  return x * t.cos + rotated * t.sin;
}

// A decode column (T = 1): RoPE of q and k, and k, v written to the caches' column `col` (int64 [1] on the device),
// in one launch on CUDA bf16 (model/layer_hooks.hpp). q, k, v are [B, 1, H, D] with a unit last stride. Returns the
// rotated q [B, Hq, 1, D]; undefined, with nothing written, where the kernel does not apply (the caller then runs
// apply_rope and index_copy_, the composition the kernel is tested against).
inline at::Tensor rope_and_cache(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const RopeTables& t,
                                 at::Tensor& cache_k, at::Tensor& cache_v, const at::Tensor& col) {
#if defined(CUREBENCH_WITH_CUDA)
  auto fn = hooks::rope_cache();
  auto bf16_cuda = [](const at::Tensor& x) { return fused_layer_case(x) && x.dim() == 4 && x.stride(3) == 1; };
  const auto B = q.size(0), D = q.size(3);
  if (!fn || !bf16_cuda(q) || !bf16_cuda(k) || !bf16_cuda(v) || !bf16_cuda(cache_k) || !bf16_cuda(cache_v) || q.size(1) != 1 ||
      k.size(1) != 1 || v.size(1) != 1 || k.size(2) != v.size(2) || k.size(3) != D || v.size(3) != D ||
      cache_k.size(1) != k.size(2) || cache_v.size(1) != v.size(2) || cache_k.size(0) != B || cache_v.size(0) != B ||
      cache_k.size(3) != D || cache_v.size(3) != D ||
      t.cos.scalar_type() != at::kBFloat16 || !t.cos.is_contiguous() || !t.sin.is_contiguous() || t.cos.numel() != B * D ||
      col.scalar_type() != at::kLong || !col.is_cuda() || col.numel() != 1)
    return {};
  auto out = at::empty({B, q.size(2), 1, D}, q.options());
  hooks::RopeCacheArgs a;
  a.q = q.data_ptr(), a.k = k.data_ptr(), a.v = v.data_ptr(), a.cos = t.cos.data_ptr(), a.sin = t.sin.data_ptr();
  a.col = col.data_ptr<std::int64_t>(), a.q_out = out.data_ptr(), a.cache_k = cache_k.data_ptr(), a.cache_v = cache_v.data_ptr();
  a.B = B, a.Hq = q.size(2), a.Hkv = k.size(2), a.D = D;
  a.qb = q.stride(0), a.qh = q.stride(2), a.kb = k.stride(0), a.kh = k.stride(2), a.vb = v.stride(0), a.vh = v.stride(2);
  a.ckb = cache_k.stride(0), a.ckh = cache_k.stride(1), a.cks = cache_k.stride(2);
  a.cvb = cache_v.stride(0), a.cvh = cache_v.stride(1), a.cvs = cache_v.stride(2);
  if (fn(a, current_cuda_stream())) return out;
#else
  (void)q, (void)k, (void)v, (void)t, (void)cache_k, (void)cache_v, (void)col;
#endif
  return {};
}

inline at::Tensor softcap(const at::Tensor& x, double cap) { return at::tanh(x / cap) * cap; }

}  // namespace curebench::model
