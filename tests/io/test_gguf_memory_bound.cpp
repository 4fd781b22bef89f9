// GGUF metadata arrays cost ~48 bytes per element in memory however small the element is on disk. The
// reader caps the elements of all arrays of a file together (GGUFFile::kMaxMetadataElements), checked
// from the counts before anything is reserved, so a small file cannot ask for gigabytes.
#include "curebench/io/gguf.hpp"
#include "io/hostile_file.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

namespace cb = curebench;
using cb::io::GGUFFile;
using cb::hostile::error_of;
using cb::hostile::le32;
using cb::hostile::le64;

constexpr std::uint32_t kU8 = 0, kArray = 9;

std::string str(const std::string& s) { return le64(s.size()) + s; }
std::string header(std::uint64_t n_kv) { return "GGUF" + le32(3) + le64(0) + le64(n_kv); }
std::string u8_array(const std::string& key, std::uint64_t n) {
  return str(key) + le32(kArray) + le32(kU8) + le64(n) + std::string(static_cast<std::size_t>(n), '\x01');
}

TEST(GgufMemoryBound, TheCapKeepsMaterialisedMetadataUnder256MiB) {
  // The claim in the header comment and docs/robustness.md: the cap times the per-element cost.
  EXPECT_LE(GGUFFile::kMaxMetadataElements * sizeof(cb::io::GGUFValue), std::uint64_t{256} << 20)
      << "sizeof(GGUFValue) = " << sizeof(cb::io::GGUFValue);
  // And the cap stays above real tokenizer metadata: 3 arrays of Gemma-3's 262 144 entries.
  EXPECT_GE(GGUFFile::kMaxMetadataElements, 3u * 262144u);
}

TEST(GgufMemoryBound, OneArrayOverTheCapIsRefusedFromItsCount) {
  const std::uint64_t n = GGUFFile::kMaxMetadataElements + 1;  // a 4 MiB file that would need ~200 MiB
  auto path = cb::hostile::write_file("cap_one.gguf", header(1) + u8_array("big", n));
  auto e = error_of([&] { GGUFFile f(path); });
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_EQ(e.field(), "big");
  EXPECT_NE(e.message().find(std::to_string(n) + " elements"), std::string::npos) << e.what();
  EXPECT_NE(e.message().find("at byte 43"), std::string::npos) << "names the count's offset: " << e.what();
}

TEST(GgufMemoryBound, TheCapIsOnAllArraysTogether) {
  const std::uint64_t half = GGUFFile::kMaxMetadataElements / 2 + 1;
  auto path = cb::hostile::write_file("cap_two.gguf", header(2) + u8_array("first", half) + u8_array("second", half));
  auto e = error_of([&] { GGUFFile f(path); });
  EXPECT_EQ(e.field(), "second") << e.what();
}

TEST(GgufMemoryBound, NestedArraysCountEveryElement) {
  // 2^11 inner arrays of 2^11 bytes: 2^22 + 2^11 elements in all, over the cap on the last inner array.
  const std::uint64_t outer = 2048, inner = 2048;
  std::string body = str("nested") + le32(kArray) + le32(kArray) + le64(outer);
  for (std::uint64_t i = 0; i < outer; ++i) body += le32(kU8) + le64(inner) + std::string(inner, '\x02');
  auto path = cb::hostile::write_file("cap_nested.gguf", header(1) + body);
  auto e = error_of([&] { GGUFFile f(path); });
  EXPECT_EQ(e.field(), "nested") << e.what();
}

TEST(GgufMemoryBound, LargeRealSizedArraysStillLoad) {
  const std::uint64_t n = std::uint64_t{1} << 20;
  auto path = cb::hostile::write_file("cap_ok.gguf", header(2) + u8_array("a", n) + u8_array("b", n));
  GGUFFile f(path);
  EXPECT_EQ(f.at("a").array().items.size(), n);
  EXPECT_EQ(f.get_ints("b").size(), n);
  EXPECT_EQ(f.get_ints("b").back(), 1);
}

}  // namespace
