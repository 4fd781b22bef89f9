#pragma once
// Preallocated key/value cache: per layer [batch, kv_heads, max_len, head_dim], filled column by column.
// All rows share the column index (prompts are left-padded); `valid` marks which columns hold a real
// token of each row, so padding and finished rows never leak into another row's attention.
#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <string>
#include <optional>
#include <vector>

#include "curebench/core/bytes.hpp"
#include "curebench/core/error.hpp"
#include "curebench/core/error_from_exception.hpp"
#include "curebench/core/memory.hpp"
#include "curebench/model/spec.hpp"

namespace curebench::runtime {

class KVCache {
 public:
  KVCache(const model::ModelSpec& spec, std::int64_t batch, std::int64_t max_len, at::ScalarType dtype,
          const at::Device& device)
      : batch_(batch), max_len_(max_len) {
    if (batch <= 0 || max_len <= 0) throw Error(Errc::invalid_argument, "", "kv_cache", "batch and length must be positive");
    // Sized up front, so that `--max-new-tokens 1000000000` is refused with the sizes that explain it rather
    // than by the allocator: on the host against the installed RAM, on a GPU when the allocator gives out.
    const double need = 2.0 * static_cast<double>(spec.num_layers) * static_cast<double>(batch) *
                        static_cast<double>(spec.num_kv_heads) * static_cast<double>(max_len) *
                        static_cast<double>(spec.head_dim) * static_cast<double>(c10::elementSize(dtype));
    auto too_big = [&](const std::string& why) {
      return Error(Errc::out_of_memory, "", "kv_cache",
                   "a cache for batch " + std::to_string(batch) + " x " + std::to_string(max_len) +
                       " tokens (prompt + max new tokens) needs " + format_bytes(static_cast<std::int64_t>(std::min(need, 9.0e18))) + ", " + why);
    };
    if (!device.is_cuda() && physical_memory_bytes() > 0 && need > static_cast<double>(physical_memory_bytes()))
      throw too_big("more than the " + format_bytes(physical_memory_bytes()) + " of RAM installed");
    auto opts = at::TensorOptions().dtype(dtype).device(device);
    try {
      for (std::int64_t i = 0; i < spec.num_layers; ++i) {
        k_.push_back(at::zeros({batch, spec.num_kv_heads, max_len, spec.head_dim}, opts));
        v_.push_back(at::zeros({batch, spec.num_kv_heads, max_len, spec.head_dim}, opts));
      }
    } catch (const std::exception&) {
      auto e = error_from_exception(std::current_exception());
      if (e.code() != Errc::out_of_memory) throw;
      k_.clear();
      v_.clear();
      throw too_big("more than the device could allocate: " + e.message());
    }
    valid_ = at::zeros({batch, max_len}, at::TensorOptions().dtype(at::kBool).device(device));
    filled_ = at::zeros({batch}, at::TensorOptions().dtype(at::kLong).device(device));
  }

  std::int64_t batch() const { return batch_; }
  std::int64_t capacity() const { return max_len_; }
  std::int64_t length() const { return length_; }  // columns written so far

  // Reserve T new columns for a step; `real` [B, T] says which of them are real tokens.
  // Returns the RoPE positions [B, T] of the new tokens (pads get position 0).
  at::Tensor append(const at::Tensor& real) {
    const auto t = real.size(1);
    if (length_ + t > max_len_)
      throw Error(Errc::out_of_memory, "", "kv_cache", "sequence of " + std::to_string(length_ + t) +
                                                        " tokens exceeds the cache of " + std::to_string(max_len_));
    auto r = real.to(valid_.device(), at::kBool);
    valid_.narrow(1, length_, t).copy_(r);
    auto positions = filled_.unsqueeze(1) + r.to(at::kLong).cumsum(1) - 1;
    filled_ += r.to(at::kLong).sum(1);
    length_ += t;
    return positions.clamp_min(0);
  }

  // Device-only version of append() for one column at a time (CUDA graphs): the column index `col` is an
  // int64 [1] device tensor, so the same captured kernels serve every step. The host-side length is not
  // touched: call advance(1) after each replay.
  at::Tensor append_at(const at::Tensor& real, const at::Tensor& col) {
    auto r = real.to(at::kBool).view({batch_, 1});
    valid_.index_copy_(1, col, r);
    auto rl = r.to(at::kLong);
    auto positions = (filled_.unsqueeze(1) + rl - 1).clamp_min(0);
    filled_.add_(rl.view({batch_}));
    return positions;
  }
  void advance(std::int64_t t) {
    if (length_ + t > max_len_) throw Error(Errc::out_of_memory, "", "kv_cache", "cache full");
    length_ += t;
  }

  at::Tensor& k(std::size_t layer) { return k_[layer]; }
  at::Tensor& v(std::size_t layer) { return v_[layer]; }
  const at::Tensor& valid() const { return valid_; }
  std::int64_t bytes() const {
    std::int64_t b = 0;
    for (auto& t : k_) b += t.numel() * t.element_size() * 2;
    return b;
  }

 private:
  std::int64_t batch_, max_len_, length_ = 0;
  std::vector<at::Tensor> k_, v_;
  at::Tensor valid_, filled_;
};

// Additive attention mask [B, 1, T, S] for queries in columns [start, start+T) over keys [0, S):
// causal, only valid keys, and for sliding layers only keys fewer than `window` columns back.
// Padded queries may attend to themselves so that their (discarded) rows stay finite.
inline at::Tensor attention_mask(const at::Tensor& valid, std::int64_t start, std::int64_t t,
                                 std::optional<std::int64_t> window, at::ScalarType dtype) {
  const auto s = start + t;
  auto opts = at::TensorOptions().dtype(at::kLong).device(valid.device());
  auto q_col = at::arange(start, s, opts).view({t, 1});
  auto k_col = at::arange(0, s, opts).view({1, s});
  auto allowed = k_col <= q_col;
  if (window) allowed = at::logical_and(allowed, (q_col - k_col) < *window);
  auto keys = valid.narrow(1, 0, s).view({valid.size(0), 1, 1, s});
  auto ok = at::logical_and(allowed.view({1, 1, t, s}), keys);
  ok = at::logical_or(ok, (k_col == q_col).view({1, 1, t, s}));
  auto mask = at::zeros(ok.sizes(), at::TensorOptions().dtype(dtype).device(valid.device()));
  return mask.masked_fill(ok.logical_not(), -std::numeric_limits<float>::infinity());
}

}  // namespace curebench::runtime

namespace curebench::runtime {

// attention_mask() for one query column whose index is the int64 [1] device tensor `col`, over the first
// `key_len` cache columns: [B, 1, 1, key_len], no host synchronisation (CUDA-graph safe).
inline at::Tensor attention_mask_at(const at::Tensor& valid, const at::Tensor& col, std::int64_t key_len,
                                    std::optional<std::int64_t> window, at::ScalarType dtype) {
  auto opts = at::TensorOptions().dtype(at::kLong).device(valid.device());
  auto k_col = at::arange(0, key_len, opts).view({1, key_len});
  auto q_col = col.view({1, 1});
  auto allowed = k_col <= q_col;
  if (window) allowed = at::logical_and(allowed, (q_col - k_col) < *window);
  auto ok = at::logical_and(allowed, valid.narrow(1, 0, key_len));
  ok = at::logical_or(ok, k_col == q_col).view({valid.size(0), 1, 1, key_len});
  auto mask = at::zeros(ok.sizes(), at::TensorOptions().dtype(dtype).device(valid.device()));
  return mask.masked_fill(ok.logical_not(), -std::numeric_limits<float>::infinity());
}

}  // namespace curebench::runtime
