#pragma once
// Asymmetric group-wise int4 (gpt-fast / torchao int4 weight-only), stored in the layout PyTorch's
// tinygemm takes (formats-and-anchors.md 2.4):
//   packed            uint8 [out, in/2], element 2i of a row in the HIGH nibble
//   scales_and_zeros  bf16 [in/G, out, 2] = (scale, zero); w = (q - 8) * scale + zero, q in 0..15
// CUDA with torch >= 2.2: to(cuda) also builds the tinygemm tile layout, and matmul uses
// _weight_int4pack_mm for small batches (M <= kTinygemmMaxRows, where it beats bf16: DESIGN.md);
// larger M and CPU dequantize to the activation dtype and run a dense GEMM.
#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <string>

#include "curebench/core/error.hpp"
#include "curebench/core/torch_compat.hpp"
#include "curebench/quant/chunking.hpp"
#include "curebench/quant/kernel_hooks.hpp"

#if defined(CUREBENCH_WITH_CUDA)
#include <c10/cuda/CUDAStream.h>
#endif

namespace curebench::quant {

inline constexpr bool valid_int4_group(std::int64_t g) { return g == 32 || g == 64 || g == 128 || g == 256; }

struct Int4 {
  static constexpr std::int64_t kTinygemmMaxRows = 16;
  at::Tensor packed;            // uint8 [out, in/2]
  at::Tensor scales_and_zeros;  // bf16 [in/G, out, 2]
  std::int64_t group = 128;
  at::ScalarType dtype = at::kBFloat16;
  at::Tensor tiles;             // tinygemm layout, only on CUDA (undefined elsewhere)

  std::int64_t out_features() const { return packed.size(0); }
  std::int64_t in_features() const { return packed.size(1) * 2; }

