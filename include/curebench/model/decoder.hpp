#pragma once
// One generic decoder for every family in the architecture table. forward() reads like the math:
// embed, then per layer [norm -> q,k,v -> rope -> cache -> attention -> o] and [norm -> gated MLP],
// then the final norm and the classifier. Family differences are ModelSpec fields, not subclasses.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <tuple>
#include <variant>

#include "curebench/core/env.hpp"
#include "curebench/core/torch_compat.hpp"
#include "curebench/model/layers.hpp"
#include "curebench/model/spec.hpp"
#include "curebench/model/weights.hpp"
#include "curebench/quant/grouped.hpp"
#include "curebench/quant/row_concat.hpp"
#include "curebench/runtime/kv_cache.hpp"

namespace curebench::model {

class Decoder {
 public:
  Decoder(ModelSpec spec, DecoderWeights weights, at::ScalarType dtype, at::Device device)
      : spec_(std::move(spec)), w_(std::move(weights)), dtype_(dtype), device_(device),
        inv_freq_(rope_inv_freq(spec_.rope, spec_.head_dim, device)) {
    fuse_projections();
  }

  // Marks layers whose weights stay on the host (FullPrecision<LayerOffload> decides which).
  void set_offloaded(std::vector<bool> offloaded) { offloaded_ = std::move(offloaded); }
  bool fused_projections() const { return !fused_.empty(); }
  std::int64_t offloaded_layers() const { return std::count(offloaded_.begin(), offloaded_.end(), true); }

  // Tensor parallelism (dist/tensor_parallel.hpp): this decoder holds one rank's slice of the weights, and `f`
  // returns the sum over the ranks of a row-parallel projection's partial output (o and down: two per layer).
  using AllReduce = std::function<at::Tensor(const at::Tensor&)>;
  void set_all_reduce(AllReduce f) { all_reduce_ = std::move(f); }
  bool tensor_parallel() const { return static_cast<bool>(all_reduce_); }

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

    at::Tensor h;  // the next layer's normed input, when the previous layer's residual add made it
    for (std::size_t i = 0; i < w_.layers.size(); ++i) {
      // Offloaded layers live in host memory and visit the compute device for this forward only.
      LayerWeights visiting;
      if (!offloaded_.empty() && offloaded_[i]) visiting = layer_to(w_.layers[i], device_);
      const auto& l = (!offloaded_.empty() && offloaded_[i]) ? visiting : w_.layers[i];
      // Attention: pre-norm, project, per-head norm (Qwen3), rotate, store in the cache, attend.
      const bool fused = visiting.attn_norm.defined() ? false : !fused_.empty();
      auto [q, k, v] = project_qkv(i, l, h.defined() ? h : norm(x, l.attn_norm), fused);
      q = apply_rope(q.transpose(1, 2), rope);
      k = apply_rope(k.transpose(1, 2), rope);
      cache.k(i).narrow(2, start, T).copy_(k);
      cache.v(i).narrow(2, start, T).copy_(v.transpose(1, 2));
      auto keys = cache.k(i).narrow(2, 0, start + T), values = cache.v(i).narrow(2, 0, start + T);
      const auto& mask = spec_.layer_sliding[i] ? window_mask : full_mask;
      auto attn = attend(q, keys, values, mask).transpose(1, 2).reshape({B, T, Hq * D});
      std::tie(x, h) = attention_out_and_mlp(i, l, x, attn, fused, next_norm(i));
    }

    // Final norm and classifier (only the last column unless every position's logits are asked for).
    if (first_logit < 0 || first_logit >= T) first_logit = T - 1;
    return classify(x.narrow(1, first_logit, T - first_logit), h.defined() ? h.narrow(1, first_logit, T - first_logit) : h);
  }

