// quant/bnb4: NF4 / FP4 quantize -> dequantize of fixed tensors against values worked out by hand from the
// published codebooks (formats-and-anchors.md 2.1), the packed byte layout (high nibble first), and double
// quant reproducing absmax within the 8-bit dynamic map's resolution.
#include <gtest/gtest.h>

#include "curebench/quant/weight.hpp"

namespace q = curebench::quant;

TEST(Bnb4, DynamicMapHandValues) {
  auto m = q::dynamic_map_signed();
  EXPECT_EQ(m[0], -0.99296875f);   // -(0.9859375 + 1) / 2: last midpoint of linspace(0.1, 1, 65)
  EXPECT_EQ(m[127], 0.0f);         // 127 negatives, then 0
  EXPECT_FLOAT_EQ(m[128], 5.5e-7f);  // 1e-6 * (0.1 + 1) / 2
  EXPECT_EQ(m[255], 1.0f);
  EXPECT_TRUE(std::is_sorted(m.begin(), m.end()));
  EXPECT_EQ(q::kNF4Code[0], -1.0f);
  EXPECT_EQ(q::kNF4Code[7], 0.0f);
  EXPECT_EQ(q::kNF4Code[15], 1.0f);
  EXPECT_TRUE(std::is_sorted(q::kNF4Code.begin(), q::kNF4Code.end()));
}

