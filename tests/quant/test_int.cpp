// quant/int8 and quant/int4: hand-computed rows, error bounds from the formulas, and matmul against
// dequantize-then-linear.
#include <gtest/gtest.h>

#include "curebench/quant/weight.hpp"

namespace q = curebench::quant;

TEST(Int8, HandComputedRowAndBnbLayout) {
  auto w = at::tensor({127.0f, -63.5f, 0.5f, 1.0f, 2.0f, -4.0f, 0.0f, 1.0f}).view({2, 4});
  auto i8 = q::quantize_int8(w);
  EXPECT_TRUE(at::equal(i8.scb, at::tensor({127.0f, 4.0f})));  // SCB = row absmax
  // row 0: scale 127/127 = 1, round half to even: -63.5 -> -64, 0.5 -> 0; row 1: x * 127/4
  EXPECT_TRUE(at::equal(i8.q, at::tensor({127, -64, 0, 1, 64, -127, 0, 32}, at::kChar).view({2, 4})))
      << i8.q;  // 2*31.75 = 63.5 -> 64 (even), 31.75 -> 32
  auto d = i8.dequantize(at::kFloat);
  EXPECT_FLOAT_EQ(d[0][1].item<float>(), -64.0f);
  EXPECT_FLOAT_EQ(d[1][3].item<float>(), 32 * 4.0f / 127);
}

TEST(Int8, ErrorBoundAndMatmul) {
  at::manual_seed(2);
  auto w = at::randn({64, 96});
  auto i8 = q::quantize_int8(w);
  auto bound = (i8.scb / 254.0f).unsqueeze(1) + 1e-6f;  // half a step per row
  EXPECT_TRUE(((i8.dequantize(at::kFloat) - w).abs() <= bound).all().item<bool>());
  auto x = at::randn({5, 96});
  EXPECT_TRUE(at::allclose(i8.matmul(x), at::linear(x, i8.dequantize(at::kFloat)), 1e-4, 1e-4));
  EXPECT_EQ(i8.bytes(), 64 * 96 + 64 * 4);
}

TEST(Int4, HandComputedGroupsExact) {
  // Group 0 (32 values): -8..7 twice -> min -8, max 7: scale 1, zero -8 + 8 = 0, q = x + 8.
  // Group 1: 0, 2, ..., 30 (twice 0..30 step 2 = 16 values, twice): scale 30/15 = 2, zero 0 + 16 = 16.
  std::vector<float> row;
  for (int r = 0; r < 2; ++r)
    for (int v = -8; v <= 7; ++v) row.push_back(static_cast<float>(v));
  for (int r = 0; r < 2; ++r)
    for (int v = 0; v <= 30; v += 2) row.push_back(static_cast<float>(v));
  auto w = at::tensor(row).view({1, 64}).repeat({8, 1});
  auto i4 = q::quantize_int4(w, 32);
  auto sz = i4.scales_and_zeros.to(at::kFloat);
  ASSERT_EQ(sz.sizes(), (std::vector<std::int64_t>{2, 8, 2}));
  EXPECT_EQ(sz[0][0][0].item<float>(), 1.0f);
  EXPECT_EQ(sz[0][0][1].item<float>(), 0.0f);
  EXPECT_EQ(sz[1][0][0].item<float>(), 2.0f);
  EXPECT_EQ(sz[1][0][1].item<float>(), 16.0f);
  EXPECT_EQ(i4.packed[0][0].item<std::uint8_t>(), 0x01);  // q = 0, 1: element 0 in the high nibble
  EXPECT_EQ(i4.packed[0][7].item<std::uint8_t>(), 0xEF);  // -8 + 14, -8 + 15
  EXPECT_EQ(i4.packed[0][16].item<std::uint8_t>(), 0x01); // group 1: (0 - 0) / 2, (2 - 0) / 2
  EXPECT_TRUE(at::equal(i4.dequantize(at::kFloat), w));
}

TEST(Int4, ErrorBoundEveryGroupSize) {
  at::manual_seed(3);
  auto w = at::randn({32, 512}) * 0.05;
  for (int g : {32, 64, 128, 256}) {
    auto i4 = q::quantize_int4(w, g);
    auto s = i4.scales_and_zeros.to(at::kFloat).select(2, 0).t().repeat_interleave(g, 1);  // [out, in]
    auto z = i4.scales_and_zeros.to(at::kFloat).select(2, 1).t().repeat_interleave(g, 1);
    // Round-to-nearest gives s/2; the bf16 rounding of zero can shift the grid by |zero| * 2^-8 (clamped ends).
    auto bound = s * 0.5f + z.abs() * std::ldexp(1.0f, -8) + 1e-6f;
    EXPECT_TRUE(((i4.dequantize(at::kFloat) - w).abs() <= bound).all().item<bool>()) << "group " << g;
    EXPECT_EQ(i4.bytes(), 32 * 256 + (512 / g) * 32 * 2 * 2);
    auto x = at::randn({3, 512});
    EXPECT_TRUE(at::allclose(i4.matmul(x), at::linear(x, i4.dequantize(at::kFloat)), 1e-5, 1e-5));
  }
}

TEST(Int4, RefusesBadGroupsAndShapes) {
  EXPECT_THROW(q::quantize_int4(at::zeros({8, 64}), 48), curebench::Error);
  EXPECT_THROW(q::quantize_int4(at::zeros({8, 96}), 64), curebench::Error);
  EXPECT_EQ(q::Int4::inner_k_tiles_for(16, 4096), 8);
  EXPECT_EQ(q::Int4::inner_k_tiles_for(16, 64), 4);
  EXPECT_EQ(q::Int4::inner_k_tiles_for(12, 4096), 0);
}
