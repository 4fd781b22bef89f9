#pragma once
// Blockwise absmax quantization against a code table, as bitsandbytes' pure-torch reference does it
// (backends/default/ops.py quantize_blockwise / quantize_4bit): per block of `blocksize` consecutive
// elements, absmax = max |x|; x * (1/absmax) clamped to [-1, 1]; code index = argmin |x - code| (first on
// ties). The last block may be partial. Works on any device (plain ATen ops).
#include <ATen/ATen.h>

#include <cstdint>
#include <utility>

namespace curebench::quant {

struct BlockwiseCodes {
  at::Tensor codes;   // int64 [n], index into the code table
  at::Tensor absmax;  // float32 [ceil(n / blocksize)]
};

inline BlockwiseCodes blockwise_quantize(const at::Tensor& x, std::int64_t blocksize, const at::Tensor& code) {
  auto flat = x.to(at::kFloat).contiguous().view(-1);
  const auto n = flat.numel();
  const auto blocks = (n + blocksize - 1) / blocksize;
  auto padded = at::zeros({blocks * blocksize}, flat.options());
  padded.narrow(0, 0, n).copy_(flat);
  auto view = padded.view({blocks, blocksize});
  auto absmax = std::get<0>(view.abs().max(1));
  // A block of zeros has absmax 0: divide by 1 instead (bnb would produce NaN); it dequantizes to 0 anyway.
  auto inv = at::where(absmax > 0, absmax.reciprocal(), at::ones_like(absmax));
  auto scaled = at::clamp(view * inv.unsqueeze(1), -1.0, 1.0).view(-1).narrow(0, 0, n);
  // argmin over the code table, in chunks so the [chunk, |code|] distance matrix stays small.
  auto c = code.to(scaled.device(), at::kFloat).view({1, -1});
  auto codes = at::empty({n}, scaled.options().dtype(at::kLong));
  constexpr std::int64_t kChunk = std::int64_t{1} << 20;
  for (std::int64_t s = 0; s < n; s += kChunk) {
    const auto len = std::min(kChunk, n - s);
    codes.narrow(0, s, len).copy_(at::argmin((scaled.narrow(0, s, len).unsqueeze(1) - c).abs(), 1));
  }
  return {codes, absmax};
}

// code[codes] * absmax[block] in float32, first n elements.
inline at::Tensor blockwise_dequantize(const at::Tensor& codes, const at::Tensor& absmax, std::int64_t blocksize,
                                       const at::Tensor& code, std::int64_t n) {
  auto vals = code.to(codes.device(), at::kFloat).index_select(0, codes.view(-1).to(at::kLong)).narrow(0, 0, n);
  const auto blocks = absmax.numel();
  auto padded = at::zeros({blocks * blocksize}, vals.options());
  padded.narrow(0, 0, n).copy_(vals);
  return (padded.view({blocks, blocksize}) * absmax.to(at::kFloat).unsqueeze(1)).view(-1).narrow(0, 0, n);
}

}  // namespace curebench::quant