  // One decode column with static shapes, for CUDA-graph capture (runtime/generate.hpp): every row gets one
  // token at cache column `col` (int64 [1] on the device, so a replay reads it from device memory), and
  // attention reads the first `key_len` cache columns (col < key_len <= capacity) through an additive mask
  // built on the device. ids [B, 1] int64, alive [B, 1] bool (false: padding, the row's cache stays as is).
  // Returns fp32 logits [B, V]. No host synchronisation, no shape that depends on col.
  at::Tensor decode_static(const at::Tensor& ids, const at::Tensor& alive, const at::Tensor& col,
                           runtime::KVCache& cache, std::int64_t key_len) const {
    const auto B = ids.size(0);
    const auto Hq = spec_.num_heads, D = spec_.head_dim;
    const auto positions = cache.append_at(alive, col);  // [B, 1]
    const auto rope = rope_tables(inv_freq_, positions, dtype_);
    const auto full_mask = runtime::attention_mask_at(cache.valid(), col, key_len, std::nullopt, dtype_);
    const auto window_mask = spec_.sliding_window
                                 ? runtime::attention_mask_at(cache.valid(), col, key_len, spec_.sliding_window, dtype_)
                                 : full_mask;
    auto x = at::embedding(w_.embed, ids);
    if (spec_.scale_embeddings)
      x = x * at::scalar_tensor(std::sqrt(static_cast<double>(spec_.hidden_size)), x.options());
    const bool fused = !fused_.empty();
    at::Tensor h;
    for (std::size_t i = 0; i < w_.layers.size(); ++i) {
      const auto& l = w_.layers[i];
      auto [q, k, v] = project_qkv(i, l, h.defined() ? h : norm(x, l.attn_norm), fused);
      if (auto rotated = rope_and_cache(q, k, v, rope, cache.k(i), cache.v(i), col); rotated.defined()) {
        q = rotated;  // one launch: RoPE of q and k, k and v into the cache
      } else {
        q = apply_rope(q.transpose(1, 2), rope);
        k = apply_rope(k.transpose(1, 2), rope);
        cache.k(i).index_copy_(2, col, k);
        cache.v(i).index_copy_(2, col, v.transpose(1, 2));
      }
      auto keys = cache.k(i).narrow(2, 0, key_len), values = cache.v(i).narrow(2, 0, key_len);
      const auto& mask = spec_.layer_sliding[i] ? window_mask : full_mask;
      auto attn = attend(q, keys, values, mask).transpose(1, 2).reshape({B, 1, Hq * D});
      std::tie(x, h) = attention_out_and_mlp(i, l, x, attn, fused, next_norm(i));
    }
    return classify(x, h).select(1, 0);
  }

 private:
  // The q/k/v (and gate/up) of a layer become one matmul when they stack (quant/row_concat.hpp: dense of one
  // dtype, or FP8): the weights are concatenated once and the separate q, k, v, gate, up re-pointed at row
  // slices of the stack, so no memory is added. Other formats keep separate (or grouped 4-bit) matmuls.
  void fuse_projections() {
    if (w_.layers.empty()) return;
    for (auto& l : w_.layers)
      if (!quant::can_concat_rows({&l.q, &l.k, &l.v, &l.gate, &l.up})) return;
    for (auto& l : w_.layers) {
      Fused f;
      f.q_rows = quant::out_features(l.q), f.kv_rows = quant::out_features(l.k);
      f.qkv = quant::concat_rows({&l.q, &l.k, &l.v});
      if (l.q_bias.defined()) f.qkv_bias = at::cat({l.q_bias, l.k_bias, l.v_bias}, 0);
      f.inter = quant::out_features(l.gate);
      f.gate_up = quant::concat_rows({&l.gate, &l.up});
      fused_.push_back(std::move(f));
    }
  }

  // A stacked projection with its bias: dense through one at::linear (cuBLAS adds the bias, as transformers' F.linear).
  static at::Tensor stacked_linear(const quant::Weight& w, const at::Tensor& h, const at::Tensor& bias) {
    if (const auto* d = std::get_if<quant::Dense>(&w)) return bias.defined() ? at::linear(h, d->w, bias) : at::linear(h, d->w);
    return with_bias(quant::matmul(w, h), bias);
  }

