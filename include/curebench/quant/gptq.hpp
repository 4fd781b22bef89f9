#pragma once
// A GPTQ linear kept as stored in a Hugging Face safetensors checkpoint (AutoGPTQ / GPTQModel /
// transformers' GPTQConfig; docs/quantization.md names the source files read):
//   qweight int32 [in * bits / 32, out]  packed along the input: word [r, o] holds inputs r*32/bits + s at bit s*bits
//   qzeros  int32 [groups, out * bits / 32]  packed along the output the same way
//   scales  f16   [groups, out]
//   g_idx   int32 [in]  the group of each input row (non-monotone with act-order / desc_act)
// W[i, o] = scales[g_idx[i], o] * (q[i, o] - zero[g_idx[i], o]). The classic "gptq" checkpoint format
// stores zero - 1 per field (read back as field + 1, as AutoGPTQ's and transformers' dequantization do);
// "gptq_v2" (GPTQModel) stores the zero itself.
// The product is computed in float32, where it is exact (an 11-bit fp16 significand times an integer of at
// most 9 bits), and then cast once to the requested dtype. matmul dequantizes per call and runs a dense
// at::linear: correct on CPU and CUDA, not fast (no GPTQ kernel yet; act-order needs no permutation here
// because rows are gathered by g_idx).
#include <ATen/ATen.h>

#include <cstdint>

#include "curebench/quant/packed_int32.hpp"

namespace curebench::quant {

struct GPTQ {
  at::Tensor qweight, qzeros, scales, g_idx;
  int bits = 4;
  bool zeros_minus_one = true;  // classic "gptq" checkpoint_format; false for "gptq_v2"
  std::int64_t out = 0, in = 0;

  // int32 [in, out] codes.
  at::Tensor codes() const { return unpack_int32_fields(qweight, bits).permute({0, 2, 1}).reshape({in, out}); }
  // int32 [groups, out] zeros as used in the formula (the +1 of the classic format applied).
  at::Tensor zeros() const {
    auto z = unpack_int32_fields(qzeros, bits).reshape({qzeros.size(0), out});
    return zeros_minus_one ? z + 1 : z;
  }
  at::Tensor dequantize(at::ScalarType dt) const {
    auto g = g_idx.to(at::kLong);
    auto z = zeros().index_select(0, g);                   // [in, out]
    auto s = scales.to(at::kFloat).index_select(0, g);     // [in, out]
    auto w = (codes() - z).to(at::kFloat) * s;             // exact in float32
    return w.t().contiguous().to(dt);                      // [out, in]
  }
  at::Tensor matmul(const at::Tensor& x) const { return at::linear(x, dequantize(x.scalar_type())); }
  std::int64_t bytes() const {
    std::int64_t b = 0;
    for (const auto* t : {&qweight, &qzeros, &scales, &g_idx}) b += t->numel() * static_cast<std::int64_t>(t->element_size());
    return b;
  }
  std::int64_t out_features() const { return out; }
  std::int64_t in_features() const { return in; }
  GPTQ to(const at::Device& d) const { return {qweight.to(d), qzeros.to(d), scales.to(d), g_idx.to(d), bits, zeros_minus_one, out, in}; }
};

}  // namespace curebench::quant
