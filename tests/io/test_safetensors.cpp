// io/safetensors*: the real stories260K checkpoint, round trips through the writer, and every kind of
// corruption the reader must refuse with a typed error naming the file and the field.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "curebench/io/safetensors.hpp"
#include "curebench/io/safetensors_index.hpp"
#include "curebench/io/safetensors_writer.hpp"

namespace cb = curebench;
namespace fs = std::filesystem;

namespace {

const std::string kStories = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/hf/model.safetensors";

fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("curebench_safetensors_test." + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(std::uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return s;
}

// A file with the given header text and `data_bytes` zero bytes of data.
std::string raw_file(const std::string& header, std::size_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\0');
}

cb::Error expect_refused(const std::string& bytes, const std::string& name) {
  auto p = scratch(name);
  write_bytes(p, bytes);
  try {
    cb::io::SafetensorsFile f(p.string());
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.path(), p.string());
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return e;
  }
  ADD_FAILURE() << name << " was accepted";
  return cb::Error(cb::Errc::internal, "", "", "");
}

}  // namespace

TEST(Safetensors, ReadsRealStoriesCheckpoint) {
  cb::io::SafetensorsFile f(kStories);
  // 5 layers x 9 tensors + embed_tokens + final norm (tied classifier, no lm_head).
  EXPECT_EQ(f.tensors().size(), 47u);
  const auto& emb = f.at("model.embed_tokens.weight");
  EXPECT_EQ(emb.dtype, cb::DType::F32);
  EXPECT_EQ(emb.shape, (std::vector<std::int64_t>{512, 64}));
  std::int64_t params = 0;
  for (auto& t : f.tensors()) params += t.numel();
  EXPECT_EQ(params, 260032);  // stated in the model's README
  EXPECT_EQ(f.at("model.layers.0.self_attn.k_proj.weight").shape, (std::vector<std::int64_t>{32, 64}));
  EXPECT_THROW(f.at("lm_head.weight"), cb::Error);
}

TEST(Safetensors, WriterRoundTripKeepsBytes) {
  cb::io::SafetensorsWriter w;
  std::vector<float> a{1.5f, -2.f, 3.25f, 0.f, 7.f, 8.f};
  std::vector<std::int8_t> b{-1, 2, -3};
  w.add("a", cb::DType::F32, {2, 3}, a);
  w.add("b", cb::DType::I8, {3}, b);
  w.set_metadata("format", "pt");
  auto p = scratch("roundtrip.safetensors");
  w.write(p.string());
  cb::io::SafetensorsFile f(p.string());
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  auto bytes = f.bytes(f.at("a"));
  ASSERT_EQ(bytes.size(), 24u);
  EXPECT_EQ(std::memcmp(bytes.data(), a.data(), 24), 0);
  EXPECT_EQ(static_cast<std::int8_t>(f.bytes(f.at("b"))[2]), -3);
}

TEST(SafetensorsCorrupt, TooShortForHeaderLength) {
  auto e = expect_refused("abc", "short.safetensors");
  EXPECT_EQ(e.field(), "header length");
}

TEST(SafetensorsCorrupt, HeaderLengthPastEndOfFile) {
  auto e = expect_refused(le64(1000) + "{}", "hdrlen.safetensors");
  EXPECT_EQ(e.field(), "header length");
}

TEST(SafetensorsCorrupt, HugeHeaderLengthRefusedBeforeAllocation) {
  auto e = expect_refused(le64(1ull << 60) + "{}", "huge.safetensors");
  EXPECT_EQ(e.field(), "header length");
}

TEST(SafetensorsCorrupt, InvalidJson) {
  auto e = expect_refused(raw_file(R"({"a": {"dtype": "F32",)", 0), "badjson.safetensors");
  EXPECT_EQ(e.code(), cb::Errc::format);
}

TEST(SafetensorsCorrupt, OffsetsOutOfRange) {
  auto e = expect_refused(raw_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8), "range.safetensors");
  EXPECT_EQ(e.field(), "w.data_offsets");
}

TEST(SafetensorsCorrupt, ByteSizeDisagreesWithDtypeTimesShape) {
  auto e = expect_refused(raw_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16), "size.safetensors");
  EXPECT_EQ(e.field(), "w.data_offsets");
}

TEST(SafetensorsCorrupt, UnknownDtype) {
  auto e = expect_refused(raw_file(R"({"w":{"dtype":"Q4","shape":[4],"data_offsets":[0,2]}})", 2), "dtype.safetensors");
  EXPECT_EQ(e.field(), "w.dtype");
}

TEST(SafetensorsCorrupt, OverlappingTensors) {
  auto e = expect_refused(raw_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                   R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})", 6), "overlap.safetensors");
  EXPECT_NE(std::string(e.what()).find("overlaps"), std::string::npos);
}

TEST(SafetensorsCorrupt, TruncatedRealFile) {
  std::ifstream in(kStories, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  auto e = expect_refused(all.substr(0, all.size() - 100), "truncated.safetensors");
  EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos);
}

TEST(SafetensorsCorrupt, NegativeOrFractionalShape) {
  expect_refused(raw_file(R"({"w":{"dtype":"U8","shape":[-4],"data_offsets":[0,4]}})", 4), "neg.safetensors");
  expect_refused(raw_file(R"({"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,4]}})", 4), "frac.safetensors");
}

TEST(SafetensorsSet, ShardedIndexResolvesEveryTensor) {
  auto dir = scratch("sharded");
  fs::create_directories(dir);
  std::vector<float> x{1, 2}, y{3, 4, 5};
  cb::io::SafetensorsWriter s1, s2;
  s1.add("x", cb::DType::F32, {2}, x);
  s2.add("y", cb::DType::F32, {3}, y);
  s1.write((dir / "model-00001-of-00002.safetensors").string());
  s2.write((dir / "model-00002-of-00002.safetensors").string());
  write_bytes(dir / "model.safetensors.index.json",
              R"({"metadata":{"total_size":20},"weight_map":{"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}})");
  cb::io::SafetensorsSet set(dir);
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(set.at("y").info->shape, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(set.shards().size(), 2u);
}

TEST(SafetensorsSet, IndexPointingAtMissingShard) {
  auto dir = scratch("missing_shard");
  fs::create_directories(dir);
  write_bytes(dir / "model.safetensors.index.json", R"({"weight_map":{"x":"model-00009-of-00009.safetensors"}})");
  try {
    cb::io::SafetensorsSet set(dir);
    FAIL();
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.code(), cb::Errc::not_found);
    EXPECT_NE(std::string(e.what()).find("model-00009-of-00009.safetensors"), std::string::npos);
  }
}

TEST(SafetensorsSet, IndexNamesTensorAbsentFromShard) {
  auto dir = scratch("absent_tensor");
  fs::create_directories(dir);
  std::vector<float> x{1, 2};
  cb::io::SafetensorsWriter s1;
  s1.add("x", cb::DType::F32, {2}, x);
  s1.write((dir / "a.safetensors").string());
  write_bytes(dir / "model.safetensors.index.json", R"({"weight_map":{"x":"a.safetensors","ghost":"a.safetensors"}})");
  EXPECT_THROW(cb::io::SafetensorsSet set(dir), cb::Error);
}