  std::tuple<at::Tensor, at::Tensor, at::Tensor> project_qkv(std::size_t i, const LayerWeights& l, const at::Tensor& h,
                                                             bool fused) const {
    const auto B = h.size(0), T = h.size(1);
    const auto Hq = spec_.num_heads, Hkv = spec_.num_kv_heads, D = spec_.head_dim;
    at::Tensor q, k, v;
    if (fused) {
      const auto& f = fused_[i];
      auto qkv = stacked_linear(f.qkv, h, f.qkv_bias);
      q = qkv.narrow(-1, 0, f.q_rows).view({B, T, Hq, D});
      k = qkv.narrow(-1, f.q_rows, f.kv_rows).view({B, T, Hkv, D});
      v = qkv.narrow(-1, f.q_rows + f.kv_rows, f.kv_rows).view({B, T, Hkv, D});
    } else if (auto qkv = quant::grouped_matmul({&l.q, &l.k, &l.v}, h); qkv.defined()) {  // 4-bit, small batch
      q = with_bias(qkv.narrow(-1, 0, Hq * D), l.q_bias).view({B, T, Hq, D});
      k = with_bias(qkv.narrow(-1, Hq * D, Hkv * D), l.k_bias).view({B, T, Hkv, D});
      v = with_bias(qkv.narrow(-1, (Hq + Hkv) * D, Hkv * D), l.v_bias).view({B, T, Hkv, D});
    } else {
      q = with_bias(quant::matmul(l.q, h), l.q_bias).view({B, T, Hq, D});
      k = with_bias(quant::matmul(l.k, h), l.k_bias).view({B, T, Hkv, D});
      v = with_bias(quant::matmul(l.v, h), l.v_bias).view({B, T, Hkv, D});
    }
    if (spec_.qk_norm) {
      q = rms_norm(q, l.q_norm, spec_.rms_norm_eps, false);
      k = rms_norm(k, l.k_norm, spec_.rms_norm_eps, false);
    }
    return {q, k, v};
  }

  // o projection + residual, then the feed-forward block: pre-norm, gated MLP (SwiGLU / GeGLU), optional
  // post-norms (Gemma-2), residual. Returns the new residual stream and, when `next` (the norm weight that reads
  // it next) is given, its normalized copy: each residual add and the norm after it are one kernel on CUDA.
  std::pair<at::Tensor, at::Tensor> attention_out_and_mlp(std::size_t i, const LayerWeights& l, const at::Tensor& x,
                                                          const at::Tensor& attn, bool fused, const at::Tensor* next) const {
    auto o = with_bias(sum_over_ranks(quant::matmul(l.o, attn)), l.o_bias);
    if (spec_.sandwich_norms) o = norm(o, l.attn_out_norm);
    auto [y, h] = add_rms_norm(x, o, l.ffn_norm, spec_.rms_norm_eps, spec_.norm_plus_one);
    at::Tensor gated;
    if (fused) {
      const auto& f = fused_[i];
      auto gu = stacked_linear(f.gate_up, h, at::Tensor());
      gated = activate(gu.narrow(-1, 0, f.inter), spec_.activation) * gu.narrow(-1, f.inter, f.inter);
    } else if (auto g = gated_projection(l, h); g.defined()) {  // 4-bit, small batch: one launch
      gated = g;
    } else {
      gated = activate(quant::matmul(l.gate, h), spec_.activation) * quant::matmul(l.up, h);
    }
    auto m = sum_over_ranks(quant::matmul(l.down, gated));
    if (spec_.sandwich_norms) m = norm(m, l.ffn_out_norm);
    if (next) return add_rms_norm(y, m, *next, spec_.rms_norm_eps, spec_.norm_plus_one);
    return {y + m, at::Tensor{}};
  }

  // The norm weight that reads layer i's output: the next layer's input norm, or the final norm. Null when the
  // next layer is offloaded (its weights reach the device only in its own turn).
  const at::Tensor* next_norm(std::size_t i) const {
    if (i + 1 == w_.layers.size()) return &w_.final_norm;
    if (!offloaded_.empty() && offloaded_[i + 1]) return nullptr;
    return &w_.layers[i + 1].attn_norm;
  }

  at::Tensor gated_projection(const LayerWeights& l, const at::Tensor& h) const {
    if (spec_.activation == Activation::gelu) return {};  // erf GELU: not in the kernel's epilogue
    const auto act = spec_.activation == Activation::silu ? quant::GatedActivation::silu : quant::GatedActivation::gelu_tanh;
    return quant::gated_matmul(l.gate, l.up, h, act);
  }

  // `normed`: x after the final norm, when the last residual add already made it.
  at::Tensor classify(const at::Tensor& x, const at::Tensor& normed) const {
    auto logits = quant::matmul(w_.lm_head, normed.defined() ? normed : norm(x, w_.final_norm));
    if (spec_.final_logit_softcap) logits = softcap(logits, *spec_.final_logit_softcap);
    return logits.to(at::kFloat);
  }

  at::Tensor norm(const at::Tensor& x, const at::Tensor& w) const {
    return rms_norm(x, w, spec_.rms_norm_eps, spec_.norm_plus_one);
  }
  static at::Tensor with_bias(at::Tensor y, const at::Tensor& b) { return b.defined() ? y + b : y; }
  at::Tensor sum_over_ranks(const at::Tensor& partial) const { return all_reduce_ ? all_reduce_(partial) : partial; }

