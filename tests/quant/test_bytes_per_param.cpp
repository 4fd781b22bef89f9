// quant/bytes_per_param: measured storage per weight agrees with each format's formula:
// NF4 b64 = 4 + 32/64 = 4.5; NF4 b64 + DQ = 4 + 8/64 + 32/(64*256) = 4.127; int4 g128 = 4 + 2*16/128 = 4.25;
// int8 and fp8 per-row = 8 + 32/in; GGUF Q4_0 = 18*8/32 = 4.5, Q8_0 = 34*8/32 = 8.5 (llama.cpp's block sizes).
#include <gtest/gtest.h>

#include "curebench/quant/bytes_per_param.hpp"

namespace q = curebench::quant;

TEST(BytesPerParam, MeasuredMatchesFormulas) {
  at::manual_seed(4);
  const double nf4 = q::measured_bits_per_param<q::NF4Config<64, false>>(1024, 4096);
  const double nf4dq = q::measured_bits_per_param<q::NF4Config<64, true>>(1024, 4096);
  const double fp4 = q::measured_bits_per_param<q::FP4Config<64, false>>(1024, 4096);
  const double i4 = q::measured_bits_per_param<q::Int4Config<128>>(1024, 4096);
  const double i4g32 = q::measured_bits_per_param<q::Int4Config<32>>(1024, 4096);
  const double i8 = q::measured_bits_per_param<q::Int8Config>(1024, 4096);
  const double f8 = q::measured_bits_per_param<q::FP8Config>(1024, 4096);
  // Code tables (16 + 256 floats) add 8704 bits over 4M weights: 0.002 bit.
  EXPECT_NEAR(nf4, 4.5, 0.001);
  EXPECT_NEAR(nf4dq, 4.127, 0.003);
  EXPECT_LT(nf4dq, 4.13);
  EXPECT_NEAR(fp4, 4.5, 0.001);
  EXPECT_DOUBLE_EQ(i4, 4.25);
  EXPECT_DOUBLE_EQ(i4g32, 5.0);
  EXPECT_DOUBLE_EQ(i8, 8.0 + 32.0 / 4096);
  EXPECT_DOUBLE_EQ(f8, 8.0 + 32.0 / 4096);
  EXPECT_DOUBLE_EQ(q::bits_per_param(q::NoQuant::quantize(at::zeros({4, 4}, at::kBFloat16))), 16.0);
  std::cout << "bits/param: nf4 " << nf4 << ", nf4+dq " << nf4dq << ", fp4 " << fp4 << ", int4-g128 " << i4
            << ", int4-g32 " << i4g32 << ", int8 " << i8 << ", fp8 " << f8 << "\n";
}

TEST(BytesPerParam, GgufBlocksFromTheRealFiles) {
  const std::string dir = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/derived/";
  curebench::io::GGUFFile q4(dir + "stories260K-Q4_0.gguf"), q8(dir + "stories260K-Q8_0.gguf");
  EXPECT_DOUBLE_EQ(q::bits_per_param(q::gguf_block(q4, "blk.0.attn_q.weight")), 4.5);
  EXPECT_DOUBLE_EQ(q::bits_per_param(q::gguf_block(q8, "blk.0.attn_q.weight")), 8.5);
}
