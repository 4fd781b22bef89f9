#pragma once
// An AWQ linear in AutoAWQ's "gemm" layout, kept as stored (AutoAWQ WQLinear_GEMM, transformers' AwqConfig
// version "gemm"; docs/quantization.md names the source files read):
//   qweight int32 [in, out / 8]   packed along the OUTPUT: 8 columns per word, interleaved
//   qzeros  int32 [groups, out / 8]  the same interleave
//   scales  f16   [groups, out]   group g = i / group_size
// Interleave: field s (bits 4s .. 4s+3) of word c holds column 8c + kAwqOrder[s], kAwqOrder = [0, 2, 4, 6,
// 1, 3, 5, 7]. Zeros are stored as is (no -1). W[i, o] = (q[i, o] - z[i / G, o]) * s[i / G, o], computed in
// float32 (exact) and cast once. The "gemv" layout (qweight [out, in / 8], packed along the input) is a
// different tensor layout and is refused by name when loading.
#include <ATen/ATen.h>

#include <array>
#include <cstdint>

#include "curebench/quant/packed_int32.hpp"

namespace curebench::quant {

inline constexpr std::array<int, 8> kAwqOrder = {0, 2, 4, 6, 1, 3, 5, 7};

struct AWQ {
  at::Tensor qweight, qzeros, scales;
  std::int64_t group_size = 128;
  std::int64_t out = 0, in = 0;
  static constexpr int kBits = 4;

  // int32 [rows, out] from [rows, out / 8] words: column 8c + kAwqOrder[s] is field s of word c.
  static at::Tensor deinterleave(const at::Tensor& packed) {
    auto fields = unpack_int32_fields(packed, kBits);  // [rows, out / 8, 8] by field
    std::array<std::int64_t, 8> field_of_column{};
    for (int s = 0; s < 8; ++s) field_of_column[static_cast<std::size_t>(kAwqOrder[static_cast<std::size_t>(s)])] = s;
    auto idx = at::tensor(at::ArrayRef<std::int64_t>(field_of_column.data(), 8), at::TensorOptions().dtype(at::kLong)).to(packed.device());
    return fields.index_select(2, idx).reshape({packed.size(0), packed.size(1) * 8});
  }
  at::Tensor codes() const { return deinterleave(qweight); }  // [in, out]
  at::Tensor zeros() const { return deinterleave(qzeros); }   // [groups, out]
  at::Tensor dequantize(at::ScalarType dt) const {
    auto g = at::div(at::arange(in, qweight.options().dtype(at::kLong)), group_size, "floor");
    auto w = (codes() - zeros().index_select(0, g)).to(at::kFloat) * scales.to(at::kFloat).index_select(0, g);
    return w.t().contiguous().to(dt);
  }
  at::Tensor matmul(const at::Tensor& x) const { return at::linear(x, dequantize(x.scalar_type())); }
  std::int64_t bytes() const {
    std::int64_t b = 0;
    for (const auto* t : {&qweight, &qzeros, &scales}) b += t->numel() * static_cast<std::int64_t>(t->element_size());
    return b;
  }
  std::int64_t out_features() const { return out; }
  std::int64_t in_features() const { return in; }
  AWQ to(const at::Device& d) const { return {qweight.to(d), qzeros.to(d), scales.to(d), group_size, out, in}; }
};

}  // namespace curebench::quant
