// tok512.bin (llama2.c export of a SentencePiece BPE) against the prompts llama2.c's run.c tokenized
// for greedy_references.json, and against the piece table documented in that folder's README.
#include "curebench/core/json_file.hpp"
#include "curebench/tokenizer/llama2c_tokenizer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

using namespace curebench;
using namespace curebench::tokenizer;

namespace {
const std::string kDir = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K";

const SentencePieceBpe& tok512() {
  static const SentencePieceBpe t = load_llama2c_tokenizer(kDir + "/tok512.bin");
  return t;
}
}  // namespace

TEST(Llama2cTokenizer, OnceUponATimeMatchesRunC) {
  EXPECT_EQ(tok512().encode("Once upon a time", true), (std::vector<int32_t>{1, 403, 407, 261, 378}));
  EXPECT_EQ(tok512().encode("Once upon a time", false), (std::vector<int32_t>{403, 407, 261, 378}));
}

TEST(Llama2cTokenizer, GreedyReferencePrompts) {
  auto refs = read_json_file(kDir + "/greedy_references.json");
  int checked = 0;
  for (const auto& c : refs.at("cases")) {
    if (c.at("prompt").is_null()) continue;
    auto text = c.at("prompt").get<std::string>();
    auto expected = c.at("prompt_ids").get<std::vector<int32_t>>();
    EXPECT_EQ(tok512().encode(text, true), expected) << "prompt: \"" << text << "\"";
    ++checked;
  }
  EXPECT_EQ(checked, 3);  // "", "Once upon a time", "The little boy was sick"
}

TEST(Llama2cTokenizer, PieceTableFromReadme) {
  const auto& t = tok512();
  EXPECT_EQ(t.vocab_size(), 512u);
  EXPECT_EQ(t.id_to_piece(0), "<unk>");
  EXPECT_EQ(t.id_to_piece(1), "<s>");
  EXPECT_EQ(t.id_to_piece(2), "</s>");
  EXPECT_EQ(t.id_to_piece(3), "<0x00>");
  EXPECT_EQ(t.id_to_piece(258), "<0xFF>");
  EXPECT_EQ(t.id_to_piece(259), "\xE2\x96\x81t");  // "▁t"
  EXPECT_EQ(t.id_to_piece(260), "he");
  EXPECT_EQ(t.id_to_piece(403), "\xE2\x96\x81Once");
  EXPECT_EQ(t.bos_id(), 1);
  EXPECT_EQ(t.eos_ids(), std::vector<int32_t>{2});
  EXPECT_TRUE(t.is_special(1));
  EXPECT_FALSE(t.is_special(403));
  EXPECT_EQ(t.piece_to_id("\xE2\x96\x81upon"), 407);
}

TEST(Llama2cTokenizer, ByteFallbackForCharactersOutsideTheVocab) {
  // No piece contains "中" (E4 B8 AD): the dummy prefix "▁" (id 410) stays alone and each byte becomes
  // <0xHH>, id 3 + byte (the README's layout).
  EXPECT_EQ(tok512().encode("\xE4\xB8\xAD", false), (std::vector<int32_t>{410, 3 + 0xE4, 3 + 0xB8, 3 + 0xAD}));
  EXPECT_EQ(tok512().decode(std::vector<int32_t>{410, 3 + 0xE4, 3 + 0xB8, 3 + 0xAD}, false), "\xE4\xB8\xAD");
  // An incomplete byte run decodes to one U+FFFD per byte token (HF ByteFallback).
  EXPECT_EQ(tok512().decode(std::vector<int32_t>{3 + 0xE4, 3 + 0xB8}, false), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Llama2cTokenizer, DecodeStripsTheDummyPrefixAndKeepsSpecialsOnRequest) {
  std::vector<int32_t> ids{1, 403, 407, 261, 378};
  EXPECT_EQ(tok512().decode(ids, true), "Once upon a time");
  // HF's Llama decoder strips one leading space only when the text starts with it; "<s>" comes first here.
  EXPECT_EQ(tok512().decode(ids, false), "<s> Once upon a time");
  for (std::string s : {"The little boy was sick", "  two  spaces\nand a newline", "x"})
    EXPECT_EQ(tok512().decode(tok512().encode(s, true), true), s);
}

TEST(Llama2cTokenizer, InvalidUtf8IsRejectedWithItsOffset) {
  try {
    tok512().encode("ab\xFF", false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::tokenizer);
    EXPECT_EQ(e.field(), "byte 2");
  }
}

TEST(Llama2cTokenizer, TruncatedFileIsAFormatError) {
  std::string bytes = read_text_file(kDir + "/tok512.bin");
  std::string path = "/tmp/curebench_tok512_trunc_" + std::to_string(::getpid()) + ".bin";
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  try {
    load_llama2c_tokenizer(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::format);
    EXPECT_NE(e.field().find("token 511"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}
