// Registered pipelines (eval/pipeline_case.hpp): the accuracy gate, the skip rules and the artifact check that the
// GoogleTest and Google Benchmark cases share, on results and run folders written by hand here. The registered
// cases themselves run under ctest as eval.embedded_default (and eval.embedded_default_cuda on a GPU).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "curebench/eval/pipeline_case.hpp"

namespace cb = curebench;
namespace fs = std::filesystem;

namespace {

cb::eval::RunConfig config_with(const std::string& model_path, const std::string& device = "cpu") {
  cb::eval::RunConfig c;
  c.models.push_back({.name = "m", .path = model_path, .quant = "none", .mode = "generate", .device = device});
  c.splits.push_back({"val", "val.jsonl"});
  cb::eval::finalize(c, "test");
  return c;
}

// A results.json with one model whose val split scored k of n.
nlohmann::json results_with(std::size_t k, std::size_t n) {
  return {{"models",
           {{{"name", "m"},
             {"splits", {{"val", {{"n", n}, {"n_scored", n}, {"correct", k}, {"accuracy", static_cast<double>(k) / n}}}}}}}}};
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("curebench_pipeline_case." + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

TEST(PipelineCase, FloorFailsOnlyBelowIt) {
  cb::eval::PipelineCase c{.name = "t", .config = "run.json", .floor = 0.25};
  EXPECT_TRUE(cb::eval::check_accuracy(c, results_with(7, 28)).empty());  // 0.25: at the floor
  const auto f = cb::eval::check_accuracy(c, results_with(6, 28));       // 0.214
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].find("m/val"), std::string::npos) << f[0];
  EXPECT_NE(f[0].find("below the floor"), std::string::npos) << f[0];
}

// Wilson 95 % for 2 of 28, by hand: p = 1/14, z^2/n = 3.84146/28 = 0.137195; centre = (0.0714286 + 0.0685982) /
// 1.137195 = 0.123134; half = 1.959964 / 1.137195 * sqrt(0.0714286 * 0.9285714 / 28 + 3.84146 / 3136)
// = 1.723503 * 0.0599481 = 0.103321; interval [0.01981, 0.22646]. A baseline of 0.2 is inside, 0.23 outside.
TEST(PipelineCase, BaselineMustLieInsideThisRunsWilsonInterval) {
  TempDir dir;
  write(dir.path / "run.json", "{\"models\": []}");
  cb::eval::PipelineCase c{.name = "t", .config = dir.path / "run.json"};
  const auto hash = cb::eval::config_file_sha256(c);
  EXPECT_EQ(hash, cb::eval::sha256_hex("{\"models\": []}"));
  auto baseline = [&](double acc, const std::string& h) {
    const auto p = dir.path / "b.json";
    write(p, nlohmann::json{{"config_sha256", h}, {"models", {{"m", {{"val", {{"accuracy", acc}}}}}}}}.dump());
    return p;
  };
  c.baseline = baseline(0.2, hash);
  EXPECT_TRUE(cb::eval::check_accuracy(c, results_with(2, 28)).empty());
  c.baseline = baseline(0.0199, hash);
  EXPECT_TRUE(cb::eval::check_accuracy(c, results_with(2, 28)).empty());
  c.baseline = baseline(0.23, hash);
  auto f = cb::eval::check_accuracy(c, results_with(2, 28));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].find("[0.0198"), std::string::npos) << f[0];
  EXPECT_NE(f[0].find("0.2264"), std::string::npos) << f[0];
  c.baseline = baseline(0.019, hash);
  EXPECT_EQ(cb::eval::check_accuracy(c, results_with(2, 28)).size(), 1u);
  // A split the baseline names and the run lacks is a failure; a baseline of another config is refused.
  c.baseline = baseline(0.2, hash);
  EXPECT_EQ(cb::eval::check_accuracy(c, nlohmann::json{{"models", nlohmann::json::array()}}).size(), 1u);
  c.baseline = baseline(0.2, "0123456789abcdef");
  try {
    cb::eval::check_accuracy(c, results_with(2, 28));
    ADD_FAILURE() << "a baseline of another config was accepted";
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.field(), "config_sha256");
  }
}

TEST(PipelineCase, WriteBaselineRoundTripsThroughTheGate) {
  TempDir dir;
  write(dir.path / "run.json", "{}");
  cb::eval::PipelineCase c{.name = "t", .config = dir.path / "run.json", .baseline = dir.path / "b.json"};
  auto results = results_with(9, 30);
  results["provenance"]["datasets"] = {{{"split", "val"}, {"sha256", "aa"}}};
  cb::eval::write_baseline(c.baseline, c, results);
  const auto b = cb::read_json_file(c.baseline.string());
  EXPECT_EQ(b["models"]["m"]["val"]["accuracy"].get<double>(), 0.3);
  EXPECT_EQ(b["models"]["m"]["val"]["correct"], 9);
  EXPECT_EQ(b["datasets"]["val"], "aa");
  EXPECT_TRUE(cb::eval::check_accuracy(c, results).empty());
  auto worse = results_with(0, 30);
  worse["provenance"] = results["provenance"];
  EXPECT_EQ(cb::eval::check_accuracy(c, worse).size(), 1u);  // [0, 0.114] excludes 0.3
  // Other dataset bytes: the baseline measured something else.
  results["provenance"]["datasets"][0]["sha256"] = "bb";
  EXPECT_THROW(cb::eval::check_accuracy(c, results), cb::Error);
}

TEST(PipelineCase, SkippedWithAReasonWhenWeightsOrTheGpuAreAbsent) {
  const auto absent = cb::eval::why_case_cannot_run(config_with("/nonexistent/model"));
  ASSERT_TRUE(absent.has_value());
  EXPECT_NE(absent->find("weights absent"), std::string::npos) << *absent;
  const std::string stories = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/hf";
  EXPECT_FALSE(cb::eval::why_case_cannot_run(config_with(stories)).has_value());
  const auto gpu = cb::eval::why_case_cannot_run(config_with(stories, "cuda"));
  EXPECT_EQ(gpu.has_value(), !cb::compat::cuda_available());
  if (gpu) EXPECT_NE(gpu->find("no GPU"), std::string::npos) << *gpu;
}

TEST(PipelineCase, ArtifactCheckNamesWhatIsMissing) {
  TempDir dir;
  auto cfg = config_with("/x");
  cfg.splits.push_back({"test", "test.jsonl"});
  write(dir.path / "results.json",
        nlohmann::json{{"models", {{{"name", "m"}, {"splits", {{"val", {{"n", 2}}}, {"test", {{"n", 1}}}}}}}}}.dump());
  write(dir.path / "models" / "m" / "samples.jsonl", "{}\n{}\n");
  auto problems = cb::eval::check_run_artifacts(dir.path, cfg, false);
  ASSERT_EQ(problems.size(), 2u);  // 2 records instead of 3, and no submission for the generate run's test split
  EXPECT_NE(problems[0].find("2 records, expected 3"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("submission.zip"), std::string::npos) << problems[1];
  write(dir.path / "models" / "m" / "samples.jsonl", "{}\n{}\n{}\n");
  write(dir.path / "models" / "m" / "submission.zip", "zip");
  EXPECT_TRUE(cb::eval::check_run_artifacts(dir.path, cfg, false).empty());
  EXPECT_EQ(cb::eval::check_run_artifacts(dir.path, cfg, true).size(), 3u);  // no dashboard, no report page
  fs::remove(dir.path / "results.json");
  EXPECT_EQ(cb::eval::check_run_artifacts(dir.path, cfg, false).size(), 1u);
}
