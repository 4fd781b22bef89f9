#pragma once
// The fixed code tables of bitsandbytes (bitsandbytes/functional.py): the 4-bit NF4 and FP4 codebooks
// (get_4bit_type, normalized to max |x| = 1) and the signed 8-bit "dynamic" map used for the nested
// (double-quant) absmax (create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)).
#include <algorithm>
#include <array>
#include <cmath>

namespace curebench::quant {

// NF4: quantiles of N(0,1) normalized to [-1, 1] (QLoRA, Dettmers et al. 2023), float32 as bnb stores it.
inline constexpr std::array<float, 16> kNF4Code = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
    -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
    0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
    0.7229568362236023f, 1.0f};

// FP4 (e2m1 with bnb's own bit assignment): [0, 0.0625, 8, 12, 4, 6, 2, 3, -0, -0.0625, -8, -12, -4, -6, -2, -3] / 12.
// Index 8 is -0: a zero input ties with index 0 and argmin keeps the first.
inline constexpr std::array<float, 16> kFP4Code = {
    0.0f / 12,  0.0625f / 12,  8.0f / 12,  12.0f / 12,  4.0f / 12,  6.0f / 12,  2.0f / 12,  3.0f / 12,
    -0.0f / 12, -0.0625f / 12, -8.0f / 12, -12.0f / 12, -4.0f / 12, -6.0f / 12, -2.0f / 12, -3.0f / 12};

// Signed dynamic map: for exponent step i = 0..6, 2^i fraction values (midpoints of linspace(0.1, 1, 2^i + 1))
// scaled by 10^(i-6), both signs; plus 0 and 1; sorted. 2*(1+2+...+64) + 2 = 256 entries.
inline std::array<float, 256> dynamic_map_signed() {
  std::array<float, 256> out{};
  std::size_t k = 0;
  for (int i = 0; i < 7; ++i) {
    const int items = (1 << i) + 1;
    const double scale = std::pow(10.0, i - 6);
    for (int b = 0; b + 1 < items; ++b) {
      const double lo = 0.1 + 0.9 * b / (items - 1), hi = 0.1 + 0.9 * (b + 1) / (items - 1);
      const double mean = (lo + hi) / 2;
      out[k++] = static_cast<float>(scale * mean);
      out[k++] = static_cast<float>(-scale * mean);
    }
  }
  out[k++] = 0.0f;
  out[k++] = 1.0f;
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace curebench::quant
