// Conformance suites: one typed test suite per evaluation concept (issue 20, point 1). Every policy that models
// the concept is listed in its suite's types and must keep the concept's contract, which the concept's
// requires-clause cannot state:
//   Extractor       an answer is one capital letter or null; a null names its reason; the span lies inside the
//                   output; the same text gives the same extraction; any bytes (invalid UTF-8, NUL, 64 KiB) give
//                   an Extraction, never an exception.
//   PromptProtocol  a multiple-choice question's first step shows the question and every option text; steps() is 1
//                   or 2; loglikelihood() has one continuation per option letter, in option order.
//   Metric          default-constructed to_json() is an object; observing samples keeps it an object; an
//                   unlabelled sample never becomes a score.
// A new policy is added to the type list of its suite. The compile-fail half (a type that does not model its
// concept is refused with the concept's name) is tests/eval/compile_fail/, run by ctest as conformance.*.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "curebench/eval/extract.hpp"
#include "curebench/eval/metrics.hpp"
#include "curebench/eval/prompt.hpp"

namespace cb = curebench;
namespace ex = curebench::eval::extract;

namespace {

const ex::Options kOptions(std::vector<std::pair<char, std::string>>{
    {'A', "Metformin"}, {'B', "Insulin glargine"}, {'C', "Lisinopril"}, {'D', "Warfarin"}});

const std::vector<std::string> kOutputs = {
    "",
    "   \n\t",
    "The answer is B.",
    "**Answer: C) Lisinopril**",
    "I think it is either A or D, probably D",
    "<think>weighing A against B</think>\nFinal answer: A",
    "<think>never closed",
    "Warfarin is the drug of choice here.",
    "E",
    "answer: b",
    std::string("\xff\xfe bytes that are not UTF-8 \xc3", 30),
    std::string("NUL\0inside then B", 18),
    std::string(65536, 'x') + " so the answer is (C)",
};

template <class E>
class ExtractorConformance : public ::testing::Test {};
using Extractors = ::testing::Types<ex::CurebenchDefault, ex::SeedRegex, ex::KitRule>;
TYPED_TEST_SUITE(ExtractorConformance, Extractors);

TYPED_TEST(ExtractorConformance, KeepsTheContract) {
  static_assert(ex::Extractor<TypeParam>);
  const TypeParam e{};
  EXPECT_FALSE(std::string_view(TypeParam::name).empty());
  for (const auto& out : kOutputs) {
    ex::Extraction a, b;
    ASSERT_NO_THROW(a = e.extract(out, kOptions)) << out.substr(0, 60);
    ASSERT_NO_THROW(b = e.extract(out, kOptions));
    EXPECT_EQ(a.answer, b.answer) << "not deterministic on: " << out.substr(0, 60);
    EXPECT_EQ(a.rule, b.rule);
    if (a.answer) {
      ASSERT_EQ(a.answer->size(), 1u) << *a.answer;
      EXPECT_TRUE((*a.answer)[0] >= 'A' && (*a.answer)[0] <= 'Z') << *a.answer;
    } else {
      EXPECT_FALSE(a.reason.empty()) << "a null answer must say why; rule " << a.rule << " on: " << out.substr(0, 60);
    }
    if (a.span) {
      EXPECT_LE(a.span->first, a.span->second);
      EXPECT_LE(a.span->second, out.size()) << a.rule;
    }
  }
  // An empty output never yields an answer.
  EXPECT_FALSE(e.extract("", kOptions).answer.has_value());
}

cb::eval::Question mc_question() {
  cb::eval::Question q;
  q.id = "q1";
  q.type = cb::eval::QuestionType::multi_choice;
  q.question = "Which drug is an ACE inhibitor?";
  q.options = cb::eval::Options{{'A', "Metformin"}, {'B', "Insulin glargine"}, {'C', "Lisinopril"}, {'D', "Warfarin"}};
  q.correct_answer = 'C';
  return q;
}

template <class P>
class ProtocolConformance : public ::testing::Test {};
using Protocols = ::testing::Types<cb::eval::CurebenchProtocol, cb::eval::OfficialKitProtocol>;
TYPED_TEST_SUITE(ProtocolConformance, Protocols);

TYPED_TEST(ProtocolConformance, ShowsTheQuestionAndEveryOption) {
  static_assert(cb::eval::PromptProtocol<TypeParam>);
  const TypeParam p{};
  const auto q = mc_question();
  const int steps = p.steps(q);
  EXPECT_TRUE(steps == 1 || steps == 2);
  std::string text;
  for (const auto& m : p.first(q)) {
    EXPECT_TRUE(m.role == "system" || m.role == "user" || m.role == "assistant") << m.role;
    text += m.content;
  }
  EXPECT_NE(text.find(q.question), std::string::npos) << text;
  for (const auto& [letter, option] : *q.options)
    EXPECT_NE(text.find(option), std::string::npos) << letter << ") " << option << " missing from: " << text;
  const auto ll = p.loglikelihood(q);
  ASSERT_EQ(ll.letters.size(), q.options->size());
  ASSERT_EQ(ll.continuations.size(), ll.letters.size());
  for (std::size_t i = 0; i < ll.letters.size(); ++i) {
    EXPECT_EQ(ll.letters[i], (*q.options)[i].first);
    EXPECT_FALSE(ll.continuations[i].empty());
  }
}

template <class M>
class MetricConformance : public ::testing::Test {};
namespace mx = cb::eval::metrics;
using MetricTypes = ::testing::Types<mx::Accuracy, mx::ByType, mx::Extraction, mx::TokenStats, mx::OutputLength, mx::Latency,
                                     mx::LengthCorrectness, mx::SplitMetrics>;
TYPED_TEST_SUITE(MetricConformance, MetricTypes);

TYPED_TEST(MetricConformance, ReportsAnObjectBeforeAndAfterSamples) {
  static_assert(mx::Metric<TypeParam>);
  TypeParam m;
  EXPECT_TRUE(nlohmann::json(m.to_json()).is_object());
  cb::eval::SampleRecord unlabelled;
  unlabelled.id = "u";
  unlabelled.output = "B";
  unlabelled.answer = 'B';
  cb::eval::SampleRecord right = unlabelled;
  right.id = "r", right.gold = 'B', right.correct = true, right.output_tokens = 3, right.latency_ms = 10;
  cb::eval::SampleRecord wrong = right;
  wrong.id = "w", wrong.answer = 'A', wrong.correct = false, wrong.output_tokens = 9, wrong.latency_ms = 30;
  m.observe(unlabelled);
  m.observe(right);
  m.observe(wrong);
  const nlohmann::json j = m.to_json();
  EXPECT_TRUE(j.is_object());
  // Where a metric reports accuracy, the unlabelled sample is not scored: 1 of 2, not 1 of 3 or 2 of 3.
  if (j.contains("accuracy")) EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 0.5) << j.dump();
}

}  // namespace
