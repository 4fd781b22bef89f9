// results.json: schema keys (docs/results-schema.md), null accuracy for unlabelled splits, the val-test gap.
#include "curebench/report/results.hpp"

#include "report_test_util.hpp"

#include <gtest/gtest.h>

using namespace curebench;
using namespace curebench::report;

namespace {
eval::SampleRecord s(std::string id, std::string split, std::optional<char> gold, char answer) {
  eval::SampleRecord r;
  r.id = std::move(id);
  r.split = std::move(split);
  r.gold = gold;
  r.answer = answer;
  r.rule = "answer_prefix";
  r.output = "Answer: " + std::string(1, answer);
  eval::measure_output(r);
  eval::Question q;
  q.correct_answer = gold;
  r.correct = eval::score(q, answer);
  r.latency_ms = 10;
  r.output_tokens = 3;
  return r;
}

std::vector<std::string> keys(const nlohmann::json& j) {
  std::vector<std::string> k;
  for (const auto& [key, v] : j.items()) k.push_back(key);
  return k;
}
}  // namespace

TEST(Results, UnlabelledTestSplitHasNullAccuracyAndNoGap) {
  std::vector<eval::SampleRecord> samples;
  for (int i = 0; i < 50; ++i) samples.push_back(s("v" + std::to_string(i), "val", 'B', i < 21 ? 'B' : 'A'));
  for (int i = 0; i < 50; ++i) samples.push_back(s("t" + std::to_string(i), "test", std::nullopt, 'A'));
  ModelResult m;
  m.name = "tiny";
  summarize_splits(m, samples);
  nlohmann::json j = m;
  const auto& val = j["splits"]["val"];
  EXPECT_DOUBLE_EQ(val["accuracy"].get<double>(), 0.42);
  EXPECT_EQ(val["correct"], 21);
  EXPECT_NEAR(val["ci95"][0].get<double>(), 0.2938, 5e-5);  // Wilson, 21/50 (hand computed)
  EXPECT_NEAR(val["ci95"][1].get<double>(), 0.5577, 5e-5);
  const auto& test = j["splits"]["test"];
  EXPECT_EQ(test["n"], 50);
  EXPECT_EQ(test["n_labelled"], 0);
  EXPECT_TRUE(test["accuracy"].is_null());
  EXPECT_TRUE(test["ci95"].is_null());
  EXPECT_TRUE(j["generalization_gap"].is_null());
}

TEST(Results, GapIsValMinusTestWhenBothAreLabelled) {
  std::vector<eval::SampleRecord> samples;
  for (int i = 0; i < 4; ++i) samples.push_back(s("v" + std::to_string(i), "val", 'A', i < 3 ? 'A' : 'B'));  // 0.75
  for (int i = 0; i < 4; ++i) samples.push_back(s("t" + std::to_string(i), "test", 'A', i < 1 ? 'A' : 'B'));  // 0.25
  ModelResult m;
  summarize_splits(m, samples);
  ASSERT_TRUE(m.generalization_gap);
  EXPECT_DOUBLE_EQ(*m.generalization_gap, 0.5);
}

TEST(Results, DocumentHasTheSchemaShapeAndIsWrittenAtomically) {
  Results r;
  r.run = {"run-1", "2025-01-01T00:00:00Z", "2025-01-01T00:01:00Z", std::string(64, 'a'), "generate", "official"};
  r.provenance.curebench_version = "0.1.0";
  r.provenance.datasets.push_back({{"split", "val"}, {"path", "datasets/default/val.jsonl"}, {"sha256", "x"}, {"records", 30}});
  ModelResult m;
  m.name = "tiny";
  std::vector<eval::Question> val(1);
  val[0].id = "v0";
  val[0].correct_answer = 'A';
  m.verification = eval::verify_splits(std::vector<eval::NamedSplit>{{"val", &val}});
  summarize_splits(m, {s("v0", "val", 'A', 'A')});
  r.models.push_back(m);

  auto dir = test::report_temp_dir("results");
  write_results(dir / "results.json", r);
  auto j = nlohmann::json::parse(read_text_file((dir / "results.json").string()));
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_TRUE(j["notice"].is_null());
  EXPECT_EQ(keys(j["run"]), (std::vector<std::string>{"config_hash", "finished_at", "id", "mode", "policy", "protocol", "started_at", "world_size"}));
  EXPECT_EQ(keys(j["provenance"]), (std::vector<std::string>{"cuda", "curebench_version", "datasets", "git_commit", "gpu",
                                                             "host", "libtorch", "seeds"}));
  const auto& model = j["models"][0];
  EXPECT_EQ(keys(model), (std::vector<std::string>{"architecture", "context", "device", "dtype", "generalization_gap", "load",
                                                   "memory", "name", "parameters", "path", "quant", "quantization",
                                                   "splits", "submission", "throughput", "verification"}));
  for (const char* key : {"n", "n_labelled", "accuracy", "ci95", "correct", "by_type", "extraction", "tokens",
                          "output_chars_mean", "output_bytes_mean", "latency_ms_mean", "tokens_per_second",
                          "length_correctness_correlation"})
    EXPECT_TRUE(model["splits"]["val"].contains(key)) << key;
  EXPECT_EQ(model["verification"]["passed"], true);
  EXPECT_EQ(model["verification"]["splits"]["val"]["labelled"], 1);
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(e.path().filename(), "results.json");
}
