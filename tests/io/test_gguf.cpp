// io/gguf: the real stories260K GGUF files (facts from their README and from llama2.c's tok512.bin / the
// HF safetensors of the same weights), and hand-built files that each break one rule of the format.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "curebench/io/gguf.hpp"
#include "curebench/io/gguf_json.hpp"
#include "curebench/io/safetensors.hpp"

namespace cb = curebench;
namespace io = curebench::io;
namespace fs = std::filesystem;

namespace {

const std::string kDir = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/";
const std::string kF32 = kDir + "stories260K.gguf";
const std::string kQ8 = kDir + "derived/stories260K-Q8_0.gguf";
const std::string kQ4 = kDir + "derived/stories260K-Q4_0.gguf";

fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("curebench_gguf_test." + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

// Little-endian byte builder for hand-made GGUF files.
struct Bytes {
  std::string s;
  template <class T>
  Bytes& put(T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& x) {
    put<std::uint64_t>(x.size());
    s += x;
    return *this;
  }
  Bytes& header(std::uint64_t n_tensors, std::uint64_t n_kv, std::uint32_t version = 3) {
    s += "GGUF";
    return put<std::uint32_t>(version).put<std::uint64_t>(n_tensors).put<std::uint64_t>(n_kv);
  }
  Bytes& pad(std::size_t align) {
    while (s.size() % align) s.push_back('\0');
    return *this;
  }
  std::string write(const std::string& name) const {
    auto p = scratch(name);
    std::ofstream(p, std::ios::binary).write(s.data(), static_cast<std::streamsize>(s.size()));
    return p.string();
  }
};

// A valid file: 3 keys (one nested array), one F32 tensor ne={4,2} holding 0..7.
Bytes small_file() {
  Bytes b;
  b.header(1, 3);
  b.str("general.architecture").put<std::uint32_t>(8).str("llama");
  b.str("test.nested").put<std::uint32_t>(9).put<std::uint32_t>(9).put<std::uint64_t>(2);
  b.put<std::uint32_t>(5).put<std::uint64_t>(2).put<std::int32_t>(-1).put<std::int32_t>(7);  // [-1, 7]
  b.put<std::uint32_t>(5).put<std::uint64_t>(1).put<std::int32_t>(42);                         // [42]
  b.str("test.flag").put<std::uint32_t>(7).put<std::uint8_t>(1);
  b.str("w").put<std::uint32_t>(2).put<std::uint64_t>(4).put<std::uint64_t>(2).put<std::uint32_t>(0).put<std::uint64_t>(0);
  b.pad(32);
  for (int i = 0; i < 8; ++i) b.put<float>(static_cast<float>(i));
  return b;
}

template <class F>
cb::Error expect_error(F&& f) {
  try {
    f();
  } catch (const cb::Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected curebench::Error";
  return cb::Error(cb::Errc::internal, "", "", "");
}

}  // namespace

TEST(GgufReal, F32HeaderKeysAndTensors) {
  io::GGUFFile f(kF32);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.metadata().size(), 19u);
  EXPECT_EQ(f.tensors().size(), 48u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.get<std::string>("general.architecture"), "llama");
  EXPECT_EQ(f.get<std::int64_t>("llama.embedding_length"), 64);
  EXPECT_EQ(f.get<int>("llama.feed_forward_length"), 172);
  EXPECT_EQ(f.get<int>("llama.attention.head_count"), 8);
  EXPECT_EQ(f.get<int>("llama.attention.head_count_kv"), 4);
  EXPECT_EQ(f.get<int>("llama.block_count"), 5);
  EXPECT_EQ(f.get<int>("llama.context_length"), 2048);
  EXPECT_FLOAT_EQ(f.get<float>("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
  EXPECT_FALSE(f.contains("llama.rope.freq_base"));
  EXPECT_DOUBLE_EQ(f.get_or<double>("llama.rope.freq_base", 10000.0), 10000.0);
  EXPECT_EQ(f.get<std::uint32_t>("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(f.at("tokenizer.ggml.tokens").type_name(), "array[string]");
  // Tensor table: 2-D weights have ne = {in, out}; shape() is torch order [out, in].
  const auto& q = f.tensor("blk.0.attn_k.weight");
  EXPECT_EQ(q.ne, (std::vector<std::uint64_t>{64, 32}));
  EXPECT_EQ(q.shape(), (std::vector<std::int64_t>{32, 64}));
  EXPECT_EQ(q.type, io::GGMLType::F32);
  EXPECT_EQ(q.nbytes, 64u * 32u * 4u);
  std::uint64_t elements = 0;
  for (auto& t : f.tensors()) elements += t.numel();
  // 260,032 parameters plus the untied copy of the 512x64 embedding as output.weight.
  EXPECT_EQ(elements, 260032u + 512u * 64u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
}

TEST(GgufReal, TokenizerArraysEqualLlama2cTok512) {
  io::GGUFFile f(kF32);
  auto tokens = f.get_strings("tokenizer.ggml.tokens");
  auto scores = f.get_floats("tokenizer.ggml.scores");
  auto types = f.get_ints("tokenizer.ggml.token_type");
  ASSERT_EQ(tokens.size(), 512u);
  ASSERT_EQ(scores.size(), 512u);
  ASSERT_EQ(types.size(), 512u);
  EXPECT_EQ(types[0], 2);  // unknown
  EXPECT_EQ(types[1], 3);  // control
  EXPECT_EQ(types[3], 6);  // byte
  // tok512.bin: i32 max_len, then per token f32 score, i32 len, bytes ("▁" written as a space).
  std::ifstream in(kDir + "tok512.bin", std::ios::binary);
  std::int32_t max_len = 0;
  in.read(reinterpret_cast<char*>(&max_len), 4);
  for (int i = 0; i < 512; ++i) {
    float score;
    std::int32_t len;
    in.read(reinterpret_cast<char*>(&score), 4).read(reinterpret_cast<char*>(&len), 4);
    std::string piece(static_cast<std::size_t>(len), '\0');
    in.read(piece.data(), len);
    std::string gguf = tokens[i];
    for (std::size_t p = 0; (p = gguf.find("\xE2\x96\x81", p)) != std::string::npos;) gguf.replace(p, 3, " ");
    // llama2.c's export writes BOS/EOS as "\n<s>\n" / "\n</s>\n" (tokenizer.py), so compare those stripped.
    if (i == 1 || i == 2) piece = piece.substr(1, piece.size() - 2);
    ASSERT_EQ(gguf, piece) << "token " << i;
    ASSERT_EQ(scores[i], score) << "token " << i;
  }
  EXPECT_EQ(tokens[403], "\xE2\x96\x81Once");
}

TEST(GgufReal, F32TensorBytesEqualTheSafetensorsCheckpoint) {
  io::GGUFFile g(kF32);
  io::SafetensorsFile s(kDir + "hf/model.safetensors");
  // Same weights, same row-major layout: the embedding, a norm and ffn_down (w2) are bit-identical.
  for (auto [gn, sn] : {std::pair{"token_embd.weight", "model.embed_tokens.weight"},
                        std::pair{"blk.3.ffn_norm.weight", "model.layers.3.post_attention_layernorm.weight"},
                        std::pair{"blk.2.ffn_down.weight", "model.layers.2.mlp.down_proj.weight"}}) {
    const auto& t = g.tensor(gn);
    const auto& u = s.at(sn);
    EXPECT_EQ(t.shape(), u.shape) << gn;
    auto a = g.bytes(t);
    auto b = s.bytes(u);
    ASSERT_EQ(a.size(), b.size()) << gn;
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size()), 0) << gn;
  }
}

TEST(GgufReal, QuantizedFilesListBlockTypes) {
  io::GGUFFile q8(kQ8), q4(kQ4);
  EXPECT_EQ(q8.tensors().size(), 48u);
  EXPECT_EQ(q8.metadata().size(), 21u);
  EXPECT_EQ(q8.get<int>("general.file_type"), 7);  // LLAMA_FTYPE_MOSTLY_Q8_0
  EXPECT_EQ(q4.get<int>("general.file_type"), 2);  // LLAMA_FTYPE_MOSTLY_Q4_0
  EXPECT_EQ(q8.tensor("blk.0.attn_q.weight").type, io::GGMLType::Q8_0);
  EXPECT_EQ(q8.tensor("blk.0.attn_q.weight").nbytes, 64u * 64u / 32u * 34u);
  EXPECT_EQ(q4.tensor("blk.0.attn_q.weight").type, io::GGMLType::Q4_0);
  EXPECT_EQ(q4.tensor("blk.0.attn_q.weight").nbytes, 64u * 64u / 32u * 18u);
  EXPECT_EQ(q4.tensor("output.weight").type, io::GGMLType::Q8_0);        // README: falls back to Q8_0
  EXPECT_EQ(q4.tensor("blk.4.ffn_down.weight").type, io::GGMLType::F32);  // --tensor-type ffn_down=f32
  EXPECT_EQ(q4.tensor("blk.4.attn_norm.weight").type, io::GGMLType::F32);
}

TEST(GgufReal, SummaryJsonSummarizesLongArrays) {
  auto j = io::gguf_summary_json(io::GGUFFile(kF32), 4);
  EXPECT_EQ(j["tensor_count"], 48);
  EXPECT_EQ(j["metadata_count"], 19);
  const auto& md = j["metadata"];
  auto it = std::find_if(md.begin(), md.end(), [](auto& e) { return e["key"] == "tokenizer.ggml.tokens"; });
  ASSERT_NE(it, md.end());
  EXPECT_EQ((*it)["value"]["length"], 512);
  EXPECT_EQ((*it)["value"]["first"][1], "<s>");
  EXPECT_EQ(j["elements_by_type"]["F32"], 260032 + 512 * 64);
}

TEST(GgufHandMade, ValidSmallFileNestedArrayAndData) {
  auto p = small_file().write("ok.gguf");
  io::GGUFFile f(p);
  EXPECT_EQ(f.at("test.nested").type_name(), "array[array[i32]]");
  const auto& outer = f.at("test.nested").array().items;
  ASSERT_EQ(outer.size(), 2u);
  EXPECT_EQ(std::get<std::int64_t>(outer[0].array().items[0].data), -1);
  EXPECT_EQ(std::get<std::int64_t>(outer[1].array().items[0].data), 42);
  EXPECT_TRUE(f.get<bool>("test.flag"));
  auto span = f.bytes(f.tensor("w"));
  ASSERT_EQ(span.size(), 32u);
  float last;
  std::memcpy(&last, span.data() + 28, 4);
  EXPECT_EQ(last, 7.0f);
}

TEST(GgufHandMade, TypedGetNamesExpectedAndFound) {
  io::GGUFFile f(small_file().write("typed.gguf"));
  auto e = expect_error([&] { f.get<int>("general.architecture"); });
  EXPECT_EQ(e.code(), cb::Errc::config);
  EXPECT_EQ(e.field(), "general.architecture");
  EXPECT_NE(e.message().find("expected integer, found string"), std::string::npos) << e.what();
  e = expect_error([&] { f.get<std::string>("missing.key"); });
  EXPECT_EQ(e.code(), cb::Errc::not_found);
  e = expect_error([&] { f.get_ints("test.nested"); });  // elements are arrays, not integers
  EXPECT_EQ(e.code(), cb::Errc::config);
}

TEST(GgufHandMade, HugeCountsRefusedBeforeAllocating) {
  Bytes kv;
  kv.header(0, std::uint64_t{1} << 60);
  auto e = expect_error([&] { io::GGUFFile(kv.write("huge_kv.gguf")); });
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_EQ(e.field(), "n_kv");
  EXPECT_NE(e.message().find("1152921504606846976"), std::string::npos) << e.what();
  EXPECT_NE(e.message().find("at byte 16"), std::string::npos) << e.what();

  Bytes nt;
  nt.header(std::uint64_t{1} << 60, 0);
  EXPECT_EQ(expect_error([&] { io::GGUFFile(nt.write("huge_nt.gguf")); }).field(), "n_tensors");

  Bytes arr;
  arr.header(0, 1).str("tokenizer.ggml.tokens").put<std::uint32_t>(9).put<std::uint32_t>(8).put<std::uint64_t>(std::uint64_t{1} << 60);
  e = expect_error([&] { io::GGUFFile(arr.write("huge_arr.gguf")); });
  EXPECT_EQ(e.field(), "tokenizer.ggml.tokens");
  EXPECT_NE(e.message().find("array of 1152921504606846976 string"), std::string::npos) << e.what();

  Bytes str;
  str.header(0, 1).str("k").put<std::uint32_t>(8).put<std::uint64_t>(std::uint64_t{1} << 60);
  e = expect_error([&] { io::GGUFFile(str.write("huge_str.gguf")); });
  EXPECT_EQ(e.field(), "k");
  EXPECT_NE(e.message().find("exceeds"), std::string::npos) << e.what();
}

TEST(GgufHandMade, BadMagicVersionAndTypes) {
  auto b = small_file();
  b.s[0] = 'X';
  EXPECT_EQ(expect_error([&] { io::GGUFFile(b.write("magic.gguf")); }).field(), "magic");
  Bytes v1;
  v1.header(0, 0, 1);
  EXPECT_EQ(expect_error([&] { io::GGUFFile(v1.write("v1.gguf")); }).code(), cb::Errc::unsupported);
  Bytes v2;
  v2.header(0, 0, 2);
  EXPECT_EQ(io::GGUFFile(v2.write("v2.gguf")).version(), 2u);  // v2 has the same layout as v3
  Bytes bt;
  bt.header(0, 1).str("k").put<std::uint32_t>(13).put<std::uint32_t>(0);
  auto e = expect_error([&] { io::GGUFFile(bt.write("badtype.gguf")); });
  EXPECT_EQ(e.field(), "k");
  EXPECT_NE(e.message().find("unknown value type 13"), std::string::npos);
  Bytes bb;
  bb.header(0, 1).str("flag").put<std::uint32_t>(7).put<std::uint8_t>(2);
  EXPECT_EQ(expect_error([&] { io::GGUFFile(bb.write("badbool.gguf")); }).field(), "flag");
  Bytes deep;
  deep.header(0, 1).str("deep").put<std::uint32_t>(9);
  for (int i = 0; i < 20; ++i) deep.put<std::uint32_t>(9).put<std::uint64_t>(1);
  deep.put<std::uint32_t>(0).put<std::uint64_t>(0);
  EXPECT_NE(std::string(expect_error([&] { io::GGUFFile(deep.write("deep.gguf")); }).what()).find("nested deeper"),
            std::string::npos);
}

TEST(GgufHandMade, TensorRangesAndShapesValidated) {
  // Truncated data: the F32 tensor needs 32 bytes, only 31 remain.
  auto b = small_file();
  b.s.pop_back();
  auto e = expect_error([&] { io::GGUFFile(b.write("trunc.gguf")); });
  EXPECT_EQ(e.field(), "w");
  EXPECT_NE(e.message().find("past the"), std::string::npos) << e.what();

  auto tensor_file = [](std::uint32_t n_dims, std::vector<std::uint64_t> ne, std::uint32_t type, std::uint64_t off) {
    Bytes t;
    t.header(1, 0).str("t").put<std::uint32_t>(n_dims);
    for (auto d : ne) t.put<std::uint64_t>(d);
    t.put<std::uint32_t>(type).put<std::uint64_t>(off);
    t.pad(32);
    t.s.append(64, '\0');
    return t;
  };
  EXPECT_NE(std::string(expect_error([&] { io::GGUFFile(tensor_file(5, {1, 1, 1, 1, 1}, 0, 0).write("dims.gguf")); }).what()).find("n_dims"),
            std::string::npos);
  // Q4_0 rows must hold whole 32-element blocks.
  EXPECT_NE(std::string(expect_error([&] { io::GGUFFile(tensor_file(1, {16}, 2, 0).write("block.gguf")); }).what()).find("block size 32"),
            std::string::npos);
  EXPECT_EQ(expect_error([&] { io::GGUFFile(tensor_file(1, {4}, 99, 0).write("ggmltype.gguf")); }).code(), cb::Errc::unsupported);
  EXPECT_NE(std::string(expect_error([&] { io::GGUFFile(tensor_file(1, {4}, 0, 8).write("align.gguf")); }).what()).find("alignment"),
            std::string::npos);
  EXPECT_NE(std::string(expect_error([&] { io::GGUFFile(tensor_file(2, {std::uint64_t{1} << 40, std::uint64_t{1} << 40}, 0, 0).write("ovf.gguf")); }).what()).find("overflows"),
            std::string::npos);
  EXPECT_NE(std::string(expect_error([&] { io::GGUFFile(tensor_file(1, {32}, 0, 0).write("big.gguf")); }).what()).find("past the"),
            std::string::npos);
  EXPECT_EQ(io::GGUFFile(tensor_file(1, {16}, 0, 0).write("fits.gguf")).tensor("t").nbytes, 64u);
}

TEST(GgufHandMade, AlignmentKeyMovesTheDataSection) {
  Bytes b;
  b.header(1, 1).str("general.alignment").put<std::uint32_t>(4).put<std::uint32_t>(64);
  b.str("t").put<std::uint32_t>(1).put<std::uint64_t>(2).put<std::uint32_t>(0).put<std::uint64_t>(0);
  b.pad(64).put<float>(1.5f).put<float>(2.5f);
  io::GGUFFile f(b.write("align64.gguf"));
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset(), 128u);
  float v;
  std::memcpy(&v, f.bytes(f.tensor("t")).data() + 4, 4);
  EXPECT_EQ(v, 2.5f);
  Bytes bad;
  bad.header(0, 1).str("general.alignment").put<std::uint32_t>(4).put<std::uint32_t>(24);
  EXPECT_EQ(expect_error([&] { io::GGUFFile(bad.write("align24.gguf")); }).field(), "general.alignment");
}

TEST(GgufHandMade, OverlappingTensorsAndDuplicatesRefused) {
  Bytes b;
  b.header(2, 0);
  b.str("a").put<std::uint32_t>(1).put<std::uint64_t>(16).put<std::uint32_t>(0).put<std::uint64_t>(0);
  b.str("b").put<std::uint32_t>(1).put<std::uint64_t>(8).put<std::uint32_t>(0).put<std::uint64_t>(32);
  b.pad(32);
  b.s.append(128, '\0');
  auto e = expect_error([&] { io::GGUFFile(b.write("overlap.gguf")); });
  EXPECT_EQ(e.field(), "b");
  EXPECT_NE(e.message().find("overlaps tensor a"), std::string::npos);
  Bytes d;
  d.header(0, 2).str("k").put<std::uint32_t>(4).put<std::uint32_t>(1).str("k").put<std::uint32_t>(4).put<std::uint32_t>(2);
  EXPECT_NE(std::string(expect_error([&] { io::GGUFFile(d.write("dup.gguf")); }).what()).find("duplicate"), std::string::npos);
}

TEST(GgufHandMade, EveryTruncationOfARealHeaderIsATypedError) {
  // Cut the real file inside its header at many points: always a format error, never a crash.
  std::ifstream in(kF32, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  for (std::size_t cut : {3ul, 10ul, 23ul, 30ul, 100ul, 5000ul, 14000ul, 14160ul, 20000ul}) {
    Bytes b;
    b.s = all.substr(0, cut);
    auto e = expect_error([&] { io::GGUFFile(b.write("cut.gguf")); });
    EXPECT_EQ(e.code(), cb::Errc::format) << cut;
    EXPECT_NE(e.path().find("cut.gguf"), std::string::npos);
  }
}
