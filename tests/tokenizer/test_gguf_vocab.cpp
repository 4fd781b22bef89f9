// The GGUF-embedded vocabulary of stories260K.gguf holds the same 512 pieces and scores as tok512.bin
// (README of tests/data/models/stories260K), so both must give run.c's ids and identical ids on the corpus.
#include "curebench/core/json_file.hpp"
#include "curebench/tokenizer/gguf_vocab.hpp"
#include "curebench/tokenizer/llama2c_tokenizer.hpp"

#include <gtest/gtest.h>

#include <fstream>

using namespace curebench;
using namespace curebench::tokenizer;

namespace {
const std::string kDir = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K";
}

TEST(GgufVocab, Stories260KMatchesRunCPromptIds) {
  auto tok = load_gguf_tokenizer(kDir + "/stories260K.gguf");
  EXPECT_EQ(tok.kind(), "gguf");
  EXPECT_EQ(tok.vocab_size(), 512u);
  EXPECT_EQ(tok.encode("Once upon a time", true), (std::vector<int32_t>{1, 403, 407, 261, 378}));
  auto refs = read_json_file(kDir + "/greedy_references.json");
  for (const auto& c : refs.at("cases"))
    if (!c.at("prompt").is_null())
      EXPECT_EQ(tok.encode(c.at("prompt").get<std::string>(), true), c.at("prompt_ids").get<std::vector<int32_t>>());
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_ids(), std::vector<int32_t>{2});
}

TEST(GgufVocab, SameIdsAndPiecesAsTok512OnTheCorpus) {
  auto gguf = load_gguf_tokenizer(kDir + "/stories260K.gguf");
  auto bin = load_llama2c_tokenizer(kDir + "/tok512.bin");
  for (int32_t id = 0; id < 512; ++id) ASSERT_EQ(gguf.id_to_piece(id), bin.id_to_piece(id)) << "id " << id;
  std::ifstream in(std::string(CUREBENCH_TEST_DATA) + "/tokenizer/corpus.jsonl");
  int n = 0, differ = 0;
  for (std::string line; std::getline(in, line); ++n) {
    auto s = nlohmann::json::parse(line).get<std::string>();
    auto a = gguf.encode(s, true);
    if (a != bin.encode(s, true)) ++differ;
    if (gguf.decode(a, true) != s) ++differ;
  }
  EXPECT_GE(n, 2000);
  EXPECT_EQ(differ, 0);
}

TEST(GgufVocab, FileWithoutVocabularyIsNotFound) {
  // A minimal GGUF v3 with no metadata and no tensors.
  std::string path = "/tmp/curebench_empty_" + std::to_string(::getpid()) + ".gguf";
  {
    std::ofstream out(path, std::ios::binary);
    uint32_t version = 3;
    uint64_t zero = 0;
    out.write("GGUF", 4);
    out.write(reinterpret_cast<const char*>(&version), 4);
    out.write(reinterpret_cast<const char*>(&zero), 8);
    out.write(reinterpret_cast<const char*>(&zero), 8);
  }
  try {
    load_gguf_tokenizer(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
    EXPECT_EQ(e.field(), "tokenizer.ggml.model");
  }
  std::remove(path.c_str());
}

// Found by fuzz_gguf_tokenizer after 412 883 executions (docs/robustness.md): a vocabulary whose
// tokenizer.ggml.unknown_token_id (16777216) lies outside its 512 tokens was accepted, and encoding a byte
// with no piece emitted that id. The file is the fuzzer's input minus its text prefix.
TEST(GgufVocab, UnknownTokenIdOutsideTheVocabularyIsRefusedByName) {
  try {
    load_gguf_tokenizer(std::string(CUREBENCH_TEST_DATA) + "/tokenizer/hostile/gguf_unknown_token_id_out_of_range.gguf");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::format);
    EXPECT_EQ(e.field(), "tokenizer.ggml.unknown_token_id");
  }
}
