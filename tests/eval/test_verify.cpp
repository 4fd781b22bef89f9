// Split verification: duplicates, pairwise overlap, labelled counts, warnings for unlabelled splits.
#include "curebench/eval/verify.hpp"

#include <gtest/gtest.h>

using namespace curebench::eval;

namespace {
Question q(std::string id, QuestionType t, std::optional<char> gold, std::string text = "") {
  Question x;
  x.id = id;
  x.type = t;
  x.question = text.empty() ? "question " + id : text;
  x.options = Options{{'A', "a"}, {'B', "b"}};
  x.correct_answer = gold;
  return x;
}
}  // namespace

TEST(Verify, CleanSplitsPassWithUnlabelledWarning) {
  std::vector<Question> val = {q("v1", QuestionType::multi_choice, 'A'), q("v2", QuestionType::open_ended, 'B')};
  std::vector<Question> test = {q("t1", QuestionType::multi_choice, std::nullopt)};
  Verification v = verify_splits(std::vector<NamedSplit>{{"val", &val}, {"test", &test}});
  EXPECT_TRUE(v.passed);
  ASSERT_EQ(v.splits.size(), 2u);
  EXPECT_EQ(v.find("val")->labelled, 2u);
  EXPECT_EQ(v.find("test")->labelled, 0u);
  EXPECT_EQ(v.find("val")->question_types.at("open_ended"), 1u);
  ASSERT_EQ(v.warnings.size(), 1u);
  EXPECT_EQ(v.warnings[0], "test split has no labels: accuracy not measurable");
  ASSERT_EQ(v.overlap.size(), 1u);
  EXPECT_EQ(v.overlap[0].count, 0u);
}

TEST(Verify, DuplicatesAndLeakageFail) {
  std::vector<Question> a = {q("x", QuestionType::multi_choice, 'A'), q("y", QuestionType::multi_choice, 'A'),
                             q("x", QuestionType::multi_choice, 'B'), q("x", QuestionType::multi_choice, 'B')};
  std::vector<Question> b = {q("y", QuestionType::multi_choice, 'A'), q("z", QuestionType::multi_choice, 'A')};
  std::vector<Question> c = {q("c1", QuestionType::multi_choice, 'A', "question z")};  // same text as b's "z"
  Verification v = verify_splits(std::vector<NamedSplit>{{"val", &a}, {"test", &b}, {"extra", &c}});
  EXPECT_FALSE(v.passed);
  const SplitCheck* s = v.find("val");
  EXPECT_EQ(s->count, 4u);
  EXPECT_EQ(s->unique_ids, 2u);
  EXPECT_EQ(s->duplicate_ids, std::vector<std::string>{"x"});
  ASSERT_EQ(v.overlap.size(), 3u);  // every pair: val-test, val-extra, test-extra
  EXPECT_EQ(v.overlap[0].a, "val");
  EXPECT_EQ(v.overlap[0].b, "test");
  EXPECT_EQ(v.overlap[0].count, 1u);
  EXPECT_EQ(v.overlap[0].examples, std::vector<std::string>{"y"});
  EXPECT_EQ(v.overlap[2].a, "test");
  EXPECT_EQ(v.overlap[2].count, 0u);
  EXPECT_EQ(v.overlap[2].same_question_text, 1u);

  nlohmann::json j = v;
  EXPECT_EQ(j["splits"]["val"]["duplicate_ids"], nlohmann::json::array({"x"}));
  EXPECT_EQ(j["overlap"][0]["count"], 1);
  EXPECT_EQ(j["passed"], false);
}

TEST(Verify, PartlyLabelledSplitIsAWarningNotAFailure) {
  std::vector<Question> a = {q("1", QuestionType::multi_choice, 'A'), q("2", QuestionType::multi_choice, std::nullopt)};
  Verification v = verify_splits(std::vector<NamedSplit>{{"val", &a}});
  EXPECT_TRUE(v.passed);
  ASSERT_EQ(v.warnings.size(), 1u);
  EXPECT_NE(v.warnings[0].find("partly labelled (1 of 2)"), std::string::npos);
}

// Issue 18, point 6: a repeated id is refused before any model runs, naming each id and its lines; the override runs
// every row on its own under "<id>#line<N>" and keeps the file's id for the submission.
TEST(Verify, DuplicatedIdsAreRefusedNamingLinesOrSeparatedRowByRow) {
  Dataset d;
  d.split = "test";
  d.path = "/data/test.jsonl";
  for (auto [id, line] : {std::pair{"x", 1}, {"y", 2}, {"x", 4}, {"x\n", 5}, {"x", 7}, {"x\n", 9}}) {
    d.questions.push_back(q(id, QuestionType::multi_choice, std::nullopt));
    d.questions.back().line = static_cast<std::size_t>(line);
  }
  try {
    refuse_duplicate_ids(d);
    ADD_FAILURE() << "duplicates accepted";
  } catch (const curebench::Error& e) {
    EXPECT_EQ(e.code(), curebench::Errc::dataset);
    EXPECT_EQ(e.path(), "/data/test.jsonl");
    EXPECT_EQ(e.field(), "id");
    // Ids quoted as JSON strings (no raw control byte reaches the terminal), in first-seen order.
    EXPECT_NE(e.message().find("2 duplicated id(s) in split test: \"x\" (lines 1, 4, 7), \"x\\n\" (lines 5, 9)"), std::string::npos)
        << e.message();
  }
  separate_duplicate_ids(d);
  std::vector<std::string> ids, submitted;
  for (auto& x : d.questions) {
    ids.push_back(x.id);
    submitted.push_back(x.submitted_id());
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"x", "y", "x#line4", "x\n", "x#line7", "x\n#line9"}));
  EXPECT_EQ(submitted, (std::vector<std::string>{"x", "y", "x", "x\n", "x", "x\n"}));
  EXPECT_NO_THROW(refuse_duplicate_ids(d));
  // A key that the file already uses is not taken over.
  Dataset taken;
  taken.path = "t.jsonl";
  for (auto [id, line] : {std::pair{"a", 1}, {"a", 2}, {"a#line2", 3}}) {
    taken.questions.push_back(q(id, QuestionType::multi_choice, std::nullopt));
    taken.questions.back().line = static_cast<std::size_t>(line);
  }
  EXPECT_THROW(separate_duplicate_ids(taken), curebench::Error);
}
