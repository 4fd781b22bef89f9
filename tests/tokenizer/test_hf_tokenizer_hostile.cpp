// Hostile tokenizer.json files: ids and flags are range- and type-checked, so no id outside the vocabulary can
// reach encode() (and from there the embedding), and every refusal is a typed Error.
#include "curebench/core/json_file.hpp"
#include "curebench/tokenizer/hf_tokenizer.hpp"
#include "io/hostile_file.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

namespace cb = curebench;

cb::Error load_error(const std::string& text) {
  return cb::hostile::error_of([&] {
    auto j = cb::parse_json_text(text, "tokenizer.json");
    cb::tokenizer::HfTokenizer t(j, nlohmann::json(), "tokenizer.json");
  });
}

const std::string kModel = R"("model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":[]})";

// Found by review while writing fuzz_hf_tokenizer: INT32_MAX overflowed vocab_size = id + 1 (UB), 1e30 was a
// UB float->int cast, a negative id was encoded as is, and a non-boolean flag escaped as nlohmann::type_error.
TEST(HfTokenizerHostile, AddedTokenIdsAreRangeChecked) {
  for (std::string id : {"2147483647", "1e30", "-5", "4294967296", "1.5", "\"3\""}) {
    auto e = load_error("{" + kModel + R"(,"added_tokens":[{"id":)" + id + R"(,"content":"x"}]})");
    EXPECT_EQ(e.code(), cb::Errc::format) << id;
    EXPECT_EQ(e.field(), "added_tokens") << id;
  }
}

TEST(HfTokenizerHostile, AddedTokenFlagsMustBeBooleans) {
  auto e = load_error("{" + kModel + R"(,"added_tokens":[{"id":2,"content":"x","special":"yes"}]})");
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_EQ(e.field(), "added_tokens");
}

TEST(HfTokenizerHostile, VocabIdsAndStructure) {
  EXPECT_EQ(load_error(R"({"model":{"type":"BPE","vocab":{"a":-3},"merges":[]}})").code(), cb::Errc::format);
  EXPECT_EQ(load_error(R"({"model":[]})").field(), "model");
  EXPECT_EQ(load_error(R"([1])").code(), cb::Errc::format);
  EXPECT_EQ(load_error("{" + kModel + R"(,"added_tokens":{}})").field(), "added_tokens");
  EXPECT_EQ(load_error(R"({"x":)" + std::string(100, '[') + std::string(100, ']') + "}").code(), cb::Errc::format);
}

// fuzz_hf_tokenizer on the GPU machine's 16 cores (2026-12-07, 4.3 M executions) found the class: a value of the
// wrong JSON type inside model / normalizer / pre_tokenizer / post_processor / decoder escaped as nlohmann's
// type_error (the fuzzer aborted), and a vocab id near 2^31 in a tiny vocab sized a table of 2^31 strings.
TEST(HfTokenizerHostile, WrongTypesInsideEverySectionAreFormatErrorsNamingTheSection) {
  const std::string model_flag = R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[],"fuse_unk":"yes"}})";
  EXPECT_EQ(load_error(model_flag).field(), "fuse_unk");
  EXPECT_EQ(load_error(R"({"model":{"type":7,"vocab":{"a":0},"merges":[]}})").field(), "type");
  struct Case {
    std::string json, field;
  };
  for (const auto& c : {Case{R"("pre_tokenizer":{"type":"ByteLevel","add_prefix_space":3})", "add_prefix_space"},
                        Case{R"("pre_tokenizer":{"type":"Metaspace","prepend_scheme":[1]})", "pre_tokenizer"},
                        Case{R"("post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":5}}],"special_tokens":{}})",
                             "post_processor"},
                        Case{R"("decoder":{"type":"Replace","pattern":{"String":1},"content":2})", "decoder.pattern"},
                        Case{R"("normalizer":{"type":"Replace","pattern":{"String":1},"content":2})", "normalizer.content"}}) {
    auto e = load_error("{" + kModel + "," + c.json + "}");
    EXPECT_TRUE(e.code() == cb::Errc::format || e.code() == cb::Errc::config) << c.json;
    EXPECT_EQ(e.field(), c.field) << c.json << ": " << e.what();
  }
}

