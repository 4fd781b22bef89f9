#pragma once
// The whole-tensor quantizers as they were before quantization streamed in row chunks (commit 3f61f58,
// quant/blockwise.hpp, bnb4.hpp, int8.hpp, int4.hpp), kept verbatim as the reference the chunked path must
// reproduce byte for byte. They build float32 and int64 copies of the whole tensor: test sizes only.
#include <ATen/ATen.h>

#include <cstdint>
#include <utility>

#include "curebench/quant/weight.hpp"

namespace whole_tensor_reference {

namespace q = curebench::quant;

inline std::pair<at::Tensor, at::Tensor> blockwise_quantize(const at::Tensor& x, std::int64_t blocksize, const at::Tensor& code) {
  auto flat = x.to(at::kFloat).contiguous().view(-1);
  const auto n = flat.numel();
  const auto blocks = (n + blocksize - 1) / blocksize;
  auto padded = at::zeros({blocks * blocksize}, flat.options());
  padded.narrow(0, 0, n).copy_(flat);
  auto view = padded.view({blocks, blocksize});
  auto absmax = std::get<0>(view.abs().max(1));
  auto inv = at::where(absmax > 0, absmax.reciprocal(), at::ones_like(absmax));
  auto scaled = at::clamp(view * inv.unsqueeze(1), -1.0, 1.0).view(-1).narrow(0, 0, n);
  auto c = code.to(scaled.device(), at::kFloat).view({1, -1});
  auto codes = at::empty({n}, scaled.options().dtype(at::kLong));
  constexpr std::int64_t kChunk = std::int64_t{1} << 20;
  for (std::int64_t s = 0; s < n; s += kChunk) {
    const auto len = std::min(kChunk, n - s);
    codes.narrow(0, s, len).copy_(at::argmin((scaled.narrow(0, s, len).unsqueeze(1) - c).abs(), 1));
  }
  return {codes, absmax};
}

template <q::Codebook C>
q::Bnb4<C> quantize_bnb4(const at::Tensor& w, std::int64_t blocksize, bool double_quant) {
  q::Bnb4<C> r;
  r.out = w.size(0), r.in = w.size(1), r.blocksize = blocksize, r.dtype = w.scalar_type();
  r.code = q::codebook_tensor(C).to(w.device());
  auto [codes, absmax] = blockwise_quantize(w, blocksize, r.code);
  if (codes.numel() % 2) codes = at::cat({codes, at::zeros({1}, codes.options())});
  auto pairs = codes.view({-1, 2});
  r.packed = (pairs.select(1, 0) * 16 + pairs.select(1, 1)).to(at::kByte);
  if (!double_quant) {
    r.absmax = absmax;
    return r;
  }
  q::NestedAbsmax n;
  n.offset = absmax.mean().template item<float>();
  n.code = q::dynamic_map_tensor().to(w.device());
  auto [c8, nabs] = blockwise_quantize(absmax - n.offset, n.blocksize, n.code);
  n.absmax = nabs;
  r.absmax = c8.to(at::kByte);
  r.nested = std::move(n);
  return r;
}

inline q::Int8 quantize_int8(const at::Tensor& w) {
  auto f = w.to(at::kFloat);
  auto absmax = std::get<0>(f.abs().max(1));
  auto safe = at::where(absmax > 0, absmax, at::ones_like(absmax));
  auto qv = at::round(f * (127.0f / safe).unsqueeze(1)).clamp(-127, 127).to(at::kChar);
  return {qv, absmax, w.scalar_type()};
}

inline q::Int4 quantize_int4(const at::Tensor& w, std::int64_t group) {
  const auto n = w.size(0), k = w.size(1);
  auto g = w.to(at::kFloat).reshape({n, k / group, group});
  auto mx = std::get<0>(g.max(2)), mn = std::get<0>(g.min(2));
  auto scale = ((mx - mn).clamp_min(1e-6) / 15.0f).to(at::kBFloat16).to(at::kFloat);
  auto zero = (mn + scale * 8.0f).to(at::kBFloat16).to(at::kFloat);
  auto lo = (zero - scale * 8.0f).unsqueeze(2);
  auto qv = at::round((g - lo) / scale.unsqueeze(2)).clamp(0, 15).to(at::kInt).view({n, k / 2, 2});
  q::Int4 r;
  r.packed = (qv.select(2, 0) * 16 + qv.select(2, 1)).to(at::kByte).contiguous();
  r.scales_and_zeros = at::stack({scale.t(), zero.t()}, 2).to(at::kBFloat16).contiguous();
  r.group = group;
  r.dtype = w.scalar_type();
  return r;
}

}  // namespace whole_tensor_reference