  // Scaled dot-product attention, q [B, Hq, T, D] over the cache's k/v [B, Hkv, S, D] (grouped-query:
  // each kv head serves Hq/Hkv query heads). Soft-capped logits (Gemma-2) need the plain path;
  // everything else goes through the torch shim (fused SDPA on torch 2.x).
  at::Tensor attend(const at::Tensor& q, const at::Tensor& k_shared, const at::Tensor& v_shared, const at::Tensor& mask) const {
#if defined(CUREBENCH_WITH_CUDA)
    if (auto y = fused_decode_attention(q, k_shared, v_shared, mask); y.defined()) return y;
#endif
    if (!spec_.attn_logit_softcap) return compat::attention(q, k_shared, v_shared, mask, spec_.attention_scale);
    const auto rep = q.size(1) / k_shared.size(1);
    auto k = rep > 1 ? k_shared.repeat_interleave(rep, 1) : k_shared;
    auto v = rep > 1 ? v_shared.repeat_interleave(rep, 1) : v_shared;
    auto scores = at::matmul(q, k.transpose(-2, -1)) * spec_.attention_scale;
    scores = softcap(scores, *spec_.attn_logit_softcap) + mask;
    auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
    return at::matmul(probs, v);
  }

#if defined(CUREBENCH_WITH_CUDA)
  // Up to this many rows the fused kernel, above it SDPA: the per-head kernel measured 31 % slower end to end than
  // SDPA's at batch 100 x 640 keys (it re-read each kv head for every query head of its group); the grouped kernel
  // reads each once. CUREBENCH_FUSED_ATTENTION_ROWS=N moves the bound (measurements).
  static std::int64_t fused_attention_max_rows() {
    static const std::int64_t rows = env::integer("CUREBENCH_FUSED_ATTENTION_ROWS", 16, 0, std::int64_t{1} << 30);
    return rows;
  }
  // One query column per row (decode), bf16, no soft-capping: the fused kernel (model/layer_hooks.hpp).
  // q [B, Hq, 1, D], k/v cache views [B, Hkv, S, D], mask [B, 1, 1, S]. Undefined when it does not apply.
  at::Tensor fused_decode_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) const {
    auto fn = hooks::decode_attention();
    if (!fn || spec_.attn_logit_softcap || !fused_layer_case(q) || q.size(2) != 1 || q.size(0) > fused_attention_max_rows() ||
        k.stride(3) != 1 || v.stride(3) != 1 ||
        mask.scalar_type() != at::kBFloat16 || mask.size(2) != 1)
      return {};
    auto qc = q.contiguous();
    auto m = mask.reshape({mask.size(0), mask.size(3)}).contiguous();
    if (m.size(0) != q.size(0)) m = m.expand({q.size(0), m.size(1)}).contiguous();
    auto out = at::empty(qc.sizes(), qc.options());
    auto workspace = at::empty({hooks::decode_attention_workspace_floats(q.size(0), q.size(1), q.size(3), k.size(2))},
                               qc.options().dtype(at::kFloat));
    hooks::DecodeAttentionArgs a;
    a.workspace = workspace.data_ptr<float>();
    a.q = qc.data_ptr(), a.k = k.data_ptr(), a.v = v.data_ptr(), a.mask = m.data_ptr(), a.out = out.data_ptr();
    a.B = q.size(0), a.Hq = q.size(1), a.Hkv = k.size(1), a.D = q.size(3), a.key_len = k.size(2);
    a.kb = k.stride(0), a.kh = k.stride(1), a.ks = k.stride(2), a.vb = v.stride(0), a.vh = v.stride(1), a.vs = v.stride(2);
    a.scale = static_cast<float>(spec_.attention_scale);
    if (!fn(a, current_cuda_stream())) return {};
    return out;
  }
#endif

  ModelSpec spec_;
  DecoderWeights w_;
  at::ScalarType dtype_;
  at::Device device_;
  at::Tensor inv_freq_;
  std::vector<bool> offloaded_;
  AllReduce all_reduce_;  // unset: one process
  struct Fused {
    quant::Weight qkv, gate_up;
    at::Tensor qkv_bias;
    std::int64_t q_rows = 0, kv_rows = 0, inter = 0;
  };
  std::vector<Fused> fused_;  // per layer, empty when the projections do not stack
};

}  // namespace curebench::model