  at::Tensor unpacked() const {  // int32 [out, in], 0..15
    auto b = packed.to(at::kInt);
    return at::stack({b.div(16, "floor"), b.remainder(16)}, 2).view({out_features(), in_features()});
  }
  at::Tensor dequantize(at::ScalarType dt) const {
    const auto n = out_features(), k = in_features();
    auto sz = scales_and_zeros.to(at::kFloat);                  // [k/G, n, 2]
    auto scale = sz.select(2, 0).t().unsqueeze(2);              // [n, k/G, 1]
    auto zero = sz.select(2, 1).t().unsqueeze(2);
    auto q = unpacked().to(at::kFloat).view({n, k / group, group});
    return ((q - 8.0f) * scale + zero).view({n, k}).to(dt);
  }
  at::Tensor matmul(const at::Tensor& x) const {
    const auto rows = x.numel() / x.size(-1);
#if defined(CUREBENCH_WITH_CUDA)
    // Up to hooks::kGemv4MaxRows rows: the fused 4-bit kernel (kernels/gemv4.cuh), faster than tinygemm at
    // these sizes and without its tile copy of the weight.
    if (auto fn = hooks::int4_gemv(); fn && x.is_cuda() && packed.is_cuda() && rows <= hooks::kGemv4MaxRows) {
      auto x2 = x.reshape({rows, in_features()}).to(at::kBFloat16).contiguous();
      auto v = device_view();
      auto y = at::empty({rows, out_features()}, x2.options());
      if (v && fn(*v, x2.data_ptr(), y.data_ptr(), rows, in_features(), c10::cuda::getCurrentCUDAStream().stream())) {
        auto shape = x.sizes().vec();
        shape.back() = out_features();
        return y.view(shape).to(x.scalar_type());
      }
    }
#endif
    if (tiles.defined() && rows <= kTinygemmMaxRows) {
      auto x2 = x.reshape({rows, x.size(-1)}).to(at::kBFloat16).contiguous();
      auto y = compat::int4_mm(x2, tiles, group, scales_and_zeros);
      auto shape = x.sizes().vec();
      shape.back() = out_features();
      return y.view(shape).to(x.scalar_type());
    }
#if defined(CUREBENCH_WITH_CUDA)
    // Up to hooks::kGemm4MaxRows rows where hooks::use_fused_gemm picks it: the fused tensor-core GEMM
    // (kernels/gemm4.cuh) on the packed weight, no bf16 copy of it.
    if (auto fn = hooks::int4_gemm(); fn && x.is_cuda() && packed.is_cuda() && hooks::use_fused_gemm(true, rows)) {
      if (auto v = device_view()) {
        auto x2 = x.reshape({rows, in_features()}).to(at::kBFloat16).contiguous();
        auto y = at::empty({rows, out_features()}, x2.options());
        const auto ws_bytes = hooks::gemm4_workspace_bytes(rows, out_features());
        auto ws = at::empty({ws_bytes}, x2.options().dtype(at::kByte));
        if (fn(&*v, 1, -1, x2.data_ptr(), y.data_ptr(), rows, in_features(), ws_bytes ? ws.data_ptr() : nullptr, ws_bytes,
               c10::cuda::getCurrentCUDAStream().stream())) {
          auto shape = x.sizes().vec();
          shape.back() = out_features();
          return y.view(shape).to(x.scalar_type());
        }
      }
    }
    // Larger M: the dequant kernel (kernels/dequant.cuh) to a bf16 buffer, then cuBLAS.
    if (auto fn = hooks::int4_dequant(); fn && x.is_cuda() && packed.is_cuda()) {
      auto w = at::empty({out_features(), in_features()}, x.options().dtype(at::kBFloat16));
      auto sz = scales_and_zeros.to(at::kBFloat16).contiguous();
      fn(packed.data_ptr<std::uint8_t>(), sz.data_ptr(), w.data_ptr(), out_features(), in_features(), group,
         c10::cuda::getCurrentCUDAStream().stream());
      return at::linear(x, x.scalar_type() == at::kBFloat16 ? w : w.to(x.scalar_type()));
    }
#endif
    return at::linear(x, dequantize(x.scalar_type()));
  }
  std::int64_t bytes() const {
    std::int64_t b = packed.numel() + scales_and_zeros.numel() * 2;
    if (tiles.defined()) b += tiles.numel() * tiles.element_size();
    return b;
  }
#if defined(CUREBENCH_WITH_CUDA)
  // The kernels' view (kernel_hooks.hpp); none for layouts they do not read.
  std::optional<hooks::Int4View> device_view() const {
    if (!packed.is_contiguous() || !scales_and_zeros.is_contiguous() || scales_and_zeros.scalar_type() != at::kBFloat16)
      return std::nullopt;
    hooks::Int4View v{packed.data_ptr<std::uint8_t>(), scales_and_zeros.data_ptr(), out_features(), 0};
    while ((std::int64_t{1} << v.group_shift) < group) ++v.group_shift;
    return v;
  }
#endif
  // With the fused small-batch kernel linked, tinygemm would only serve M = 9..16 and would double the
  // weight's memory (its tiles are a second copy): skip it, those M dequantize + GEMM.
  static bool wants_tiles() { return compat::kHasInt4Pack && hooks::int4_gemv() == nullptr; }
  // tinygemm needs out % 8 == 0 and in % (inner_k_tiles * 16) == 0; pick the largest inner_k_tiles that fits.
  static std::int64_t inner_k_tiles_for(std::int64_t n, std::int64_t k) {
    if (n % 8 != 0) return 0;
    for (std::int64_t t : {8, 4, 2})
      if (k % (t * 16) == 0) return t;
    return 0;
  }
  Int4 to(const at::Device& d) const {
    Int4 r{packed.to(d), scales_and_zeros.to(d), group, dtype, {}};
    if (d.is_cuda() && wants_tiles()) {
      if (auto t = inner_k_tiles_for(out_features(), in_features())) r.tiles = compat::int4_pack(r.packed, t);
    }
    return r;
  }
};

// min/max per group of G along `in`: scale = (max - min) / 15, zero = min + 8 * scale (so q = 8 maps to
// the group's midpoint); both rounded to bf16 first, then q = round((w - (zero - 8 * scale)) / scale).
// Streamed in slabs of rows (chunking.hpp) into the preallocated outputs: groups lie within a row, so the
// bytes equal the whole-tensor computation's while the float32 working copy is one slab.
inline Int4 quantize_int4(const at::Tensor& w, std::int64_t group, std::int64_t chunk_elements = kChunkElements) {
  require(w.dim() == 2, Errc::shape, "", "quantize_int4", "expected a 2-D [out, in] weight, got " + std::to_string(w.dim()) + " dims");
  require(valid_int4_group(group), Errc::invalid_argument, "", "group", "must be 32, 64, 128 or 256, got " + std::to_string(group));
  const auto n = w.size(0), k = w.size(1);
  require(k % group == 0, Errc::shape, "", "quantize_int4",
          "in_features " + std::to_string(k) + " is not a multiple of the group size " + std::to_string(group));
  Int4 r;
  r.packed = at::empty({n, k / 2}, w.options().dtype(at::kByte));
  r.scales_and_zeros = at::empty({k / group, n, 2}, w.options().dtype(at::kBFloat16));  // [k/G, n, 2]
  r.group = group;
  r.dtype = w.scalar_type();
  const auto step = slab_rows(n, k, 1, chunk_elements);
  auto buf = at::empty({step * k}, w.options().dtype(at::kFloat));
  for_each_slab(n, step, [&](std::int64_t first, std::int64_t slab) {
    auto g = buf.narrow(0, 0, slab * k).view({slab, k / group, group});
    g.view({slab, k}).copy_(w.narrow(0, first, slab));
    auto mx = std::get<0>(g.max(2)), mn = std::get<0>(g.min(2));
    auto scale = ((mx - mn).clamp_min(1e-6) / 15.0f).to(at::kBFloat16).to(at::kFloat);
    auto zero = (mn + scale * 8.0f).to(at::kBFloat16).to(at::kFloat);
    auto lo = (zero - scale * 8.0f).unsqueeze(2);
    g.sub_(lo).div_(scale.unsqueeze(2)).round_().clamp_(0, 15);
    auto q = g.to(at::kByte).view({slab, k / 2, 2});  // 0..15, exact
    r.packed.narrow(0, first, slab).copy_(q.select(2, 0)).mul_(16).add_(q.select(2, 1));  // no temporaries
    auto sz = r.scales_and_zeros.narrow(1, first, slab);
    sz.select(2, 0).copy_(scale.t());  // already bf16 values: the cast is exact
    sz.select(2, 1).copy_(zero.t());
  });
  // Quantized on the GPU (QuantizeOnLoad): build the tinygemm tiles here too, as to(cuda) does.
  if constexpr (compat::kHasInt4Pack) {
    if (w.is_cuda() && Int4::wants_tiles())
      if (auto t = Int4::inner_k_tiles_for(n, k)) r.tiles = compat::int4_pack(r.packed, t);
  }
  return r;
}

}  // namespace curebench::quant
