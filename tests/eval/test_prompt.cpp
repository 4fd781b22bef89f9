// Prompts. Official protocol: expected strings were produced by running the starter kit's own f-strings
// (mims-harvard/CUREBench dataset_utils.py + eval_framework.py) in python3 on the synthetic records.
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/lm_eval.hpp"
#include "curebench/eval/prompt.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <tuple>

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

// ---- --protocol lm-eval (eval/lm_eval.hpp) ----
// tests/data/eval/lm_eval_requests.jsonl: the requests lm-evaluation-harness's task configs build for the records of
// tests/data/eval/lm_eval/, made by tests/fixtures/make_lm_eval_requests.py from documents in lm-eval's own schema
// (no lm-eval install here: the script applies the configs' doc_to_text/doc_to_choice and its sampler rules, with
// Python's random and jinja2). curebench must build every context and continuation byte for byte.
namespace {
std::vector<nlohmann::json> lm_eval_fixture(const std::string& kind) {
  std::ifstream in(std::string(CUREBENCH_TEST_DATA) + "/eval/lm_eval_requests.jsonl");
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j["kind"] == kind) out.push_back(std::move(j));
  }
  return out;
}
}  // namespace

TEST(LmEval, RequestsMatchLmEvalsTaskConfigsByteForByte) {
  const auto cases = lm_eval_fixture("request");
  ASSERT_EQ(cases.size(), 52u);  // 5 tasks + 6 MMLU subjects, zero- and few-shot
  std::set<std::string> tasks;
  std::map<std::tuple<std::string, std::string, int>, std::vector<std::string>> prefixes;  // (eval, pool, k) -> per record
  std::map<std::string, Dataset> files;
  auto file = [&](const std::string& rel) -> const Dataset& {
    if (!files.count(rel)) files.emplace(rel, load_split("x", std::string(CUREBENCH_TEST_DATA) + "/eval/" + rel));
    return files.at(rel);
  };
  for (const auto& c : cases) {
    const auto eval_file = c["eval"].get<std::string>();
    const auto pool_file = c["pool"].is_null() ? std::string() : c["pool"].get<std::string>();
    const int k = c["num_fewshot"].get<int>();
    const auto& ds = file(eval_file);
    const auto key = std::make_tuple(eval_file, pool_file, k);
    if (!prefixes.count(key)) {
      const Dataset* pool = pool_file.empty() ? nullptr : &file(pool_file);
      prefixes[key] = lm_eval::fewshot_prefixes(ds.questions, pool ? pool->questions : std::vector<Question>{},
                                                static_cast<std::size_t>(k), pool && pool->sha256 == ds.sha256, "", pool_file);
    }
    const auto i = c["index"].get<std::size_t>();
    const Question& q = ds.questions.at(i);
    ASSERT_EQ(q.id, c["id"].get<std::string>());
    LmEvalProtocol protocol;
    protocol.prefixes[&q] = prefixes[key][i];
    const auto lp = protocol.loglikelihood(q);
    const auto what = c["task"].get<std::string>() + " " + std::to_string(k) + "-shot " + q.id;
    ASSERT_EQ(lp.messages.size(), 1u);
    EXPECT_EQ(lp.messages[0].content, c["context"].get<std::string>()) << what;
    EXPECT_EQ(lp.continuations, c["continuations"].get<std::vector<std::string>>()) << what;
    EXPECT_EQ(lp.norm_lengths, c["lengths"].get<std::vector<std::size_t>>()) << what;
    EXPECT_EQ(lm_eval::task_of(q), c["task"].get<std::string>());
    tasks.insert(c["task"].get<std::string>());
  }
  EXPECT_EQ(tasks.size(), lm_eval::task_names().size());
}

TEST(LmEval, PythonRandomDrawsWhatCPythonsRandomSampleDraws) {
  const auto r = lm_eval_fixture("random");
  ASSERT_EQ(r.size(), 1u);
  PythonRandom rnd(r[0]["seed"].get<std::uint32_t>());
  for (const auto& d : r[0]["draws"]) {  // one generator, in turn: both random.sample branches (pool, set)
    const auto got = rnd.sample(d[0].get<std::size_t>(), d[1].get<std::size_t>());
    EXPECT_EQ(got, d[2].get<std::vector<std::size_t>>()) << "sample(range(" << d[0] << "), " << d[1] << ")";
  }
}

TEST(LmEval, AccNormDividesByTheChoiceLengthAndCanPickAnotherAnswer) {
  // Hand-computed: logprobs -4 and -6 over choices of 2 and 6 characters. acc: -4 > -6 -> 0. acc_norm: -4/2 = -2 <
  // -6/6 = -1 -> 1. Equal scores: np.argmax keeps the first.
  auto p = lm_eval::pick({-4.0, -6.0}, {2, 6});
  EXPECT_EQ(p.acc, 0u);
  EXPECT_EQ(p.acc_norm, 1u);
  p = lm_eval::pick({-3.0, -3.0, -9.0}, {1, 1, 3});
  EXPECT_EQ(p.acc, 0u);
  EXPECT_EQ(p.acc_norm, 0u);
  // HEAD-QA's choices are texts: their lengths are code points (Python len), not bytes, and the " " delimiter is not
  // counted.
  Question q{.id = "headqa-x-1", .question = "Q?", .options = Options{{'A', "\xc3\xa9t\xc3\xa9"}, {'B', "ab"}}, .correct_answer = 'A'};
  const auto lp = LmEvalProtocol{}.loglikelihood(q);
  EXPECT_EQ(lp.continuations, (std::vector<std::string>{" \xc3\xa9t\xc3\xa9", " ab"}));
  EXPECT_EQ(lp.norm_lengths, (std::vector<std::size_t>{3, 2}));
  // lm-eval's stderr of a mean: sqrt(p(1-p)/(n-1)); 3 of 4 -> sqrt(0.75 * 0.25 / 3) = 0.25.
  EXPECT_DOUBLE_EQ(*lm_eval::mean_stderr(3, 4), 0.25);
  EXPECT_FALSE(lm_eval::mean_stderr(1, 1));
}

TEST(LmEval, UnknownTaskAndMissingAbstractAreTypedErrors) {
  Question q{.id = "mystery-1", .question = "Q?", .options = Options{{'A', "a"}, {'B', "b"}}, .correct_answer = 'A'};
  try {
    (void)lm_eval::task_of(q);
    FAIL() << "no error";
  } catch (const curebench::Error& e) {
    EXPECT_EQ(e.field(), "line 0: id");
  }
  EXPECT_EQ(lm_eval::task_of(q, "headqa_en"), "headqa_en");  // the run config's lm_eval_task
  Question pub{.id = "pubmedqa-1", .question = "Q?", .options = Options{{'A', "yes"}, {'B', "no"}, {'C', "maybe"}}};
  try {
    (void)LmEvalProtocol{}.loglikelihood(pub);
    FAIL() << "no error";
  } catch (const curebench::Error& e) {
    EXPECT_NE(e.field().find("lm_eval.contexts"), std::string::npos) << e.field();
  }
  // Few-shot from a pool smaller than k names the task and the counts.
  std::vector<Question> one{q};
  one[0].id = "medmcqa-1";
  one[0].options = Options{{'A', "a"}, {'B', "b"}, {'C', "c"}, {'D', "d"}};
  EXPECT_THROW((void)lm_eval::fewshot_prefixes(one, one, 1, true, "", "pool.jsonl"), curebench::Error);
}
