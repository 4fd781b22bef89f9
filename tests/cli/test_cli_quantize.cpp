// `curebench quantize` as a user runs it: fidelity reports against the f32 model, a pre-quantized checkpoint
// that loads back through Prequantized, the sensitivity scan, and clear refusals.
#include <unistd.h>

#include <algorithm>

#include "cli/run_cli.hpp"

namespace {
std::string model() { return data("models/stories260K/hf"); }
std::string tokens() { return data("models/stories260K/greedy_references.json"); }
nlohmann::json report(const std::string& quant, const std::string& extra = "") {
  auto r = run_cli("quantize --model " + model() + " --quant " + quant + " --report --tokens " + tokens() + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}
}  // namespace

TEST(CliQuantize, FidelityReportHasEveryMeasure) {
  auto nf4 = report("nf4");
  auto& f = nf4["fidelity"];
  EXPECT_EQ(f["quant"], "nf4");
  EXPECT_EQ(f["sequences"], 5);
  EXPECT_EQ(f["positions"], 64 * 5 + (1 + 5 + 10 + 11 + 7) - 5);  // every prompt + continuation token with a next token
  EXPECT_GT(f["kl_mean"].get<double>(), 0.0);
  EXPECT_GE(f["kl_max"].get<double>(), f["kl_mean"].get<double>());
  EXPECT_GT(f["top1_agreement"].get<double>(), 0.5);
  EXPECT_LE(f["top1_agreement"].get<double>(), 1.0);
  EXPECT_NEAR(f["ppl_delta"].get<double>(), f["ppl_quant"].get<double>() - f["ppl_ref"].get<double>(), 1e-9);
  EXPECT_LT(f["weight_bytes_quant"].get<double>(), f["weight_bytes_ref"].get<double>());
  // The f32 reference is the same model whatever the config; int8 stays closer to it than 4-bit.
  auto int8 = report("int8");
  EXPECT_DOUBLE_EQ(int8["fidelity"]["ppl_ref"].get<double>(), f["ppl_ref"].get<double>());
  EXPECT_LT(int8["fidelity"]["kl_mean"].get<double>(), f["kl_mean"].get<double>());
}

// stories260K ties its classifier to the embedding: --quantize-lm-head quantizes a copy (the lookup stays f32),
// which costs fidelity; the report says how much, teacher-forced (KL, top-1) and free-running (greedy).
TEST(CliQuantize, QuantizeLmHeadQuantizesTheTiedClassifierAndReportsItsCost) {
  auto plain = report("int8"), head = report("int8", "--quantize-lm-head");
  const auto& p = plain["fidelity"];
  const auto& h = head["fidelity"];
  EXPECT_NE(std::find(p["kept_dense"].begin(), p["kept_dense"].end(), "lm_head.weight"), p["kept_dense"].end());
  EXPECT_EQ(std::find(h["kept_dense"].begin(), h["kept_dense"].end(), "lm_head.weight"), h["kept_dense"].end());
  // 512 x 64 int8 codes + one f32 scale per row, beside the embedding.
  EXPECT_EQ(h["weight_bytes_quant"].get<std::int64_t>() - p["weight_bytes_quant"].get<std::int64_t>(), 512 * 64 + 512 * 4);
  EXPECT_NE(h["kl_mean"].get<double>(), p["kl_mean"].get<double>());
  for (const auto* f : {&p, &h}) {
    const auto& g = (*f)["greedy"];
    EXPECT_EQ(g["sequences"], 5);
    EXPECT_LE(g["identical"].get<std::int64_t>(), 5);
    EXPECT_GE(g["common_prefix"].get<double>(), 0.0);
    EXPECT_LE(g["common_prefix"].get<double>(), 1.0);
    if (g["identical"] == 5) EXPECT_DOUBLE_EQ(g["common_prefix"].get<double>(), 1.0);
  }
}

TEST(CliQuantize, Int4KeepsLayersThatDoNotFitTheGroupDense) {
  auto j = report("int4-g32");
  auto kept = j["fidelity"]["kept_dense"];
  ASSERT_EQ(kept.size(), 6u);  // down_proj: 172 inputs, no multiple of 32; and the classifier (the tied embedding)
  for (auto& k : kept)
    if (k != "lm_head.weight") EXPECT_NE(k.get<std::string>().find("down_proj"), std::string::npos) << k;
}

TEST(CliQuantize, MixedPrecisionRulesKeepLayersDense) {
  auto j = report("nf4", "--keep-first 1 --keep mlp.down_proj");
  EXPECT_EQ(j["fidelity"]["kept_dense"].size(), 7u + 4u + 1u);  // layer 0's 7 linears + down_proj of layers 1-4 + lm_head
}

TEST(CliQuantize, OutWritesACheckpointThatLoadsAsPrequantized) {
  auto out = std::filesystem::temp_directory_path() / ("curebench_cli_quantize." + std::to_string(::getpid()));
  std::filesystem::remove_all(out);
  auto r = run_cli("quantize --model " + model() + " --quant nf4-dq --out " + out.string() + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["saved"]["quantized_linears"], 35);
  r = run_cli("load --model " + out.string() + " --dtype f32 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["strategy"], "Prequantized");
  EXPECT_EQ(j["checkpoint"]["kind"], "hf-bnb-4bit");
  // And it generates text with the copied tokenizer.
  r = run_cli("generate --model " + out.string() + " --prompt \"Once upon a time\" --max-new-tokens 8 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::filesystem::remove_all(out);
}

TEST(CliQuantize, SensitivityRanksEveryLayer) {
  auto r = run_cli("quantize --model " + model() + " --quant int4-g32 --sensitivity --tokens " + tokens());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto s = nlohmann::json::parse(r.out)["sensitivity"];
  ASSERT_EQ(s.size(), 5u);
  for (std::size_t i = 1; i < s.size(); ++i) EXPECT_GE(s[i - 1]["kl_mean"].get<double>(), s[i]["kl_mean"].get<double>());
}

TEST(CliQuantize, RefusesWhatItCannotDo) {
  auto r = run_cli("quantize --model " + model() + " --quant int3 --report");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown quant config 'int3'"), std::string::npos) << r.err;
  r = run_cli("quantize --model " + model() + " --quant int4-g64 --out /tmp/never_written_" + std::to_string(::getpid()));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no bitsandbytes checkpoint layout"), std::string::npos) << r.err;
  r = run_cli("quantize --model " + model() + " --quant nf4");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nothing to do"), std::string::npos) << r.err;
}
