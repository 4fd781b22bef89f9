// io/gguf_dequant: one crafted block per format, decoded and compared with values worked out by hand from
// the block layouts in ggml-common.h (the arithmetic is written next to each expectation); then the real
// Q8_0 / Q4_0 stories260K files against the F32 file they were made from.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "curebench/io/gguf_dequant.hpp"

namespace cb = curebench;
namespace io = curebench::io;

namespace {

const std::string kDir = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/";

std::vector<float> decode(io::GGMLType t, const std::vector<std::uint8_t>& block) {
  const auto& info = io::ggml_type_info(t);
  EXPECT_EQ(block.size(), info.block_bytes);
  std::vector<float> y(info.block_elems);
  io::gguf_dequantize(t, std::as_bytes(std::span(block)), y);
  return y;
}
void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) { std::memcpy(b.data() + at, &v, 2); }

// The 12 packed scale bytes used by the Q4_K and Q5_K blocks below. Decoded (sc, m) per sub-block:
//   j<4 : sc = s[j] & 63, m = s[j+4] & 63                    -> (1,5) (2,6) (3,7) (4,8)
//   j>=4: sc = (s[j+4] & 15) | (s[j-4] >> 6) << 4           s[8]=0x21: sc4 = 1 | 1<<4 = 17 (s[0]=0x41)
//         m  = (s[j+4] >> 4) | (s[j]   >> 6) << 4           m4 = 2 | 2<<4 = 34 (s[4]=0x85)
//   s[9]=0x43 -> (3,4); s[10]=0 -> (0,0); s[11]=0xFF -> (15,15)
const std::uint8_t kScalesK[12] = {0x41, 2, 3, 4, 0x85, 6, 7, 8, 0x21, 0x43, 0x00, 0xFF};

}  // namespace

