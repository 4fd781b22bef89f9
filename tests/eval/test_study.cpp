// The quantized-LLM study's task families (issue 21): IOB2 spans with conlleval's rules, entity F1, label
// micro/macro F1, the `curebench score` file readers, the bionlp dataset readers (counts of the shipped sets'
// READMEs), the NER / relation task policies and few-shot prompting. References: hand-computed values
// (arithmetic in the comments), conlleval's documented chunk rules, and fixtures made by
// tests/fixtures/make_study_score_fixtures.py
// (a line-by-line port of conlleval's counting and scikit-learn's precision/recall path):
//     python3 tests/fixtures/make_study_score_fixtures.py tests/data/study
#include "curebench/eval/tasks/bionlp_data.hpp"
#include "curebench/eval/tasks/bootstrap.hpp"
#include "curebench/eval/tasks/entity_f1.hpp"
#include "curebench/eval/tasks/iob2.hpp"
#include "curebench/eval/tasks/label_f1.hpp"
#include "curebench/eval/tasks/multilabel_data.hpp"
#include "curebench/eval/tasks/multilabel_task.hpp"
#include "curebench/eval/tasks/qa_task.hpp"
#include "curebench/eval/tasks/score_files.hpp"
#include "curebench/eval/tasks/study.hpp"
#include "curebench/eval/tasks/task.hpp"

#include <gtest/gtest.h>

#include "eval/eval_test_util.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

using namespace curebench;
using namespace curebench::eval::tasks;
using curebench::eval::Conversation;

namespace curebench::eval::tasks {
inline void PrintTo(const Span& s, std::ostream* os) { *os << "[" << s.begin << "," << s.end << ") " << s.type; }
}  // namespace curebench::eval::tasks

namespace {

std::vector<std::string> tags(std::initializer_list<const char*> t) { return {t.begin(), t.end()}; }

std::string study_data(const std::string& name) { return std::string(CUREBENCH_TEST_DATA) + "/study/" + name; }

// The full shipped sets: ../shared/datasets/bionlp beside the repository, or $CUREBENCH_BIONLP_DIR.
std::string bionlp_dir() {
  if (const char* env = std::getenv("CUREBENCH_BIONLP_DIR")) return env;
  return std::string(CUREBENCH_SOURCE_DIR) + "/../shared/datasets/bionlp";
}
#define REQUIRE_BIONLP()                                                                       \
  if (!std::filesystem::exists(bionlp_dir() + "/README.md"))                                   \
  GTEST_SKIP() << "no shipped bionlp sets at " << bionlp_dir() << " (set CUREBENCH_BIONLP_DIR)"

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// Every key of `expected` (numbers to 1e-12, the rest exactly) recursively; keys only the C++ side reports are
// not compared.
void expect_matches(const nlohmann::json& expected, const nlohmann::json& actual, const std::string& where = "") {
  for (const auto& [key, value] : expected.items()) {
    ASSERT_TRUE(actual.contains(key)) << where << "." << key;
    const auto& a = actual[key];
    if (value.is_object()) {
      ASSERT_TRUE(a.is_object()) << where << "." << key;
      EXPECT_EQ(value.size(), a.size()) << where << "." << key << ": " << a.dump();
      expect_matches(value, a, where + "." + key);
    } else if (value.is_number_float()) {
      EXPECT_NEAR(value.get<double>(), a.get<double>(), 1e-12) << where << "." << key;
    } else {
      EXPECT_EQ(value, a) << where << "." << key;
    }
  }
}

template <class F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no curebench::Error thrown";
  return Error(Errc::internal, "", "", "none");
}

}  // namespace

// ---------------------------------------------------------------------------------------------- IOB2 spans

// conlleval's startOfChunk: B- starts; I- after O starts; any tag of another type than the previous starts.
TEST(Iob2Spans, ConllevalChunkRules) {
  using V = std::vector<Span>;
  EXPECT_EQ(spans_from_tags(tags({"B-D", "I-D", "O", "B-C"})), (V{{0, 2, "D"}, {3, 4, "C"}}));
  EXPECT_EQ(spans_from_tags(tags({"O", "I-D", "I-D", "O"})), (V{{1, 3, "D"}}));      // I- after O starts one
  EXPECT_EQ(spans_from_tags(tags({"I-D"})), (V{{0, 1, "D"}}));                       // ... also at the start
  EXPECT_EQ(spans_from_tags(tags({"B-D", "I-C", "I-C"})), (V{{0, 1, "D"}, {1, 3, "C"}}));  // type change
  EXPECT_EQ(spans_from_tags(tags({"I-D", "I-C"})), (V{{0, 1, "D"}, {1, 2, "C"}}));
  EXPECT_EQ(spans_from_tags(tags({"B-D", "B-D"})), (V{{0, 1, "D"}, {1, 2, "D"}}));   // B- after B- ends one
  EXPECT_EQ(spans_from_tags(tags({"O", "B-D", "I-D"})), (V{{1, 3, "D"}}));           // ends with the sentence
  // conlleval splits the type at the first '-': "Gene-or-protein" is one type.
  EXPECT_EQ(spans_from_tags(tags({"B-Gene-or-protein", "I-Gene-or-protein"})), (V{{0, 2, "Gene-or-protein"}}));
  EXPECT_TRUE(spans_from_tags(tags({"O", "O"})).empty());
  EXPECT_TRUE(spans_from_tags(std::vector<std::string>{}).empty());
}

TEST(Iob2Spans, RefusesWhatIsNotIob2) {
  for (const char* bad : {"E-D", "S-D", "B", "I", "B-", "o", "", "B_D", "U-D"}) {
    auto e = error_of([&] { spans_from_tags(tags({"O", bad})); });
    EXPECT_EQ(e.code(), Errc::invalid_argument) << bad;
    EXPECT_EQ(e.field(), "tag 1") << bad;
  }
}

TEST(Iob2Spans, TagsFromSpansRoundTrip) {
  auto t = tags_from_spans(5, {{0, 2, "D"}, {3, 4, "C"}});
  EXPECT_EQ(t, tags({"B-D", "I-D", "O", "B-C", "O"}));
  EXPECT_EQ(spans_from_tags(t), (std::vector<Span>{{0, 2, "D"}, {3, 4, "C"}}));
  // Adjacent entities of one type stay two entities: the second starts with B-.
  EXPECT_EQ(tags_from_spans(2, {{0, 1, "D"}, {1, 2, "D"}}), tags({"B-D", "B-D"}));
  EXPECT_EQ(error_of([] { tags_from_spans(3, {{0, 2, "D"}, {1, 3, "D"}}); }).code(), Errc::invalid_argument);
  EXPECT_EQ(error_of([] { tags_from_spans(3, {{2, 4, "D"}}); }).code(), Errc::invalid_argument);
}

// ---------------------------------------------------------------------------------------------- entity F1

