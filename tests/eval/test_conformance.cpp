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
//   StudyTask       (eval/tasks/task.hpp) the prompt ends with a user turn holding the item's text, each example
//                   as a (user, assistant) pair before it; the gold answer written back as a model would (with
//                   list markers, case and whitespace noise) parses to the gold labels; gold vs gold scores 1.0
//                   and a wrong answer less; any bytes parse without an exception.
//   PromptingMethod (eval/tasks/prompting.hpp) zero-shot shows nothing; few-shot shows exactly k examples, never
//                   an item of the evaluated split (by id or by text) nor the item itself, the same ones for the
//                   same seed whatever the pool's order; both send the task's prompt and parse the whole output
//                   as they are; chain-of-thought shows nothing, keeps the task's question and asks for reasoning
//                   then an "Answer:" line, and its parser reads the text after the last "Answer:" only (gold
//                   after reasoning that names wrong answers scores 1.0; gold in the reasoning alone does not).
// A new policy is added to the type list of its suite. The compile-fail half (a type that does not model its
// concept is refused with the concept's name) is tests/eval/compile_fail/, run by ctest as conformance.*.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "curebench/eval/extract.hpp"
#include "curebench/eval/metrics.hpp"
#include "curebench/eval/prompt.hpp"
#include "curebench/eval/tasks/task.hpp"

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

// Per task: a task instance, the i-th distinct item (every one with a gold label that is not "none"), the gold
// answer as a model writes it back, and the score's headline keys.
namespace tk = cb::eval::tasks;
template <class T>
struct TaskCase;
template <>
struct TaskCase<tk::NerTask> {
  static tk::NerTask task() { return {"Disease", "disease"}; }
  static tk::NerSentence item(int i) {  // "<i> patients with familial breast cancer and ataxia - telangiectasia ."
    tk::NerSentence s;
    s.line = static_cast<std::size_t>(i);
    s.tokens = {"Case", std::to_string(i), ":", "familial", "breast", "cancer", "and", "ataxia", "-", "telangiectasia", "."};
    s.gold = {{4, 6, "Disease"}, {7, 10, "Disease"}};
    return s;
  }
  static tk::NerSentence with_other_id(tk::NerSentence s) { return s.line += 1000, s; }  // the id is the text
  static std::string model_answer(const tk::NerTask&, const tk::NerSentence&) {
    return "1. Breast  Cancer.\n- \"ataxia-telangiectasia\"\n\nSentence: a continuation the parser must ignore";
  }
  static std::vector<std::string> headline() { return {"f1", "precision", "recall"}; }
};
template <>
struct TaskCase<tk::RelationTask> {
  static tk::RelationTask task() { return {}; }
  static tk::RelationItem item(int i) {
    return {"pair" + std::to_string(i), "Case " + std::to_string(i) + ": @CHEMICAL$ strongly inhibits @GENE$ .",
            i % 2 ? "CPR:4" : "CPR:6"};
  }
  static tk::RelationItem with_other_id(tk::RelationItem r) { return r.id += ".copy", r; }
  static std::string model_answer(const tk::RelationTask&, const tk::RelationItem& r) {
    std::string l = r.label;
    std::transform(l.begin(), l.end(), l.begin(), [](char c) { return char(std::tolower(static_cast<unsigned char>(c))); });
    return " The label is " + l + ".\n";
  }
  static std::vector<std::string> headline() { return {"micro_f1", "macro_f1", "accuracy"}; }
};
template <>
struct TaskCase<tk::MultiLabelTask> {
  static tk::MultiLabelTask task() { return {tk::hoc_labels(), "abstract"}; }
  static tk::MultiLabelItem item(int i) {
    tk::MultiLabelItem d{"doc" + std::to_string(i), "Case " + std::to_string(i) + ": VEGF drives vessel growth in tumours.", {}};
    d.labels = i % 2 ? std::set<std::string>{"inducing angiogenesis"}
                     : std::set<std::string>{"inducing angiogenesis", "resisting cell death"};
    return d;
  }
  static tk::MultiLabelItem with_other_id(tk::MultiLabelItem d) { return d.id += ".copy", d; }
  static std::string model_answer(const tk::MultiLabelTask&, const tk::MultiLabelItem& d) {
    std::string out;
    for (const auto& l : d.labels) {
      std::string up = l;
      std::transform(up.begin(), up.end(), up.begin(), [](char c) { return char(std::toupper(static_cast<unsigned char>(c))); });
      out = "- " + up + "\n" + out;  // reversed order, upper case, list markers
    }
    return out;
  }
  static std::vector<std::string> headline() { return {"micro_f1", "macro_f1", "exact_match"}; }
};

