// Hostile safetensors files: every claim in the header is checked against the file size and the other
// claims BEFORE anything sized by it is allocated or read; each refusal is a typed Error naming the field.
#include "curebench/io/safetensors.hpp"
#include "io/hostile_file.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

namespace cb = curebench;
using cb::hostile::error_of;
using cb::hostile::le64;

std::string st_file(const std::string& header, std::size_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\0');
}

cb::Error open_error(const std::string& name, const std::string& bytes) {
  auto path = cb::hostile::write_file(name, bytes);
  return error_of([&] { cb::io::SafetensorsFile f(path); });
}

TEST(SafetensorsHostile, HeaderLengthOf2To60IsRefusedBeforeAllocation) {
  auto e = open_error("h60.safetensors", le64(1ull << 60) + "{}");
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_EQ(e.field(), "header length");
  EXPECT_NE(e.message().find("limit"), std::string::npos) << e.what();
}

TEST(SafetensorsHostile, HeaderLengthPastEndOfFile) {
  auto e = open_error("past.safetensors", le64(1000) + "{}");
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_NE(e.message().find("truncated"), std::string::npos) << e.what();
}

TEST(SafetensorsHostile, TensorRangePastTheFile) {
  auto e = open_error("range.safetensors",
                      st_file(R"({"w":{"dtype":"F32","shape":[1073741824],"data_offsets":[0,4294967296]}})", 16));
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_EQ(e.field(), "w.data_offsets");
}

TEST(SafetensorsHostile, ShapeTimesDtypeMustEqualTheRange) {
  auto e = open_error("mismatch.safetensors", st_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_EQ(e.field(), "w.data_offsets");
}

TEST(SafetensorsHostile, ElementCountOverflowIsRefused) {
  auto e = open_error("overflow.safetensors",
                      st_file(R"({"w":{"dtype":"U8","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}})", 0));
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_EQ(e.field(), "w.shape");
  // dtype size x element count overflows even when the element count does not.
  e = open_error("bytes_overflow.safetensors",
                 st_file(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0));
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_EQ(e.field(), "w.shape");
}

TEST(SafetensorsHostile, NegativeOrFractionalDimensionsAreRefused) {
  for (std::string dim : {"-1", "1.5", "\"2\"", "null"}) {
    auto e = open_error("neg.safetensors", st_file(R"({"w":{"dtype":"U8","shape":[)" + dim + R"(],"data_offsets":[0,0]}})", 0));
    EXPECT_EQ(e.code(), cb::Errc::format) << dim;
    EXPECT_EQ(e.field(), "w.shape") << dim;
  }
}

TEST(SafetensorsHostile, TooManyDimensions) {
  std::string shape = "[1";
  for (int i = 0; i < 16; ++i) shape += ",1";
  auto e = open_error("dims.safetensors", st_file(R"({"w":{"dtype":"U8","shape":)" + shape + R"(],"data_offsets":[0,1]}})", 1));
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_NE(e.message().find("16"), std::string::npos);
}

TEST(SafetensorsHostile, OverlapsHolesAndReversedRanges) {
  auto overlap = R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})";
  EXPECT_NE(open_error("overlap.safetensors", st_file(overlap, 6)).message().find("overlaps"), std::string::npos);
  auto hole = R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[5,9]}})";
  EXPECT_NE(open_error("hole.safetensors", st_file(hole, 9)).message().find("hole"), std::string::npos);
  auto reversed = R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})";
  EXPECT_EQ(open_error("reversed.safetensors", st_file(reversed, 4)).field(), "a.data_offsets");
  auto tail = R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})";  // 4 bytes unaccounted for
  EXPECT_EQ(open_error("tail.safetensors", st_file(tail, 8)).field(), "data_offsets");
}

TEST(SafetensorsHostile, UnknownDtypeAndWrongFieldTypes) {
  EXPECT_EQ(open_error("dt.safetensors", st_file(R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1)).field(), "w.dtype");
  EXPECT_EQ(open_error("md.safetensors", st_file(R"({"__metadata__":{"k":1}})", 0)).field(), "__metadata__.k");
  EXPECT_EQ(open_error("ent.safetensors", st_file(R"({"w":[1,2]})", 0)).field(), "w");
  EXPECT_EQ(open_error("arr.safetensors", st_file(R"([1,2])", 0)).field(), "header");
}

TEST(SafetensorsHostile, JsonNestingIsBoundedInTheHeader) {
  std::string deep = R"({"__metadata__":)" + std::string(100, '[') + std::string(100, ']') + "}";
  auto e = open_error("deep.safetensors", st_file(deep, 0));
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_NE(e.message().find("nesting"), std::string::npos) << e.what();
}

TEST(SafetensorsHostile, TruncatedAndEmptyFiles) {
  EXPECT_EQ(open_error("empty.safetensors", "").field(), "header length");
  EXPECT_EQ(open_error("seven.safetensors", std::string(7, '\0')).field(), "header length");
  EXPECT_EQ(open_error("nobrace.safetensors", le64(2) + "[]").field(), "header");
}

// A zero dimension makes the byte size 0 however large the other dimensions are; numel() must still be a
// defined 0, not a signed overflow of the non-zero dimensions (2^62 * 2 before the 0).
TEST(SafetensorsHostile, ZeroDimensionWithHugeOthersHasNumelZero) {
  auto path = cb::hostile::write_file(
      "zero.safetensors", st_file(R"({"w":{"dtype":"BF16","shape":[4611686018427387904,2,0],"data_offsets":[0,0]}})", 0));
  cb::io::SafetensorsFile f(path);
  ASSERT_EQ(f.tensors().size(), 1u);
  EXPECT_EQ(f.tensors()[0].numel(), 0);
  EXPECT_EQ(f.tensors()[0].nbytes(), 0u);
}

}  // namespace
