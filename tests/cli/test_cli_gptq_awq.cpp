// `curebench generate` and `curebench inspect` on GPTQ / AWQ folders (tests/fixtures/make_gptq_awq.py): the
// packed model continues prompts exactly as its dense float32 copy with the script's dequantized weights.
#include "cli/run_cli.hpp"

namespace {
std::string packed(const std::string& leaf) { return data("models/stories260K-gptq-awq/" + leaf); }
}  // namespace

TEST(CliGptqAwq, GenerateEqualsTheDequantizedReference) {
  for (std::string m : {"gptq-4bit-g32-actorder", "awq-4bit-g32"}) {
    const std::string args = " --prompt-ids 1,403,407,261,378 --max-new-tokens 48 --greedy --ignore-eos --dtype f32 --json";
    auto q = run_cli("generate --model " + packed(m) + args);
    ASSERT_EQ(q.exit_code, 0) << q.err;
    auto r = run_cli("generate --model " + packed(m + "-dequantized") + args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto jq = nlohmann::json::parse(q.out), jr = nlohmann::json::parse(r.out);
    EXPECT_EQ(jq["output_ids"].size(), 48u) << m;
    EXPECT_EQ(jq["output_ids"], jr["output_ids"]) << m;
  }
}

TEST(CliGptqAwq, InspectShowsFormatBitsGroupAndActOrder) {
  auto r = run_cli("inspect --json " + packed("gptq-4bit-g32-actorder"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["quantization"]["format"], "gptq");
  EXPECT_EQ(j["quantization"]["bits"], 4);
  EXPECT_EQ(j["quantization"]["group_size"], 32);
  EXPECT_EQ(j["quantization"]["act_order"], true);
  EXPECT_TRUE(j["memory_estimate"].contains("as-stored"));
  auto t = run_cli("inspect " + packed("awq-4bit-g32"));
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("quantization: awq-gemm, 4 bits, group size 32, act-order no"), std::string::npos) << t.out;
}

TEST(CliGptqAwq, EvalAnswersAsTheDequantizedReference) {
  // The evaluation pipeline takes the GPTQ folder through Prequantized (--quant prequantized), its reference through
  // FullPrecision: the same responses, sample by sample.
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("curebench_cli_gptq_eval." + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string test = std::string(CUREBENCH_SOURCE_DIR) + "/datasets/default/test.jsonl";
  const std::string m = "gptq-4bit-g32-actorder";
  auto responses = [&](const std::string& folder, const std::string& quant) {
    auto r = run_cli("eval --model " + packed(folder) + " --test " + test + " --max-samples 3 --max-new-tokens 16 --quant " + quant +
                         " --dtype f32 --out " + (dir / folder).string(),
                     300);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> out;
    std::ifstream in(dir / folder / "models" / folder / "samples.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line)["output"].get<std::string>());
    return out;
  };
  auto a = responses(m, "prequantized"), b = responses(m + "-dequantized", "none");
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(a, b);
  auto results = nlohmann::json::parse(slurp((dir / m / "results.json").string()));
  EXPECT_NE(results.dump().find("Prequantized"), std::string::npos);
  fs::remove_all(dir);
}
