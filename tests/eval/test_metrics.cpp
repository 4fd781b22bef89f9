// Metrics against published or hand-computed values.
#include "curebench/eval/metrics.hpp"

#include <gtest/gtest.h>

using namespace curebench::eval;
using namespace curebench::eval::metrics;

namespace {
SampleRecord rec(std::string id, QuestionType t, std::optional<char> gold, std::optional<char> answer,
                 std::string output = "", std::string rule = "answer_prefix") {
  SampleRecord r;
  r.id = std::move(id);
  r.split = "val";
  r.type = t;
  r.gold = gold;
  r.answer = answer;
  r.rule = answer ? rule : "none";
  r.output = std::move(output);
  measure_output(r);
  Question q;
  q.type = t;
  q.correct_answer = gold;
  r.correct = score(q, answer);
  return r;
}
}  // namespace

// Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score, no correction).
TEST(Wilson, NewcombeTableOne) {
  struct Case {
    std::size_t k, n;
    double lo, hi;
  } cases[] = {{81, 263, 0.2553, 0.3662}, {15, 148, 0.0624, 0.1605}, {0, 20, 0.0, 0.1611}, {1, 29, 0.0061, 0.1718}};
  for (const auto& c : cases) {
    auto w = wilson_interval(c.k, c.n);
    ASSERT_TRUE(w);
    EXPECT_NEAR(w->lo, c.lo, 5e-5) << c.k << "/" << c.n;
    EXPECT_NEAR(w->hi, c.hi, 5e-5) << c.k << "/" << c.n;
  }
  EXPECT_FALSE(wilson_interval(0, 0));
}

TEST(Accuracy, UnlabelledSplitIsNullNotZero) {
  Accuracy a;
  for (int i = 0; i < 5; ++i) a.observe(rec("t" + std::to_string(i), QuestionType::multi_choice, std::nullopt, 'A'));
  nlohmann::json j = a.to_json();
  EXPECT_EQ(j["n"], 5);
  EXPECT_EQ(j["n_labelled"], 0);
  EXPECT_TRUE(j["accuracy"].is_null());
  EXPECT_TRUE(j["ci95"].is_null());
  EXPECT_TRUE(j["correct"].is_null());
}

TEST(Accuracy, OpenEndedAndUnlabelledAreNotInTheDenominatorButFailuresAre) {
  Accuracy a;
  a.observe(rec("1", QuestionType::multi_choice, 'B', 'B'));
  a.observe(rec("2", QuestionType::open_ended_multi_choice, 'C', std::nullopt));  // no letter: wrong
  a.observe(rec("3", QuestionType::open_ended, 'A', std::nullopt));              // not letter-scored
  a.observe(rec("4", QuestionType::multi_choice, std::nullopt, 'A'));            // unlabelled
  nlohmann::json j = a.to_json();
  EXPECT_EQ(j["n"], 4);
  EXPECT_EQ(j["n_labelled"], 3);
  EXPECT_EQ(j["n_scored"], 2);
  EXPECT_EQ(j["correct"], 1);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 0.5);
  auto w = wilson_interval(1, 2);
  EXPECT_DOUBLE_EQ(j["ci95"][0].get<double>(), w->lo);
}

TEST(PointBiserial, HandComputedValue) {
  // lengths 100,200 wrong; 300,400 right: M1 = 350, M0 = 150, s_n = sqrt(12500), p = q = 1/2
  // r = (350 - 150) / sqrt(12500) * 1/2 = 2/sqrt(5) = 0.894427191
  LengthCorrectness m;
  m.observe(rec("a", QuestionType::multi_choice, 'A', 'B', std::string(100, 'x')));
  m.observe(rec("b", QuestionType::multi_choice, 'A', 'B', std::string(200, 'x')));
  m.observe(rec("c", QuestionType::multi_choice, 'A', 'A', std::string(300, 'x')));
  m.observe(rec("d", QuestionType::multi_choice, 'A', 'A', std::string(400, 'x')));
  m.observe(rec("e", QuestionType::multi_choice, std::nullopt, 'A', std::string(9000, 'x')));  // unscored: ignored
  ASSERT_TRUE(m.value());
  EXPECT_NEAR(*m.value(), 0.894427191, 1e-9);
}