template <>
struct TaskCase<tk::QaTask> {
  static tk::QaTask task() { return {}; }
  static cb::eval::Question item(int i) {
    auto q = mc_question();
    q.id = "q" + std::to_string(i);
    q.question = "Case " + std::to_string(i) + ": which drug is an ACE inhibitor?";
    q.correct_answer = i % 2 ? 'C' : 'A';
    return q;
  }
  static cb::eval::Question with_other_id(cb::eval::Question q) { return q.id += ".copy", q; }
  static std::string model_answer(const tk::QaTask&, const cb::eval::Question& q) {
    return std::string(1, *q.correct_answer);  // a letter alone on its line (no "Answer:": the CoT case adds it)
  }
  static std::vector<std::string> headline() { return {"accuracy", "micro_f1", "macro_f1"}; }
};

template <class T>
std::vector<typename T::Item> task_items(int first, int n) {
  std::vector<typename T::Item> v;
  for (int i = first; i < first + n; ++i) v.push_back(TaskCase<T>::item(i));
  return v;
}

template <class T>
class StudyTaskConformance : public ::testing::Test {};
using StudyTasks = ::testing::Types<tk::NerTask, tk::RelationTask, tk::MultiLabelTask, tk::QaTask>;
TYPED_TEST_SUITE(StudyTaskConformance, StudyTasks);

TYPED_TEST(StudyTaskConformance, PromptShowsTheItemAfterItsExamples) {
  static_assert(tk::StudyTask<TypeParam>);
  using C = TaskCase<TypeParam>;
  EXPECT_FALSE(std::string_view(TypeParam::name).empty());
  const auto task = C::task();
  const auto items = task_items<TypeParam>(100, 3);
  const auto zero = task.prompt(items[0], {});
  ASSERT_EQ(zero.size(), 1u);
  EXPECT_EQ(zero[0].role, "user");
  EXPECT_NE(zero[0].content.find(tk::item_text(items[0])), std::string::npos) << zero[0].content;
  const auto two = task.prompt(items[0], {&items[1], &items[2]});
  ASSERT_EQ(two.size(), 5u);
  for (std::size_t i = 0; i < 4; i += 2) {
    EXPECT_EQ(two[i].role, "user");
    EXPECT_EQ(two[i + 1].role, "assistant");
    EXPECT_NE(two[i].content.find(tk::item_text(items[1 + i / 2])), std::string::npos);
    // The shown answer is the example's gold: it parses back to its labels.
    const auto shown = tk::item_text(items[1 + i / 2]);
    const auto p = task.parse(items[1 + i / 2], two[i + 1].content);
    const auto j = nlohmann::json(task.prediction_json(items[1 + i / 2], p));
    EXPECT_EQ(j["pred"], j["gold"]) << shown;
  }
  EXPECT_EQ(two.back().content, zero[0].content);  // the item's turn does not depend on the examples
}

TYPED_TEST(StudyTaskConformance, GoldWrittenBackParsesToGoldAndScoresOne) {
  using C = TaskCase<TypeParam>;
  const auto task = C::task();
  const auto items = task_items<TypeParam>(100, 4);
  // What the oracle model says: found by the item's own prompt, so a prompt that lost its item fails here too.
  auto oracle = [&](const std::vector<cb::eval::Conversation>& prompts) {
    std::vector<std::string> out;
    for (const auto& c : prompts)
      for (const auto& it : items)
        if (c.back().content == task.prompt(it, {}).back().content) out.push_back(C::model_answer(task, it));
    return out;
  };
  std::vector<nlohmann::json> records;
  auto score = tk::run_task(task, items, tk::ZeroShot{}, oracle, 3,
                            [&](const tk::TaskRecord& r) { records.push_back(r.prediction); });
  ASSERT_EQ(records.size(), items.size());
  for (const auto& r : records) EXPECT_EQ(r["pred"], r["gold"]) << r.dump();
  const nlohmann::json j = std::as_const(score).to_json();
  ASSERT_TRUE(j.is_object());
  for (const std::string& key : C::headline()) EXPECT_DOUBLE_EQ(j.at(key).get<double>(), 1.0) << key << ": " << j.dump();

  // A model that answers nothing usable scores below 1 (every item has a gold label), and is not an exception.
  auto silent = [](const std::vector<cb::eval::Conversation>& p) { return std::vector<std::string>(p.size(), "None"); };
  const auto silent_score = tk::run_task(task, items, tk::ZeroShot{}, silent, 3);
  const nlohmann::json k = silent_score.to_json();
  for (const std::string& key : C::headline()) EXPECT_LT(k.at(key).get<double>(), 1.0) << key << ": " << k.dump();
}

