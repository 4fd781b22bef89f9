// Hostile GGUF files: every count and length is checked against the bytes left in the file before anything
// is allocated; tensor shapes, types, offsets and the alignment are checked against each other and the file.
#include "curebench/io/gguf.hpp"
#include "io/hostile_file.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

namespace cb = curebench;
using cb::hostile::error_of;
using cb::hostile::le32;
using cb::hostile::le64;

std::string str(const std::string& s) { return le64(s.size()) + s; }
std::string header(std::uint64_t n_tensors, std::uint64_t n_kv, std::uint32_t version = 3) {
  return "GGUF" + le32(version) + le64(n_tensors) + le64(n_kv);
}
std::string kv(const std::string& key, std::uint32_t type, const std::string& value) { return str(key) + le32(type) + value; }
std::string tensor(const std::string& name, std::initializer_list<std::uint64_t> ne, std::uint32_t type, std::uint64_t offset) {
  std::string s = str(name) + le32(static_cast<std::uint32_t>(ne.size()));
  for (auto d : ne) s += le64(d);
  return s + le32(type) + le64(offset);
}
// Pads the header to the 32-byte alignment and appends `data_bytes` of data.
std::string with_data(std::string head, std::size_t data_bytes) {
  head.resize((head.size() + 31) / 32 * 32, '\0');
  return head + std::string(data_bytes, '\0');
}

cb::Error open_error(const std::string& name, const std::string& bytes) {
  auto path = cb::hostile::write_file(name, bytes);
  return error_of([&] { cb::io::GGUFFile f(path); });
}

TEST(GgufHostile, CountsOf2To60AreRefusedBeforeAllocation) {
  auto e = open_error("nkv.gguf", header(0, 1ull << 60) + std::string(64, '\0'));
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_EQ(e.field(), "n_kv");
  e = open_error("nt.gguf", header(1ull << 60, 0) + std::string(64, '\0'));
  EXPECT_EQ(e.field(), "n_tensors");
}

TEST(GgufHostile, StringAndArrayLengthsBeyondTheFile) {
  auto e = open_error("keylen.gguf", header(0, 1) + le64(1ull << 60) + std::string(16, 'a'));
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_NE(e.message().find("exceeds"), std::string::npos) << e.what();
  e = open_error("strval.gguf", header(0, 1) + kv("k", 8, le64(1ull << 62) + "x"));
  EXPECT_EQ(e.field(), "k");
  // 2^60 u32 elements: refused from the count, not after reserve(2^60).
  e = open_error("arr.gguf", header(0, 1) + kv("k", 9, le32(4) + le64(1ull << 60)) + std::string(16, '\0'));
  EXPECT_EQ(e.field(), "k");
  EXPECT_NE(e.message().find("remain"), std::string::npos) << e.what();
  // An array of strings needs >= 8 bytes per element even when every string is empty.
  e = open_error("arrstr.gguf", header(0, 1) + kv("k", 9, le32(8) + le64(4)) + std::string(31, '\0'));
  EXPECT_EQ(e.field(), "k");
}

TEST(GgufHostile, ArrayNestingIsBounded) {
  std::string v;
  for (int i = 0; i < 20; ++i) v += le32(9) + le64(1);  // array of array of ... (20 deep)
  v += le32(0) + le64(0);
  auto e = open_error("nest.gguf", header(0, 1) + kv("deep", 9, v));
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_NE(e.message().find("nested"), std::string::npos) << e.what();
}

TEST(GgufHostile, UnknownTypesAndBadValues) {
  EXPECT_NE(open_error("type.gguf", header(0, 1) + kv("k", 13, le32(0))).message().find("unknown value type"), std::string::npos);
  EXPECT_NE(open_error("etype.gguf", header(0, 1) + kv("k", 9, le32(99) + le64(0))).message().find("unknown array element type"),
            std::string::npos);
  EXPECT_NE(open_error("bool.gguf", header(0, 1) + kv("k", 7, "\x02")).message().find("bool"), std::string::npos);
  EXPECT_NE(open_error("dup.gguf", header(0, 2) + kv("k", 0, "\x01") + kv("k", 0, "\x02")).message().find("duplicate"),
            std::string::npos);
  EXPECT_EQ(open_error("v1.gguf", header(0, 0, 1)).code(), cb::Errc::unsupported);
  EXPECT_EQ(open_error("be.gguf", header(0, 0, 0x03000000u)).code(), cb::Errc::unsupported);
  EXPECT_EQ(open_error("magic.gguf", "GGML" + std::string(20, '\0')).field(), "magic");
  EXPECT_EQ(open_error("short.gguf", "GGUF").field(), "header");
}

