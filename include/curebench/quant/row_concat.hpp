#pragma once
// Several weights read by the same activation, stacked by rows into one, each piece then re-pointed at its rows
// of the stack: a layer's q|k|v and gate|up become one matmul each, with no memory added once the pieces'
// own storage is released. Dense weights of one dtype and device stack, and FP8 weights on one device (their
// per-row scales stack with the rows; the per-token activation scale is then computed once for all of them).
// Other formats keep separate matmuls (the 4-bit ones are grouped in one launch instead: quant/grouped.hpp).
#include <ATen/ATen.h>

#include <initializer_list>
#include <vector>

#include "curebench/quant/weight.hpp"

namespace curebench::quant {

inline bool can_concat_rows(std::initializer_list<const Weight*> ws) {
  if (ws.size() == 0) return false;
  const auto& first = **ws.begin();
  for (const auto* w : ws) {
    if (w->index() != first.index() || in_features(*w) != in_features(first)) return false;
    if (const auto* d = std::get_if<Dense>(w)) {
      const auto& d0 = std::get<Dense>(first).w;
      if (!d->w.defined() || d->w.scalar_type() != d0.scalar_type() || d->w.device() != d0.device()) return false;
    } else if (const auto* f = std::get_if<FP8>(w)) {
      if (!f->q.defined() || f->q.device() != std::get<FP8>(first).q.device()) return false;
    } else {
      return false;
    }
  }
  return true;
}

// The stack of `ws` (can_concat_rows must hold), with every element of `ws` re-pointed at its row slice.
inline Weight concat_rows(std::initializer_list<Weight*> ws) {
  std::vector<std::int64_t> rows;
  for (auto* w : ws) rows.push_back(out_features(*w));
  auto repoint = [&](auto&& slice_of) {
    std::int64_t start = 0;
    std::size_t i = 0;
    for (auto* w : ws) *w = slice_of(start, rows[i]), start += rows[i++];
  };
  if (std::holds_alternative<Dense>(**ws.begin())) {
    std::vector<at::Tensor> parts;
    for (auto* w : ws) parts.push_back(std::get<Dense>(*w).w);
    Dense stack{at::cat(parts, 0)};
    repoint([&](std::int64_t s, std::int64_t n) -> Weight { return Dense{stack.w.narrow(0, s, n)}; });
    return stack;
  }
  std::vector<at::Tensor> q, scale;
  for (auto* w : ws) q.push_back(std::get<FP8>(*w).q), scale.push_back(std::get<FP8>(*w).scale);
  FP8 stack{at::cat(q, 0), at::cat(scale, 0), std::get<FP8>(**ws.begin()).dtype};
  repoint([&](std::int64_t s, std::int64_t n) -> Weight { return FP8{stack.q.narrow(0, s, n), stack.scale.narrow(0, s, n), stack.dtype}; });
  return stack;
}

}  // namespace curebench::quant
