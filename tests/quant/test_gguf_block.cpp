// quant/gguf_block: raw GGUF blocks as a Weight, checked against the F32 GGUF of the same model, and the
// Q4_0 -> Int4 (G=32, scale=d, zero=0) mapping against the block decoder.
#include <gtest/gtest.h>

#include "curebench/io/gguf_dequant.hpp"
#include "curebench/quant/weight.hpp"

namespace q = curebench::quant;
namespace io = curebench::io;

namespace {
const std::string kDir = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/";
at::Tensor f32_tensor(const io::GGUFFile& f, const std::string& name) {
  const auto& t = f.tensor(name);
  auto v = io::gguf_dequantize(f, t);
  return at::tensor(v).view(t.shape());
}
}  // namespace

TEST(GGUFBlock, Q8AndQ4WeightsMatchTheF32File) {
  io::GGUFFile f32(kDir + "stories260K.gguf"), q8(kDir + "derived/stories260K-Q8_0.gguf"),
      q4(kDir + "derived/stories260K-Q4_0.gguf");
  for (const char* name : {"blk.1.ffn_gate.weight", "blk.0.attn_k.weight"}) {
    auto ref = f32_tensor(f32, name);  // [out, in]
    auto w8 = q::gguf_block(q8, name);
    auto w4 = q::gguf_block(q4, name);
    EXPECT_EQ(w8.out, ref.size(0));
    EXPECT_EQ(w8.in, ref.size(1));
    auto amax = ref.abs().max().item<float>();
    EXPECT_LT((w8.dequantize(at::kFloat) - ref).abs().max().item<float>(), amax / 127 * 0.6f) << name;
    EXPECT_LT((w4.dequantize(at::kFloat) - ref).abs().max().item<float>(), amax / 8 * 1.01f) << name;
    EXPECT_EQ(w4.bytes(), ref.numel() / 32 * 18);
    q::Weight w = w4;
    auto x = at::randn({4, ref.size(1)});
    EXPECT_TRUE(at::allclose(q::matmul(w, x), at::linear(x, w4.dequantize(at::kFloat)), 1e-5, 1e-5));
  }
}

TEST(GGUFBlock, Q4_0MapsOntoInt4Group32) {
  io::GGUFFile q4(kDir + "derived/stories260K-Q4_0.gguf");
  auto w = q::gguf_block(q4, "blk.2.ffn_up.weight");  // ne {64, 172}: [172, 64]
  auto i4 = w.q4_0_as_int4();
  EXPECT_EQ(i4.group, 32);
  EXPECT_EQ(i4.out_features(), 172);
  EXPECT_EQ(i4.in_features(), 64);
  EXPECT_TRUE((i4.scales_and_zeros.select(2, 1) == 0).all().item<bool>());
  auto a = w.dequantize(at::kFloat), b = i4.dequantize(at::kFloat);
  // Same codes; only d is rounded fp16 -> bf16 (relative 2^-9) and |q - 8| <= 8.
  auto d = i4.scales_and_zeros.to(at::kFloat).select(2, 0).abs().max().item<float>();
  EXPECT_LE((a - b).abs().max().item<float>(), 8 * d * std::ldexp(1.0f, -8));
  EXPECT_GT((a - b).abs().max().item<float>(), 0.0f);  // bf16 really is coarser than fp16 here
}

TEST(GGUFBlock, RefusesNon2DAndMissing) {
  io::GGUFFile q4(kDir + "derived/stories260K-Q4_0.gguf");
  EXPECT_THROW(q::gguf_block(q4, "output_norm.weight"), curebench::Error);
  EXPECT_THROW(q::gguf_block(q4, "no.such.weight"), curebench::Error);
}
