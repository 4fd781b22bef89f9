#pragma once
// One generic decoder for every family in the architecture table. forward() reads like the math:
// embed, then per layer [norm -> q,k,v -> rope -> cache -> attention -> o] and [norm -> gated MLP],
// then the final norm and the classifier. Family differences are ModelSpec fields, not subclasses.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "curebench/core/torch_compat.hpp"
#include "curebench/model/layers.hpp"
#include "curebench/model/spec.hpp"
#include "curebench/model/weights.hpp"
#include "curebench/runtime/kv_cache.hpp"

namespace curebench::model {

class Decoder {
 public:
  Decoder(ModelSpec spec, DecoderWeights weights, at::ScalarType dtype, at::Device device)
      : spec_(std::move(spec)), w_(std::move(weights)), dtype_(dtype), device_(device),
        inv_freq_(rope_inv_freq(spec_.rope, spec_.head_dim, device)) {}

  // Marks layers whose weights stay on the host (FullPrecision<LayerOffload> decides which).
  void set_offloaded(std::vector<bool> offloaded) { offloaded_ = std::move(offloaded); }
  std::int64_t offloaded_layers() const { return std::count(offloaded_.begin(), offloaded_.end(), true); }

  const ModelSpec& spec() const { return spec_; }
  const DecoderWeights& weights() const { return w_; }
  at::ScalarType dtype() const { return dtype_; }
  const at::Device& device() const { return device_; }

  runtime::KVCache make_cache(std::int64_t batch, std::int64_t max_len) const {
    return runtime::KVCache(spec_, batch, max_len, dtype_, device_);
  }

  // ids [B, T] (int64), real [B, T] (bool: false for padding). Appends T columns to the cache.
  // Returns fp32 logits [B, T - first_logit, V] for columns first_logit.. of this step; by default only
  // the last column (what generation needs), so the classifier never runs on the whole prompt.
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& real, runtime::KVCache& cache,
                     std::int64_t first_logit = -1) const {
    const auto B = ids.size(0), T = ids.size(1);
    const auto Hq = spec_.num_heads, Hkv = spec_.num_kv_heads, D = spec_.head_dim;
    const auto positions = cache.append(real);
    const auto start = cache.length() - T;
    const auto rope = rope_tables(inv_freq_, positions, dtype_);
    const auto full_mask = runtime::attention_mask(cache.valid(), start, T, std::nullopt, dtype_);
    const auto window_mask = spec_.sliding_window
                                 ? runtime::attention_mask(cache.valid(), start, T, spec_.sliding_window, dtype_)
                                 : full_mask;

    // Token embeddings (Gemma scales them by sqrt(hidden), rounded to the activation dtype first).
    auto x = at::embedding(w_.embed, ids.to(device_));
    if (spec_.scale_embeddings)
      x = x * at::scalar_tensor(std::sqrt(static_cast<double>(spec_.hidden_size)), x.options());

    for (std::size_t i = 0; i < w_.layers.size(); ++i) {
      // Offloaded layers live in host memory and visit the compute device for this forward only.
      LayerWeights visiting;
      if (!offloaded_.empty() && offloaded_[i]) visiting = layer_to(w_.layers[i], device_);
      const auto& l = (!offloaded_.empty() && offloaded_[i]) ? visiting : w_.layers[i];
      // Attention: pre-norm, project, per-head norm (Qwen3), rotate, store in the cache, attend.
      auto h = norm(x, l.attn_norm);
      auto q = with_bias(quant::matmul(l.q, h), l.q_bias).view({B, T, Hq, D});
      auto k = with_bias(quant::matmul(l.k, h), l.k_bias).view({B, T, Hkv, D});
      auto v = with_bias(quant::matmul(l.v, h), l.v_bias).view({B, T, Hkv, D});
      if (spec_.qk_norm) {
        q = rms_norm(q, l.q_norm, spec_.rms_norm_eps, false);
        k = rms_norm(k, l.k_norm, spec_.rms_norm_eps, false);
      }
      q = apply_rope(q.transpose(1, 2), rope);
      k = apply_rope(k.transpose(1, 2), rope);
      cache.k(i).narrow(2, start, T).copy_(k);
      cache.v(i).narrow(2, start, T).copy_(v.transpose(1, 2));
      auto keys = cache.k(i).narrow(2, 0, start + T), values = cache.v(i).narrow(2, 0, start + T);
      const auto& mask = spec_.layer_sliding[i] ? window_mask : full_mask;
      auto attn = attend(q, keys, values, mask).transpose(1, 2).reshape({B, T, Hq * D});
      auto o = with_bias(quant::matmul(l.o, attn), l.o_bias);
      if (spec_.sandwich_norms) o = norm(o, l.attn_out_norm);
      x = x + o;

      // Feed-forward: pre-norm, gated MLP (SwiGLU / GeGLU), optional post-norm (Gemma-2).
      h = norm(x, l.ffn_norm);
      auto m = quant::matmul(l.down, activate(quant::matmul(l.gate, h), spec_.activation) * quant::matmul(l.up, h));
      if (spec_.sandwich_norms) m = norm(m, l.ffn_out_norm);
      x = x + m;
    }

    // Final norm and classifier (only the last column unless every position's logits are asked for).
    x = norm(x, w_.final_norm);
    if (first_logit < 0 || first_logit >= T) first_logit = T - 1;
    x = x.narrow(1, first_logit, T - first_logit);
    auto logits = quant::matmul(w_.lm_head, x);
    if (spec_.final_logit_softcap) logits = softcap(logits, *spec_.final_logit_softcap);
    return logits.to(at::kFloat);
  }

 private:
  at::Tensor norm(const at::Tensor& x, const at::Tensor& w) const {
    return rms_norm(x, w, spec_.rms_norm_eps, spec_.norm_plus_one);
  }
  static at::Tensor with_bias(at::Tensor y, const at::Tensor& b) { return b.defined() ? y + b : y; }

  // Scaled dot-product attention, q [B, Hq, T, D] over the cache's k/v [B, Hkv, S, D] (grouped-query:
  // each kv head serves Hq/Hkv query heads). Soft-capped logits (Gemma-2) need the plain path;
  // everything else goes through the torch shim (fused SDPA on torch 2.x).
  at::Tensor attend(const at::Tensor& q, const at::Tensor& k_shared, const at::Tensor& v_shared, const at::Tensor& mask) const {
    if (!spec_.attn_logit_softcap) return compat::attention(q, k_shared, v_shared, mask, spec_.attention_scale);
    const auto rep = q.size(1) / k_shared.size(1);
    auto k = rep > 1 ? k_shared.repeat_interleave(rep, 1) : k_shared;
    auto v = rep > 1 ? v_shared.repeat_interleave(rep, 1) : v_shared;
    auto scores = at::matmul(q, k.transpose(-2, -1)) * spec_.attention_scale;
    scores = softcap(scores, *spec_.attn_logit_softcap) + mask;
    auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
    return at::matmul(probs, v);
  }

  ModelSpec spec_;
  DecoderWeights w_;
  at::ScalarType dtype_;
  at::Device device_;
  at::Tensor inv_freq_;
  std::vector<bool> offloaded_;
};

}  // namespace curebench::model