TEST(GgufDequant, HalfAndBFloat16BitPatterns) {
  EXPECT_EQ(io::f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(io::f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(io::f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(io::f16_to_f32(0x3555), 0.333251953125f);
  EXPECT_EQ(io::f16_to_f32(0x0400), std::ldexp(1.0f, -14));       // smallest normal
  EXPECT_EQ(io::f16_to_f32(0x0001), std::ldexp(1.0f, -24));       // smallest subnormal
  EXPECT_EQ(io::f16_to_f32(0x03FF), 1023 * std::ldexp(1.0f, -24)); // largest subnormal
  EXPECT_EQ(io::f16_to_f32(0x8000), -0.0f);
  EXPECT_TRUE(std::signbit(io::f16_to_f32(0x8000)));
  EXPECT_TRUE(std::isinf(io::f16_to_f32(0xFC00)) && io::f16_to_f32(0xFC00) < 0);
  EXPECT_TRUE(std::isnan(io::f16_to_f32(0x7E00)));
  EXPECT_EQ(io::bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(io::bf16_to_f32(0xC0A0), -5.0f);
  EXPECT_EQ(io::bf16_to_f32(0x4049), 3.140625f);
}

TEST(GgufDequant, PlainTypes) {
  std::vector<std::uint8_t> f16 = {0x00, 0x3C, 0x00, 0xC0};  // 1.0, -2.0
  std::vector<float> y(2);
  io::gguf_dequantize(io::GGMLType::F16, std::as_bytes(std::span(f16)), y);
  EXPECT_EQ(y, (std::vector<float>{1.0f, -2.0f}));
  std::vector<std::uint8_t> bf = {0xA0, 0xC0, 0x80, 0x3F};  // -5.0, 1.0
  io::gguf_dequantize(io::GGMLType::BF16, std::as_bytes(std::span(bf)), y);
  EXPECT_EQ(y, (std::vector<float>{-5.0f, 1.0f}));
}

TEST(GgufDequant, Q8_0Block) {
  std::vector<std::uint8_t> b(34);
  put16(b, 0, 0x3800);  // d = 0.5
  for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(j - 16));
  b[2 + 5] = 127;
  b[2 + 6] = static_cast<std::uint8_t>(-128);
  auto y = decode(io::GGMLType::Q8_0, b);
  EXPECT_EQ(y[0], -8.0f);   // 0.5 * -16
  EXPECT_EQ(y[16], 0.0f);
  EXPECT_EQ(y[31], 7.5f);   // 0.5 * 15
  EXPECT_EQ(y[5], 63.5f);   // 0.5 * 127
  EXPECT_EQ(y[6], -64.0f);  // 0.5 * -128
}

TEST(GgufDequant, Q4_0BlockLowNibbleIsFirstHalf) {
  std::vector<std::uint8_t> b(18);
  put16(b, 0, 0x4000);  // d = 2
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
  auto y = decode(io::GGMLType::Q4_0, b);
  EXPECT_EQ(y[0], -16.0f);   // 2 * (0 - 8)
  EXPECT_EQ(y[7], -2.0f);    // 2 * (7 - 8)
  EXPECT_EQ(y[8], 0.0f);
  EXPECT_EQ(y[15], 14.0f);   // 2 * (15 - 8)
  EXPECT_EQ(y[16], 14.0f);   // high nibble of byte 0 = 15
  EXPECT_EQ(y[31], -16.0f);  // high nibble of byte 15 = 0
}

TEST(GgufDequant, Q4_1Block) {
  std::vector<std::uint8_t> b(20, 0x3A);  // every byte: low 10, high 3
  put16(b, 0, 0x3800);                    // d = 0.5
  put16(b, 2, 0xBC00);                    // m = -1
  auto y = decode(io::GGMLType::Q4_1, b);
  for (int j = 0; j < 16; ++j) EXPECT_EQ(y[j], 4.0f) << j;        // 0.5*10 - 1
  for (int j = 16; j < 32; ++j) EXPECT_EQ(y[j], 0.5f) << j;       // 0.5*3 - 1
}

TEST(GgufDequant, Q5_0BlockHighBitsFromQh) {
  std::vector<std::uint8_t> b(22, 0);
  put16(b, 0, 0x3C00);               // d = 1
  b[2] = 0x01; b[3] = 0x80; b[4] = 0x01; b[5] = 0x00;  // qh = 0x00018001: bits 0, 15, 16
  b[6 + 0] = 0x21;                   // element 0: low 1, element 16: high 2
  b[6 + 15] = 0xF0;                  // element 15: low 0, element 31: high 15
  auto y = decode(io::GGMLType::Q5_0, b);
  EXPECT_EQ(y[0], 1.0f);     // (1 | 16) - 16
  EXPECT_EQ(y[16], 2.0f);    // (2 | 16) - 16   (bit 16 belongs to element 16)
  EXPECT_EQ(y[15], 0.0f);    // (0 | 16) - 16   (bit 15)
  EXPECT_EQ(y[31], -1.0f);   // 15 - 16         (bit 31 clear)
  EXPECT_EQ(y[1], -16.0f);   // 0 - 16
  EXPECT_EQ(y[17], -16.0f);
}

TEST(GgufDequant, Q4_KBlockSixBitScales) {
  std::vector<std::uint8_t> b(144, 0);
  put16(b, 0, 0x3C00);  // d = 1
  put16(b, 2, 0x3800);  // dmin = 0.5
  std::memcpy(b.data() + 4, kScalesK, 12);
  b[16 + 0] = 0x9F;           // chunk 0, l=0: low 15 (elem 0, sub 0), high 9 (elem 32, sub 1)
  b[16 + 64 + 5] = 0x7A;      // chunk 2, l=5: low 10 (elem 133, sub 4), high 7 (elem 165, sub 5)
  b[16 + 127] = 0xF1;         // chunk 3, l=31: low 1 (elem 223, sub 6), high 15 (elem 255, sub 7)
  auto y = decode(io::GGMLType::Q4_K, b);
  EXPECT_EQ(y[0], 12.5f);     // 1*1*15 - 0.5*5
  EXPECT_EQ(y[1], -2.5f);     //        0 - 0.5*5
  EXPECT_EQ(y[32], 15.0f);    // 2*9 - 0.5*6
  EXPECT_EQ(y[64], -3.5f);    // sub 2: 0 - 0.5*7
  EXPECT_EQ(y[100], -4.0f);   // sub 3: 0 - 0.5*8
  EXPECT_EQ(y[133], 153.0f);  // 17*10 - 0.5*34
  EXPECT_EQ(y[165], 19.0f);   // 3*7 - 0.5*4
  EXPECT_EQ(y[223], 0.0f);    // sc 0, m 0
  EXPECT_EQ(y[240], -7.5f);   // sub 7: 0 - 0.5*15
  EXPECT_EQ(y[255], 217.5f);  // 15*15 - 0.5*15
}

TEST(GgufDequant, Q5_KBlockFifthBitPerChunk) {
  std::vector<std::uint8_t> b(176, 0);
  put16(b, 0, 0x3C00);
  put16(b, 2, 0x3800);
  std::memcpy(b.data() + 4, kScalesK, 12);
  b[16 + 0] = 0x03;           // qh[0]: bit 0 -> elem 0, bit 1 -> elem 32
  b[16 + 5] = 0x10;           // qh[5]: bit 4 -> chunk 2 low -> elem 133
  b[16 + 31] = 0x80;          // qh[31]: bit 7 -> chunk 3 high -> elem 255
  b[48 + 0] = 0x9F;
  b[48 + 127] = 0xF1;
  auto y = decode(io::GGMLType::Q5_K, b);
  EXPECT_EQ(y[0], 28.5f);     // 1*(15+16) - 2.5
  EXPECT_EQ(y[32], 47.0f);    // 2*(9+16) - 3
  EXPECT_EQ(y[1], -2.5f);
  EXPECT_EQ(y[37], -3.0f);    // qh[5] bit 1 clear: 2*0 - 3
  EXPECT_EQ(y[133], 255.0f);  // 17*(0+16) - 17
  EXPECT_EQ(y[223], 0.0f);
  EXPECT_EQ(y[255], 457.5f);  // 15*(15+16) - 7.5
}

TEST(GgufDequant, Q6_KBlockScaleLastAndTwoHalves) {
  std::vector<std::uint8_t> b(210, 0);
  for (int i = 0; i < 8; ++i) {
    b[192 + i] = static_cast<std::uint8_t>(i + 1);                               // sc[0..7] = 1..8
    b[192 + 8 + i] = static_cast<std::uint8_t>(static_cast<std::int8_t>(-(i + 1)));  // sc[8..15] = -1..-8
  }
  put16(b, 208, 0x3800);  // d = 0.5, stored LAST
  b[0] = 0x5A;            // ql[0]: low 10, high 5
  b[128 + 0] = 0xE4;      // qh[0] = 11 10 01 00b: 2-bit groups 0,1,2,3
  b[32 + 17] = 0xF3;      // ql[49]: l = 17 in the ql[l+32] role: low 3, high 15
  b[64 + 31] = 0x0F;      // second half ql[31]: low 15
  b[128 + 63] = 0x03;     // second half qh[31]: bits 0-1 = 3
  auto y = decode(io::GGMLType::Q6_K, b);
  EXPECT_EQ(y[0], -11.0f);   // 0.5*sc0(1)*((10|0<<4)-32)
  EXPECT_EQ(y[32], -24.0f);  // 0.5*sc2(3)*((0|1<<4)-32)
  EXPECT_EQ(y[64], 12.5f);   // 0.5*sc4(5)*((5|2<<4)-32)
  EXPECT_EQ(y[96], 56.0f);   // 0.5*sc6(7)*((0|3<<4)-32)
  EXPECT_EQ(y[1], -16.0f);   // 0.5*1*(0-32)
  EXPECT_EQ(y[49], -58.0f);  // l=17, is=1: 0.5*sc3(4)*(3-32)
  EXPECT_EQ(y[113], -68.0f); // l=17: 0.5*sc7(8)*(15-32)
  EXPECT_EQ(y[159], -31.0f); // half 2, l=31, is=1: 0.5*sc9(-2)*((15|3<<4)-32)
  EXPECT_EQ(y[223], 96.0f);  // half 2, l=31: 0.5*sc13(-6)*(0-32)
  EXPECT_EQ(y[255], 128.0f); // half 2, l=31: 0.5*sc15(-8)*(0-32)
}

TEST(GgufDequant, WrongSizesAndUnsupportedTypesAreTypedErrors) {
  std::vector<std::uint8_t> b(18, 0);
  std::vector<float> y(64);
  try {
    io::gguf_dequantize(io::GGMLType::Q4_0, std::as_bytes(std::span(b)), y, "w");
    FAIL();
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.code(), cb::Errc::shape);
    EXPECT_EQ(e.field(), "w");
  }
  std::vector<std::uint8_t> q2(84, 0);
  std::vector<float> y256(256);
  try {
    io::gguf_dequantize(io::GGMLType::Q2_K, std::as_bytes(std::span(q2)), y256, "w");
    FAIL();
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.code(), cb::Errc::unsupported);
  }
}

// Real files: every quantized tensor decodes close to its F32 original, within what the format allows
// per block: Q8_0 rounds to the nearest step (|err| <= d/2), Q4_0 (d = max/-8, q clamped to 15) can lose
// up to one step d at the positive end. The fp16 rounding of d adds at most |q|*d*2^-11.
TEST(GgufDequant, StoriesQuantizedFilesMatchF32WithinBlockScale) {
  io::GGUFFile f32(kDir + "stories260K.gguf");
  for (auto [file, type, step_fraction] : {std::tuple{"derived/stories260K-Q8_0.gguf", io::GGMLType::Q8_0, 0.5},
                                           std::tuple{"derived/stories260K-Q4_0.gguf", io::GGMLType::Q4_0, 1.0}}) {
    io::GGUFFile q(kDir + file);
    int checked = 0;
    double worst = 0, worst_rel = 0;
    for (const auto& t : q.tensors()) {
      if (t.type != type) continue;
      const auto& ref_info = f32.tensor(t.name);
      ASSERT_EQ(ref_info.ne, t.ne) << t.name;
      auto deq = io::gguf_dequantize(q, t);
      auto ref = io::gguf_dequantize(f32, ref_info);
      const auto raw = q.bytes(t);
      const auto& info = io::ggml_type_info(type);
      const int qmax = type == io::GGMLType::Q8_0 ? 128 : 8;
      for (std::size_t blk = 0; blk < deq.size() / 32; ++blk) {
        std::uint16_t dbits;
        std::memcpy(&dbits, raw.data() + blk * info.block_bytes, 2);
        const double d = std::fabs(io::f16_to_f32(dbits));
        const double bound = step_fraction * d + qmax * d * std::ldexp(1.0, -11) + 1e-7;
        for (std::size_t i = blk * 32; i < blk * 32 + 32; ++i) {
          const double err = std::fabs(static_cast<double>(deq[i]) - ref[i]);
          ASSERT_LE(err, bound) << t.name << " element " << i;
          worst = std::max(worst, err);
          if (d > 0) worst_rel = std::max(worst_rel, err / d);
        }
      }
      ++checked;
    }
    // 48 tensors minus 16 F32 (norms, ffn_down): 32 are Q8_0; in the Q4_0 file output.weight stays Q8_0.
    EXPECT_EQ(checked, type == io::GGMLType::Q8_0 ? 32 : 31) << file;
    RecordProperty(std::string(file) + ".max_abs_err", std::to_string(worst));
    std::cout << file << ": " << checked << " tensors, max |err| " << worst << ", max |err|/d " << worst_rel << "\n";
  }
}

// Found by fuzz_gguf (UBSan, 11 495 executions): a 0-element F32 tensor reached memcpy with null spans, which
// is undefined even for 0 bytes. Every type now decodes 0 elements to nothing (the CI's UBSan run checks it).
TEST(GgufDequant, ZeroElementsFromNullSpans) {
  for (auto t : {io::GGMLType::F32, io::GGMLType::F16, io::GGMLType::Q8_0, io::GGMLType::Q4_K}) {
    EXPECT_NO_THROW(io::gguf_dequantize(t, std::span<const std::byte>(), std::span<float>()));
  }
}