TYPED_TEST(StudyTaskConformance, AnyBytesParseWithoutAnException) {
  const auto task = TaskCase<TypeParam>::task();
  const auto item = TaskCase<TypeParam>::item(1);
  auto score = task.score();
  for (const auto& out : kOutputs) {
    typename TypeParam::Prediction p;
    ASSERT_NO_THROW(p = task.parse(item, out)) << out.substr(0, 60);
    ASSERT_NO_THROW(score.add(item, p));
    EXPECT_TRUE(nlohmann::json(task.prediction_json(item, p)).is_object());
  }
  EXPECT_TRUE(nlohmann::json(std::as_const(score).to_json()).is_object());
}

// The prompting methods, over each task's item type.
template <class T>
class PromptingMethodConformance : public ::testing::Test {};
TYPED_TEST_SUITE(PromptingMethodConformance, StudyTasks);

template <class Item>
std::vector<std::string> ids_of(const std::vector<const Item*>& v) {
  std::vector<std::string> out;
  for (const auto* e : v) out.push_back(tk::item_id(*e));
  return out;
}

TYPED_TEST(PromptingMethodConformance, ZeroShotShowsNothing) {
  using Item = typename TypeParam::Item;
  static_assert(tk::PromptingMethod<tk::ZeroShot, Item>);
  const auto item = TaskCase<TypeParam>::item(1);
  EXPECT_TRUE(tk::ZeroShot{}.examples(item).empty());
  EXPECT_FALSE(tk::ZeroShot{}.name().empty());
  const auto task = TaskCase<TypeParam>::task();
  EXPECT_EQ(tk::ZeroShot{}.prompt(task.prompt(item, {})), task.prompt(item, {}));
  const std::string out = "Reasoning first.\nAnswer: x";
  EXPECT_EQ(tk::ZeroShot{}.answer(out), out);
}

TYPED_TEST(PromptingMethodConformance, ChainOfThoughtAsksForReasoningThenReadsTheLastAnswerLine) {
  using C = TaskCase<TypeParam>;
  using Item = typename TypeParam::Item;
  static_assert(tk::PromptingMethod<tk::ChainOfThought, Item>);
  const tk::ChainOfThought cot;
  EXPECT_FALSE(cot.name().empty());
  const auto task = C::task();
  const auto items = task_items<TypeParam>(100, 4);
  EXPECT_TRUE(cot.examples(items[0]).empty());
  // The task's own question, unchanged, then the instruction to reason and end with an "Answer:" line.
  const auto plain = task.prompt(items[0], {});
  const auto sent = cot.prompt(plain);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].role, "user");
  EXPECT_EQ(sent[0].content.substr(0, plain[0].content.size()), plain[0].content);
  EXPECT_NE(sent[0].content.find("step by step", plain[0].content.size()), std::string::npos) << sent[0].content;
  EXPECT_NE(sent[0].content.find("\"Answer:\"", plain[0].content.size()), std::string::npos) << sent[0].content;
  // Hand-written chain-of-thought outputs: reasoning that proposes another item's answer (a wrong one where the golds
  // differ: RE, multi-label, QA) on an "Answer:" line of its own, then revises; the last "Answer:" (here in
  // capitals) holds the gold answer as the task's format asks for it. Reading the first "Answer:" fails here.
  auto index_of = [&](const cb::eval::Conversation& c) -> std::size_t {
    for (std::size_t k = 0; k < items.size(); ++k)
      if (c.back().content == cot.prompt(task.prompt(items[k], {})).back().content) return k;
    throw std::runtime_error("a prompt that holds no item");
  };
  auto find = [&](const cb::eval::Conversation& c) -> const Item& { return items[index_of(c)]; };
  auto revised = [&](const std::vector<cb::eval::Conversation>& prompts) {
    std::vector<std::string> out;
    for (const auto& c : prompts) {
      const auto k = index_of(c);
      out.push_back("The sentence is about a tumour.\nAnswer: " + C::model_answer(task, items[(k + 1) % items.size()]) +
                    "\nOn reflection that is wrong: the text says more.\nFINAL ANSWER:\n" + C::model_answer(task, items[k]));
    }
    return out;
  };
  std::vector<nlohmann::json> records;
  std::vector<std::string> outputs;
  auto score = tk::run_task(task, items, cot, revised, 3, [&](const tk::TaskRecord& r) {
    records.push_back(r.prediction);
    outputs.push_back(r.output);
  });
  ASSERT_EQ(records.size(), items.size());
  for (const auto& r : records) EXPECT_EQ(r["pred"], r["gold"]) << r.dump();
  EXPECT_NE(outputs[0].find("On reflection"), std::string::npos) << "the record keeps the whole output";
  const nlohmann::json j = std::as_const(score).to_json();
  for (const std::string& key : C::headline()) EXPECT_DOUBLE_EQ(j.at(key).get<double>(), 1.0) << key << ": " << j.dump();
  // The gold answer in the reasoning only, no "Answer:" line: the parser reads nothing of it.
  auto no_answer_line = [&](const std::vector<cb::eval::Conversation>& prompts) {
    std::vector<std::string> out;
    for (const auto& c : prompts) out.push_back("Let me think.\n" + C::model_answer(task, find(c)) + "\nThat is my guess.");
    return out;
  };
  const nlohmann::json k = tk::run_task(task, items, cot, no_answer_line, 3).to_json();
  for (const std::string& key : C::headline()) EXPECT_LT(k.at(key).get<double>(), 1.0) << key << ": " << k.dump();
  // The rule at its edges: no marker, a marker with nothing after it, two markers.
  EXPECT_EQ(cot.answer("no marker at all"), "");
  EXPECT_EQ(cot.answer("answer:"), "");
  EXPECT_EQ(cot.answer("Answer: a\nanswer: b"), " b");
}