TEST(Bnb4, NF4FixedTensorHandComputed) {
  // Two rows of 64 = two blocks. Block 0 absmax 2, block 1 absmax 0.5.
  auto w = at::zeros({2, 64}, at::kFloat);
  w[0][0] = 2.0, w[0][1] = -2.0, w[0][2] = 0.0, w[0][3] = 0.3, w[0][4] = -0.9, w[0][5] = 1.3;
  w[1][0] = -0.5, w[1][1] = 0.1;
  auto nf4 = q::quantize_nf4(w, 64, false);
  ASSERT_TRUE(at::equal(nf4.absmax, at::tensor({2.0f, 0.5f})));
  auto d = nf4.dequantize(at::kFloat);
  // x/absmax -> nearest code:  1 -> 15 (1.0); -1 -> 0; 0 -> 7; 0.15 -> 9 (0.1609, not 0.0796);
  // -0.45 -> 3 (-0.3949, not -0.5251); 0.65 -> 14 (0.7230, not 0.5626); zeros -> 7.
  EXPECT_EQ(d[0][0].item<float>(), 2.0f);
  EXPECT_EQ(d[0][1].item<float>(), -2.0f);
  EXPECT_EQ(d[0][2].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(d[0][3].item<float>(), 2 * 0.16093020141124725f);
  EXPECT_FLOAT_EQ(d[0][4].item<float>(), 2 * -0.39491748809814453f);
  EXPECT_FLOAT_EQ(d[0][5].item<float>(), 2 * 0.7229568362236023f);
  EXPECT_EQ(d[0][63].item<float>(), 0.0f);
  EXPECT_EQ(d[1][0].item<float>(), -0.5f);
  EXPECT_FLOAT_EQ(d[1][1].item<float>(), 0.5f * 0.16093020141124725f);  // 0.2 -> 9 (0.1609, not 0.2461)
  // Packed: element 2i high nibble, 2i+1 low: (15,0) (7,9) (3,14) (7,7) ...
  auto p = nf4.packed;
  ASSERT_EQ(p.numel(), 64);
  EXPECT_EQ(p[0].item<std::uint8_t>(), 0xF0);
  EXPECT_EQ(p[1].item<std::uint8_t>(), 0x79);
  EXPECT_EQ(p[2].item<std::uint8_t>(), 0x3E);
  EXPECT_EQ(p[3].item<std::uint8_t>(), 0x77);
  EXPECT_EQ(p[32].item<std::uint8_t>(), 0x09);  // block 1: (-1 -> 0, 0.2 -> 9)
}

TEST(Bnb4, FP4FixedTensorHandComputed) {
  // FP4 table /12: 0, .0052, .6667, 1, .3333, .5, .1667, .25, -0, -.0052, -.6667, -1, -.3333, -.5, -.1667, -.25
  auto w = at::zeros({1, 64}, at::kFloat);
  w[0][0] = 3.0, w[0][1] = -1.5, w[0][2] = 0.8, w[0][3] = 0.0, w[0][4] = -0.01, w[0][5] = 2.2;
  auto fp4 = q::quantize_fp4(w);
  auto d = fp4.dequantize(at::kFloat);
  EXPECT_EQ(d[0][0].item<float>(), 3.0f);                   // 1 -> idx 3
  EXPECT_FLOAT_EQ(d[0][1].item<float>(), -1.5f);            // -0.5 -> idx 13
  EXPECT_FLOAT_EQ(d[0][2].item<float>(), 0.75f);            // 0.2667 -> 0.25 (idx 7)
  EXPECT_EQ(d[0][3].item<float>(), 0.0f);                   // 0 -> idx 0 (first of the 0 / -0 tie)
  EXPECT_FLOAT_EQ(d[0][4].item<float>(), -0.0625f / 4);     // -0.00333 -> -0.0625/12 (idx 9), times 3
  EXPECT_FLOAT_EQ(d[0][5].item<float>(), 2.0f);             // 0.7333 -> 8/12 (idx 2)
  EXPECT_EQ(fp4.packed[0].item<std::uint8_t>(), 0x3D);      // idx 3 high, idx 13 low
  EXPECT_EQ(fp4.packed[1].item<std::uint8_t>(), 0x70);      // idx 7, idx 0
  EXPECT_EQ(fp4.packed[2].item<std::uint8_t>(), 0x92);      // idx 9, idx 2
}

TEST(Bnb4, PartialLastBlockAndOddCount) {
  auto w = at::linspace(-1, 1, 3 * 33, at::kFloat).view({3, 33});  // 99 elements: 1 full block + 35, odd
  auto nf4 = q::quantize_nf4(w, 64, false);
  EXPECT_EQ(nf4.absmax.numel(), 2);
  EXPECT_EQ(nf4.packed.numel(), 50);
  EXPECT_FLOAT_EQ(nf4.absmax[1].item<float>(), 1.0f);
  auto d = nf4.dequantize(at::kFloat);
  EXPECT_EQ(d.sizes(), w.sizes());
  EXPECT_EQ(d[2][32].item<float>(), 1.0f);
  // widest NF4 gap is between -1 and -0.6962: error <= absmax * 0.3038 / 2
  EXPECT_LE((d - w).abs().max().item<float>(), 0.5f * (1.0f - 0.6961928009986877f) + 1e-6f);
}

TEST(Bnb4, DoubleQuantReproducesAbsmaxWithinTheMapResolution) {
  at::manual_seed(0);
  auto w = at::randn({512, 512}, at::kFloat) * 0.02;  // 4096 blocks -> 16 nested blocks
  auto plain = q::quantize_nf4(w, 64, false);
  auto dq = q::quantize_nf4(w, 64, true);
  ASSERT_TRUE(dq.nested.has_value());
  EXPECT_EQ(dq.absmax.scalar_type(), at::kByte);
  EXPECT_EQ(dq.nested->absmax.numel(), 16);
  EXPECT_FLOAT_EQ(dq.nested->offset, plain.absmax.mean().item<float>());
  // |decoded - absmax| <= half the widest gap of the dynamic map (between 0.98594 and 1: the top step
  // of linspace(0.1, 1, 65) midpoints is 0.9/64) times that nested block's absmax.
  auto map = q::dynamic_map_tensor();
  const float half_gap = ((map.narrow(0, 1, 255) - map.narrow(0, 0, 255)).max().item<float>()) / 2;
  EXPECT_NEAR(half_gap, 0.9f / 64 / 2, 1e-6f);
  auto scales = dq.block_scales();
  auto nested = dq.nested->absmax.repeat_interleave(256).narrow(0, 0, 4096);
  auto err = (scales - plain.absmax).abs();
  EXPECT_TRUE((err <= nested * half_gap + 1e-7f).all().item<bool>()) << (err - nested * half_gap).max().item<float>();
  // The 4-bit codes do not depend on double quant; only the scales do.
  EXPECT_TRUE(at::equal(dq.packed, plain.packed));
}

TEST(Bnb4, MatmulEqualsDequantizeThenLinear) {
  at::manual_seed(1);
  auto w = at::randn({48, 128}, at::kFloat);
  auto x = at::randn({2, 3, 128}, at::kFloat);
  for (bool dq : {false, true}) {
    q::Weight nf4 = q::quantize_nf4(w, 64, dq);
    q::Weight fp4 = q::quantize_fp4(w, 64, dq);
    for (auto* wt : {&nf4, &fp4}) {
      auto y = q::matmul(*wt, x);
      auto ref = at::linear(x, q::dequantize(*wt, at::kFloat));
      EXPECT_TRUE(at::allclose(y, ref, 1e-5, 1e-5));
      EXPECT_EQ(q::out_features(*wt), 48);
      EXPECT_EQ(q::in_features(*wt), 128);
    }
  }
}
