#pragma once
// Fields of `bits` bits packed into int32 words, low bits first (the GPTQ and AWQ safetensors layouts):
// word w holds 32 / bits fields, field s at bit offset s * bits. Signed int32 shifts sign-extend, so every
// field is masked after the shift.
#include <ATen/ATen.h>

#include <cstdint>

namespace curebench::quant {

// packed int32 [...] -> int32 [..., 32 / bits]: element [..., s] is field s (bits s*bits .. s*bits+bits-1).
inline at::Tensor unpack_int32_fields(const at::Tensor& packed, int bits) {
  const auto per_word = 32 / bits;
  auto shifts = at::arange(0, 32, bits, packed.options().dtype(at::kInt));
  auto fields = at::bitwise_and(at::__rshift__(packed.to(at::kInt).unsqueeze(-1), shifts), (1 << bits) - 1);
  return fields.view([&] {
    auto s = packed.sizes().vec();
    s.push_back(per_word);
    return s;
  }());
}

}  // namespace curebench::quant