TEST(PointBiserial, NullWhenUndefined) {
  LengthCorrectness all_right, same_length, one;
  for (int i = 0; i < 3; ++i) all_right.observe(rec("r", QuestionType::multi_choice, 'A', 'A', std::string(10 * (i + 1), 'x')));
  same_length.observe(rec("a", QuestionType::multi_choice, 'A', 'A', "xx"));
  same_length.observe(rec("b", QuestionType::multi_choice, 'A', 'B', "yy"));
  one.observe(rec("a", QuestionType::multi_choice, 'A', 'A', "xx"));
  EXPECT_FALSE(all_right.value());
  EXPECT_FALSE(same_length.value());
  EXPECT_FALSE(one.value());
  EXPECT_TRUE(all_right.to_json()["length_correctness_correlation"].is_null());
}

TEST(OutputLength, CharsAreCodePointsBytesAreUtf8) {
  // "é" is 2 bytes, "→" 3 bytes, "😀" 4 bytes: 3 code points, 9 bytes.
  SampleRecord r = rec("u", QuestionType::multi_choice, 'A', 'A', "\xC3\xA9\xE2\x86\x92\xF0\x9F\x98\x80");
  EXPECT_EQ(r.output_chars, 3u);
  EXPECT_EQ(r.output_bytes, 9u);
  r.span = std::pair<std::size_t, std::size_t>{2, 5};  // the answer starts after "é"
  EXPECT_EQ(reasoning_chars(r), 1u);
}

TEST(Extraction, FailureRateAndRulesOverLetterQuestionsOnly) {
  Extraction e;
  e.observe(rec("1", QuestionType::multi_choice, 'A', 'A', "", "answer_prefix"));
  e.observe(rec("2", QuestionType::multi_choice, 'A', 'C', "", "boxed"));
  e.observe(rec("3", QuestionType::open_ended_multi_choice, 'A', std::nullopt));
  e.observe(rec("4", QuestionType::multi_choice, 'A', 'B', "", "answer_prefix"));
  e.observe(rec("5", QuestionType::open_ended, 'A', std::nullopt));  // no extraction asked
  nlohmann::json j = e.to_json()["extraction"];
  EXPECT_EQ(j["attempted"], 4);
  EXPECT_EQ(j["failures"], 1);
  EXPECT_DOUBLE_EQ(j["failure_rate"].get<double>(), 0.25);
  EXPECT_EQ(j["rules"], (nlohmann::json{{"answer_prefix", 2}, {"boxed", 1}, {"none", 1}}));
}

TEST(Composition, SplitMetricsMergesEveryKeyOnce) {
  std::vector<SampleRecord> s = {rec("1", QuestionType::multi_choice, 'A', 'A', "abcd"),
                                 rec("2", QuestionType::multi_choice, 'B', 'A', "ab")};
  s[0].input_tokens = 10;
  s[0].output_tokens = 4;
  s[0].latency_ms = 100;
  s[1].input_tokens = 20;
  s[1].output_tokens = 2;
  s[1].latency_ms = 200;
  nlohmann::json j = summarize(s).to_json();
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 0.5);
  EXPECT_EQ(j["by_type"]["multi_choice"]["n"], 2);
  EXPECT_DOUBLE_EQ(j["tokens"]["input_mean"].get<double>(), 15.0);
  EXPECT_EQ(j["tokens"]["output_total"], 6);
  EXPECT_DOUBLE_EQ(j["output_chars_mean"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(j["latency_ms_mean"].get<double>(), 150.0);
  EXPECT_DOUBLE_EQ(j["tokens_per_second"].get<double>(), 20.0);  // 6 tokens / 0.3 s
  EXPECT_DOUBLE_EQ(j["length_correctness_correlation"].get<double>(), 1.0);  // two points: longer one is right
}
