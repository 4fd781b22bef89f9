// quant/fp8: the e4m3fn code table from the OCP FP8 definition, the encoder against a brute-force nearest-value
// search (ties to the even code), per-row weight quantization's error bound, the emulated W8A8 product against a
// float64 sum, and q|k|v / gate|up stacking (quant/row_concat.hpp). The GPU path (at::_scaled_mm, the one-launch
// activation quantizer) is checked against these in tests/cuda/test_cuda_fp8.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "curebench/quant/config.hpp"
#include "curebench/quant/named_config.hpp"
#include "curebench/quant/row_concat.hpp"

namespace q = curebench::quant;

namespace {
// The nearest finite e4m3fn value to |f| by search over the 127 non-negative finite codes, ties to the even
// code (adjacent codes are adjacent values, so "even mantissa" is "even code"); above 448 saturates.
std::uint8_t nearest_code(float f) {
  if (std::isnan(f)) return std::signbit(f) ? 0xFF : 0x7F;
  const double a = std::min<double>(std::fabs(static_cast<double>(f)), 448.0);
  int best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (int c = 0; c <= 126; ++c) {
    const double d = std::fabs(a - static_cast<double>(q::e4m3_value(static_cast<std::uint8_t>(c))));
    if (d < best_d || (d == best_d && c % 2 == 0)) best = c, best_d = d;
  }
  return static_cast<std::uint8_t>(best | (std::signbit(f) ? 0x80 : 0));
}
}  // namespace

TEST(FP8, CodeTableFollowsTheDefinition) {
  EXPECT_EQ(q::e4m3_value(0x00), 0.0f);
  EXPECT_EQ(q::e4m3_value(0x01), std::ldexp(1.0f, -9));   // smallest subnormal
  EXPECT_EQ(q::e4m3_value(0x07), 7 * std::ldexp(1.0f, -9));
  EXPECT_EQ(q::e4m3_value(0x08), std::ldexp(1.0f, -6));   // smallest normal
  EXPECT_EQ(q::e4m3_value(0x38), 1.0f);                    // exponent field 7 = bias
  EXPECT_EQ(q::e4m3_value(0x3C), 1.5f);
  EXPECT_EQ(q::e4m3_value(0x7E), 448.0f);                  // largest finite
  EXPECT_TRUE(std::isnan(q::e4m3_value(0x7F)));
  EXPECT_TRUE(std::isnan(q::e4m3_value(0xFF)));
  EXPECT_EQ(q::e4m3_value(0xFE), -448.0f);
  EXPECT_TRUE(std::signbit(q::e4m3_value(0x80)));
  for (int c = 1; c <= 126; ++c) EXPECT_LT(q::e4m3_value(c - 1), q::e4m3_value(c)) << c;
  auto table = q::e4m3_table();
  auto codes = at::arange(0, 256, at::kLong).to(at::kByte);
  auto decoded = q::decode_e4m3(codes);
  for (int c = 0; c < 256; ++c) {
    const float want = q::e4m3_value(static_cast<std::uint8_t>(c)), got = decoded[c].item<float>();
    if (std::isnan(want)) EXPECT_TRUE(std::isnan(got)) << c;
    else EXPECT_EQ(got, want) << c;
  }
}

TEST(FP8, EncoderIsTheNearestValueTiesToEven) {
  std::vector<float> v;
  // Every value, the exact midpoints between neighbours, and one float ulp either side of each midpoint.
  for (int c = 0; c <= 126; ++c) {
    const float a = q::e4m3_value(c);
    v.push_back(a);
    if (c < 126) {
      const float mid = (a + q::e4m3_value(c + 1)) / 2;  // exact in float32
      v.push_back(mid);
      v.push_back(std::nextafter(mid, 0.0f));
      v.push_back(std::nextafter(mid, 1000.0f));
    }
  }
  // Beyond the range: saturation; below the smallest subnormal: zero or 2^-9.
  for (float f : {448.0f, 449.0f, 463.9f, 464.0f, 480.0f, 1e6f, 3e38f, std::ldexp(1.0f, -10), std::ldexp(1.0f, -11), 1e-30f, 0.0f})
    v.push_back(f);
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> expo(-14.0f, 10.0f), frac(0.5f, 1.0f);
  for (int i = 0; i < 20000; ++i) v.push_back(std::ldexp(frac(gen), static_cast<int>(expo(gen))) * (1 + frac(gen) / 1024));
  const auto n = v.size();
  for (std::size_t i = 0; i < n; ++i) v.push_back(-v[i]);
  v.push_back(std::numeric_limits<float>::quiet_NaN());
  auto codes = q::encode_e4m3(at::tensor(v));
  ASSERT_EQ(codes.scalar_type(), at::kByte);
  auto* got = codes.data_ptr<std::uint8_t>();
  int wrong = 0;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (got[i] != nearest_code(v[i]) && ++wrong <= 10)
      ADD_FAILURE() << "f " << v[i] << " code " << int(got[i]) << " want " << int(nearest_code(v[i]));
  EXPECT_EQ(wrong, 0);
}

