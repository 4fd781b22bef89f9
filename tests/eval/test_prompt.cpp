// Prompts. Official protocol: expected strings were produced by running the starter kit's own f-strings
// (mims-harvard/CUREBench dataset_utils.py + eval_framework.py) in python3 on the synthetic records.
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/prompt.hpp"

#include <gtest/gtest.h>

using namespace curebench::eval;

namespace {
const std::vector<Question>& synthetic() {
  static const Dataset ds = load_split("val", std::string(CUREBENCH_TEST_DATA) + "/eval/format_example.synthetic.jsonl");
  return ds.questions;
}
bool shows_any_option(const Conversation& c, const Question& q) {
  for (const auto& m : c)
    for (const auto& [l, text] : *q.options)
      if (m.content.find(text) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST(OfficialProtocol, MultiChoiceMatchesTheKit) {
  OfficialKitProtocol p;
  const Question& q = synthetic()[0];
  EXPECT_EQ(p.steps(q), 1);
  Conversation c = p.first(q);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0], (ChatMessage{"system", "You are a helpful assistant."}));
  EXPECT_EQ(c[1].role, "user");
  EXPECT_EQ(c[1].content,
            "The following is a multiple choice question about medicine. Answer with only the letter (A, B, C, D, or "
            "E).\n\nQuestion: SYNTHETIC EXAMPLE. Deficiency of which vitamin causes scurvy?\nA: Vitamin A\nB: Vitamin "
            "B12\nC: Vitamin C\nD: Vitamin D\n\nAnswer:");
}

TEST(OfficialProtocol, OpenEndedMultiChoiceIsTwoStepsAndStepOneHidesOptions) {
  OfficialKitProtocol p;
  const Question& q = synthetic()[1];
  EXPECT_EQ(p.steps(q), 2);
  Conversation c1 = p.first(q);
  EXPECT_EQ(c1[1].content,
            "The following is an open-ended question about medicine. Provide a comprehensive answer.\n\nQuestion: "
            "SYNTHETIC EXAMPLE. What is the first-line antidote for acetaminophen overdose?\n\nAnswer:");
  EXPECT_FALSE(shows_any_option(c1, q));
  Conversation c2 = p.mapping(q, "  N-acetylcysteine (NAC).  ");
  ASSERT_EQ(c2.size(), 2u);
  EXPECT_EQ(c2[0].content, "You are a helpful assistant.");
  EXPECT_EQ(c2[1].content,
            "The following is a multiple choice question about medicine and the agent's open-ended answer to the "
            "question. Convert the agent's answer to the final answer format using the corresponding option label, "
            "e.g., 'A', 'B', 'C', 'D', 'E' or 'None'. \n\nQuestion: SYNTHETIC EXAMPLE. What is the first-line antidote "
            "for acetaminophen overdose?\nA: Naloxone\nB: N-acetylcysteine\nC: Flumazenil\nD: Atropine\n\nAgent's "
            "answer: N-acetylcysteine (NAC).\n\nMulti-choice answer:");
}

TEST(OfficialProtocol, OpenEndedReproducesTheKitsDoubleWrap) {
  OfficialKitProtocol p;
  const Question& q = synthetic()[2];
  EXPECT_EQ(p.steps(q), 1);
  EXPECT_EQ(p.first(q)[1].content,
            "The following is an open-ended question about medicine. Provide a comprehensive answer.\n\nQuestion: The "
            "following is an open-ended question about medicine. Provide a comprehensive answer.\n\nQuestion: "
            "SYNTHETIC EXAMPLE. Which drug class is contraindicated in a patient with a history of angioedema caused "
            "by an ACE inhibitor?\n\nAnswer:\n\nAnswer:");
  EXPECT_FALSE(shows_any_option(p.first(q), q));
}

TEST(CurebenchProtocol, OptionsOnlyWhereTheRulesAllow) {
  CurebenchProtocol p;
  const auto& qs = synthetic();
  EXPECT_TRUE(shows_any_option(p.first(qs[0]), qs[0]));
  EXPECT_NE(p.first(qs[0])[1].content.find("A. Vitamin A\nB. Vitamin B12\nC. Vitamin C\nD. Vitamin D"), std::string::npos);
  EXPECT_NE(p.first(qs[0])[1].content.find("one of A, B, C or D."), std::string::npos);
  EXPECT_FALSE(shows_any_option(p.first(qs[1]), qs[1]));  // open_ended_multi_choice step 1
  EXPECT_FALSE(shows_any_option(p.first(qs[2]), qs[2]));  // open_ended
  Conversation m = p.mapping(qs[4], "vitamin K\n");
  EXPECT_TRUE(shows_any_option(m, qs[4]));
  EXPECT_NE(m[1].content.find("as follows:\nvitamin K\n\n"), std::string::npos);
  EXPECT_NE(m[1].content.find("one of A, B, C, D or E, or \"Answer: None\""), std::string::npos);
}

TEST(Loglikelihood, LettersWhenOptionsAreShownTextsWhenNot) {
  for (int which = 0; which < 2; ++which) {
    const auto& qs = synthetic();
    LoglikelihoodPrompt mc = which ? CurebenchProtocol{}.loglikelihood(qs[0]) : OfficialKitProtocol{}.loglikelihood(qs[0]);
    EXPECT_EQ(mc.continuations, (std::vector<std::string>{" A", " B", " C", " D"}));
    EXPECT_EQ(mc.letters, (std::vector<char>{'A', 'B', 'C', 'D'}));
    EXPECT_EQ(mc.messages.back().content.substr(mc.messages.back().content.size() - 7), "Answer:");
    LoglikelihoodPrompt oe =
        which ? CurebenchProtocol{}.loglikelihood(qs[1]) : OfficialKitProtocol{}.loglikelihood(qs[1]);
    EXPECT_EQ(oe.continuations, (std::vector<std::string>{" Naloxone", " N-acetylcysteine", " Flumazenil", " Atropine"}));
    EXPECT_FALSE(shows_any_option(oe.messages, qs[1]));
    EXPECT_TRUE(OfficialKitProtocol{}.loglikelihood(qs[2]).continuations.empty());  // open_ended: not scored
  }
}

// A model without a chat template: the continuation follows "Answer:" directly ("Answer:" + " B"), and a
// generation prompt ends where the last message ends; no blank line after it (the pipeline's raw renderer
// once appended "\n\n" after every message, so loglikelihood scored "...Answer:\n\n B").
TEST(RenderWithoutTemplate, ContinuationFollowsAnswerColonDirectly) {
  const auto& qs = synthetic();
  for (int which = 0; which < 2; ++which) {
    LoglikelihoodPrompt lp = which ? CurebenchProtocol{}.loglikelihood(qs[0]) : OfficialKitProtocol{}.loglikelihood(qs[0]);
    const std::string text = render_without_template(lp.messages) + lp.continuations[1];
    EXPECT_TRUE(text.ends_with("\n\nAnswer: B")) << text;
    std::string joined;
    for (const auto& m : lp.messages) joined += (joined.empty() ? "" : "\n\n") + m.content;
    EXPECT_EQ(render_without_template(lp.messages), joined);
    for (const auto& q : qs) {
      Conversation c = which ? CurebenchProtocol{}.first(q) : OfficialKitProtocol{}.first(q);
      const std::string prompt = render_without_template(c);
      ASSERT_GE(prompt.size(), c.back().content.size());
      EXPECT_EQ(prompt.substr(prompt.size() - c.back().content.size()), c.back().content);
    }
  }
  // System first, blank-line separated, nothing after the last message.
  EXPECT_EQ(render_without_template({{"system", "S"}, {"user", "Q\n\nAnswer:"}}), "S\n\nQ\n\nAnswer:");
  EXPECT_EQ(render_without_template({{"user", "Q"}}), "Q");
  EXPECT_EQ(render_without_template({}), "");
}

// Issue 18, point 8: the kit strips the step-1 answer with Python's str.strip(), whose whitespace is Unicode's
// (expected values from Python 3: "\u00a0\u3000N-acetylcysteine\u2003\u2028\x1c".strip() == "N-acetylcysteine",
// "\u200bB".strip() == "\u200bB": U+200B is not whitespace).
TEST(OfficialProtocol, MappingStripsTheAnswerAsPythonDoes) {
  OfficialKitProtocol p;
  const Question& q = synthetic()[1];
  auto answer_line = [&](std::string_view step1) {
    auto c = p.mapping(q, step1)[1].content;
    auto b = c.find("Agent's answer: ");
    return c.substr(b, c.size() - b);
  };
  EXPECT_EQ(answer_line("\xC2\xA0\xE3\x80\x80N-acetylcysteine\xE2\x80\x83\xE2\x80\xA8\x1C"),
            "Agent's answer: N-acetylcysteine\n\nMulti-choice answer:");
  EXPECT_EQ(answer_line("\xE2\x80\x8B" "B"), "Agent's answer: \xE2\x80\x8B" "B\n\nMulti-choice answer:");
  EXPECT_EQ(CurebenchProtocol{}.mapping(q, "\xC2\xA0vitamin K\xC2\x85")[1].content.find("\xC2\xA0"), std::string::npos);
}
