// JSONL reader: record validation with file/line/field errors, BOM, CRLF, blank lines, limits, hash-rank
// subsampling (expected ids computed independently with Python hashlib, see tests/data/eval/README.md).
#include "curebench/eval/dataset.hpp"

#include "eval_test_util.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace curebench;
using namespace curebench::eval;

namespace {
const std::string kSynthetic = std::string(CUREBENCH_TEST_DATA) + "/eval/format_example.synthetic.jsonl";
const std::string kDefaultVal = std::string(CUREBENCH_SOURCE_DIR) + "/datasets/default/val.jsonl";

Error load_error(std::string_view name, std::string_view bytes) {
  auto p = test::write_temp(name, bytes);
  try {
    load_split("val", p.string());
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for " << name;
  return Error(Errc::internal, "", "", "");
}

const char* kGood = R"({"id":"q1","question_type":"multi_choice","question":"Q?","options":{"A":"x","B":"y"},"correct_answer":"B"})";
}  // namespace

TEST(Dataset, ReadsTheSyntheticFormatExample) {
  Dataset ds = load_split("val", kSynthetic);
  ASSERT_EQ(ds.records, 6u);
  ASSERT_EQ(ds.questions.size(), 6u);
  EXPECT_EQ(ds.sha256, "da060c17343b536b955bda3c5510f15df88413a9f74709697b0d45a2368863f2");  // python hashlib
  const Question& q = ds.questions[1];
  EXPECT_EQ(q.id, "SYNTH0000002");
  EXPECT_EQ(q.type, QuestionType::open_ended_multi_choice);
  ASSERT_TRUE(q.options);
  EXPECT_EQ(q.options->size(), 4u);
  EXPECT_EQ((*q.options)[1], (std::pair<char, std::string>{'B', "N-acetylcysteine"}));
  EXPECT_EQ(q.correct_answer, 'B');
  EXPECT_EQ(q.line, 2u);
  EXPECT_FALSE(ds.questions[3].labelled());  // test-style record: no correct_answer key
  EXPECT_EQ(ds.questions[4].options->back().first, 'E');
}

TEST(Dataset, BomCrlfAndBlankLinesAreHandledAndCounted) {
  std::string bytes = "\xEF\xBB\xBF" + std::string(kGood) + "\r\n\r\n   \n" +
                      R"({"id":"q2","question_type":"open_ended","question":"Why?"})";  // no final newline
  auto p = test::write_temp("bom_crlf.jsonl", bytes);
  Dataset ds = load_split("val", p.string());
  EXPECT_TRUE(ds.had_bom);
  EXPECT_EQ(ds.records, 2u);
  EXPECT_EQ(ds.blank_lines, 2u);
  ASSERT_EQ(ds.questions.size(), 2u);
  EXPECT_EQ(ds.questions[0].id, "q1");
  EXPECT_EQ(ds.questions[1].line, 4u);
  EXPECT_FALSE(ds.questions[1].options);
  EXPECT_EQ(ds.sha256, sha256_hex(bytes));  // hash of the bytes on disk, BOM included
}

TEST(Dataset, ErrorsNameFileLineAndField) {
  std::string two = std::string(kGood) + "\n";
  struct Case {
    const char* name;
    std::string line2;
    std::string field;
  } cases[] = {
      {"bad_json.jsonl", R"({"id":"q2",)", "line 2: byte"},
      {"no_id.jsonl", R"({"question_type":"multi_choice","question":"Q","options":{"A":"a","B":"b"}})", "line 2: id"},
      {"num_id.jsonl", R"({"id":7,"question_type":"open_ended","question":"Q"})", "line 2: id"},
      {"bad_type.jsonl", R"({"id":"q2","question_type":"mcq","question":"Q"})", "line 2: question_type"},
      {"no_options.jsonl", R"({"id":"q2","question_type":"multi_choice","question":"Q"})", "line 2: options"},
      {"bad_key.jsonl", R"({"id":"q2","question_type":"multi_choice","question":"Q","options":{"A":"a","b":"b"}})",
       "line 2: options.b"},
      {"gap.jsonl", R"({"id":"q2","question_type":"multi_choice","question":"Q","options":{"A":"a","C":"c"}})",
       "line 2: options"},
      {"gold_missing.jsonl",
       R"({"id":"q2","question_type":"multi_choice","question":"Q","options":{"A":"a","B":"b"},"correct_answer":"E"})",
       "line 2: correct_answer"},
      {"gold_empty.jsonl",
       R"({"id":"q2","question_type":"multi_choice","question":"Q","options":{"A":"a","B":"b"},"correct_answer":""})",
       "line 2: correct_answer"},
      {"array.jsonl", R"([1,2])", "line 2"},
  };
  for (const auto& c : cases) {
    Error e = load_error(c.name, two + c.line2 + "\n");
    EXPECT_EQ(e.code(), Errc::dataset) << c.name;
    EXPECT_NE(e.path().find(c.name), std::string::npos) << c.name;
    EXPECT_EQ(e.field().rfind(c.field, 0), 0u) << c.name << ": " << e.field();
  }
}

TEST(Dataset, NullGoldMeansUnlabelled) {
  auto p = test::write_temp(
      "null_gold.jsonl",
      R"({"id":"q","question_type":"multi_choice","question":"Q","options":{"A":"a","B":"b"},"correct_answer":null})");
  EXPECT_FALSE(load_split("test", p.string()).questions.at(0).labelled());
}

TEST(Dataset, MissingFileIsAnIoError) {
  try {
    load_split("val", "/nonexistent/curebench/x.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::io);
  }
}

TEST(Dataset, LimitWithoutSeedKeepsTheFirstRecordsButValidatesAll) {
  Dataset ds = load_split("val", kSynthetic, {.limit = 2});
  ASSERT_EQ(ds.questions.size(), 2u);
  EXPECT_EQ(ds.questions[0].id, "SYNTH0000001");
  EXPECT_EQ(ds.questions[1].id, "SYNTH0000002");
  EXPECT_EQ(ds.records, 6u);
  // A bad record after the limit still fails the read.
  auto p = test::write_temp("late_error.jsonl", std::string(kGood) + "\n" + kGood + "\n{oops}\n");
  EXPECT_THROW(load_split("val", p.string(), {.limit = 1}), Error);
}

TEST(Dataset, SeededSubsampleMatchesPythonHashRank) {
  // Expected: sorted(ids, key=sha256(f"{seed}\n{id}"))[:k], reported in file order (python3 hashlib).
  Dataset a = load_split("val", kDefaultVal, {.limit = 5, .seed = 7});
  std::vector<std::string> ids;
  for (const auto& q : a.questions) ids.push_back(q.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"medqa4-424", "pubmedqa-22902073", "pubmedqa-10158597", "pubmedqa-23224030",
                                           "pubmedqa-8910148"}));
  Dataset b = load_split("val", kDefaultVal, {.limit = 3, .seed = 0});
  ids.clear();
  for (const auto& q : b.questions) ids.push_back(q.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"mmlu-anatomy-test-51", "pubmedqa-10158597", "pubmedqa-15841770"}));
  EXPECT_EQ(b.records, 30u);
}

TEST(Dataset, ShippedDefaultPairIsLabelledAndUnlabelled) {
  Dataset val = load_split("val", kDefaultVal);
  Dataset test = load_split("test", std::string(CUREBENCH_SOURCE_DIR) + "/datasets/default/test.jsonl");
  EXPECT_EQ(val.questions.size(), 30u);
  EXPECT_EQ(test.questions.size(), 30u);
  for (const auto& q : val.questions) EXPECT_TRUE(q.labelled()) << q.id;
  for (const auto& q : test.questions) EXPECT_FALSE(q.labelled()) << q.id;
}