TEST(EntityF1, HandComputed) {
  EntityF1 s;
  // gold {[0,2) D, [3,4) C}, pred {[0,1) D, [3,4) C}: the D boundary differs, so 1 correct of 2 and 2.
  s.add_tags(tags({"B-D", "I-D", "O", "B-C"}), tags({"B-D", "O", "O", "B-C"}));
  // gold {[1,3) D} (I- after O), pred {[0,2) D}: both boundaries must match, 0 correct.
  s.add_tags(tags({"O", "I-D", "I-D"}), tags({"B-D", "I-D", "O"}));
  // "O I-D" and "O B-D" are the same entity [1,2) D for conlleval: 1 correct.
  s.add_tags(tags({"O", "I-D"}), tags({"O", "B-D"}));
  // gold {[0,1) D} only; pred finds it with the wrong type C: 0 correct, a C false positive.
  s.add_tags(tags({"B-D"}), tags({"B-C"}));
  // Totals: gold 2+1+1+1 = 5, predicted 2+1+1+1 = 5, correct 1+0+1+0 = 2.
  EXPECT_EQ(s.all.gold, 5u);
  EXPECT_EQ(s.all.predicted, 5u);
  EXPECT_EQ(s.all.correct, 2u);
  EXPECT_DOUBLE_EQ(s.all.precision(), 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(s.all.recall(), 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(s.all.f1(), 0.4);  // 2·2 / (5 + 5)
  // Per type: D gold 4, pred 3 ([0,1) [0,2) [1,2)), correct 1 -> P 1/3, R 1/4, F1 2/7.
  EXPECT_EQ(s.per_type.at("D").gold, 4u);
  EXPECT_EQ(s.per_type.at("D").predicted, 3u);
  EXPECT_EQ(s.per_type.at("D").correct, 1u);
  EXPECT_DOUBLE_EQ(s.per_type.at("D").f1(), 2.0 / 7.0);
  // C gold 1, pred 2, correct 1 -> F1 2/3.
  EXPECT_DOUBLE_EQ(s.per_type.at("C").f1(), 2.0 / 3.0);
  // Tokens: 4 + 3 + 2 + 1 = 10; equal tags: (B-D, O, B-C) 3 + (I-D) 1 + (O) 1 + 0 = 5.
  EXPECT_EQ(s.tokens, 10u);
  EXPECT_EQ(s.tokens_correct, 5u);
  EXPECT_EQ(s.sentences, 4u);
}

TEST(EntityF1, NothingPredictedIsZeroNotNaN) {
  EntityF1 s;
  s.add_tags(tags({"B-D", "O"}), tags({"O", "O"}));
  EXPECT_EQ(s.all.precision(), 0.0);  // 0 / 0 predicted: conlleval prints 0
  EXPECT_EQ(s.all.recall(), 0.0);
  EXPECT_EQ(s.all.f1(), 0.0);
  EXPECT_EQ(error_of([&] { s.add_tags(tags({"O"}), tags({"O", "O"})); }).code(), Errc::invalid_argument);
}

// ---------------------------------------------------------------------------------------------- label F1

TEST(LabelF1, SingleLabelHandComputed) {
  // gold A A B N N, pred A B B N A (N = the negative label):
  //  A: TP 1 (item 1), FP 1 (item 5), FN 1 (item 2) -> 2/(2+1+1) = 1/2
  //  B: TP 1 (item 3), FP 1 (item 2), FN 0          -> 2/3
  //  N: TP 1 (item 4), FP 0,          FN 1 (item 5) -> 2/3
  //  macro = (1/2 + 2/3 + 2/3) / 3 = 11/18
  //  micro without N: TP 2, FP 2, FN 1 -> 4/7;  micro over all: TP 3, FP 2, FN 2 -> 6/10 = accuracy 3/5
  SingleLabelF1 s;
  const char* gold[] = {"A", "A", "B", "N", "N"};
  const char* pred[] = {"A", "B", "B", "N", "A"};
  for (int i = 0; i < 5; ++i) s.add(gold[i], pred[i]);
  EXPECT_DOUBLE_EQ(s.per_label.at("A").f1(), 0.5);
  EXPECT_DOUBLE_EQ(s.per_label.at("B").f1(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.per_label.at("N").f1(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(macro_f1(s.per_label), 11.0 / 18.0);
  EXPECT_DOUBLE_EQ(s.micro_f1(), 0.6);
  EXPECT_DOUBLE_EQ(s.accuracy(), 0.6);
  s.negative = "N";
  EXPECT_DOUBLE_EQ(s.micro_f1(), 4.0 / 7.0);
  EXPECT_DOUBLE_EQ(macro_f1(s.per_label), 11.0 / 18.0);  // the negative label stays in macro F1
  auto j = s.to_json();
  EXPECT_EQ(j["negative"], "N");
  EXPECT_EQ(j["negative_seen"], true);
  s.negative = "n";  // labels are case-sensitive: a typo pools every label, and says so
  EXPECT_DOUBLE_EQ(s.micro_f1(), 0.6);
  EXPECT_EQ(s.to_json()["negative_seen"], false);
  s.negative = "N";
  EXPECT_EQ(j["labels"], 3);
  EXPECT_EQ(j["per_label"]["A"]["support"], 2);
}

TEST(LabelF1, ZeroTruePositivesIsZeroAndAPredictedOnlyLabelCounts) {
  // gold A, pred B: A TP 0 FN 1 -> 0; B TP 0 FP 1 -> 0; macro over {A, B} = 0; micro 0.
  SingleLabelF1 s;
  s.add("A", "B");
  EXPECT_EQ(s.per_label.size(), 2u);
  EXPECT_EQ(macro_f1(s.per_label), 0.0);
  EXPECT_EQ(s.micro_f1(), 0.0);
  // gold A A, pred A C: A 2/(2+0+1) = 2/3, C 0 -> macro 1/3 (C, seen only in pred, halves it).
  SingleLabelF1 t;
  t.add("A", "A");
  t.add("A", "C");
  EXPECT_DOUBLE_EQ(macro_f1(t.per_label), 1.0 / 3.0);
}

TEST(LabelF1, MultiLabelHandComputed) {
  // doc1 gold {a,b} pred {a}; doc2 gold {} pred {c}; doc3 gold {b} pred {a,b}:
  //  a: TP 1 (doc1), FP 1 (doc3) -> 2/3;  b: TP 1 (doc3), FN 1 (doc1) -> 2/3;  c: FP 1 -> 0
  //  macro = (2/3 + 2/3 + 0) / 3 = 4/9;  micro: TP 2, FP 2, FN 1 -> 4/7;  exact match 0/3
  MultiLabelF1 s;
  s.add({"a", "b"}, {"a"});
  s.add({}, {"c"});
  s.add({"b"}, {"a", "b"});
  EXPECT_DOUBLE_EQ(macro_f1(s.per_label), 4.0 / 9.0);
  EXPECT_DOUBLE_EQ(s.micro_f1(), 4.0 / 7.0);
  EXPECT_EQ(s.to_json()["exact_match"], 0.0);
  s.add({}, {});  // an empty gold and pred set is a correct "no label": exact, no counts
  EXPECT_DOUBLE_EQ(s.micro_f1(), 4.0 / 7.0);
  EXPECT_DOUBLE_EQ(s.to_json()["exact_match"].get<double>(), 0.25);
}

// ---------------------------------------------------------------------------------------------- score files

TEST(ScoreFiles, NerMatchesConllevalPortOnFixture) {
  auto s = score_conll_file(study_data("score_ner.conll"));
  expect_matches(read_json(study_data("score_ner.expected.json")), s.to_json());
  EXPECT_GT(s.all.correct, 0u);
  EXPECT_LT(s.all.correct, s.all.gold);  // the fixture has errors to count
}

TEST(ScoreFiles, RelationMatchesSklearnDefinitionsOnFixture) {
  auto expected = read_json(study_data("score_re.expected.json"));
  expect_matches(expected["with_negative_false"], score_label_jsonl(study_data("score_re.jsonl"), "false").to_json());
  expect_matches(expected["without_negative"], score_label_jsonl(study_data("score_re.jsonl")).to_json());
}

TEST(ScoreFiles, MultiLabelMatchesSklearnDefinitionsOnFixture) {
  expect_matches(read_json(study_data("score_multilabel.expected.json")),
                 score_multilabel_jsonl(study_data("score_multilabel.jsonl")).to_json());
}

TEST(ScoreFiles, ConllAcceptsCrlfAndTwoColumnsOfTokenFeatures) {
  auto p = test::write_temp("crlf.conll", "a NN B-D O\r\nb NN I-D O\r\n\r\nc NN O B-D\r\n");
  auto s = score_conll_file(p.string());
  EXPECT_EQ(s.all.gold, 1u);
  EXPECT_EQ(s.all.predicted, 1u);
  EXPECT_EQ(s.all.correct, 0u);
  EXPECT_EQ(s.sentences, 2u);
  EXPECT_EQ(s.tokens, 3u);
}

TEST(ScoreFiles, MalformedLinesNameFileLineAndField) {
  struct Case {
    const char* name;
    std::string bytes;
    std::string field;
  } conll[] = {
      {"cols.conll", "a B-D B-D\nb O\n", "line 2: columns"},
      {"few.conll", "a B-D\n", "line 1: columns"},
      {"gold.conll", "a O O\n\nb E-D O\n", "line 3: gold tag (column 2)"},
      {"pred.conll", "a x O B\n", "line 1: predicted tag (column 4)"},
      {"empty.conll", "\n\n", ""},
  };
  for (const auto& c : conll) {
    auto p = test::write_temp(c.name, c.bytes).string();
    auto e = error_of([&] { score_conll_file(p); });
    EXPECT_EQ(e.code(), Errc::dataset) << c.name;
    EXPECT_EQ(e.path(), p) << c.name;
    EXPECT_EQ(e.field(), c.field) << c.name << ": " << e.what();
  }
  Case re[] = {
      {"nopred.jsonl", "{\"id\": 1, \"gold\": \"A\", \"pred\": \"A\"}\n{\"id\": 2, \"gold\": \"A\"}\n", "line 2: pred"},
      {"noid.jsonl", "{\"gold\": \"A\", \"pred\": \"A\"}\n", "line 1: id"},
      {"numlabel.jsonl", "{\"id\": \"x\", \"gold\": 1, \"pred\": \"A\"}\n", "line 1: gold"},
      {"emptylabel.jsonl", "{\"id\": \"x\", \"gold\": \"A\", \"pred\": \"\"}\n", "line 1: pred"},
      {"badjson.jsonl", "\n{\"id\": \"x\", \"gold\": \"A\",\n", "line 2: byte 25"},
      {"array.jsonl", "[1, 2]\n", "line 1"},
  };
  for (const auto& c : re) {
    auto p = test::write_temp(c.name, c.bytes).string();
    auto e = error_of([&] { score_label_jsonl(p); });
    EXPECT_EQ(e.code(), Errc::dataset) << c.name;
    EXPECT_EQ(e.path(), p) << c.name;
    EXPECT_EQ(e.field(), c.field) << c.name << ": " << e.what();
  }
  Case ml[] = {
      {"dup.jsonl", "{\"id\": 1, \"gold\": [\"a\", \"a\"], \"pred\": []}\n", "line 1: gold[1]"},
      {"notarray.jsonl", "{\"id\": 1, \"gold\": \"a\", \"pred\": []}\n", "line 1: gold"},
      {"elem.jsonl", "{\"id\": 1, \"gold\": [], \"pred\": [\"a\", 3]}\n", "line 1: pred[1]"},
  };
  for (const auto& c : ml) {
    auto p = test::write_temp(c.name, c.bytes).string();
    auto e = error_of([&] { score_multilabel_jsonl(p); });
    EXPECT_EQ(e.code(), Errc::dataset) << c.name;
    EXPECT_EQ(e.field(), c.field) << c.name << ": " << e.what();
  }
}

// ---------------------------------------------------------------------------------------------- bootstrap

TEST(Bootstrap, PercentileIsLinearBetweenOrderStatistics) {
  // numpy's default (type 7): h = (B - 1) p. B = 1001 values 1..1001: h = 25 and 975 exactly -> 26 and 976.
  // B = 1000 values 1..1000: h = 24.975 -> 25 + 0.975 = 25.975; h = 974.025 -> 975.025. Order does not matter.
  std::vector<double> v;
  for (int i = 1001; i >= 1; --i) v.push_back(i);
  auto i1 = percentile_interval(v);
  EXPECT_NEAR(i1.lo, 26.0, 1e-9);  // 0.025 and 0.975 are not exact in binary: h is 25 within 1e-14
  EXPECT_NEAR(i1.hi, 976.0, 1e-9);
  v.erase(v.begin());  // 1000 .. 1
  auto i2 = percentile_interval(v);
  EXPECT_NEAR(i2.lo, 25.975, 1e-9);
  EXPECT_NEAR(i2.hi, 975.025, 1e-9);
  EXPECT_DOUBLE_EQ(percentile_interval({0.5}).lo, 0.5);
}

TEST(Bootstrap, IntervalCollapsesWhenEveryResampleGivesTheSameF1) {
  // NER: every sentence has gold 2, predicted 2, correct 1 -> any resample has F1 = 2C/(G+P) = 1/2.
  EntityF1 ner;
  for (int i = 0; i < 7; ++i)
    ner.add_tags(tags({"B-D", "O", "B-D", "O"}), tags({"B-D", "B-D", "O", "O"}));
  auto j = score_intervals(ner, {1000, 3});
  EXPECT_DOUBLE_EQ(j["ci"]["f1"]["lo"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["ci"]["f1"]["hi"].get<double>(), 0.5);
  EXPECT_EQ(j["bootstrap"]["unit"], "sentence");
  EXPECT_EQ(j["bootstrap"]["resamples"], 1000);
  // RE: 10 items, all right -> micro = macro = 1 in every resample; accuracy 10/10 is Wilson's:
  // k = n: lo = 1 / (1 + z^2/n) = 1 / (1 + 0.384146/1) ... with n = 10: 1 / 1.3841459 = 0.722467, hi = 1.
  SingleLabelF1 re;
  for (int i = 0; i < 10; ++i) re.add("A", "A");
  j = score_intervals(re, {});
  EXPECT_DOUBLE_EQ(j["ci"]["micro_f1"]["lo"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["ci"]["macro_f1"]["hi"].get<double>(), 1.0);
  const double z2 = eval::z95 * eval::z95;
  EXPECT_NEAR(j["ci"]["accuracy"]["lo"].get<double>(), 1.0 / (1.0 + z2 / 10.0), 1e-12);
  EXPECT_NEAR(j["ci"]["accuracy"]["lo"].get<double>(), 0.722467, 1e-6);
  EXPECT_EQ(j["ci"]["accuracy"]["method"], "wilson");
  // Multi-label: every document gold {a}, pred {a, b} -> a: F1 1, b: F1 0 in every resample: micro 2n/3n = 2/3,
  // macro 1/2; exact match 0 of 5: Wilson hi = (z^2/n) / (1 + z^2/n).
  MultiLabelF1 ml;
  for (int i = 0; i < 5; ++i) ml.add({"a"}, {"a", "b"});
  j = score_intervals(ml, {});
  EXPECT_NEAR(j["ci"]["micro_f1"]["lo"].get<double>(), 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(j["ci"]["micro_f1"]["hi"].get<double>(), 2.0 / 3.0, 1e-15);
  EXPECT_DOUBLE_EQ(j["ci"]["macro_f1"]["lo"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["ci"]["macro_f1"]["hi"].get<double>(), 0.5);
  EXPECT_EQ(j["ci"]["exact_match"]["lo"].get<double>(), 0.0);
  EXPECT_NEAR(j["ci"]["exact_match"]["hi"].get<double>(), (z2 / 5) / (1 + z2 / 5), 1e-12);
  EXPECT_EQ(j["bootstrap"]["unit"], "document");
}

TEST(Bootstrap, SameSeedSameIntervalsAnotherSeedOthers) {
  auto s = score_label_jsonl(study_data("score_re.jsonl"), "false");
  auto a = score_intervals(s, {1000, 11}), b = score_intervals(s, {1000, 11}), c = score_intervals(s, {1000, 12});
  EXPECT_EQ(a, b);  // bit for bit
  EXPECT_NE(a["ci"]["micro_f1"], c["ci"]["micro_f1"]);
  for (const char* f : {"micro_f1", "macro_f1", "accuracy"}) {
    const double v = s.to_json()[f].get<double>();
    EXPECT_LT(a["ci"][f]["lo"].get<double>(), v) << f;
    EXPECT_GT(a["ci"][f]["hi"].get<double>(), v) << f;
  }
  // resamples = 0: no intervals, the JSON unchanged.
  auto j = s.to_json();
  add_intervals(j, s, {0, 0});
  EXPECT_EQ(j, s.to_json());
}

// Three RE items (gold A pred A, gold A pred B, gold B pred B): the 27 equally likely draws of 3 indices,
// enumerated and scored with SingleLabelF1 itself, give the exact distribution of micro and macro F1; 200,000
// seeded resamples must match it (each value's frequency within 5 standard errors) and hit no other value.
TEST(Bootstrap, ThreeItemsMatchTheEnumeratedExactDistribution) {
  const std::pair<const char*, const char*> items[] = {{"A", "A"}, {"A", "B"}, {"B", "B"}};
  std::map<double, double> exact_micro, exact_macro;
  auto key = [](double v) { return std::round(v * 1e9) / 1e9; };
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) {
        SingleLabelF1 s;
        for (int x : {i, j, k}) s.add(items[x].first, items[x].second);
        exact_micro[key(s.micro_f1())] += 1.0 / 27;
        exact_macro[key(macro_f1(s.per_label))] += 1.0 / 27;
      }
  SingleLabelF1 all;
  for (auto [g, p] : items) all.add(g, p);
  auto t = count_table(all);
  const std::size_t B = 200000;
  auto f = bootstrap_figures({&t}, {B, 5})[0];
  ASSERT_EQ(f.size(), B);
  std::map<double, double> micro, macro;
  for (const auto& x : f) micro[key(x.micro_f1)] += 1.0 / B, macro[key(x.macro_f1)] += 1.0 / B;
  for (auto [exact, seen] : {std::pair{&exact_micro, &micro}, std::pair{&exact_macro, &macro}}) {
    for (const auto& [v, freq] : *seen) EXPECT_TRUE(exact->count(v)) << "a value no draw can give: " << v;
    for (const auto& [v, p] : *exact)
      EXPECT_NEAR((*seen)[v], p, 5 * std::sqrt(p * (1 - p) / B)) << "F1 " << v << " exact probability " << p;
  }
  // e.g. micro F1 = accuracy here: 1 only when item 2 is never drawn, (2/3)^3 = 8/27.
  EXPECT_NEAR(exact_micro[1.0], 8.0 / 27, 1e-12);
}

// The fast path (weighted per-label totals) against the metric classes on each resample made real: item i
// added w_i times.
TEST(Bootstrap, WeightedTotalsEqualTheMetricOnTheMaterializedResample) {
  auto ner = score_conll_file(study_data("score_ner.conll"));
  auto re = score_label_jsonl(study_data("score_re.jsonl"), "false");
  auto ml = score_multilabel_jsonl(study_data("score_multilabel.jsonl"));
  auto tn = count_table(ner), tr = count_table(re), tm = count_table(ml);
  int checked = 0;
  for_each_resample(re.items.size(), {40, 9}, [&](const std::vector<std::uint32_t>& w) {
    SingleLabelF1 s;
    s.negative = "false";
    for (std::size_t i = 0; i < w.size(); ++i)
      for (std::uint32_t r = 0; r < w[i]; ++r) s.add(re.items[i].first, re.items[i].second);
    auto fig = figures_of(tr, w);
    EXPECT_NEAR(fig.micro_f1, s.micro_f1(), 1e-12);
    EXPECT_NEAR(fig.macro_f1, macro_f1(s.per_label), 1e-12);
    EXPECT_NEAR(fig.accuracy, s.accuracy(), 1e-12);
    ++checked;
  });
  for_each_resample(ml.docs.size(), {40, 9}, [&](const std::vector<std::uint32_t>& w) {
    MultiLabelF1 s;
    for (std::size_t i = 0; i < w.size(); ++i)
      for (std::uint32_t r = 0; r < w[i]; ++r) s.add(ml.docs[i].first, ml.docs[i].second);
    auto fig = figures_of(tm, w);
    EXPECT_NEAR(fig.micro_f1, s.micro_f1(), 1e-12);
    EXPECT_NEAR(fig.macro_f1, macro_f1(s.per_label), 1e-12);
    EXPECT_NEAR(fig.accuracy, s.to_json()["exact_match"].get<double>(), 1e-12);
    // Each label's F1 (the per-label intervals' figure): the metric's own per_label, 0 for a label drawn nowhere.
    ASSERT_EQ(fig.label_f1.size(), tm.labels.size());
    for (std::size_t l = 0; l < tm.labels.size(); ++l) {
      const auto it = s.per_label.find(tm.labels[l]);
      EXPECT_NEAR(fig.label_f1[l], it == s.per_label.end() ? 0.0 : it->second.f1(), 1e-12) << tm.labels[l];
    }
    ++checked;
  });
  for_each_resample(ner.per_sentence.size(), {40, 9}, [&](const std::vector<std::uint32_t>& w) {
    EntityCounts c;
    for (std::size_t i = 0; i < w.size(); ++i)
      c.gold += w[i] * ner.per_sentence[i].gold, c.predicted += w[i] * ner.per_sentence[i].predicted,
          c.correct += w[i] * ner.per_sentence[i].correct;
    EXPECT_NEAR(figures_of(tn, w).micro_f1, c.f1(), 1e-12);
    ++checked;
  });
  EXPECT_EQ(checked, 120);
  // All weights 1: the data's own figures.
  EXPECT_NEAR(figures_of(tn, std::vector<std::uint32_t>(tn.items.size(), 1)).micro_f1, ner.all.f1(), 1e-15);
  EXPECT_EQ(ner.per_sentence.size(), ner.sentences);
}

// Per-label intervals (multi-label and RE), by hand: label a is right in every document, so its F1 is 1 in every
// resample; b is never predicted (F1 0 always); c is right in document 1 and a false positive in document 2, so a
// resample's F1(c) = 2k / (2k + m) for k draws of document 1 and m of document 2 - 0 when k = 0, and 0 (absent)
// when k = m = 0. With 4 documents and 1000 resamples the 2.5th percentile is 0 (P(k = 0) = (3/4)^4 = 0.32) and
// the 97.5th is 1 (P(k >= 1, m = 0) = (3/4)^4 - (1/2)^4 = 0.254).
TEST(Bootstrap, PerLabelIntervalsHandComputed) {
  MultiLabelF1 ml;
  ml.add({"a", "c"}, {"a", "c"});
  ml.add({"a"}, {"a", "c"});
  ml.add({"a", "b"}, {"a"});
  ml.add({"a"}, {"a"});
  auto j = ml.to_json();
  add_intervals(j, ml, {1000, 3});
  const auto& pl = j.at("per_label_ci");
  EXPECT_EQ(pl.size(), 3u);
  for (const char* k : {"lo", "hi"}) {
    EXPECT_DOUBLE_EQ(pl["a"][k].get<double>(), 1.0) << k;
    EXPECT_DOUBLE_EQ(pl["b"][k].get<double>(), 0.0) << k;
  }
  EXPECT_DOUBLE_EQ(pl["c"]["lo"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(pl["c"]["hi"].get<double>(), 1.0);
  EXPECT_EQ(pl["c"]["method"], "bootstrap");
  EXPECT_DOUBLE_EQ(j["per_label"]["c"]["f1"].get<double>(), 2.0 / 3.0);  // on the data: TP 1, FP 1
  // RE: the same key, one interval per label that occurs.
  auto re = score_label_jsonl(study_data("score_re.jsonl"), "false");
  auto r = re.to_json();
  add_intervals(r, re, {1000, 0});
  EXPECT_EQ(r.at("per_label_ci").size(), r.at("per_label").size());
  for (const auto& [label, ci] : r["per_label_ci"].items()) {
    EXPECT_TRUE(r["per_label"].contains(label)) << label;
    EXPECT_GE(ci["hi"].get<double>(), ci["lo"].get<double>()) << label;
  }
}

TEST(PairedBootstrap, RunWithItselfIsZero) {
  auto re = score_label_jsonl(study_data("score_re.jsonl"), "false");
  auto j = paired_intervals(re, re, {1000, 0});
  for (const char* f : {"micro_f1", "macro_f1", "accuracy"})
    for (const char* k : {"value", "lo", "hi"}) EXPECT_EQ(j["delta"][f][k].get<double>(), 0.0) << f << "." << k;
  auto ner = score_conll_file(study_data("score_ner.conll"));
  j = paired_intervals(ner, ner, {1000, 0});
  EXPECT_EQ(j["delta"]["f1"]["lo"].get<double>(), 0.0);
  EXPECT_EQ(j["delta"]["f1"]["hi"].get<double>(), 0.0);
  auto ml = score_multilabel_jsonl(study_data("score_multilabel.jsonl"));
  j = paired_intervals(ml, ml, {1000, 0});
  EXPECT_EQ(j["delta"]["exact_match"]["hi"].get<double>(), 0.0);
  EXPECT_EQ(j["delta"]["macro_f1"]["lo"].get<double>(), 0.0);
}

TEST(PairedBootstrap, HandComputedDifferences) {
  // NER, every sentence: the baseline finds its one entity with a wrong boundary (F1 0), the run finds it
  // (F1 1): every resample's difference is 1 -> [1, 1].
  EntityF1 base, run;
  for (int i = 0; i < 4; ++i) {
    base.add_tags(tags({"B-D", "I-D", "O"}), tags({"B-D", "O", "O"}));
    run.add_tags(tags({"B-D", "I-D", "O"}), tags({"B-D", "I-D", "O"}));
  }
  auto j = paired_intervals(base, run, {1000, 1});
  EXPECT_EQ(j["delta"]["f1"]["value"].get<double>(), 1.0);
  EXPECT_EQ(j["delta"]["f1"]["lo"].get<double>(), 1.0);
  EXPECT_EQ(j["delta"]["f1"]["hi"].get<double>(), 1.0);
  // RE, two items: the run is right on item 1 only, the baseline on item 2 only. A resample draws item 1
  // w times of 2: accuracy difference (w - (2 - w)) / 2 = w - 1, with w = 0, 1, 2 at probability 1/4, 1/2, 1/4:
  // the 2.5th and 97.5th percentiles of 1,000 draws are -1 and 1 (each end holds about 250 of them); on the
  // data the difference is 0.
  SingleLabelF1 b2, r2;
  b2.add("A", "B"), b2.add("B", "B");
  r2.add("A", "A"), r2.add("B", "A");
  j = paired_intervals(b2, r2, {1000, 1});
  EXPECT_EQ(j["delta"]["accuracy"]["value"].get<double>(), 0.0);
  EXPECT_EQ(j["delta"]["accuracy"]["lo"].get<double>(), -1.0);
  EXPECT_EQ(j["delta"]["accuracy"]["hi"].get<double>(), 1.0);
  // Different golds are not the same items.
  SingleLabelF1 other;
  other.add("B", "B"), other.add("B", "B");
  EXPECT_EQ(error_of([&] { paired_intervals(b2, other, {1000, 1}); }).code(), Errc::invalid_argument);
  SingleLabelF1 shorter;
  shorter.add("A", "A");
  EXPECT_EQ(error_of([&] { paired_intervals(b2, shorter, {1000, 1}); }).code(), Errc::invalid_argument);
}

TEST(PairedBootstrap, FilesArePairedByIdWhateverTheirOrder) {
  // The baseline file in reverse line order pairs to the same figures; a missing id, a duplicate id and another
  // gold are errors naming the baseline file, line and field.
  auto run_path = test::write_temp("pair_run.jsonl",
                                   "{\"id\": 1, \"gold\": \"A\", \"pred\": \"A\"}\n{\"id\": 2, \"gold\": \"B\", \"pred\": \"A\"}\n"
                                   "{\"id\": \"3\", \"gold\": \"B\", \"pred\": \"B\"}\n").string();
  auto base_path = test::write_temp("pair_base.jsonl",
                                    "{\"id\": \"3\", \"gold\": \"B\", \"pred\": \"A\"}\n{\"id\": 2, \"gold\": \"B\", \"pred\": \"B\"}\n"
                                    "{\"id\": 1, \"gold\": \"A\", \"pred\": \"A\"}\n").string();
  ItemKeys rk, bk;
  auto run = score_label_jsonl(run_path, std::nullopt, &rk);
  auto base = score_label_jsonl(base_path, std::nullopt, &bk);
  auto aligned = align_by_id(run, rk, run_path, base, bk, base_path);
  ASSERT_EQ(aligned.items.size(), 3u);
  EXPECT_EQ(aligned.items[0], std::make_pair(std::string("A"), std::string("A")));  // id 1
  EXPECT_EQ(aligned.items[1], std::make_pair(std::string("B"), std::string("B")));  // id 2
  EXPECT_EQ(aligned.items[2], std::make_pair(std::string("B"), std::string("A")));  // id "3"
  auto j = paired_intervals(aligned, run, {1000, 0});
  EXPECT_EQ(j["delta"]["accuracy"]["value"].get<double>(), 0.0);  // 2/3 each
  struct Case {
    const char* name;
    const char* bytes;
    std::string field;
  } bad[] = {
      {"pair_missing.jsonl", "{\"id\": 1, \"gold\": \"A\", \"pred\": \"A\"}\n{\"id\": 2, \"gold\": \"B\", \"pred\": \"B\"}\n", "id"},
      {"pair_int3.jsonl",  // 3 is not "3"
       "{\"id\": 3, \"gold\": \"B\", \"pred\": \"A\"}\n{\"id\": 2, \"gold\": \"B\", \"pred\": \"B\"}\n{\"id\": 1, \"gold\": \"A\", \"pred\": \"A\"}\n",
       "id"},
      {"pair_extra.jsonl",
       "{\"id\": 1, \"gold\": \"A\", \"pred\": \"A\"}\n{\"id\": 2, \"gold\": \"B\", \"pred\": \"B\"}\n{\"id\": \"3\", \"gold\": \"B\", \"pred\": \"A\"}\n{\"id\": 4, \"gold\": \"B\", \"pred\": \"A\"}\n",
       "line 4: id"},
      {"pair_dup.jsonl",
       "{\"id\": 1, \"gold\": \"A\", \"pred\": \"A\"}\n{\"id\": 1, \"gold\": \"A\", \"pred\": \"A\"}\n{\"id\": 2, \"gold\": \"B\", \"pred\": \"B\"}\n{\"id\": \"3\", \"gold\": \"B\", \"pred\": \"A\"}\n",
       "line 2: id"},
      {"pair_gold.jsonl",
       "{\"id\": 1, \"gold\": \"A\", \"pred\": \"A\"}\n{\"id\": 2, \"gold\": \"A\", \"pred\": \"B\"}\n{\"id\": \"3\", \"gold\": \"B\", \"pred\": \"A\"}\n",
       "line 2: gold"},
  };
  for (const auto& c : bad) {
    auto p = test::write_temp(c.name, c.bytes).string();
    ItemKeys k;
    auto b = score_label_jsonl(p, std::nullopt, &k);
    auto e = error_of([&] { align_by_id(run, rk, run_path, b, k, p); });
    EXPECT_EQ(e.code(), Errc::dataset) << c.name;
    EXPECT_EQ(e.path(), p) << c.name;
    EXPECT_EQ(e.field(), c.field) << c.name << ": " << e.what();
  }
}

// ---------------------------------------------------------------------------------------------- multi-label

TEST(MultiLabelData, HocConverterOnTheProjectsSyntheticSet) {
  // tests/data/study/multilabel_synthetic_hoc_{test,dev}.tsv: HoC's TSV shape, documents written for this project.
  auto docs = read_hoc_tsv(study_data("multilabel_synthetic_hoc_test.tsv"));
  ASSERT_EQ(docs.size(), 8u);
  EXPECT_EQ(docs[0].id, "900001");
  EXPECT_EQ(docs[2].labels, (std::set<std::string>{"inducing angiogenesis", "resisting cell death"}));
  EXPECT_TRUE(docs[3].labels.empty());  // an empty labels column: no hallmark
  std::set<std::string> all;
  for (const auto& d : docs) all.insert(d.labels.begin(), d.labels.end());
  EXPECT_EQ(all, std::set<std::string>(hoc_labels().begin(), hoc_labels().end()));  // every hallmark occurs once at least
  // The committed JSONL is the converter's output, byte for byte, and reads back to the same documents.
  std::ifstream in(study_data("multilabel_synthetic_test.jsonl"), std::ios::binary);
  const std::string committed((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(multilabel_jsonl(docs), committed);
  auto back = read_multilabel_jsonl(study_data("multilabel_synthetic_test.jsonl"));
  ASSERT_EQ(back.size(), docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(back[i].id, docs[i].id);
    EXPECT_EQ(back[i].text, docs[i].text);
    EXPECT_EQ(back[i].labels, docs[i].labels);
  }
  EXPECT_EQ(read_multilabel_jsonl(study_data("multilabel_synthetic_dev.jsonl")).size(), 4u);
  // CRLF line ends (a file saved on Windows) convert to the same documents.
  std::ifstream tsv(study_data("multilabel_synthetic_hoc_test.tsv"), std::ios::binary);
  std::string crlf;
  for (std::string line; std::getline(tsv, line);) crlf += line + "\r\n";
  auto p = test::write_temp("hoc_crlf.tsv", crlf).string();
  EXPECT_EQ(multilabel_jsonl(read_hoc_tsv(p)), committed);
}

// LitCovid (BC7-LitCovid CSV) on the project's synthetic file (tests/data/study/README.md): quoted fields with a
// comma, a doubled quote and a line break; an article without a title; one without a topic.
TEST(MultiLabelData, LitCovidConverterOnTheProjectsSyntheticCsv) {
  const auto docs = read_litcovid_csv(study_data("multilabel_synthetic_litcovid.csv"));
  ASSERT_EQ(docs.size(), 6u);
  EXPECT_EQ(docs[0].id, "700001");
  EXPECT_EQ(docs[0].labels, (std::set<std::string>{"Treatment"}));
  EXPECT_EQ(docs[1].text, "Cough, fever and a made-up test A made-up swab test found the virus in 12 of 20 invented "
                          "patients, with \"moderate\" accuracy.");
  EXPECT_EQ(docs[1].labels, (std::set<std::string>{"Diagnosis", "Treatment"}));
  EXPECT_EQ(docs[2].text, "Masks in an imaginary school Pupils of an imaginary school wore masks.\nCases fell over four "
                          "invented weeks.");
  EXPECT_EQ(docs[3].text, "A toy model forecasts the invented epidemic curve of a fictional town.");  // no title
  EXPECT_TRUE(docs[4].labels.empty());
  EXPECT_EQ(docs[5].labels, (std::set<std::string>{"Case Report", "Mechanism"}));
  EXPECT_EQ(docs[5].id, "700006");
  // Every topic occurs, so the file exercises the whole label set.
  EXPECT_EQ(label_union({&docs}), litcovid_labels());
  // Columns are found by name: another order, CRLF line ends and a BOM read the same.
  const auto p = test::write_temp("lc_reordered.csv", "\xEF\xBB\xBFlabel,abstract,pmid,title\r\nMechanism,\"a, b\",1,t\r\n").string();
  const auto r = read_litcovid_csv(p);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].text, "t a, b");
  EXPECT_EQ(r[0].labels, (std::set<std::string>{"Mechanism"}));
  const std::string head = "pmid,title,abstract,label\n";
  struct Case {
    const char* name;
    std::string bytes, field;
  } bad[] = {
      {"lc_header.csv", "id,title,abstract,label\n1,t,a,Treatment\n", "line 1: header"},
      {"lc_unknown.csv", head + "1,t,a,Treatment;Vaccines\n", "line 2: label"},
      {"lc_twice.csv", head + "1,t,a,Treatment; Treatment\n", "line 2: label"},
      {"lc_cols.csv", head + "1,t,a\n", "line 2: columns"},
      {"lc_pmid.csv", head + " ,t,a,\n", "line 2: pmid"},
      {"lc_text.csv", head + "1,,,Treatment\n", "line 2: abstract"},
      {"lc_quote.csv", head + "1,t,\"open,Treatment\n2,t,a,\n", "line 2: csv"},
      {"lc_stray.csv", head + "1,t,a \"b\",Treatment\n", "line 2: csv"},
      {"lc_after.csv", head + "1,t,\"a\"b,Treatment\n", "line 2: csv"},
      {"lc_line.csv", head + "1,t,\"two\nlines\",\n2,t,a,Nothing\n", "line 4: label"},  // a record's first line
      {"lc_utf8.csv", head + "1,t,bad \xff,\n", "byte 35"},
      {"lc_empty.csv", head, ""},
  };
  for (const auto& c : bad) {
    auto path = test::write_temp(c.name, c.bytes).string();
    auto e = error_of([&] { read_litcovid_csv(path); });
    EXPECT_EQ(e.code(), Errc::dataset) << c.name;
    EXPECT_EQ(e.path(), path) << c.name;
    EXPECT_EQ(e.field(), c.field) << c.name << ": " << e.what();
  }
}

TEST(MultiLabelData, MalformedFilesNameLineAndField) {
  const std::string head = "pmid\ttext\tlabels\n";
  struct Case {
    const char* name;
    std::string bytes, field;
  } hoc[] = {
      {"h_header.tsv", "id\ttext\tlabels\n1\tx\tresisting cell death\n", "line 1: header"},
      {"h_unknown.tsv", head + "1\tx\tresisting cell death;curing cancer\n", "line 2: labels"},
      {"h_twice.tsv", head + "1\tx\tresisting cell death; resisting cell death\n", "line 2: labels"},
      {"h_cols.tsv", head + "1\tx\n", "line 2: columns"},
      {"h_four.tsv", head + "1\tx\tresisting cell death\textra\n", "line 2: columns"},
      {"h_pmid.tsv", head + "\tx\t\n", "line 2: pmid"},
      {"h_text.tsv", head + "1\t \t\n", "line 2: text"},
      {"h_utf8.tsv", head + "1\tok\t\n2\tbad \xff byte\t\n", "line 3: byte 7"},
      {"h_empty.tsv", head, ""},
  };
  for (const auto& c : hoc) {
    auto p = test::write_temp(c.name, c.bytes).string();
    auto e = error_of([&] { read_hoc_tsv(p); });
    EXPECT_EQ(e.code(), Errc::dataset) << c.name;
    EXPECT_EQ(e.path(), p) << c.name;
    EXPECT_EQ(e.field(), c.field) << c.name << ": " << e.what();
  }
  Case jsonl[] = {
      {"m_text.jsonl", "{\"id\": 1, \"labels\": []}\n", "line 1: text"},
      {"m_labels.jsonl", "{\"id\": 1, \"text\": \"t\", \"labels\": \"a\"}\n", "line 1: labels"},
      {"m_dup.jsonl", "{\"id\": 1, \"text\": \"t\", \"labels\": []}\n{\"id\": 2, \"text\": \"t\", \"labels\": [\"a\", \"a\"]}\n",
       "line 2: labels[1]"},
      {"m_id.jsonl", "{\"id\": 1.5, \"text\": \"t\", \"labels\": []}\n", "line 1: id"},
      {"m_elem.jsonl", "{\"id\": 1, \"text\": \"t\", \"labels\": [\"\"]}\n", "line 1: labels[0]"},
  };
  for (const auto& c : jsonl) {
    auto p = test::write_temp(c.name, c.bytes).string();
    auto e = error_of([&] { read_multilabel_jsonl(p); });
    EXPECT_EQ(e.code(), Errc::dataset) << c.name;
    EXPECT_EQ(e.field(), c.field) << c.name << ": " << e.what();
  }
}

TEST(MultiLabelAnswerParser, WholePhrasesLongestWinsNoneAndFailures) {
  const std::vector<std::string> labels{"Resisting cell death", "inducing angiogenesis", "cancer", "lung cancer"};
  using S = std::set<std::string>;
  struct Case {
    const char* output;
    S want;
    bool parsed, none;
  } cases[] = {
      {"resisting  CELL\tdeath\n- Inducing angiogenesis", {"Resisting cell death", "inducing angiogenesis"}, true, false},
      {"1. inducing angiogenesis; inducing angiogenesis.", {"inducing angiogenesis"}, true, false},  // once is a set
      {"lung cancer", {"lung cancer"}, true, false},                    // the longer overlapping label wins
      {"cancer, and lung cancer", {"cancer", "lung cancer"}, true, false},  // apart: both
      {"cancers of the lung", {}, false, false},                         // whole phrases only
      {"None.", {}, true, true},
      {" n/a ", {}, true, true},
      {"none of them apply", {}, false, false},                           // not a bare "none": nothing found
      {"\n\ninducing angiogenesis\n\nresisting cell death", {"inducing angiogenesis"}, true, false},  // blank line ends
      {"cancer\nTask: choose every label\nlung cancer", {"cancer"}, true, false},  // a new Task: line ends it
      {"I do not know", {}, false, false},
  };
  for (const auto& c : cases) {
    auto p = parse_multilabel_answer(c.output, labels);
    EXPECT_EQ(p.labels, c.want) << c.output;
    EXPECT_EQ(p.parsed, c.parsed) << c.output;
    EXPECT_EQ(p.said_none, c.none) << c.output;
  }
}

TEST(StudyTasks, MultiLabelOracleConstantAndPrompts) {
  auto docs = read_multilabel_jsonl(study_data("multilabel_synthetic_test.jsonl"));
  auto pool = read_multilabel_jsonl(study_data("multilabel_synthetic_dev.jsonl"));
  MultiLabelTask task{hoc_labels(), "abstract"};
  // The prompt lists every label, one "- " line each, and ends with "Answer:"; few-shot answers are the gold sets.
  auto q = task.prompt(docs[0], {})[0].content;
  for (const auto& l : hoc_labels()) EXPECT_NE(q.find("\n- " + l + "\n"), std::string::npos) << l;
  EXPECT_NE(q.find("\nText: Cells of the fictional line XR-7"), std::string::npos);
  EXPECT_EQ(q.substr(q.size() - 7), "Answer:");
  EXPECT_EQ(task.answer(pool[2]), "None");
  EXPECT_EQ(task.answer(pool[3]), "activating invasion and metastasis\nsustaining proliferative signaling");
  // An oracle answering the gold set as few-shot examples show it scores 1 (the "None" document included).
  auto oracle = [&](const std::vector<Conversation>& prompts) {
    std::vector<std::string> out;
    for (const auto& c : prompts)
      for (const auto& d : docs)
        if (c.back().content == task.question(d)) out.push_back(task.answer(d));
    return out;
  };
  FewShot<MultiLabelItem> two(pool, docs, 2, 0);
  auto s = run_task(task, docs, two, oracle, 3);
  EXPECT_DOUBLE_EQ(s.f1.micro_f1(), 1.0);
  EXPECT_DOUBLE_EQ(macro_f1(s.f1.per_label), 1.0);
  EXPECT_EQ(s.to_json()["exact_match"], 1.0);
  EXPECT_EQ(s.unparsed, 0u);
  // Always "sustaining proliferative signaling": gold has it in 900001 and 900008 -> TP 2, FP 6, FN 0:
  // F1 4 / (4 + 6) = 0.4; the other 9 hallmarks TP 0 -> 0; macro over the 10 that occur = 0.04. Micro: TP 2, FP 6, FN = 11 gold
  // labels - 2 = 9 -> 4 / (4 + 6 + 9) = 4/19. Exact match: 900001 only -> 1/8.
  auto constant = [](const std::vector<Conversation>& p) {
    return std::vector<std::string>(p.size(), "Sustaining proliferative signaling.");
  };
  auto c = run_task(task, docs, ZeroShot{}, constant, 8);
  EXPECT_DOUBLE_EQ(c.f1.per_label.at("sustaining proliferative signaling").f1(), 0.4);
  EXPECT_DOUBLE_EQ(macro_f1(c.f1.per_label), 0.04);
  EXPECT_DOUBLE_EQ(c.f1.micro_f1(), 4.0 / 19.0);
  EXPECT_DOUBLE_EQ(c.to_json()["exact_match"].get<double>(), 1.0 / 8.0);
  // A few-shot example is never a test document (ids 8xxxxx vs 9xxxxx, and the pool is filtered anyway).
  for (const auto& d : docs)
    for (const auto* e : two.examples(d)) EXPECT_EQ(e->id[0], '8') << e->id;
}

// ---------------------------------------------------------------------------------------------- bionlp readers

TEST(BionlpReaders, NcbiSliceFirstSentence) {
  auto s = read_iob2_tokens(study_data("ncbi_disease_test_head.tsv"));
  ASSERT_EQ(s.size(), 3u);
  // "Clustering of missense mutations in the ataxia - telangiectasia gene in a sporadic T - cell leukaemia ."
  ASSERT_EQ(s[0].tokens.size(), 18u);
  EXPECT_EQ(s[0].line, 1u);
  EXPECT_EQ(s[0].tokens[6], "ataxia");
  EXPECT_EQ(s[0].gold, (std::vector<Span>{{6, 9, "Disease"}, {12, 17, "Disease"}}));
  EXPECT_EQ(s[1].line, 20u);  // 18 token lines + 1 blank line before it
  std::size_t entities = 0;
  for (const auto& x : s) entities += x.gold.size();
  EXPECT_EQ(entities, 8u);  // B-Disease tags in the slice (grep -c B-Disease: every entity starts with B- here)
}

TEST(BionlpReaders, RelationSlices) {
  auto cp = read_chemprot_tsv(study_data("chemprot_sample200_head.tsv"));
  ASSERT_EQ(cp.size(), 6u);
  EXPECT_EQ(cp[0].id, "21058326.T1.T14");
  EXPECT_EQ(cp[0].label, "false");
  EXPECT_EQ(cp[1].label, "CPR:5");
  EXPECT_NE(cp[0].text.find("@CHEMICAL$"), std::string::npos);
  auto dev = read_chemprot_tsv(study_data("chemprot_dev_head_crlf.tsv"));  // CRLF: no '\r' on the label
  ASSERT_EQ(dev.size(), 4u);
  for (const auto& d : dev) EXPECT_EQ(d.label, "false");
  auto gad = read_gad_jsonl(study_data("gad_test_head.jsonl"));
  ASSERT_EQ(gad.size(), 4u);
  EXPECT_EQ(gad[0].id, "test_0");
  EXPECT_EQ(gad[0].label, "positive");
  EXPECT_NE(gad[0].text.find("@GENE$"), std::string::npos);
}

// Counts of ../shared/datasets/bionlp/*/README.md (sentences, tokens, entities per split).
TEST(BionlpReaders, ShippedNerFilesMatchReadmeCounts) {
  REQUIRE_BIONLP();
  struct Case {
    const char* file;
    std::size_t sentences, tokens, entities;
  } cases[] = {
      {"NCBI-disease/train.tsv", 5424, 135701, 5134},  {"NCBI-disease/devel.tsv", 923, 23969, 787},
      {"NCBI-disease/test.tsv", 940, 24497, 960},      {"BC5CDR-chem/train.tsv", 4560, 118170, 5203},
      {"BC5CDR-chem/devel.tsv", 4581, 117453, 5347},   {"BC5CDR-chem/test.tsv", 4797, 124750, 5385},
      {"BC5CDR-disease/train.tsv", 4560, 118170, 4182}, {"BC5CDR-disease/devel.tsv", 4581, 117453, 4246},
      {"BC5CDR-disease/test.tsv", 4797, 124750, 4424},
  };
  for (const auto& c : cases) {
    auto s = read_iob2_tokens(bionlp_dir() + "/" + c.file);
    std::size_t tokens = 0, entities = 0;
    for (const auto& x : s) tokens += x.tokens.size(), entities += x.gold.size();
    EXPECT_EQ(s.size(), c.sentences) << c.file;
    EXPECT_EQ(tokens, c.tokens) << c.file;
    EXPECT_EQ(entities, c.entities) << c.file;
  }
}

TEST(BionlpReaders, ShippedRelationFilesMatchReadmeCounts) {
  REQUIRE_BIONLP();
  auto count = [](const std::vector<RelationItem>& items) {
    std::map<std::string, std::size_t> m;
    for (const auto& i : items) ++m[i.label];
    return m;
  };
  using M = std::map<std::string, std::size_t>;
  auto dev = read_chemprot_tsv(bionlp_dir() + "/ChemProt/dev.tsv");
  EXPECT_EQ(dev.size(), 11820u);
  EXPECT_EQ(count(dev), (M{{"false", 9404}, {"CPR:4", 1094}, {"CPR:3", 550}, {"CPR:9", 457}, {"CPR:6", 199}, {"CPR:5", 116}}));
  auto sample = read_chemprot_tsv(bionlp_dir() + "/ChemProt/chemprot-sample200.tsv");
  EXPECT_EQ(sample.size(), 200u);
  EXPECT_EQ(count(sample), (M{{"CPR:4", 88}, {"CPR:3", 45}, {"CPR:9", 23}, {"false", 20}, {"CPR:6", 13}, {"CPR:5", 11}}));
  EXPECT_EQ(count(read_gad_jsonl(bionlp_dir() + "/GAD/dev_0.json")), (M{{"positive", 293}, {"negative", 242}}));
  EXPECT_EQ(count(read_gad_jsonl(bionlp_dir() + "/GAD/test_0.json")), (M{{"positive", 281}, {"negative", 253}}));
}

TEST(BionlpReaders, MalformedFilesNameLineAndField) {
  struct Case {
    const char* name;
    std::string bytes;
    int reader;  // 0 iob2, 1 chemprot, 2 gad
    std::string field;
  } cases[] = {
      {"bad_tag.tsv", "a\tO\nb\tB-Disease\n\nc\tDisease\n", 0, "line 4: tag"},
      {"three_cols.tsv", "a\tO\tO\n", 0, "line 1: columns"},
      {"no_tab.tsv", "a O\n", 0, "line 1: columns"},
      {"blank.tsv", "\n\n", 0, ""},
      {"header.tsv", "id\tsentence\tlabel\n", 1, "line 1: header"},
      {"label.tsv", "index\tsentence\tlabel\nx.T1.T2\ttext\tCPR:2\n", 1, "line 2: label"},
      {"cols.tsv", "index\tsentence\tlabel\nx.T1.T2\ttext\tfalse\textra\n", 1, "line 2: columns"},
      {"gad_rel.jsonl", "{\"id\": \"t\", \"text\": \"x\", \"relation\": []}\n", 2, "line 1: relation"},
      {"gad_label.jsonl", "{\"id\": \"t\", \"text\": \"x\", \"relation\": [{\"relation_type\": \"maybe\"}]}\n", 2,
       "line 1: relation[0].relation_type"},
      {"gad_text.jsonl", "{\"id\": \"t\", \"relation\": [{\"relation_type\": \"positive\"}]}\n", 2, "line 1: text"},
  };
  for (const auto& c : cases) {
    auto p = test::write_temp(c.name, c.bytes).string();
    auto e = error_of([&] {
      if (c.reader == 0) read_iob2_tokens(p);
      else if (c.reader == 1) read_chemprot_tsv(p);
      else read_gad_jsonl(p);
    });
    EXPECT_EQ(e.code(), Errc::dataset) << c.name;
    EXPECT_EQ(e.path(), p) << c.name;
    EXPECT_EQ(e.field(), c.field) << c.name << ": " << e.what();
  }
}

// ---------------------------------------------------------------------------------------------- task policies

namespace {
NerSentence sentence(const std::string& text, std::vector<Span> gold = {}) {
  NerSentence s;
  auto words = split_whitespace(text);
  s.tokens.assign(words.begin(), words.end());
  s.gold = std::move(gold);
  return s;
}
}  // namespace

TEST(NerAnswerParser, EveryOccurrenceCaseAndWhitespaceRules) {
  auto s = sentence("Clustering of missense mutations in the ataxia - telangiectasia gene in a sporadic T - cell leukaemia .");
  // Whitespace is ignored and ASCII case folded: "Ataxia-telangiectasia" is tokens 6..8, "t-cell LEUKAEMIA" 13..16
  // (the gold entity is 12..16, "sporadic T - cell leukaemia": this answer gets its boundary wrong).
  auto p = parse_entity_answer("Ataxia-telangiectasia\n- t-cell LEUKAEMIA.", s.tokens, "Disease");
  EXPECT_EQ(p.spans, (std::vector<Span>{{6, 9, "Disease"}, {13, 17, "Disease"}}));
  EXPECT_EQ(p.mentions, (std::vector<std::string>{"Ataxia-telangiectasia", "t-cell LEUKAEMIA"}));
  EXPECT_TRUE(p.unmatched.empty());

  auto c = sentence("cancer and breast cancer and cancers or cancer");
  // Every occurrence of "cancer" (tokens 0, 3, 7), never inside "cancers" (token 5); "breast cancer" (2..3)
  // overlaps the one at 3 and is longer, so it wins there.
  p = parse_entity_answer("1. cancer; \"breast cancer\"\n2) lymphoma", c.tokens, "Disease");
  EXPECT_EQ(p.spans, (std::vector<Span>{{0, 1, "Disease"}, {2, 4, "Disease"}, {7, 8, "Disease"}}));
  EXPECT_EQ(p.unmatched, (std::vector<std::string>{"lymphoma"}));
  EXPECT_EQ(tags_from_spans(c.tokens.size(), p.spans),
            tags({"B-Disease", "O", "B-Disease", "I-Disease", "O", "O", "O", "B-Disease"}));

  EXPECT_TRUE(parse_entity_answer(" None.", c.tokens, "Disease").mentions.empty());
  EXPECT_TRUE(parse_entity_answer("n/a", c.tokens, "Disease").spans.empty());
  // The answer ends at a blank line or a new "Sentence:" the model invents.
  p = parse_entity_answer("\ncancer\n\nbreast cancer", c.tokens, "Disease");
  EXPECT_EQ(p.spans.size(), 3u);  // "cancer" only: 0, 3, 7
  p = parse_entity_answer("cancer\nSentence: breast cancer", c.tokens, "Disease");
  EXPECT_EQ(p.mentions, (std::vector<std::string>{"cancer"}));
}

TEST(RelationAnswerParser, EarliestWholeWordLabelElseNegative) {
  const auto& cp = chemprot_labels();
  const auto& t = chemprot_prompt();
  auto read = [&](const char* out) { return parse_relation_answer(out, cp, t); };
  EXPECT_EQ(read(" CPR:4").label, "CPR:4");
  EXPECT_EQ(read("The relation is cpr:3.").label, "CPR:3");
  EXPECT_EQ(read("CPR:9, or maybe CPR:3").label, "CPR:9");  // earliest wins
  EXPECT_TRUE(read("false").parsed);
  auto none = read("CPR:41 and CPR:3x");  // not whole words
  EXPECT_EQ(none.label, "false");
  EXPECT_FALSE(none.parsed);
  EXPECT_TRUE(read("\n\nCPR:4").parsed);          // leading blank lines are skipped
  EXPECT_FALSE(read("unsure\n\nCPR:4").parsed);     // after a blank line it is no longer the answer
  const auto& gad = gad_labels();
  EXPECT_EQ(parse_relation_answer("Yes, it is stated.", gad, gad_prompt()).label, "positive");
  EXPECT_EQ(parse_relation_answer("No.", gad, gad_prompt()).label, "negative");
  auto unknown = parse_relation_answer("It is not known", gad, gad_prompt());  // "no" only inside "not"/"known"
  EXPECT_EQ(unknown.label, "negative");
  EXPECT_FALSE(unknown.parsed);
}

TEST(StudyTasks, OracleGeneratorScoresOne) {
  auto sentences = read_iob2_tokens(study_data("ncbi_disease_test_head.tsv"));
  NerTask ner{"Disease", "disease"};
  // The oracle answers with the gold mentions as few-shot examples show them.
  auto by_text = [&](const std::vector<Conversation>& prompts) {
    std::vector<std::string> out;
    for (const auto& c : prompts)
      for (const auto& s : sentences)
        if (c.back().content == ner.question(s)) out.push_back(ner.answer(s));
    return out;
  };
  auto score = run_task(ner, sentences, ZeroShot{}, by_text, 2);
  EXPECT_EQ(score.f1.all.gold, 8u);
  EXPECT_EQ(score.f1.all.correct, 8u);
  EXPECT_DOUBLE_EQ(score.f1.all.f1(), 1.0);
  EXPECT_EQ(score.unmatched, 0u);

  auto pairs = read_chemprot_tsv(study_data("chemprot_sample200_head.tsv"));
  RelationTask re;
  std::size_t at = 0;
  auto oracle = [&](const std::vector<Conversation>& prompts) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < prompts.size(); ++i) out.push_back(" " + pairs[at++].label + "\n");
    return out;
  };
  auto rs = run_task(re, pairs, ZeroShot{}, oracle, 4);
  EXPECT_DOUBLE_EQ(rs.f1.micro_f1(), 1.0);
  EXPECT_DOUBLE_EQ(macro_f1(rs.f1.per_label), 1.0);
}

TEST(StudyTasks, ConstantAnswerHandComputed) {
  // Slice gold labels: false, CPR:5, CPR:4, CPR:9, CPR:3, CPR:6; the model always says CPR:4.
  //  CPR:4: TP 1, FP 5 -> 2/7; the other five labels: TP 0 -> 0.  macro = (2/7) / 6 = 1/21.
  //  micro without false: TP 1, FP 5 (every CPR:4 said on another item, the 'false' one included), FN 4
  //  (CPR:5, 9, 3, 6) -> 2 / (2 + 5 + 4) = 2/11.
  auto pairs = read_chemprot_tsv(study_data("chemprot_sample200_head.tsv"));
  auto constant = [](const std::vector<Conversation>& p) { return std::vector<std::string>(p.size(), "CPR:4"); };
  auto rs = run_task(RelationTask{}, pairs, ZeroShot{}, constant, 8);
  EXPECT_DOUBLE_EQ(macro_f1(rs.f1.per_label), 1.0 / 21.0);
  EXPECT_DOUBLE_EQ(rs.f1.micro_f1(), 2.0 / 11.0);
  EXPECT_EQ(rs.parse_failures, 0u);
}

// QA as a study task (qa_task.hpp): eval's multiple-choice questions, eval's extractor, accuracy with Wilson's interval.
TEST(StudyTasks, QaOnTheEmbeddedValSplitHandWrittenAnswers) {
  const auto items = qa_items(std::string(CUREBENCH_SOURCE_DIR) + "/datasets/default/val.jsonl");
  // val.jsonl: 20 multi_choice, 8 open_ended_multi_choice, 2 open_ended questions, all labelled.
  ASSERT_EQ(items.questions.size(), 20u);
  EXPECT_EQ(items.left_out, (std::map<std::string, std::size_t>{{"open_ended", 2}, {"open_ended_multi_choice", 8}}));
  std::vector<eval::Question> qs(items.questions.begin(), items.questions.begin() + 5);
  const QaTask task;
  const auto c = task.prompt(qs[0], {&qs[1]});
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[1].content, std::string(1, *qs[1].correct_answer));
  EXPECT_NE(c[2].content.find(qs[0].question), std::string::npos);
  EXPECT_NE(c[2].content.find("\nOptions:\nA. " + qs[0].options->at(0).second), std::string::npos) << c[2].content;
  EXPECT_EQ(c[2].content.substr(c[2].content.size() - 7), "Answer:");
  // Hand-written answers: three right (three phrasings), one wrong letter, one without a letter.
  auto other = [](const eval::Question& q) { return q.correct_answer == 'A' ? std::string("B") : std::string("A"); };
  std::map<std::string, std::string> said = {
      {qs[0].id, " " + std::string(1, *qs[0].correct_answer)},
      {qs[1].id, "The answer is " + std::string(1, *qs[1].correct_answer) + "."},
      {qs[2].id, "**Answer: " + std::string(1, *qs[2].correct_answer) + "**"},
      {qs[3].id, "Answer: " + other(qs[3])},
      {qs[4].id, "I cannot tell from the question."}};
  std::size_t next = 0;
  auto model = [&](const std::vector<Conversation>& p) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < p.size(); ++i) out.push_back(said.at(qs[next++].id));
    return out;
  };
  std::vector<nlohmann::json> records;
  auto score = run_task(task, qs, ZeroShot{}, model, 2, [&](const TaskRecord& r) { records.push_back(r.prediction); });
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[3]["pred"], other(qs[3]));
  EXPECT_EQ(records[4]["pred"], "none");
  EXPECT_EQ(records[4]["parsed"], false);
  EXPECT_EQ(score.parse_failures, 1u);
  auto j = score.to_json();
  add_intervals(j, score.f1, {1000, 0});
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 0.6);  // 3 of 5
  EXPECT_DOUBLE_EQ(j["micro_f1"].get<double>(), 0.6);  // no negative label: micro F1 = accuracy
  // Wilson 95 % for 3 of 5 (z = 1.959963984540054), by the closed form in Python: [0.230724281276, 0.882379225767].
  EXPECT_EQ(j["ci"]["accuracy"]["method"], "wilson");
  EXPECT_NEAR(j["ci"]["accuracy"]["lo"].get<double>(), 0.230724281276, 1e-11);
  EXPECT_NEAR(j["ci"]["accuracy"]["hi"].get<double>(), 0.882379225767, 1e-11);
  // A file with no scorable question: an error naming it and the field.
  const auto open = ::testing::TempDir() + "/qa_open_only.jsonl";
  std::ofstream(open) << R"({"id": "o1", "question_type": "open_ended", "question": "Why?", "correct_answer": "because"})" << "\n";
  EXPECT_EQ(error_of([&] { qa_items(open); }).field(), "question_type");
}

TEST(StudyTasks, PromptsZeroAndFewShot) {
  auto sentences = read_iob2_tokens(study_data("ncbi_disease_test_head.tsv"));
  NerTask ner{"Disease", "disease"};
  auto c = ner.prompt(sentences[0], {});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_NE(c[0].content.find("Sentence: Clustering of missense"), std::string::npos);
  EXPECT_EQ(c[0].content.substr(c[0].content.size() - 9), "Entities:");
  EXPECT_EQ(ner.answer(sentences[0]), "ataxia - telangiectasia\nsporadic T - cell leukaemia");
  c = ner.prompt(sentences[0], {&sentences[1], &sentences[2]});
  ASSERT_EQ(c.size(), 5u);  // (user, assistant) per example, then the item
  EXPECT_EQ(c[1].role, "assistant");
  EXPECT_EQ(c[1].content, ner.answer(sentences[1]));
  auto pairs = read_chemprot_tsv(study_data("chemprot_sample200_head.tsv"));
  auto q = RelationTask{}.prompt(pairs[0], {})[0].content;
  EXPECT_NE(q.find("\nCPR:6 = antagonist\n"), std::string::npos);
  EXPECT_EQ(q.substr(q.size() - 6), "Label:");
}

// Few-shot examples come from the pool only, never from the evaluated split, and the draw is seeded.
TEST(StudyTasks, FewShotNeverShowsAnEvaluatedItem) {
  auto pool = read_chemprot_tsv(study_data("chemprot_dev_head_crlf.tsv"));
  auto evaluated = read_chemprot_tsv(study_data("chemprot_sample200_head.tsv"));
  // Put two evaluated items into the pool (one by id, one by text under another id): both must be dropped.
  pool.push_back(evaluated[1]);
  auto copy = evaluated[2];
  copy.id = "other.T1.T2";
  pool.push_back(copy);
  FewShot<RelationItem> shots(pool, evaluated, 4, 7);
  EXPECT_EQ(shots.pool().size(), 4u);  // the 4 dev pairs
  std::set<std::string> ids, texts;
  for (const auto& e : evaluated) ids.insert(e.id), texts.insert(e.text);
  for (const auto& item : evaluated)
    for (const auto* ex : shots.examples(item)) {
      EXPECT_FALSE(ids.count(ex->id)) << ex->id;
      EXPECT_FALSE(texts.count(ex->text)) << ex->id;
    }
  // Seeded: the same seed draws the same examples in the same order; the order follows the hash rank.
  FewShot<RelationItem> again(pool, evaluated, 2, 7);
  EXPECT_EQ(again.examples(evaluated[0]).at(0)->id, shots.examples(evaluated[0]).at(0)->id);
  EXPECT_EQ(error_of([&] { FewShot<RelationItem>(pool, evaluated, 5, 7); }).field(), "k");  // 4 left < 5
  // run_task refuses a method that hands it an evaluated item (a leaking policy written by someone else).
  struct Leaky {
    const std::vector<RelationItem>* items;
    std::vector<const RelationItem*> examples(const RelationItem&) const { return {&(*items)[0]}; }
    std::string name() const { return "leaky"; }
    Conversation prompt(Conversation c) const { return c; }
    std::string_view answer(std::string_view output) const { return output; }
  };
  auto any = [](const std::vector<Conversation>& p) { return std::vector<std::string>(p.size(), "false"); };
  EXPECT_EQ(error_of([&] { run_task(RelationTask{}, evaluated, Leaky{&evaluated}, any); }).code(), Errc::internal);
}

TEST(StudyTasks, FewShotOnShippedSplitsNeverDrawsATestItem) {
  REQUIRE_BIONLP();
  struct Case {
    const char* pool;
    const char* test;
  } ner_cases[] = {{"NCBI-disease/devel.tsv", "NCBI-disease/test.tsv"}, {"BC5CDR-chem/train.tsv", "BC5CDR-chem/test.tsv"}};
  for (const auto& c : ner_cases) {
    auto test = read_iob2_tokens(bionlp_dir() + "/" + c.test);
    std::set<std::string> texts;
    for (const auto& s : test) texts.insert(item_text(s));
    for (std::uint64_t seed : {0u, 1u, 2u}) {
      FewShot<NerSentence> shots(read_iob2_tokens(bionlp_dir() + "/" + c.pool), test, 5, seed);
      for (const auto* e : shots.examples(test[0])) EXPECT_FALSE(texts.count(item_text(*e))) << c.pool;
      for (const auto& p : shots.pool()) ASSERT_FALSE(texts.count(item_text(p))) << c.pool;
    }
  }
  auto gad_test = read_gad_jsonl(bionlp_dir() + "/GAD/test_0.json");
  auto gad_dev = read_gad_jsonl(bionlp_dir() + "/GAD/dev_0.json");
  std::set<std::string> test_texts;
  for (const auto& r : gad_test) test_texts.insert(r.text);
  std::size_t shared = 0;
  for (const auto& r : gad_dev) shared += test_texts.count(r.text);
  FewShot<RelationItem> shots(gad_dev, gad_test, 8, 0);
  EXPECT_EQ(shots.pool().size(), gad_dev.size() - shared);  // dev sentences that are also test sentences are dropped
  for (const auto& p : shots.pool()) EXPECT_FALSE(test_texts.count(p.text));
  std::cout << "GAD: " << shared << " dev sentence(s) also in test, dropped from the few-shot pool\n";
}

// The parser's ceiling on the shipped test sets: an oracle that lists exactly the gold mentions (as few-shot
// examples show them). Not 1.0, by the stated rules: every occurrence of a listed mention is tagged, so a gold
// string that also appears unannotated elsewhere in its sentence adds a false positive, and where listed
// mentions overlap only the longer is kept. Figures of docs/study.md ("parser ceiling").
TEST(StudyTasks, OracleCeilingOnShippedNerTestSets) {
  REQUIRE_BIONLP();
  struct Case {
    const char* file;
    const char* type;
    std::size_t gold, predicted, correct;
  } cases[] = {{"NCBI-disease/test.tsv", "Disease", 960, 969, 959},
               {"BC5CDR-disease/test.tsv", "Disease", 4424, 4425, 4424},
               {"BC5CDR-chem/test.tsv", "Chemical", 5385, 5391, 5385}};
  for (const auto& c : cases) {
    auto sentences = read_iob2_tokens(bionlp_dir() + "/" + c.file);
    NerTask ner{c.type, "entity"};
    std::size_t at = 0;
    auto oracle = [&](const std::vector<Conversation>& prompts) {
      std::vector<std::string> out;
      for (std::size_t i = 0; i < prompts.size(); ++i) out.push_back(ner.answer(sentences[at++]));
      return out;
    };
    auto s = run_task(ner, sentences, ZeroShot{}, oracle, 64);
    EXPECT_EQ(s.f1.all.gold, c.gold) << c.file;
    EXPECT_EQ(s.f1.all.predicted, c.predicted) << c.file;
    EXPECT_EQ(s.f1.all.correct, c.correct) << c.file;
    EXPECT_EQ(s.unmatched, 0u) << c.file;
    std::cout << c.file << ": oracle entity F1 " << s.f1.all.f1() << " (P " << s.f1.all.precision() << ", R "
              << s.f1.all.recall() << ")\n";
  }
}

// A precision quantized on load changed meaning in the ninth session (16-bit classifier unless asked; nf4 without
// double quant): a study with one is marked in its canonical form, so its hash changed and a folder of before is
// refused rather than resumed with cells of two models; a study of full-precision / as-stored precisions keeps its hash.
TEST(StudyConfig, QuantizedOnLoadPrecisionsChangedTheHash) {
  const auto dir = std::filesystem::temp_directory_path() / ("curebench_study_cfg." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto hash_of = [&](const std::vector<std::string>& precisions) {
    const nlohmann::json j = {
        {"models", {{{"name", "tiny"}, {"path", std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/hf"}}}},
        {"precisions", precisions},
        {"tasks", {{{"dataset", "ncbi-disease"}, {"data", std::string(CUREBENCH_TEST_DATA) + "/study/ncbi_disease_test_head.tsv"}}}},
        {"methods", {{{"name", "zero-shot"}}}}};
    std::ofstream(dir / "study.json") << j.dump();
    return curebench::eval::tasks::read_study_config((dir / "study.json").string());
  };
  for (const auto& p : std::vector<std::vector<std::string>>{{"f32", "nf4"}, {"bf16", "nf4-dq"}, {"f32", "int4-g128"}, {"f32", "int8"}})
    EXPECT_EQ(hash_of(p).canonical.value("load_semantics", 0), 2) << p[1];
  for (const auto& p : std::vector<std::vector<std::string>>{{"f32"}, {"f32", "bf16"}, {"f32", "prequantized"}})
    EXPECT_FALSE(hash_of(p).canonical.contains("load_semantics")) << p.back();
  auto with = hash_of({"f32", "nf4"});
  auto before = with.canonical;
  before.erase("load_semantics");
  EXPECT_NE(curebench::eval::sha256_hex(curebench::dump_json(before)), with.hash);
  std::filesystem::remove_all(dir);
}