TEST(GgufHostile, AlignmentMustBeANonZeroPowerOfTwoU32) {
  EXPECT_EQ(open_error("al0.gguf", header(0, 1) + kv("general.alignment", 4, le32(0))).field(), "general.alignment");
  EXPECT_EQ(open_error("al3.gguf", header(0, 1) + kv("general.alignment", 4, le32(48))).field(), "general.alignment");
  EXPECT_EQ(open_error("al64.gguf", header(0, 1) + kv("general.alignment", 10, le64(64))).code(), cb::Errc::config);
}

TEST(GgufHostile, TensorTableIsCheckedAgainstTheFile) {
  // n_dims 0 and 5, element-count overflow, unknown ggml type, ne[0] not whole blocks.
  EXPECT_NE(open_error("nd0.gguf", with_data(header(1, 0) + str("t") + le32(0) + le32(0) + le64(0), 0)).message().find("n_dims"),
            std::string::npos);
  EXPECT_NE(open_error("nd5.gguf", with_data(header(1, 0) + tensor("t", {1, 1, 1, 1, 1}, 0, 0), 4)).message().find("n_dims"),
            std::string::npos);
  EXPECT_NE(open_error("ovf.gguf", with_data(header(1, 0) + tensor("t", {1ull << 32, 1ull << 32, 1ull << 32}, 0, 0), 0))
                .message().find("overflows"), std::string::npos);
  EXPECT_EQ(open_error("ggml.gguf", with_data(header(1, 0) + tensor("t", {4}, 99, 0), 16)).code(), cb::Errc::unsupported);
  EXPECT_NE(open_error("block.gguf", with_data(header(1, 0) + tensor("t", {33}, 8, 0), 64)).message().find("block"),
            std::string::npos);
  // Data past the end, overlaps, misaligned offsets.
  EXPECT_NE(open_error("past.gguf", with_data(header(1, 0) + tensor("t", {1ull << 40}, 0, 0), 64)).message().find("past"),
            std::string::npos);
  EXPECT_NE(open_error("overlap.gguf", with_data(header(2, 0) + tensor("a", {16}, 0, 0) + tensor("b", {16}, 0, 32), 128))
                .message().find("overlaps"), std::string::npos);
  EXPECT_NE(open_error("misal.gguf", with_data(header(1, 0) + tensor("t", {4}, 0, 8), 64)).message().find("alignment"),
            std::string::npos);
  EXPECT_NE(open_error("dupt.gguf", with_data(header(2, 0) + tensor("a", {8}, 0, 0) + tensor("a", {8}, 0, 32), 64))
                .message().find("duplicate"), std::string::npos);
  // A tensor table that ends exactly at the end of the file (no room for the data).
  EXPECT_EQ(open_error("nodata.gguf", header(1, 0) + tensor("t", {8}, 0, 0)).code(), cb::Errc::format);
}

TEST(GgufHostile, TypedGettersRefuseWrongTypesAndNarrowing) {
  auto path = cb::hostile::write_file("getters.gguf", header(0, 3) + kv("big", 10, le64(1ull << 40)) + kv("neg", 5, le32(0xFFFFFFFFu)) +
                                                          kv("s", 8, str("x")));
  cb::io::GGUFFile f(path);
  EXPECT_EQ(error_of([&] { (void)f.get<std::uint32_t>("big"); }).code(), cb::Errc::config);
  EXPECT_EQ(error_of([&] { (void)f.get<std::uint64_t>("neg"); }).code(), cb::Errc::config);
  EXPECT_EQ(error_of([&] { (void)f.get<float>("s"); }).code(), cb::Errc::config);
  EXPECT_EQ(error_of([&] { (void)f.get_strings("s"); }).code(), cb::Errc::config);
  EXPECT_EQ(error_of([&] { (void)f.get<std::string>("missing"); }).code(), cb::Errc::not_found);
  EXPECT_EQ(f.get<std::int64_t>("neg"), -1);
}

}  // namespace
