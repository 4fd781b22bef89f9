#pragma once
// Several 4-bit weights against one activation in one kernel launch (kernels/gemv4.cuh for decode at
// M <= hooks::kGemv4MaxRows, kernels/gemm4.cuh above, up to hooks::kGemm4MaxRows, where hooks::use_fused_gemm
// takes it; both through quant/kernel_hooks.hpp): a layer's q/k/v side by side, and
// gate/up with the gated activation in the epilogue. At batch 1 the k/v and q projections of an 8B model
// are each a latency-bound launch of a few microseconds; one launch for all three is one wave.
// Each returns an undefined tensor when it does not apply (weights of different formats, not on CUDA, more
// rows than the kernel takes, kernels not linked): the caller then runs its separate matmuls.
#include <ATen/ATen.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "curebench/quant/kernel_hooks.hpp"
#include "curebench/quant/weight.hpp"

#if defined(CUREBENCH_WITH_CUDA)
#include <c10/cuda/CUDAStream.h>
#endif

namespace curebench::quant {

enum class GatedActivation { silu = 0, gelu_tanh = 1 };

namespace detail {
#if defined(CUREBENCH_WITH_CUDA)
// gated_activation: -1 side by side, else GatedActivation.
inline at::Tensor grouped_4bit(std::initializer_list<const Weight*> ws, const at::Tensor& x, int gated_activation) {
  const auto k = x.size(-1), rows = x.numel() / k;
  if (!x.is_cuda() || rows < 1 || rows > hooks::kGemm4MaxRows || ws.size() < 1 || ws.size() > 3) return {};
  const auto index = (*ws.begin())->index();
  for (const auto* w : ws)
    if (w->index() != index || in_features(*w) != k) return {};
  // Above kGemv4MaxRows rows the fused GEMM (kernels/gemm4.cuh), where hooks::use_fused_gemm picks it.
  const bool gemm = rows > hooks::kGemv4MaxRows;
  if (gemm && !hooks::use_fused_gemm(std::holds_alternative<Int4>(**ws.begin()), rows)) return {};
  std::int64_t out = 0;
  std::vector<std::int64_t> n;
  for (const auto* w : ws) n.push_back(out_features(*w)), out += n.back();
  if (gated_activation >= 0) out = n[0];
  auto x2 = x.reshape({rows, k}).to(at::kBFloat16).contiguous();
  auto y = at::empty({rows, out}, x2.options());
  const auto stream = c10::cuda::getCurrentCUDAStream().stream();
  const int count = static_cast<int>(ws.size());
  const auto ws_bytes = gemm ? hooks::gemm4_workspace_bytes(rows, gated_activation >= 0 ? 2 * out : out) : 0;
  auto workspace = gemm ? at::empty({ws_bytes}, x2.options().dtype(at::kByte)) : at::Tensor();
  void* wsp = ws_bytes ? workspace.data_ptr() : nullptr;
  bool done = false;
  auto bnb4 = [&](const auto& first) {
    using W = std::decay_t<decltype(first)>;
    auto fn = hooks::bnb4_gemv_grouped();
    auto gemm_fn = hooks::bnb4_gemm();
    if (gemm ? !gemm_fn : !fn) return;
    std::vector<hooks::Bnb4View> views;
    for (const auto* w : ws) {
      const auto& b = std::get<W>(*w);
      if (!b.packed.is_cuda()) return;
      auto v = b.device_view();
      if (!v) return;
      views.push_back(*v);
    }
    done = gemm ? gemm_fn(views.data(), n.data(), count, gated_activation, x2.data_ptr(), y.data_ptr(), rows, k, wsp, ws_bytes, stream)
                : fn(views.data(), n.data(), count, gated_activation, x2.data_ptr(), y.data_ptr(), rows, k, stream);
  };
  if (auto* f = std::get_if<NF4>(*ws.begin())) bnb4(*f);
  else if (auto* f4 = std::get_if<FP4>(*ws.begin())) bnb4(*f4);
  else if (std::holds_alternative<Int4>(**ws.begin())) {
    auto fn = hooks::int4_gemv_grouped();
    auto gemm_fn = hooks::int4_gemm();
    if (gemm ? gemm_fn != nullptr : fn != nullptr) {
      std::vector<hooks::Int4View> views;
      for (const auto* w : ws) {
        const auto& i4 = std::get<Int4>(*w);
        auto v = i4.packed.is_cuda() ? i4.device_view() : std::nullopt;
        if (!v) return {};
        views.push_back(*v);
      }
      done = gemm ? gemm_fn(views.data(), count, gated_activation, x2.data_ptr(), y.data_ptr(), rows, k, wsp, ws_bytes, stream)
                  : fn(views.data(), count, gated_activation, x2.data_ptr(), y.data_ptr(), rows, k, stream);
    }
  }
  if (!done) return {};
  auto shape = x.sizes().vec();
  shape.back() = out;
  return y.view(shape).to(x.scalar_type());
}
#endif
}  // namespace detail

// [x W_0^T, x W_1^T, ...] along the last dimension, in one launch; undefined when it does not apply.
inline at::Tensor grouped_matmul(std::initializer_list<const Weight*> ws, const at::Tensor& x) {
#if defined(CUREBENCH_WITH_CUDA)
  return detail::grouped_4bit(ws, x, -1);
#else
  (void)ws, (void)x;
  return {};
#endif
}

// act(x gate^T) * (x up^T) with transformers' bf16 roundings, in one launch; undefined when it does not apply.
inline at::Tensor gated_matmul(const Weight& gate, const Weight& up, const at::Tensor& x, GatedActivation act) {
#if defined(CUREBENCH_WITH_CUDA)
  if (out_features(gate) != out_features(up)) return {};
  return detail::grouped_4bit({&gate, &up}, x, static_cast<int>(act));
#else
  (void)gate, (void)up, (void)x, (void)act;
  return {};
#endif
}

}  // namespace curebench::quant
