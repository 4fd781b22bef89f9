// `curebench quantize` as a user runs it: fidelity reports against the f32 model, a pre-quantized checkpoint
// that loads back through Prequantized, the sensitivity scan, and clear refusals.
#include <unistd.h>

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

TEST(CliQuantize, Int4KeepsLayersThatDoNotFitTheGroupDense) {
  auto j = report("int4-g32");
  auto kept = j["fidelity"]["kept_dense"];
  ASSERT_EQ(kept.size(), 5u);  // down_proj: 172 inputs, no multiple of 32
  for (auto& k : kept) EXPECT_NE(k.get<std::string>().find("down_proj"), std::string::npos) << k;
}

TEST(CliQuantize, MixedPrecisionRulesKeepLayersDense) {
  auto j = report("nf4", "--keep-first 1 --keep mlp.down_proj");
  EXPECT_EQ(j["fidelity"]["kept_dense"].size(), 7u + 4u);  // layer 0's 7 linears + down_proj of layers 1-4
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