TEST(HfTokenizerHostile, AVocabIdFarAboveTheEntryCountIsRefusedBeforeAnyAllocation) {
  auto e = load_error(R"({"model":{"type":"BPE","vocab":{"a":0,"b":2147483000},"merges":[]}})");
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_EQ(e.field(), "model.vocab[b]");
  // A gap below 2^20 is tolerated (ids number the pieces; unused ids decode to nothing).
  auto j = cb::parse_json_text(R"({"model":{"type":"BPE","vocab":{"a":0,"b":1000},"merges":[]}})", "tokenizer.json");
  cb::tokenizer::HfTokenizer t(j, nlohmann::json(), "tokenizer.json");
  EXPECT_EQ(t.vocab_size(), 1001u);
}

TEST(HfTokenizerHostile, AcceptedIdsStayInsideTheVocabulary) {
  auto j = cb::parse_json_text("{" + kModel + R"(,"added_tokens":[{"id":7,"content":"<x>","special":true}]})", "tokenizer.json");
  cb::tokenizer::HfTokenizer t(j, nlohmann::json(), "tokenizer.json");
  EXPECT_EQ(t.vocab_size(), 8u);
  for (auto id : t.encode("ab<x>ba", false)) EXPECT_LT(static_cast<std::size_t>(id), t.vocab_size());
}

// Found by fuzz_hf_tokenizer on the GPU machine's cores (eleventh session; docs/robustness.md round 7): the
// post-processor's ids were read with get<int32_t>() (1e30: an undefined float->int cast, UBSan) and never checked
// against the vocabulary (99999 or -5 came out of encode(add_special_tokens) and would index the embedding out of
// range). Each is now a format error naming the post-processor field; a valid template still adds its ids.
TEST(HfTokenizerHostile, PostProcessorIdsAreIntegersInsideTheVocabulary) {
  const auto template_with = [](const std::string& ids) {
    return "{" + kModel + R"(,"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},)"
                          R"({"Sequence":{"id":"A","type_id":0}}],"special_tokens":{"<s>":{"id":"<s>","ids":)" + ids + R"(,"tokens":["<s>"]}}}})";
  };
  for (std::string ids : {"[1e30]", "[4294967296]", "[-5]", "[1.5]", "[\"0\"]", "7"}) {
    auto e = load_error(template_with(ids));
    EXPECT_EQ(e.code(), cb::Errc::format) << ids;
    EXPECT_EQ(e.field().rfind("post_processor", 0), 0u) << ids << ": " << e.field();
  }
  auto outside = load_error(template_with("[99999]"));
  EXPECT_EQ(outside.code(), cb::Errc::format);
  EXPECT_EQ(outside.field(), "post_processor");
  for (std::string cls : {"1e30", "99999", "-1"}) {
    auto e = load_error("{" + kModel + R"(,"post_processor":{"type":"BertProcessing","cls":["<s>",)" + cls + R"(],"sep":["</s>",1]}})");
    EXPECT_EQ(e.code(), cb::Errc::format) << cls;
  }
  auto j = cb::parse_json_text(template_with("[1]"), "tokenizer.json");
  cb::tokenizer::HfTokenizer t(j, nlohmann::json(), "tokenizer.json");
  const auto ids = t.encode("ab", true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 1);
  for (auto id : ids) EXPECT_LT(static_cast<std::size_t>(id), t.vocab_size());
}

}  // namespace

// A Split pattern that backtracks exponentially ((a+)+$ on "aaa...ab") stops at PCRE2's match limit within a
// second or two and is a typed error naming the tokenizer file (it named no file before; adversarial CLI run).
TEST(HfTokenizerHostile, CatastrophicBacktrackingIsATypedErrorNamingTheFile) {
  auto j = cb::parse_json_text("{" + kModel + R"(,"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(a+)+$"},)"
                               R"("behavior":"Isolated","invert":false}})", "tokenizer.json");
  cb::tokenizer::HfTokenizer t(j, nlohmann::json(), "tokenizer.json");
  auto e = cb::hostile::error_of([&] { t.encode(std::string(60, 'a') + "b", false); });
  EXPECT_EQ(e.code(), cb::Errc::tokenizer);
  EXPECT_EQ(e.path(), "tokenizer.json");
}
