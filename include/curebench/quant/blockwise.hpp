#pragma once
// Blockwise absmax quantization against a code table, as bitsandbytes' pure-torch reference does it
// (backends/default/ops.py quantize_blockwise / quantize_4bit): per block of `blocksize` consecutive
// elements, absmax = max |x|; x * (1/absmax) clamped to [-1, 1]; code index = argmin |x - code| (first on
// ties). The last block may be partial. Works on any device (plain ATen ops).
// Streamed: a 2-D tensor goes through one slab of rows at a time (quant/chunking.hpp), each slab a whole
// number of blocks, so the float32 working copy is one slab, not the tensor, and the result is the same.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <utility>

#include "curebench/core/error.hpp"
#include "curebench/quant/chunking.hpp"

namespace curebench::quant {

// Index of the nearest entry of `code` (first on ties, as argmin) for each value of `scaled` (float32,
// contiguous), written into `out` (any integer dtype, same numel). One pass per table entry keeps the running
// best distance, so the transient is 9 bytes per value of a slice (search_slice_elements), where an argmin over a
// [values, |code|] distance matrix would hold 4 x |code| + 8 bytes per value. The distances are the same
// float32 |x - code[i]|, compared strictly in table order: the same indices as argmin, NaN rows included (0).
inline void nearest_code_into(const at::Tensor& scaled, const at::Tensor& code, const at::Tensor& out) {
  auto flat = scaled.view(-1);
  auto o = out.view(-1);
  const auto n = flat.numel(), entries = code.numel();
  const auto cap = std::min(n, search_slice_elements(flat.is_cuda()));
  const auto c = code.to(flat.device(), at::kFloat).view(-1);
  auto best = at::empty({cap}, flat.options()), dist = at::empty({cap}, flat.options());
  auto closer = at::empty({cap}, flat.options().dtype(at::kBool));
  for (std::int64_t s = 0; s < n; s += cap) {
    const auto len = std::min(cap, n - s);
    auto x = flat.narrow(0, s, len), b = best.narrow(0, 0, len), d = dist.narrow(0, 0, len), m = closer.narrow(0, 0, len);
    auto idx = o.narrow(0, s, len);
    at::sub_out(b, x, c.narrow(0, 0, 1)).abs_();
    idx.fill_(0);
    for (std::int64_t i = 1; i < entries; ++i) {
      at::sub_out(d, x, c.narrow(0, i, 1)).abs_();
      at::lt_out(m, d, b);
      idx.masked_fill_(m, i);
      at::minimum_out(b, b, d);
    }
  }
}

// One slab of whole blocks, in place: `v` float32 contiguous [blocks * blocksize] (zero-padded past the
// first `n` values) is scaled into [-1, 1]; absmax goes to `absmax` (float32 [blocks]) and the indices into
// `code` of the first n values to `codes`.
inline void quantize_blocks_into(const at::Tensor& v, std::int64_t n, std::int64_t blocksize, const at::Tensor& code,
                                 const at::Tensor& absmax, const at::Tensor& codes) {
  auto view = v.view({-1, blocksize});
  const auto blocks = view.size(0);
  const auto step = std::max<std::int64_t>(1, kSliceElements / blocksize);  // abs() copies one slice, not the slab
  for (std::int64_t b = 0; b < blocks; b += step) {
    const auto len = std::min(step, blocks - b);
    absmax.narrow(0, b, len).copy_(std::get<0>(view.narrow(0, b, len).abs().max(1)));
  }
  // A block of zeros has absmax 0: divide by 1 instead (bnb would produce NaN); it dequantizes to 0 anyway.
  auto inv = at::where(absmax > 0, absmax.reciprocal(), at::ones_like(absmax));
  view.mul_(inv.unsqueeze(1)).clamp_(-1.0, 1.0);
  nearest_code_into(v.narrow(0, 0, n), code, codes);
}

// Blockwise quantization of x ([rows, cols], any dtype and strides; blocks follow the row-major element
// order, across row ends) slab by slab. Returns absmax (float32 [ceil(n / blocksize)]); each slab's code
// indices (uint8, so tables of at most 256 entries) go to emit(first_element, codes) and are overwritten
// by the next slab. Transient memory: one slab of `chunk_elements` values as float32 + uint8.
template <class Emit>
at::Tensor blockwise_quantize_streamed(const at::Tensor& x, std::int64_t blocksize, const at::Tensor& code, Emit&& emit,
                                       std::int64_t chunk_elements = kChunkElements) {
  require(x.dim() == 2, Errc::shape, "", "blockwise_quantize", "expected a 2-D tensor, got " + std::to_string(x.dim()) + " dims");
  require(code.numel() >= 1 && code.numel() <= 256, Errc::invalid_argument, "", "code",
          "code table needs 1..256 entries, got " + std::to_string(code.numel()));
  const auto rows = x.size(0), cols = x.size(1);
  const auto round_up = [&](std::int64_t e) { return (e + blocksize - 1) / blocksize * blocksize; };
  const auto f32 = x.options().dtype(at::kFloat);
  auto absmax = at::empty({round_up(rows * cols) / blocksize}, f32);
  const auto step = slab_rows(rows, cols, rows_for_whole_blocks(cols, blocksize), chunk_elements);
  auto buf = at::empty({round_up(step * cols)}, f32);
  auto codes = at::empty({step * cols}, x.options().dtype(at::kByte));
  for_each_slab(rows, step, [&](std::int64_t first_row, std::int64_t slab) {
    const auto n = slab * cols, padded = round_up(n), first = first_row * cols;
    auto v = buf.narrow(0, 0, padded);
    v.narrow(0, 0, n).view({slab, cols}).copy_(x.narrow(0, first_row, slab));
    if (padded > n) v.narrow(0, n, padded - n).zero_();  // only the tensor's last, partial block
    quantize_blocks_into(v, n, blocksize, code, absmax.narrow(0, first / blocksize, padded / blocksize), codes.narrow(0, 0, n));
    emit(first, codes.narrow(0, 0, n));
  });
  return absmax;
}

struct BlockwiseCodes {
  at::Tensor codes;   // int64 [n], index into the code table
  at::Tensor absmax;  // float32 [ceil(n / blocksize)]
};

// All codes of a tensor of any shape at once (int64: 8 bytes per element; the quantizers stream instead).
inline BlockwiseCodes blockwise_quantize(const at::Tensor& x, std::int64_t blocksize, const at::Tensor& code) {
  auto codes = at::empty({x.numel()}, x.options().dtype(at::kLong));
  auto absmax = blockwise_quantize_streamed(x.dim() == 2 ? x : x.reshape({-1, 1}), blocksize, code,
                                            [&](std::int64_t first, const at::Tensor& c) { codes.narrow(0, first, c.numel()).copy_(c); });
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
