// JSONL reader: record validation with file/line/field errors, BOM, CRLF, blank lines, limits, hash-rank
// subsampling (expected ids computed independently with Python hashlib, see tests/data/eval/README.md).
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/sample.hpp"
#include "curebench/eval/verify.hpp"

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

// The line bound held only across 1 MiB blocks: a line that ended inside the block it started in was passed on
// at any length up to the block size beyond the limit. Now every line is measured before it is used.
TEST(ForEachLine, LineLongerThanTheLimitIsRefusedEvenInsideOneBlock) {
  auto p = test::write_temp("long_line.jsonl", "short\n" + std::string(5000, 'x') + "\nafter\n");
  std::vector<std::size_t> seen;
  try {
    for_each_line(p.string(), [&](std::size_t n, std::string_view) { seen.push_back(n); }, 1000);
    ADD_FAILURE() << "a 5000-byte line passed a 1000-byte limit";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::dataset);
    EXPECT_EQ(e.field(), "line 2");
    EXPECT_EQ(e.message(), "line longer than 1000 bytes");
  }
  EXPECT_EQ(seen, std::vector<std::size_t>{1});
}

TEST(ForEachLine, UnterminatedTailIsReportedInsteadOfPassedOn) {
  auto p = test::write_temp("torn.jsonl", "one\ntwo\nthr");
  std::vector<std::string> lines;
  std::size_t tail = 99;
  for_each_line(p.string(), [&](std::size_t, std::string_view l) { lines.emplace_back(l); }, 100, nullptr, &tail);
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(tail, 3u);
  lines.clear();
  for_each_line(p.string(), [&](std::size_t, std::string_view l) { lines.emplace_back(l); }, 100);
  EXPECT_EQ(lines.back(), "thr");  // without the out-parameter the tail is still a line (datasets)
}

// Issue 19 (8): samples.jsonl lines were read without a length limit (a 1.5 GB line cost 1.7 GB in `report` and
// on resume). The samples reader is bounded; an over-long line is a format error naming file and line.
TEST(SampleLines, OverLongLineIsAFormatErrorNamingFileAndLine) {
  SampleRecord r;
  r.id = "q1";
  r.split = "val";
  r.stop_reason = "eos";
  const std::string good = nlohmann::json(r).dump();
  r.output = std::string(3000, 'y');
  auto p = test::write_temp("samples_long.jsonl", good + "\n" + nlohmann::json(r).dump() + "\n" + good + "\n");
  std::size_t records = 0;
  try {
    for_each_sample_json(p.string(), [&](std::size_t, const nlohmann::json& j) {
      (void)sample_from_json(j, p.string(), "");
      ++records;
    }, 2048);
    ADD_FAILURE() << "an over-long samples line was read";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::format);
    EXPECT_EQ(e.path(), p.string());
    EXPECT_EQ(e.field(), "line 2");
    EXPECT_NE(e.message().find("line longer than 2048 bytes"), std::string::npos) << e.message();
  }
  EXPECT_EQ(records, 1u);
  EXPECT_EQ(kMaxSampleLineBytes, std::size_t{64} << 20);
}

TEST(SampleLines, CorruptLineNamesItsLineAndATornTailIsReturnedUnparsed) {
  SampleRecord r;
  r.id = "q1";
  r.split = "val";
  const std::string good = nlohmann::json(r).dump();
  auto torn = test::write_temp("samples_torn.jsonl", good + "\n\n" + good.substr(0, 10));
  std::vector<std::size_t> lines;
  EXPECT_EQ(for_each_sample_json(torn.string(), [&](std::size_t n, const nlohmann::json&) { lines.push_back(n); }), 10u);
  EXPECT_EQ(lines, std::vector<std::size_t>{1});  // the blank line 2 is skipped, the tail not parsed
  auto bad = test::write_temp("samples_bad.jsonl", good + "\n{not json}\n");
  try {
    for_each_sample_json(bad.string(), [](std::size_t, const nlohmann::json&) {});
    ADD_FAILURE() << "corrupt line accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::format);
    EXPECT_EQ(e.field(), "line 2");
  }
}

// A question's hash covers what a run uses of it: an edited text, option or answer changes it, extras do not.
TEST(SampleLines, QuestionHashChangesWithTextOptionsAndAnswer) {
  Question q;
  q.id = "q1";
  q.question = "Which?";
  q.options = Options{{'A', "x"}, {'B', "y"}};
  q.correct_answer = 'B';
  const auto h = question_sha256(q);
  EXPECT_EQ(h.size(), 64u);
  auto edited = q;
  edited.question = "Which one?";
  EXPECT_NE(question_sha256(edited), h);
  edited = q;
  (*edited.options)[1].second = "z";
  EXPECT_NE(question_sha256(edited), h);
  edited = q;
  edited.correct_answer = 'A';
  EXPECT_NE(question_sha256(edited), h);
  edited = q;
  edited.line = 7;  // where it sits in the file is not part of it
  EXPECT_EQ(question_sha256(edited), h);
}

// Issue 18, point 10: an open_ended record labelled with free text (what the kit's dataset_utils reads as the answer
// and compares as a string) refused the whole file. It is kept as reference_answer, counts as unlabelled for letter
// accuracy, and verification reports it separately. Free text stays refused for the option types, and "" everywhere.
TEST(Dataset, OpenEndedWithAFreeTextAnswerIsKeptAndReportedNotGraded) {
  auto p = test::write_temp("free_text.jsonl", std::string(kGood) + "\n" +
                                                   R"({"id":"o1","question_type":"open_ended","question":"First-line drug?","correct_answer":"Metformin, unless contraindicated."})" "\n"
                                                   R"({"id":"o2","question_type":"open_ended","question":"Letter?","correct_answer":"B"})" "\n");
  auto d = load_split("val", p.string());
  ASSERT_EQ(d.questions.size(), 3u);
  const Question& o1 = d.questions[1];
  EXPECT_EQ(o1.reference_answer, std::optional<std::string>("Metformin, unless contraindicated."));
  EXPECT_FALSE(o1.labelled());
  EXPECT_EQ(to_json_value(o1)["correct_answer"], "Metformin, unless contraindicated.");
  EXPECT_EQ(d.questions[2].correct_answer, std::optional<char>('B'));  // a letter stays a letter
  EXPECT_EQ(d.questions[2].reference_answer, std::nullopt);
  Verification v = verify_splits(std::vector<const Dataset*>{&d});
  EXPECT_TRUE(v.passed);
  EXPECT_EQ(v.find("val")->free_text_answers, 1u);
  EXPECT_EQ(v.find("val")->labelled, 2u);
  EXPECT_EQ(nlohmann::json(v)["splits"]["val"]["free_text_answers"], 1);
  bool warned = false;
  for (auto& w : v.warnings) warned |= w.find("1 open_ended records with a free-text correct_answer: not machine-gradable") != std::string::npos;
  EXPECT_TRUE(warned);
  const std::string two = std::string(kGood) + "\n";
  for (auto [name, line] : {std::pair{"mc_text.jsonl", R"({"id":"q2","question_type":"multi_choice","question":"Q","options":{"A":"a","B":"b"},"correct_answer":"Metformin"})"},
                            {"oemc_text.jsonl", R"({"id":"q2","question_type":"open_ended_multi_choice","question":"Q","options":{"A":"a","B":"b"},"correct_answer":"a"})"},
                            {"oe_empty.jsonl", R"({"id":"q2","question_type":"open_ended","question":"Q","correct_answer":""})"}}) {
    Error e = load_error(name, two + line + "\n");
    EXPECT_EQ(e.field(), "line 2: correct_answer") << name;
  }
}