TEST(FP8, PerRowScalesAndTheRoundingBound) {
  at::manual_seed(3);
  auto w = at::randn({48, 96}) * at::linspace(0.01, 3.0, 48).unsqueeze(1);
  w[5].zero_();  // an all-zero row stays zero with scale 0
  auto f = q::quantize_fp8(w);
  ASSERT_EQ(f.q.scalar_type(), at::kByte);
  EXPECT_TRUE(at::equal(f.scale, std::get<0>(w.abs().max(1)) * (1.0f / 448.0f)));
  EXPECT_EQ(f.scale[5].item<float>(), 0.0f);
  // Each row's largest magnitude is exactly +-448 * scale; elsewhere half an e4m3 step: 2^-4 relative in the normal
  // range, 2^-10 * scale below it.
  auto d = f.dequantize(at::kFloat);
  auto bound = at::maximum(w.abs() * (1.0 / 16), f.scale.unsqueeze(1) * std::ldexp(1.0, -10)) * (1 + 1e-6);
  EXPECT_TRUE(((d - w).abs() <= bound).all().item<bool>());
  EXPECT_TRUE(at::equal(d[5], at::zeros({96})));
  EXPECT_EQ(f.bytes(), 48 * 96 + 48 * 4);
  // Slabs of rows give the bytes of the whole tensor.
  auto chunked = q::quantize_fp8(w, 96 * 7);
  EXPECT_TRUE(at::equal(chunked.q, f.q));
  EXPECT_TRUE(at::equal(chunked.scale, f.scale));
}

TEST(FP8, EmulatedProductIsTheFloat64SumOfTheRoundedOperands) {
  at::manual_seed(4);
  auto w = at::randn({40, 64}) * 0.05;
  auto x = at::randn({2, 3, 64});
  auto f = q::quantize_fp8(w);
  auto y = f.matmul(x);
  ASSERT_EQ(y.sizes(), (std::vector<std::int64_t>{2, 3, 40}));
  // Independent spelling: per token, scale = amax / 448 and codes = nearest e4m3 of x / scale (brute force above).
  auto x2 = x.reshape({6, 64});
  auto wq = f.q.to(at::kInt);
  for (int m = 0; m < 6; ++m) {
    const float amax = x2[m].abs().max().item<float>(), sx = amax * (1.0f / 448.0f);
    for (int n = 0; n < 40; ++n) {
      double sum = 0;
      for (int k = 0; k < 64; ++k)
        sum += static_cast<double>(q::e4m3_value(nearest_code(x2[m][k].item<float>() / sx))) *
               q::e4m3_value(static_cast<std::uint8_t>(wq[n][k].item<int>()));
      const double want = sum * sx * f.scale[n].item<float>();
      EXPECT_NEAR(y.reshape({6, 40})[m][n].item<float>(), want, 1e-5 * (1 + std::fabs(want))) << m << "," << n;
    }
  }
  // The weight-only error budget: within a few per cent of the exact product.
  auto exact = at::linear(x, w);
  EXPECT_LT(((y - exact).norm() / exact.norm()).item<double>(), 0.06);
}

TEST(FP8, NamedConfigAndStackedProjections) {
  auto named = q::named_quant("fp8");
  EXPECT_EQ(named.bits_per_weight, 8.0);
  EXPECT_FALSE(named.bnb_layout);
  at::manual_seed(5);
  q::Weight a = named.quantize(at::randn({24, 32})), b = named.quantize(at::randn({8, 32})), c = named.quantize(at::randn({8, 32}));
  ASSERT_TRUE(std::holds_alternative<q::FP8>(a));
  auto x = at::randn({3, 32});
  auto ya = q::matmul(a, x), yb = q::matmul(b, x), yc = q::matmul(c, x);
  ASSERT_TRUE(q::can_concat_rows({&a, &b, &c}));
  auto stack = q::concat_rows({&a, &b, &c});
  EXPECT_EQ(q::out_features(stack), 40);
  // The pieces now view the stack; each still computes what it did, and the stack is their side-by-side outputs.
  EXPECT_EQ(std::get<q::FP8>(b).q.data_ptr<std::uint8_t>(), std::get<q::FP8>(stack).q.data_ptr<std::uint8_t>() + 24 * 32);
  EXPECT_TRUE(at::allclose(q::matmul(b, x), yb, 0, 0));
  EXPECT_TRUE(at::allclose(q::matmul(stack, x), at::cat({ya, yb, yc}, -1), 1e-6, 1e-6));
  // Mixed kinds or widths do not stack.
  q::Weight d = q::Dense{at::randn({8, 32})}, e = named.quantize(at::randn({8, 16}));
  EXPECT_FALSE(q::can_concat_rows({&a, &d}));
  EXPECT_FALSE(q::can_concat_rows({&a, &e}));
  q::Weight i8 = q::Int8Config::quantize(at::randn({8, 32}));
  EXPECT_FALSE(q::can_concat_rows({&i8, &i8}));
}
