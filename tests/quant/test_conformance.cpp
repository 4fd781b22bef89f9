// Conformance suite of the QuantWeight concept (quant/weight.hpp; issue 20, point 1): every weight format the
// Weight variant holds keeps the contract that the requires-clause cannot state. For an [out, in] weight:
//   - out_features / in_features are the source's shape, dequantize(dt) is [out, in] in dt and finite;
//   - matmul(x) is x . dequantize(x.dtype)^T for any leading dimensions (the matmul of exactly the values
//     dequantize shows, so fidelity reports and the decoder see the same weight);
//   - to(device) keeps the values bit for bit; bytes() counts what is held (a 4-bit format holds less than a
//     quarter of float32's bytes).
// A new format is added to the type list with a factory in make_weight. GPTQ and AWQ are built from their packed
// fixtures in tests/quant/test_gptq_awq.cpp and are not listed here yet.
#include <gtest/gtest.h>

#include <cstring>

#include "curebench/quant/weight.hpp"

namespace cb = curebench;
namespace q = curebench::quant;

namespace {

constexpr std::int64_t kOut = 48, kIn = 256;

at::Tensor source_weight() {
  at::manual_seed(7);
  return at::randn({kOut, kIn}) * 0.05;
}

template <class W>
W make_weight(const at::Tensor& w);
template <>
q::Dense make_weight(const at::Tensor& w) { return q::Dense{w}; }
template <>
q::NF4 make_weight(const at::Tensor& w) { return q::quantize_nf4(w, 64, true); }
template <>
q::FP4 make_weight(const at::Tensor& w) { return q::quantize_fp4(w, 64, false); }
template <>
q::Int8 make_weight(const at::Tensor& w) { return q::quantize_int8(w); }
template <>
q::Int4 make_weight(const at::Tensor& w) { return q::quantize_int4(w, 128); }
template <>
q::GGUFBlock make_weight(const at::Tensor& w) {  // F32 blocks, as a GGUF file stores them
  q::GGUFBlock b;
  b.raw = at::empty({w.numel() * 4}, at::kByte);
  std::memcpy(b.raw.data_ptr(), w.contiguous().data_ptr<float>(), static_cast<std::size_t>(w.numel()) * 4);
  b.type = cb::io::GGMLType::F32;
  b.out = w.size(0), b.in = w.size(1);
  return b;
}

template <class W>
class QuantWeightConformance : public ::testing::Test {};
using Formats = ::testing::Types<q::Dense, q::NF4, q::FP4, q::Int8, q::Int4, q::GGUFBlock>;
TYPED_TEST_SUITE(QuantWeightConformance, Formats);

TYPED_TEST(QuantWeightConformance, KeepsTheContract) {
  static_assert(q::QuantWeight<TypeParam>);
  const auto src = source_weight();
  const TypeParam w = make_weight<TypeParam>(src);
  EXPECT_EQ(w.out_features(), kOut);
  EXPECT_EQ(w.in_features(), kIn);

  const at::Tensor d = w.dequantize(at::kFloat);
  ASSERT_EQ(d.sizes(), (at::IntArrayRef{kOut, kIn}));
  EXPECT_EQ(d.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::isfinite(d).all().item<bool>());
  EXPECT_EQ(w.dequantize(at::kDouble).scalar_type(), at::kDouble);
  // Close to the source: the format quantizes, it does not invent (bound: 4-bit's coarsest step on this weight).
  EXPECT_LT(((d - src).norm() / src.norm()).item<double>(), 0.2);

  const auto x = at::randn({2, 3, kIn});
  const at::Tensor y = w.matmul(x);
  ASSERT_EQ(y.sizes(), (at::IntArrayRef{2, 3, kOut}));
  const auto expect = at::matmul(x, d.t());
  EXPECT_LT(((y - expect).abs().max() / expect.abs().max()).item<double>(), 1e-5);

  const auto moved = w.to(at::Device(at::kCPU));
  const at::Tensor moved_values = moved.dequantize(at::kFloat);
  EXPECT_TRUE(at::equal(moved_values, d));
  EXPECT_GT(w.bytes(), 0);
  if constexpr (std::is_same_v<TypeParam, q::NF4> || std::is_same_v<TypeParam, q::FP4> || std::is_same_v<TypeParam, q::Int4>)
    EXPECT_LT(w.bytes(), kOut * kIn * 4 / 4);
}

// The variant's free functions dispatch to the same members.
TEST(QuantWeightVariant, DispatchesToTheFormat) {
  const auto src = source_weight();
  const q::Weight v = make_weight<q::NF4>(src);
  EXPECT_EQ(q::out_features(v), kOut);
  EXPECT_EQ(q::in_features(v), kIn);
  EXPECT_TRUE(at::equal(q::dequantize(v, at::kFloat), std::get<q::NF4>(v).dequantize(at::kFloat)));
  EXPECT_EQ(q::weight_bytes(v), std::get<q::NF4>(v).bytes());
}

}  // namespace
