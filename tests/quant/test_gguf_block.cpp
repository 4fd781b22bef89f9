// quant/gguf_block: raw GGUF blocks as a Weight, checked against the F32 GGUF of the same model, and the
// Q4_0 -> Int4 (G=32, scale=d, zero=0) and Q4_K -> Int4 (G=32) mappings against the block decoder.
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

// Q4_K -> Int4 (G = 32): random superblocks (any bytes are valid codes and 6-bit scale/min pairs; d and dmin are
// small finite fp16) against the block decoder of io/gguf_dequant.hpp: the same codes, scale d*sc and zero
// 8*d*sc - dmin*m rounded to bf16 once, so each weight is within 2^-8 of (8 |scale| + |zero|) of the file's value.
TEST(GGUFBlock, Q4_KMapsOntoInt4Group32) {
  const std::int64_t out = 24, in = 512, blocks = out * in / 256;
  at::manual_seed(21);
  auto raw = at::randint(0, 256, {blocks, 144}, at::kInt).to(at::kByte);
  auto d = (at::rand({blocks}) * 0.01 + 1e-4).to(at::kHalf).view(at::kByte).view({blocks, 2});
  auto dmin = (at::rand({blocks}) * 0.01).to(at::kHalf).view(at::kByte).view({blocks, 2});
  raw.narrow(1, 0, 2).copy_(d);
  raw.narrow(1, 2, 2).copy_(dmin);
  q::GGUFBlock w{raw.flatten().contiguous(), io::GGMLType::Q4_K, out, in, std::nullopt};
  auto i4 = w.q4_k_as_int4();
  EXPECT_EQ(i4.group, 32);
  EXPECT_EQ(i4.out_features(), out);
  EXPECT_EQ(i4.in_features(), in);
  auto a = w.dequantize(at::kFloat), b = i4.dequantize(at::kFloat);
  auto sz = i4.scales_and_zeros.to(at::kFloat);                                  // [in/32, out, 2]
  auto bound = (8 * sz.select(2, 0).abs() + sz.select(2, 1).abs()).t()          // [out, in/32]
                   .repeat_interleave(32, 1) * std::ldexp(1.0f, -8) + 1e-7f;
  EXPECT_TRUE(((a - b).abs() <= bound).all().item<bool>()) << ((a - b).abs() - bound).max().item<float>();
  EXPECT_LT(((a - b).norm() / a.norm()).item<float>(), 5e-3);
  EXPECT_GT((a - b).abs().max().item<float>(), 0.0f);  // bf16 scales really are coarser than the file's floats
  // A weight of another type, or a width that is not whole superblocks, has no such form.
  q::GGUFBlock q8{raw.flatten().contiguous(), io::GGMLType::Q8_0, out, in, std::nullopt};
  EXPECT_THROW(q8.q4_k_as_int4(), curebench::Error);
}

TEST(GGUFBlock, RefusesNon2DAndMissing) {
  io::GGUFFile q4(kDir + "derived/stories260K-Q4_0.gguf");
  EXPECT_THROW(q::gguf_block(q4, "output_norm.weight"), curebench::Error);
  EXPECT_THROW(q::gguf_block(q4, "no.such.weight"), curebench::Error);
}