TYPED_TEST(PromptingMethodConformance, FewShotDrawsKSeededExamplesOutsideTheEvaluatedSplit) {
  using C = TaskCase<TypeParam>;
  using Item = typename TypeParam::Item;
  static_assert(tk::PromptingMethod<tk::FewShot<Item>, Item>);
  const auto evaluated = task_items<TypeParam>(100, 4);
  auto pool = task_items<TypeParam>(0, 12);
  // Evaluated items slipped into the pool, by id and by text under another id: never shown.
  pool.push_back(evaluated[0]);
  pool.push_back(C::with_other_id(evaluated[1]));
  std::set<std::string> ids, texts;
  for (const auto& e : evaluated) ids.insert(tk::item_id(e)), texts.insert(tk::item_text(e));
  const std::size_t k = 3;
  const tk::FewShot<Item> shots(pool, evaluated, k, 7);
  EXPECT_EQ(shots.pool().size(), 12u);
  EXPECT_FALSE(shots.name().empty());
  const auto plain = C::task().prompt(evaluated[0], shots.examples(evaluated[0]));
  EXPECT_EQ(shots.prompt(plain), plain);
  EXPECT_EQ(shots.answer("Reasoning.\nAnswer: x"), "Reasoning.\nAnswer: x");
  for (const auto& item : evaluated) {
    const auto ex = shots.examples(item);
    ASSERT_EQ(ex.size(), k);
    for (const auto* e : ex) {
      EXPECT_FALSE(ids.count(tk::item_id(*e))) << tk::item_id(*e);
      EXPECT_FALSE(texts.count(tk::item_text(*e))) << tk::item_id(*e);
    }
    // Every item of a split sees the same examples.
    EXPECT_EQ(ids_of(ex), ids_of(shots.examples(evaluated[0])));
  }
  // An item of the pool itself (the caller forgot it in `evaluated`) is never its own example.
  for (const auto* e : shots.examples(pool[0])) EXPECT_NE(tk::item_text(*e), tk::item_text(pool[0]));
  EXPECT_EQ(shots.examples(pool[0]).size(), k);
  // Same seed, same examples, whatever the pool's order; another seed draws others.
  auto reversed = pool;
  std::reverse(reversed.begin(), reversed.end());
  const tk::FewShot<Item> again(reversed, evaluated, k, 7);
  EXPECT_EQ(ids_of(again.examples(evaluated[2])), ids_of(shots.examples(evaluated[2])));
  bool other = false;
  for (std::uint64_t seed = 8; seed < 16 && !other; ++seed)
    other = ids_of(tk::FewShot<Item>(pool, evaluated, k, seed).examples(evaluated[0])) != ids_of(shots.examples(evaluated[0]));
  EXPECT_TRUE(other) << "eight other seeds all drew the seed-7 examples";
  // Too small a pool once the evaluated items are dropped: a typed error naming k.
  try {
    tk::FewShot<Item>(pool, evaluated, 13, 7);
    ADD_FAILURE() << "13 examples from a pool of 12";
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.field(), "k");
  }
}

}  // namespace
